"""The report's intervals: how firm each area's net gap is, and what the intervals cover.

Built from ``analysis.uncertainty.monte_carlo_intervals`` (its ``areas`` and ``cells`` tables).
Every interval is shown with the coverage statement the Monte Carlo wrote beside it, so a reader
knows which sources of uncertainty it spans and which it does not.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from fairshare.publish.report_format import Cell, Table, count, decimal, label, num, signed


def _interval(low: Any, high: Any) -> str:
    return f"{decimal(low, 0, sign=True)} to {decimal(high, 0, sign=True)}"


def intervals_context(areas: pd.DataFrame, cells: pd.DataFrame | None = None) -> dict[str, Any]:
    """The section's coverage statement, area table and a count of undecided area-specialties."""
    aims = "aim_gap_p5" in areas.columns
    headers = [Cell("Area"), num("Posts now"), num("Gap (posts)"),
               num("Median over draws (posts)"), num("90% interval of the gap (posts)")]
    if aims:
        headers.append(num("90% interval of aim − current (posts)"))
    rows = []
    for r in areas.sort_values("area").to_dict("records"):
        row = [label(r["area"]), num(count(r["current"])), num(signed(r["gap"])),
               num(decimal(r["gap_p50"], 0, sign=True)),
               num(_interval(r["gap_p5"], r["gap_p95"]))]
        if aims:
            row.append(num(_interval(r["aim_gap_p5"], r["aim_gap_p95"])))
        rows.append(row)
    draws = int(areas["draws"].iloc[0]) if len(areas) else 0
    table = Table(f"Net gap over all specialties with 90% intervals ({draws:,} draws)",
                  headers, rows, cls="intervals", keep=True)
    undecided = None
    if cells is not None and {"p_gives", "p_receives"} <= set(cells.columns):
        undecided = int(((cells["p_gives"] > 0.05) & (cells["p_receives"] > 0.05)).sum())
    covers = str(areas["interval_covers"].iloc[0]) if len(areas) else ""
    return {"table": table, "covers": covers, "undecided": undecided,
            "pairs": None if cells is None else len(cells)}
