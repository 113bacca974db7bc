"""The report and diagnostics as plain objects, read from the JSON documents of
the engine (the layout of ``docs/output.md``)."""

from __future__ import annotations

import datetime
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Optional, Union


class Name(str):
    """A name (a symbol such as ``investment`` or an entity id), as opposed to text."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Name({str.__repr__(self)})"


@dataclass(frozen=True)
class Money:
    """An exact amount of a currency; ``ceiling`` for ``up to`` amounts."""

    amount: Decimal
    currency: str
    ceiling: bool
    text: str


@dataclass(frozen=True)
class Quantity:
    """An exact amount of a unit (``10 GW``); ``ceiling`` for ``up to`` amounts."""

    amount: Decimal
    unit: str
    ceiling: bool
    text: str


@dataclass(frozen=True)
class Percent:
    """A percentage: ``value`` is the fraction (``35%`` is ``Decimal("0.35")``)."""

    value: Decimal
    text: str


@dataclass(frozen=True)
class Timestamp:
    """An instant: ``instant`` is an aware ``datetime`` with the offset as written (to the
    microsecond: a ``datetime`` holds nothing finer); ``zone`` is the IANA zone it was written
    with, if any (``2026-03-01T10:00 [Asia/Shanghai]``)."""

    instant: datetime.datetime
    zone: Optional[str]


_FRACTION = re.compile(r"\.(\d+)")


def _instant(text: str) -> datetime.datetime:
    """An RFC 3339 timestamp of the report as an aware ``datetime``. ``Z`` and fractions of
    other than six digits are rewritten first: Python before 3.11 reads neither."""
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    text = _FRACTION.sub(lambda m: "." + (m.group(1) + "000000")[:6], text, count=1)
    return datetime.datetime.fromisoformat(text)


#: A value of a fact field, a parameter or an operand.
Value = Union[
    bool, Decimal, Percent, Money, Quantity, datetime.date, Timestamp, str, Name, list, dict
]


def _value(doc: Optional[dict]) -> Optional[Value]:
    if doc is None:
        return None
    kind = doc["type"]
    if kind == "bool":
        return doc["value"]
    if kind == "number":
        return Decimal(doc["value"])
    if kind == "percent":
        return Percent(Decimal(doc["value"]), doc["text"])
    if kind == "money":
        return Money(Decimal(doc["amount"]), doc["currency"], doc["ceiling"], doc["text"])
    if kind == "quantity":
        return Quantity(Decimal(doc["amount"]), doc["unit"], doc["ceiling"], doc["text"])
    if kind == "date":
        return datetime.date.fromisoformat(doc["value"])
    if kind == "timestamp":
        return Timestamp(_instant(doc["value"]), doc.get("zone"))
    if kind == "text":
        return doc["value"]
    if kind == "name":
        return Name(doc["value"])
    if kind == "list":
        return [_value(v) for v in doc["items"]]
    if kind == "record":
        return {k: _value(v) for k, v in doc["fields"].items()}
    raise ValueError(f"unknown value type `{kind}` in the report")


@dataclass(frozen=True)
class Location:
    """A place in a source file: 1-based line and column (in characters)."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


def _location(doc: Optional[dict]) -> Optional[Location]:
    return None if doc is None else Location(doc["file"], doc["line"], doc["column"])


@dataclass(frozen=True)
class Binding:
    """A pattern variable of a rule and the fact (entity, deal or row) bound to it."""

    var: str
    fact: str
    kind: str
    location: Optional[Location]


def _binding(doc: dict) -> Binding:
    return Binding(doc["var"], doc["fact"], doc["kind"], _location(doc["location"]))


@dataclass(frozen=True)
class FactRef:
    """A fact named in an explanation, with where it is declared."""

    fact: str
    location: Optional[Location]


@dataclass(frozen=True)
class Counted:
    """A fact an aggregate counted, with the value it contributed."""

    fact: str
    location: Optional[Location]
    value: Optional[Value]


@dataclass(frozen=True)
class Matches:
    """The facts an ``exists`` (or a quantifier) found."""

    facts: list[FactRef]


@dataclass(frozen=True)
class Aggregate:
    """An aggregate (``sum``, ``count``...): the facts counted, those skipped
    (a missing value) and, for ``min``/``max``, the index of the one chosen."""

    func: str
    counted: list[Counted]
    skipped: list[FactRef]
    chosen: Optional[int]


@dataclass(frozen=True)
class Element:
    """The list element a quantifier stopped at."""

    index: int
    value: Optional[Value]


Detail = Union[Matches, Aggregate, Element]


def _fact_ref(doc: dict) -> FactRef:
    return FactRef(doc["fact"], _location(doc["location"]))


def _detail(doc: Optional[dict]) -> Optional[Detail]:
    if doc is None:
        return None
    kind = doc["kind"]
    if kind == "matches":
        return Matches([_fact_ref(f) for f in doc["facts"]])
    if kind == "aggregate":
        return Aggregate(
            doc["func"],
            [Counted(c["fact"], _location(c["location"]), _value(c["value"])) for c in doc["counted"]],
            [_fact_ref(f) for f in doc["skipped"]],
            doc["chosen"],
        )
    if kind == "element":
        return Element(doc["index"], _value(doc["value"]))
    raise ValueError(f"unknown detail kind `{kind}` in the report")


@dataclass(frozen=True)
class Operand:
    """One side of a condition: its expression and the value it had."""

    expr: str
    value: Optional[Value]
    detail: Optional[Detail]


@dataclass(frozen=True)
class Conversion:
    """An exchange rate a comparison used."""

    from_: str
    to: str
    rate: Decimal
    date: Optional[datetime.date]
    location: Optional[Location]


@dataclass(frozen=True)
class TraceStep:
    """A condition of the rule, whether it held, and the values it compared."""

    condition: str
    holds: Optional[bool]
    op: Optional[str]
    operands: list[Operand]
    detail: Optional[Detail]
    parts: list["TraceStep"]
    conversions: list[Conversion]
    location: Optional[Location]


def _step(doc: dict) -> TraceStep:
    return TraceStep(
        condition=doc["condition"],
        holds=doc["holds"],
        op=doc["op"],
        operands=[
            Operand(o["expr"], _value(o["value"]), _detail(o["detail"])) for o in doc["operands"]
        ],
        detail=_detail(doc["detail"]),
        parts=[_step(p) for p in doc["parts"]],
        conversions=[
            Conversion(
                c["from"],
                c["to"],
                Decimal(c["rate"]),
                None if c["date"] is None else datetime.date.fromisoformat(c["date"]),
                _location(c["location"]),
            )
            for c in doc["conversions"]
        ],
        location=_location(doc["location"]),
    )


@dataclass(frozen=True)
class Hop:
    """One edge of a chain or cycle: money from ``from_`` to ``to`` through ``deal``."""

    from_: Optional[Value]
    to: Optional[Value]
    deal: Optional[str]
    deal_location: Optional[Location]
    amount: Optional[Value]
    date: Optional[Value]
    derived_by: Optional[str]
    derived_at: Optional[Location]


@dataclass(frozen=True)
class Chain:
    """The hops of a cycle or path bound to ``var``."""

    var: str
    alternatives: int
    hops: list[Hop]


@dataclass(frozen=True)
class Finding:
    """A rule that fired: on which facts (with file:line), why, with which values."""

    rule: str
    severity: str
    title: str
    message: str
    reference: Optional[str]
    tags: list[str]
    facts: list[str]
    bindings: list[Binding]
    trace: list[TraceStep]
    rule_location: Optional[Location]
    fingerprint: str
    params: dict[str, Value]
    chains: list[Chain]
    note: Optional[str]

    @property
    def contributors(self) -> list[Counted]:
        """Every fact an aggregate of the trace counted, with its value (the
        deals summed into a total, for one), in trace order."""
        out: list[Counted] = []

        def visit(step: TraceStep) -> None:
            details = [step.detail] + [o.detail for o in step.operands]
            for d in details:
                if isinstance(d, Aggregate):
                    out.extend(d.counted)
            for part in step.parts:
                visit(part)

        for step in self.trace:
            visit(step)
        return out


def _finding(doc: dict) -> Finding:
    return Finding(
        rule=doc["rule"],
        severity=doc["severity"],
        title=doc["title"],
        message=doc["message"],
        reference=doc["reference"],
        tags=list(doc["tags"]),
        facts=list(doc["facts"]),
        bindings=[_binding(b) for b in doc["bindings"]],
        trace=[_step(t) for t in doc["trace"]],
        rule_location=_location(doc["rule_location"]),
        fingerprint=doc["fingerprint"],
        params={k: _value(v) for k, v in doc["params"].items()},
        chains=[
            Chain(
                c["var"],
                c["alternatives"],
                [
                    Hop(
                        _value(h["from"]),
                        _value(h["to"]),
                        h["deal"],
                        _location(h["deal_location"]),
                        _value(h["amount"]),
                        _value(h["date"]),
                        h["derived_by"],
                        _location(h["derived_at"]),
                    )
                    for h in c["hops"]
                ],
            )
            for c in doc["chains"]
        ],
        note=doc["note"],
    )


@dataclass(frozen=True)
class Missing:
    """A field a data gap lacks: ``declared`` when the schema declares it."""

    fact: str
    field: str
    declared: bool


@dataclass(frozen=True)
class DataGap:
    """A rule that could not be checked on some facts because a field is missing."""

    rule: str
    facts: list[str]
    bindings: list[Binding]
    condition: str
    location: Optional[Location]
    missing: list[Missing]


@dataclass(frozen=True)
class EvalError:
    """A rule evaluation that failed on some facts (currency mismatch, division by
    zero...). A record in the report, not an exception."""

    rule: str
    message: str
    expr: str
    location: Optional[Location]
    bindings: list[Binding]


@dataclass(frozen=True)
class Summary:
    """Counts of the report."""

    findings: int
    by_severity: dict[str, int]
    data_gaps: int
    errors: int
    rules: int
    facts: int


@dataclass(frozen=True)
class Label:
    """A secondary place of a diagnostic, with its message."""

    message: str
    file: Optional[str]
    line: Optional[int]
    column: Optional[int]
    end_line: Optional[int]
    end_column: Optional[int]


@dataclass(frozen=True)
class Diagnostic:
    """An error or warning with its code (``E0xx``/``W0xx``, see
    ``docs/diagnostics.md``) and place; ``file`` is None for a problem with no
    place (a path that does not exist, an unknown parameter)."""

    code: str
    level: str
    message: str
    file: Optional[str]
    line: Optional[int]
    column: Optional[int]
    end_line: Optional[int]
    end_column: Optional[int]
    labels: list[Label]
    help: Optional[str]

    def __str__(self) -> str:
        place = f"{self.file}:{self.line}:{self.column}: " if self.file else ""
        return f"{place}{self.level}[{self.code}]: {self.message}"


def diagnostics_from_json(text: str) -> list[Diagnostic]:
    """The diagnostics of a ``dealrules check --format json`` document."""
    doc = json.loads(text)
    return [
        Diagnostic(
            code=d["code"],
            level=d["level"],
            message=d["message"],
            file=d["file"],
            line=d["line"],
            column=d["column"],
            end_line=d["end_line"],
            end_column=d["end_column"],
            labels=[
                Label(
                    l["message"], l["file"], l["line"], l["column"], l["end_line"], l["end_column"]
                )
                for l in d["labels"]
            ],
            help=d["help"],
        )
        for d in doc["diagnostics"]
    ]


#: The columns of :meth:`Report.to_pandas`, in order.
PANDAS_COLUMNS = [
    "rule",
    "severity",
    "title",
    "message",
    "facts",
    "locations",
    "reference",
    "tags",
    "fingerprint",
]


@dataclass(frozen=True)
class Report:
    """The result of one evaluation: findings (most serious first), data gaps,
    evaluation errors, warnings from checking the rules, and counts."""

    version: int
    summary: Summary
    findings: list[Finding]
    data_gaps: list[DataGap]
    errors: list[EvalError]
    warnings: list[Diagnostic]
    _json: str = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, text: str, warnings: list[Diagnostic]) -> "Report":
        """Reads a JSON report (``dealrules run --format json``)."""
        doc = json.loads(text)
        s = doc["summary"]
        return cls(
            version=doc["version"],
            summary=Summary(
                s["findings"], dict(s["by_severity"]), s["data_gaps"], s["errors"], s["rules"], s["facts"]
            ),
            findings=[_finding(f) for f in doc["findings"]],
            data_gaps=[
                DataGap(
                    g["rule"],
                    list(g["facts"]),
                    [_binding(b) for b in g["bindings"]],
                    g["condition"],
                    _location(g["location"]),
                    [Missing(m["fact"], m["field"], m["declared"]) for m in g["missing"]],
                )
                for g in doc["data_gaps"]
            ],
            errors=[
                EvalError(
                    e["rule"],
                    e["message"],
                    e["expr"],
                    _location(e["location"]),
                    [_binding(b) for b in e["bindings"]],
                )
                for e in doc["errors"]
            ],
            warnings=warnings,
            _json=text,
        )

    def to_json(self) -> str:
        """The JSON report, the same text as ``dealrules run --format json``
        prints for the same input."""
        return self._json

    def to_pandas(self) -> Any:
        """The findings as a ``pandas.DataFrame``, one row per finding, with the
        columns ``PANDAS_COLUMNS``: ``facts`` is the list of bound fact ids and
        ``locations`` their ``file:line``. Needs pandas."""
        try:
            import pandas
        except ImportError as e:
            raise ImportError(
                "Report.to_pandas needs pandas, which is not installed: "
                "`pip install pandas` (or `pip install dealrules[pandas]`)"
            ) from e
        rows = [
            {
                "rule": f.rule,
                "severity": f.severity,
                "title": f.title,
                "message": f.message,
                "facts": f.facts,
                "locations": [str(b.location) for b in f.bindings if b.location is not None],
                "reference": f.reference,
                "tags": f.tags,
                "fingerprint": f.fingerprint,
            }
            for f in self.findings
        ]
        return pandas.DataFrame(rows, columns=PANDAS_COLUMNS)
