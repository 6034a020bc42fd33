"""Tables for the page: plain HTML tables, numbers formatted with their units and one sign rule.

Why not Dash's DataTable: its sort arrows trapped keyboard focus, it printed "+0" in empty cells
and "−0.0" in the why columns (d3-format has no "sign unless zero"), and it scrolled inside the
scrolling page. These are ordinary ``<table>`` elements: headings are ``<th scope="col">`` with
a real ``<button>`` that sorts (``assets/keyboard.js``; each cell carries its raw value in
``data-v``), the total row stays last, and a wide table scrolls sideways in a focusable region.

Sign rule, everywhere on the page: **+ receives, − gives** (gap = target − current; a move is
+ when posts arrive). Zero is written "0", never "+0" or "−0".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

#: (column id, heading with its unit, format or None for text)
Spec = Sequence[tuple[str, str, str | None]]
MINUS = "−"


def signed(value: float, decimals: int = 0, suffix: str = "") -> str:
    """``+3``, ``−2``, ``0``: a sign only when there is something to sign."""
    x = round(float(value), decimals)
    if x == 0:
        return f"{0:.{decimals}f}{suffix}"
    return f"{x:+,.{decimals}f}".replace("-", MINUS) + suffix


def fmt(value: Any, kind: str | None) -> str:
    """A cell's text: ``kind`` is int, signed, one, pct (signed %), share (%), three, or None."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    if kind is None or not isinstance(value, int | float | np.number) or isinstance(value, bool):
        return str(value)
    x = float(value)
    if kind == "int":
        return f"{round(x):,}"
    if kind == "signed":
        return signed(x)
    if kind == "one":
        return f"{round(x, 1) + 0.0:,.1f}".replace("-", MINUS)  # + 0.0: no −0.0
    if kind == "pct":
        return signed(100 * x, 1, "%")
    if kind == "share":
        return f"{round(100 * x):.0f}%"
    if kind == "three":
        return f"{round(x, 3) + 0.0:.3f}".replace("-", MINUS)
    raise ValueError(f"unknown format {kind!r}")


def records(df: pd.DataFrame, spec: Spec) -> list[dict[str, Any]]:
    """JSON-safe records of the spec's columns (NaN as None, numpy scalars as Python)."""
    cols = [c for c, _, _ in spec if c in df.columns]
    out = df[cols].astype(object).where(df[cols].notna(), None)
    return [{k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}
            for row in out.to_dict("records")]


def table(df: pd.DataFrame, spec: Spec) -> dict[str, Any]:
    """``{"columns": [{id, name, format}], "data": records}``: what a view returns."""
    spec = [s for s in spec if s[0] in df.columns]
    return {"columns": [{"id": c, "name": n, "format": f} for c, n, f in spec],
            "data": records(df, spec)}


def plain_table(df: pd.DataFrame, units: str = "posts") -> dict[str, Any]:
    """A planner's layout (``publish.tables.one_year``, ``pace_of_change``...) as it is.

    Numbers are posts; moves and gaps are signed (+ receives, − gives), levels are not.
    """
    spec = []
    for col in df.columns:
        numeric = pd.api.types.is_numeric_dtype(df[col])
        level = str(col) in ("Previous", "Current")
        spec.append((str(col), str(col), ("int" if level else "signed") if numeric else None))
    out = df.copy()
    out.columns = [str(c) for c in out.columns]
    payload = table(out, spec)
    payload["units"] = units
    return payload


def _cell(value: Any, col: dict[str, Any]) -> Any:
    from dash import html

    text = fmt(value, col.get("format"))
    attrs: dict[str, Any] = {}
    if col.get("format") and isinstance(value, int | float) and not isinstance(value, bool):
        attrs["data-v"] = repr(float(value))
        attrs["className"] = "num"
        if col.get("format") in ("signed", "pct") and value:
            attrs["className"] = "num " + ("receives" if value > 0 else "gives")
    return html.Td(text, **attrs)


def html_table(payload: dict[str, Any] | None, caption: str, *, table_id: str | None = None,
               sortable: bool = True) -> Any:
    """The payload as an accessible HTML table (caption, column headings, sort buttons)."""
    from dash import html

    if not payload or not payload.get("columns"):
        return None
    cols = payload["columns"]
    heads = []
    for c in cols:
        label: Any = c["name"]
        if sortable:
            label = html.Button(c["name"], className="sort", type="button",
                                title=f"Sort by {c['name']}")
        heads.append(html.Th(label, scope="col", className="num" if c.get("format") else None))
    rows = []
    for row in payload["data"]:
        first = row.get(cols[0]["id"])
        total = isinstance(first, str) and first == "Total"
        rows.append(html.Tr([_cell(row.get(c["id"]), c) for c in cols],
                            className="total" if total else None))
    region: Any = {"role": "region", "aria-label": caption, "tabIndex": 0}
    ident: Any = {"id": table_id} if table_id else {}
    return html.Div(className="table-wrap", **region, children=html.Table(
        **ident, className="data" + (" sortable" if sortable else ""), children=[
            html.Caption(caption),
            html.Thead(html.Tr(heads)),
            html.Tbody(rows)]))
