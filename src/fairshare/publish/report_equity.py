"""The report's equity tables (``analysis.equity``), in the report's sign convention.

``analysis.equity`` measures each area's distance as (posts − target) / target. The report
speaks of gaps (target − posts, **+ receives, − gives**), so the furthest an area sits above its
target is shown as the most negative gap and the furthest below as the most positive.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from fairshare.publish.report_format import (
    Cell,
    Table,
    count,
    decimal,
    is_missing,
    label,
    num,
    percent,
)

ROWS_SHOWN = 80
_KNOWN = {"specialty", "stage", "year", "gini", "cv", "max_distance", "min_distance",
          "share_within_5pct"}
_STAGE_WORDS = {"before": "before the plan", "plan": "after moves", "after": "end of the plan"}


def equity_tables(equity: pd.DataFrame) -> tuple[list[Table], int]:
    """All specialties year by year, then each specialty before and after; rows left out."""
    if not set(equity.columns) >= _KNOWN:
        return _generic(equity)
    df = equity.copy()
    order = {"before": 0, "plan": 1, "after": 2}
    overall = df[df["specialty"] == "All"]
    overall = overall.assign(_o=overall["stage"].map(order).fillna(3)).sort_values(["_o", "year"])
    headers = [Cell("Year"), Cell("When"), num("Gini (0 = fair)"),
               num("Coefficient of variation"), num("Furthest over target: gap (% of target)"),
               num("Furthest under target: gap (% of target)"), num("Areas within \u00b15% (%)")]
    rows = [[label(str(int(r["year"]))), Cell(_STAGE_WORDS.get(r["stage"], str(r["stage"]))),
             num(decimal(r["gini"], 3)), num(decimal(r["cv"], 3)),
             num(percent(-r["max_distance"], 1)), num(percent(-r["min_distance"], 1)),
             num(percent(r["share_within_5pct"], 0, sign=False))]
            for r in overall.to_dict("records")]
    tables = [Table("Equity of all specialties together, year by year", headers, rows,
                    cls="equity", keep=True, wide=True)]
    first = df[df["stage"] == "before"].set_index("specialty")
    last = df[df["stage"] == "after"].set_index("specialty")
    specs = [s for s in first.index if s != "All" and s in last.index]
    if specs:
        tables.append(_by_specialty(first, last, specs))
    return tables, 0


def _by_specialty(first: pd.DataFrame, last: pd.DataFrame, specs: list[str]) -> Table:
    table = pd.DataFrame({
        "gini_before": first.loc[specs, "gini"], "gini_after": last.loc[specs, "gini"],
        "within_before": first.loc[specs, "share_within_5pct"],
        "within_after": last.loc[specs, "share_within_5pct"],
    }).sort_values("gini_before", ascending=False, kind="stable")
    y0, y1 = int(first["year"].min()), int(last["year"].max())
    rows = [[label(spec), num(decimal(r["gini_before"], 3)), num(decimal(r["gini_after"], 3)),
             num(decimal(r["gini_after"] - r["gini_before"], 3, sign=True)),
             num(percent(r["within_before"], 0, sign=False)),
             num(percent(r["within_after"], 0, sign=False))]
            for spec, r in table.iterrows()]
    headers = [Cell("Specialty"), num(f"Gini {y0} (before)"), num(f"Gini {y1}"),
               num("Change in Gini"), num("Areas within \u00b15%, before (%)"),
               num(f"Areas within \u00b15%, {y1} (%)")]
    return Table("Equity by specialty, before and after the plan", headers, rows,
                 cls="equity-specialties")


def _cell(column: str, value: Any) -> Cell:
    """A cell of an equity table of unknown shape, formatted by its column's name."""
    if is_missing(value):
        return num("\u2014")
    if isinstance(value, bool | np.bool_):
        return Cell("yes" if value else "no")
    name = column.lower()
    if column == "year" or isinstance(value, int | np.integer):
        return num(str(int(value)) if column == "year" else count(value))
    if isinstance(value, float | np.floating):
        if "distance" in name:  # (posts − target) / target: shown as a gap, + receives
            return num(percent(-float(value), 1))
        if "share" in name or "pct" in name or "percent" in name:
            return num(percent(value, 1, sign=False))
        if float(value).is_integer() and ("areas" in name or "count" in name):
            return num(count(value))
        return num(decimal(value, 3))
    return Cell(str(value))


def _header(column: str) -> str:
    if "distance" in column:
        return column.replace("_", " ").capitalize().replace("distance", "gap (% of target)")
    return column.replace("_", " ").capitalize()


def _generic(equity: pd.DataFrame) -> tuple[list[Table], int]:
    df = equity.reset_index(drop=True)
    if "scenario" in df.columns and df["scenario"].nunique() <= 1:
        df = df.drop(columns=["scenario"])
    shown = df.head(ROWS_SHOWN)
    headers = [(num if pd.api.types.is_numeric_dtype(df[c]) and c != "year" else Cell)(
        _header(str(c))) for c in shown.columns]
    rows = [[_cell(str(c), v) for c, v in zip(shown.columns, rec, strict=True)]
            for rec in shown.itertuples(index=False)]
    return [Table("Equity metrics", headers, rows, cls="equity", wide=True)], len(df) - len(shown)
