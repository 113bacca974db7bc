"""Tests of the Python package against the shipped rule pack and example deals."""

import datetime
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

import dealrules

ROOT = Path(__file__).resolve().parents[2]

VENDOR_FINANCING = """
rule vendor_financing "Supplier finances a customer's purchases of its own goods" {
  severity: high
  match inv: deal where inv.kind == investment
        buy: deal where buy.kind == purchase
  when  buy.buyer == inv.investee and buy.seller == inv.investor
  flag  "{inv.investor} invests {inv.amount} in {inv.investee}, which buys {buy.capacity} from {inv.investor}"
}
"""

DEALS = """entity Nvidia { type: company }
entity OpenAI { type: company }
deal loi { kind: investment  investor: Nvidia  investee: OpenAI  amount: up to 100B USD }
deal systems { kind: purchase  buyer: OpenAI  seller: Nvidia  capacity: 10 GW  date: 2025-09-22 }
"""


@pytest.fixture(scope="module")
def shipped():
    """The shipped pack over the bundled example, loaded with paths relative to the root."""
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        yield dealrules.Engine.load(["rules", "examples"])
    finally:
        os.chdir(cwd)


def cli_json(*args):
    """`dealrules run --format json ARGS` in the repository, built by cargo or named by
    DEALRULES_BIN."""
    binary = os.environ.get("DEALRULES_BIN")
    command = [binary] if binary else ["cargo", "run", "--locked", "--quiet", "--"]
    out = subprocess.run(
        command + ["run", "--format", "json", *args],
        cwd=ROOT,
        capture_output=True,
        check=True,
    )
    return out.stdout


def test_to_json_is_the_cli_output_byte_for_byte(shipped):
    report = shipped.evaluate()
    assert report.to_json().encode() == cli_json("rules", "examples")


def test_params_are_the_cli_set_overrides(shipped):
    report = shipped.evaluate(params={"customer_concentration.high_share": "50%"})
    assert report.to_json().encode() == cli_json(
        "rules", "examples", "--set", "customer_concentration.high_share=50%"
    )
    concentration = [f for f in report.findings if f.rule == "customer_concentration"]
    assert concentration[0].params["high_share"] == dealrules.Percent(Decimal("0.5"), "50%")
    # 300B of 455B is 65.9%: above 70% nothing fires.
    higher = shipped.evaluate(params={"customer_concentration.high_share": "70%"})
    assert [f for f in higher.findings if f.rule == "customer_concentration"] == []
    assert higher.summary.findings == report.summary.findings - 1
    # An int or a Decimal is written as a number.
    rule = "commitments_to_one_seller_vs_revenue"
    assert sum(f.rule == rule for f in report.findings) == 2
    for limit in (1000, Decimal("1000")):
        relaxed = shipped.evaluate(params={f"{rule}.ratio_limit": limit})
        assert sum(f.rule == rule for f in relaxed.findings) == 0


def test_findings_are_plain_objects_with_exact_money(shipped):
    report = shipped.evaluate()
    assert report.summary == dealrules.Summary(
        findings=38,
        by_severity={"critical": 0, "high": 30, "medium": 3, "low": 5, "info": 0},
        data_gaps=40,
        errors=0,
        rules=15,
        facts=52,
    )
    assert len(report.findings) == 38 and len(report.data_gaps) == 40
    f = next(f for f in report.findings if f.rule == "customer_concentration")
    assert f.severity == "high"
    assert f.message == (
        "OpenAI's contract of 300B USD is 65.9% of Oracle's remaining performance "
        "obligation of 455B USD"
    )
    assert f.facts == ["openai_oracle_cloud"]
    assert f.bindings == [
        dealrules.Binding(
            "c",
            "openai_oracle_cloud",
            "deal",
            dealrules.Location("examples/ai-compute-2025.deals", 300, 6),
        )
    ]
    assert str(f.bindings[0].location) == "examples/ai-compute-2025.deals:300"
    assert f.rule_location == dealrules.Location("rules/commitments.rules", 44, 6)
    step = f.trace[1]
    assert step.condition == "c.amount > high_share * c.seller.rpo"
    assert step.holds is True
    amount = step.operands[0].value
    assert amount == dealrules.Money(Decimal("300000000000"), "USD", False, "300B USD")
    assert isinstance(amount.amount, Decimal)
    assert amount.amount == Decimal("300000000000")
    assert step.operands[1].value.amount == Decimal("159250000000")
    assert f.trace[0].operands[0].value == dealrules.Name("cloud_contract")
    assert isinstance(f.trace[0].operands[0].value, dealrules.Name)
    assert f.fingerprint == "a77bbe4028f7d2faeb7f728fc1bca764"


def test_contributors_are_the_facts_an_aggregate_counted(shipped):
    report = shipped.evaluate()
    f = next(f for f in report.findings if f.rule == "total_commitments_vs_revenue")
    contributors = {c.fact: c.value.amount for c in f.contributors}
    assert contributors["openai_oracle_cloud"] == Decimal("300000000000")
    assert contributors["openai_microsoft_azure"] == Decimal("250000000000")
    assert all(c.location.file == "examples/ai-compute-2025.deals" for c in f.contributors)


def test_cycles_come_with_their_hops(shipped):
    report = shipped.evaluate()
    cycle = next(f for f in report.findings if f.facts == ["Nvidia > OpenAI > Nvidia"])
    hops = cycle.chains[0].hops
    assert [(h.from_, h.to) for h in hops] == [("Nvidia", "OpenAI"), ("OpenAI", "Nvidia")]
    assert cycle.note.startswith("money is fungible")


def test_from_text_and_values():
    engine = dealrules.Engine.from_text({"deals.deals": DEALS, "vf.rules": VENDOR_FINANCING})
    report = engine.evaluate(jobs=1)
    [f] = report.findings
    assert f.message == "Nvidia invests up to 100B USD in OpenAI, which buys 10 GW from Nvidia"
    assert [(b.var, b.fact, str(b.location)) for b in f.bindings] == [
        ("inv", "loi", "deals.deals:3"),
        ("buy", "systems", "deals.deals:4"),
    ]
    ops = {o.expr: o.value for step in f.trace for o in step.operands}
    assert ops["inv.kind"] == "investment"


def test_csv_text_is_read_as_a_fact_table():
    csv = "id,fact,type\nNvidia,entity,company\nOpenAI,entity,company\n"
    deals = DEALS.split("\n", 2)[2]
    engine = dealrules.Engine.from_text(
        {"e.csv": csv, "d.deals": deals, "vf.rules": VENDOR_FINANCING}
    )
    assert engine.evaluate().summary.facts == 4


def test_load_error_carries_every_diagnostic():
    with pytest.raises(dealrules.LoadError) as caught:
        dealrules.Engine.from_text(
            {
                "a.deals": "deal x { amount: 5 USX }\n",
                "b.deals": "entity Y { type: company\n",
            }
        )
    error = caught.value
    codes = [(d.code, d.file, d.line, d.column) for d in error.diagnostics]
    assert codes[0] == ("E004", "a.deals", 1, 20)
    assert error.diagnostics[0].message == "unknown unit or currency `USX`"
    assert error.diagnostics[0].help == "did you mean `USD`?"
    assert [d.file for d in error.diagnostics] == ["a.deals", "b.deals"]
    assert error.errors == error.diagnostics
    assert "× unknown unit or currency `USX`" in str(error)
    assert str(error).endswith("2 errors found; nothing was evaluated")


def test_bad_paths_are_load_errors(tmp_path):
    with pytest.raises(dealrules.LoadError) as caught:
        dealrules.Engine.load([tmp_path / "missing", tmp_path])
    messages = [d.message for d in caught.value.diagnostics]
    assert messages == [
        f"`{tmp_path / 'missing'}` does not exist",
        f"`{tmp_path}` has no `.deals` or `.rules` files",
    ]
    assert all(d.code == "E013" and d.file is None for d in caught.value.diagnostics)


def test_unknown_parameters_and_bad_values(shipped):
    with pytest.raises(dealrules.LoadError) as caught:
        shipped.evaluate(params={"customer_concentration.nope": "5"})
    [d] = caught.value.diagnostics
    assert d.code == "E013"
    assert d.message == "`--set`: rule `customer_concentration` has no parameter `nope`"
    with pytest.raises(ValueError, match="unknown unit or currency `USX`"):
        shipped.evaluate(params={"customer_concentration.high_share": "5 USX"})
    with pytest.raises(ValueError, match="expected `rule.param`"):
        shipped.evaluate(params={"high_share": "5"})
    with pytest.raises(TypeError, match="not float"):
        shipped.evaluate(params={"customer_concentration.high_share": 0.5})


def test_check_returns_warnings_without_evaluating():
    rules = VENDOR_FINANCING.replace(
        "match inv: deal where inv.kind == investment",
        "match inv: deal where inv.kind == investment\n        spare: deal",
    )
    engine = dealrules.Engine.from_text({"deals.deals": DEALS, "vf.rules": rules})
    codes = [(d.level, d.file) for d in engine.check()]
    assert ("warning", "vf.rules") in codes


def test_to_pandas_one_row_per_finding(shipped):
    pandas = pytest.importorskip("pandas")
    report = shipped.evaluate()
    frame = report.to_pandas()
    assert isinstance(frame, pandas.DataFrame)
    assert len(frame) == 38
    assert list(frame.columns) == [
        "rule", "severity", "title", "message", "facts", "locations", "reference", "tags",
        "fingerprint",
    ]
    row = frame[frame.rule == "customer_concentration"].iloc[0]
    assert row.locations == ["examples/ai-compute-2025.deals:300"]


def test_to_pandas_without_pandas_says_what_to_install(shipped, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match="pip install pandas"):
        shipped.evaluate().to_pandas()


def test_dates_read_as_dates():
    engine = dealrules.Engine.from_text(
        {
            "deals.deals": DEALS,
            "late.rules": """
rule late "A purchase after the summer" {
  severity: low
  match p: deal where p.kind == purchase
  when p.date > 2025-09-01
  flag "{p} on {p.date}"
}
""",
        }
    )
    [f] = engine.evaluate().findings
    assert f.trace[-1].operands[0].value == datetime.date(2025, 9, 22)


def test_timestamps_read_as_timestamps():
    engine = dealrules.Engine.from_text(
        {
            "filings.deals": """
deal ny { kind: filing  at: 2026-03-31T20:00:00-04:00 }
deal sh { kind: filing  at: 2026-04-01T08:00 [Asia/Shanghai] }
deal utc { kind: filing  at: 2026-03-31T23:30:00.25Z }
""",
            "pack.rules": """
defaults { timezone: Asia/Shanghai }

rule filed_in_q2 "Filed in the second quarter, Beijing time" {
  severity: low
  match f: deal where f.kind == filing
  when f.at > 2026-03-01T00:00Z and date(f.at) >= 2026-04-01
  flag "{f} on {date(f.at)}"
}
""",
        }
    )
    report = engine.evaluate(jobs=1)
    values = {
        f.bindings[0].fact: next(
            o.value for step in f.trace for o in step.operands if o.expr == "f.at"
        )
        for f in report.findings
    }

    def offset(hours):
        return datetime.timezone(datetime.timedelta(hours=hours))

    assert values == {
        "ny": dealrules.Timestamp(
            datetime.datetime(2026, 3, 31, 20, 0, tzinfo=offset(-4)), None
        ),
        "sh": dealrules.Timestamp(
            datetime.datetime(2026, 4, 1, 8, 0, tzinfo=offset(8)), "Asia/Shanghai"
        ),
        "utc": dealrules.Timestamp(
            datetime.datetime(2026, 3, 31, 23, 30, 0, 250000, tzinfo=datetime.timezone.utc),
            None,
        ),
    }
    # The instant keeps the offset as written; instants compare as instants.
    assert values["ny"].instant.utcoffset() == datetime.timedelta(hours=-4)
    assert values["ny"].instant == datetime.datetime(2026, 4, 1, 0, 0, tzinfo=datetime.timezone.utc)
    assert sorted(f.message for f in report.findings) == [
        "ny on 2026-04-01",
        "sh on 2026-04-01",
        "utc on 2026-04-01",
    ]
