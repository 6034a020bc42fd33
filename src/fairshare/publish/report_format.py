"""How the report writes numbers and table cells: one sign convention, units, no "+0" or "−0.0".

The sign convention is the gap's: target − current, so **+ receives, − gives**, whether the gap
is counted in posts or as a percentage of the target. Zero is written "0" (never "+0" or "−0"),
a value that rounds to zero is zero, and the minus sign is the typographic one (U+2212).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

MINUS = "\u2212"
DASH = "\u2014"  # a missing value


def is_missing(value: Any) -> bool:
    """None, NaN, NA or NaT (and not an error for strings or lists)."""
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _finite(value: Any) -> float | None:
    if is_missing(value):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _minus(text: str) -> str:
    return text.replace("-", MINUS)


def count(value: Any) -> str:
    """A whole number of posts (or anything counted), with thousands separators."""
    v = _finite(value)
    if v is None:
        return DASH
    n = round(v)
    return _minus(f"{n:,}") if n else "0"


def signed(value: Any) -> str:
    """A whole number whose sign is the point: "+12", "−3", and plain "0"."""
    v = _finite(value)
    if v is None:
        return DASH
    n = round(v)
    return f"+{n:,}" if n > 0 else _minus(f"{n:,}") if n < 0 else "0"


def decimal(value: Any, places: int = 1, *, sign: bool = False) -> str:
    """A fractional number at fixed precision; zero after rounding is "0.0", never "−0.0"."""
    v = _finite(value)
    if v is None:
        return DASH
    if abs(v) < 0.5 * 10 ** -places:
        return f"{0:.{places}f}"
    text = f"{v:+,.{places}f}" if sign else f"{v:,.{places}f}"
    return _minus(text)


def percent(value: Any, places: int = 1, *, sign: bool = True) -> str:
    """A share as a percentage ("+4.2%", "−10.0%", "0.0%"); ``sign`` marks gains and losses."""
    v = _finite(value)
    if v is None:
        return DASH
    return decimal(v * 100, places, sign=sign) + "%"


def gap_class(gap: Any) -> str:
    """CSS class of a gap: "receive" (+), "give" (−) or none."""
    v = _finite(gap)
    if v is None or round(v) == 0:
        return ""
    return "receive" if v > 0 else "give"


def side(gap: Any) -> str:
    """The gap's meaning in words."""
    v = _finite(gap)
    if v is None:
        return DASH
    n = round(v)
    return "receives" if n > 0 else "gives" if n < 0 else "at target"


@dataclass(frozen=True)
class Cell:
    """One table cell: its text, CSS classes, and whether it heads its row."""

    text: str = ""
    cls: str = ""
    head: bool = False


def num(text: str, extra: str = "") -> Cell:
    """A right-aligned number cell."""
    return Cell(text, ("num " + extra).strip())


def label(text: Any, cls: str = "") -> Cell:
    """A row's label: a row header (``<th scope="row">``) for screen readers."""
    return Cell("" if is_missing(text) else str(text), cls, head=True)


@dataclass
class Table:
    """A table for the ``table`` macro in ``templates/macros.html.j2``.

    ``keep`` asks print not to split it over pages (small tables); ``wide`` marks a table with
    many columns, printed in a smaller type and scrolled sideways on screen.
    """

    caption: str
    headers: Sequence[Cell]
    rows: Sequence[Sequence[Cell]]
    total: Sequence[Cell] | None = None
    cls: str = ""
    keep: bool = False
    wide: bool = False
    ident: str = field(default="")

    @property
    def classes(self) -> str:
        return " ".join(c for c in (self.cls, "keep" if self.keep else "",
                                    "wide" if self.wide else "") if c)
