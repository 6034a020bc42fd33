"""Exact value counts and the statistics read from them (uncertainty analysis).

Whole-post targets and gaps are integers in a known range, so a chunk of draws returns exact
counts of each (cell, value); counts add up the same in any order, which makes serial and
parallel runs bit-identical, and percentiles are read from them exactly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: Percentiles reported by default.
PERCENTILES: tuple[float, ...] = (5.0, 50.0, 95.0)


@dataclass(frozen=True)
class _Hist:
    """Exact value counts per (spec, lo) cell: cell c holds values low[c] .. low[c] + width[c] - 1
    at positions offsets[c] .. offsets[c] + width[c] - 1 of one count vector."""

    low: np.ndarray  # (spec, lo) int64
    width: np.ndarray  # (spec, lo) int64
    offsets: np.ndarray  # (spec, lo) int64
    size: int

    @classmethod
    def make(cls, low: np.ndarray, high: np.ndarray) -> _Hist:
        width = (high - low + 1).astype(np.int64)
        starts = np.concatenate([[0], np.cumsum(width.ravel())[:-1]]).astype(np.int64)
        return cls(low=low.astype(np.int64), width=width,
                   offsets=starts.reshape(low.shape), size=int(width.sum()))

    def count(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Sparse (index, count) of (draw, spec, lo) values."""
        flat = (self.offsets[None] + values - self.low[None]).ravel()
        counts = np.bincount(flat, minlength=self.size)
        idx = np.flatnonzero(counts)
        return idx.astype(np.int64), counts[idx].astype(np.int64)


def _percentile_from_counts(counts: np.ndarray, offsets: np.ndarray, n: int,
                            q: float) -> np.ndarray:
    """Per-cell percentile (numpy's default linear interpolation) from exact value counts,
    as a position within the cell's block (add the cell's lowest value)."""
    cum = np.cumsum(counts)
    start = offsets.ravel()
    base = np.where(start > 0, cum[np.maximum(start - 1, 0)], 0)
    pos = q / 100 * (n - 1)
    lo, hi = math.floor(pos), math.ceil(pos)

    def value(rank: int) -> np.ndarray:
        return np.searchsorted(cum, base + rank, side="right") - start

    v_lo, v_hi = value(lo), value(hi)
    return (v_lo + (pos - lo) * (v_hi - v_lo)).reshape(offsets.shape)


def _values(h: _Hist) -> tuple[np.ndarray, np.ndarray]:
    """(cell of each count position, value at each count position)."""
    cell = np.repeat(np.arange(h.low.size), h.width.ravel())
    value = np.arange(h.size) - np.repeat(h.offsets.ravel(), h.width.ravel()) + h.low.ravel()[cell]
    return cell, value


def _summaries(counts: np.ndarray, h: _Hist, n: int, name: str,
               percentiles: Sequence[float], moments: bool) -> dict[str, np.ndarray]:
    """Percentiles (and mean, sd) of one quantity per (spec, lo) from exact counts."""
    out: dict[str, np.ndarray] = {}
    if moments:
        cell, value = _values(h)
        c = counts.astype(float)
        mean = np.bincount(cell, weights=c * value, minlength=h.low.size) / n
        sq = np.bincount(cell, weights=c * (value - mean[cell]) ** 2, minlength=h.low.size)
        out[f"{name}_mean"] = mean.reshape(h.low.shape)
        out[f"{name}_sd"] = np.sqrt(sq / n).reshape(h.low.shape)
    for p in percentiles:
        out[f"{name}_p{p:g}"] = _percentile_from_counts(counts, h.offsets, n, p) + h.low
    return out


def _sides(counts: np.ndarray, h: _Hist, n: int) -> dict[str, np.ndarray]:
    """Share of draws in which each cell's gap is below and above zero."""
    cell, value = _values(h)
    c = counts.astype(float)
    below = np.bincount(cell, weights=c * (value < 0), minlength=h.low.size)
    above = np.bincount(cell, weights=c * (value > 0), minlength=h.low.size)
    return {"p_gives": (below / n).reshape(h.low.shape),
            "p_receives": (above / n).reshape(h.low.shape)}
