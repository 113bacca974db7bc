# %% [markdown]
# # The AI-compute deals of 2025, from Python
#
# Loads the shipped rule pack (`rules/`) and the bundled deals
# (`examples/ai-compute-2025.deals`), evaluates, and looks at the findings in a
# DataFrame. Each `# %%` cell runs on its own in Jupyter, VS Code or PyCharm; run
# from the repository root, or set `DEALRULES_ROOT` to it.

# %%
import os
from decimal import Decimal

import pandas as pd

import dealrules

os.chdir(os.environ.get("DEALRULES_ROOT", "."))
engine = dealrules.Engine.load(["rules", "examples/ai-compute-2025.deals",
                                "examples/ai-compute-2025.schema.rules"])
report = engine.evaluate()
print(report.summary)

# %% [markdown]
# One row per finding: the rule, its severity, the message and where the bound deals are.

# %%
findings = report.to_pandas()
pd.set_option("display.max_colwidth", 80)
print(findings[["severity", "rule", "message", "locations"]].to_string())

# %%
by_rule = findings.groupby(["severity", "rule"]).size().rename("findings")
print(by_rule.to_string())

# %% [markdown]
# Every finding explains itself: the conditions that held, with the values they
# compared. Money is exact: a `Decimal`, never a float.

# %%
concentration = next(f for f in report.findings if f.rule == "customer_concentration")
for step in concentration.trace:
    print(step.condition, "->", [o.value for o in step.operands])
contract = concentration.trace[1].operands[0].value
assert contract.amount == Decimal("300000000000"), contract
print(f"{contract.text} = {contract.amount} {contract.currency}")

# %% [markdown]
# What the total of OpenAI's commitments is made of: the deals its aggregate counted.

# %%
total = next(f for f in report.findings if f.rule == "total_commitments_vs_revenue")
contributors = pd.DataFrame(
    [(c.fact, c.value.amount, c.value.currency, str(c.location)) for c in total.contributors],
    columns=["deal", "amount", "currency", "location"],
)
print(contributors.to_string())

# %% [markdown]
# What if the threshold were higher? Parameters are overridden per evaluation, as
# `dealrules run --set` does.

# %%
stricter = engine.evaluate(params={"customer_concentration.high_share": "70%"})
print(len(report.findings), "findings at 35%;", len(stricter.findings), "at 70%")
assert len(stricter.findings) == len(report.findings) - 1
