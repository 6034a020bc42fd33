"""Solving the plan's LPs in stages, each holding the previous optimum exactly (docs/plan.md).

Stage 0 (elastic only) minimises the weighted relaxation, stage 1 maximises progress, stage 2
picks the unique tie-break plan among those. Each stage is an LP whose vertices are whole plans
(``plan_model``); its duals narrow the feasible set to exactly that stage's optimal plans by
complementary slackness (a variable with a non-zero reduced cost stays at its bound, a row with
a non-zero dual stays tight), so the next stage needs no dense objective row. If an LP answer is
ever fractional (only possible when a row crosses the cohort lines) the stage is solved as a
MILP and held by a row instead; after the last stage the plan is checked to keep every earlier
optimum, and solved again the plain way if not.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse import coo_array, vstack

from fairshare.model.plan_model import Block


@dataclass
class Outcome:
    status: str  # "optimal" | "infeasible"
    x: np.ndarray | None  # the block's variables (moves, then slacks)


@dataclass
class Counter:
    seconds: float = 0.0
    solves: int = 0
    fallbacks: int = 0

    def __call__(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        out = fn(*args, **kwargs)
        self.seconds += time.perf_counter() - start
        self.solves += 1
        return out


@dataclass
class _Face:
    """One block's feasible set narrowed to the optimal plans of the stages solved so far."""

    lb: np.ndarray
    ub: np.ndarray
    r_lb: np.ndarray
    r_ub: np.ndarray
    dense: list[tuple[int, float]] = field(default_factory=list)
    checks: list[tuple[int, float]] = field(default_factory=list)

    @classmethod
    def of(cls, block: Block) -> _Face:
        return cls(block.lb.copy(), block.ub.copy(), np.array(block.r_lb, dtype=float),
                   np.array(block.r_ub, dtype=float))


def _objective(block: Block, stage: int) -> np.ndarray:
    """Stage objectives, all minimised: 0 weighted relaxation, 1 minus progress, 2 tie-break."""
    if stage == 0:
        return block.penalty
    if stage == 1:
        return -block.primary
    return block.tiebreak


@dataclass
class _Stacked:
    c: np.ndarray
    lb: np.ndarray
    ub: np.ndarray
    matrix: Any
    r_lb: np.ndarray
    r_ub: np.ndarray
    col0: list[int]
    row0: list[int]


def _stack(blocks: Sequence[Block], faces: Sequence[_Face], stage: int) -> _Stacked:
    """The blocks' models for one stage side by side (they share no variable or row)."""
    c_parts, lb_parts, ub_parts = [], [], []
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    r_lb: list[np.ndarray] = []
    r_ub: list[np.ndarray] = []
    col0: list[int] = []
    row0: list[int] = []
    n_cols = n_rows = 0
    for block, face in zip(blocks, faces, strict=True):
        col0.append(n_cols)
        row0.append(n_rows)
        c_parts.append(_objective(block, stage))
        lb_parts.append(face.lb)
        ub_parts.append(face.ub)
        rows.append(np.asarray(block.a_rows, dtype=np.int64) + n_rows)
        cols.append(np.asarray(block.a_cols, dtype=np.int64) + n_cols)
        vals.append(np.asarray(block.a_vals, dtype=float))
        r_lb.append(face.r_lb)
        r_ub.append(face.r_ub)
        n_rows += len(block.r_lb)
        for earlier, optimum in face.dense:
            vec = _objective(block, earlier)
            nz = np.flatnonzero(vec)
            rows.append(np.full(len(nz), n_rows))
            cols.append(nz + n_cols)
            vals.append(vec[nz])
            r_lb.append(np.array([-np.inf]))
            r_ub.append(np.array([optimum + 0.5]))  # objectives are whole numbers
            n_rows += 1
        n_cols += block.n_vars
    matrix = coo_array((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                       shape=(n_rows, n_cols)).tocsr()
    return _Stacked(np.concatenate(c_parts), np.concatenate(lb_parts), np.concatenate(ub_parts),
                    matrix, np.concatenate(r_lb), np.concatenate(r_ub), col0, row0)


def _lp(p: _Stacked) -> tuple[int, np.ndarray | None, np.ndarray, np.ndarray, np.ndarray]:
    """Solve by dual simplex (a vertex); return status, x, bound duals and row duals."""
    eq = p.r_lb == p.r_ub
    upper = ~eq & np.isfinite(p.r_ub)
    lower = ~eq & np.isfinite(p.r_lb)
    a_ub = vstack([p.matrix[upper], -p.matrix[lower]], format="csr")
    b_ub = np.concatenate([p.r_ub[upper], -p.r_lb[lower]])
    res = linprog(p.c, A_ub=a_ub if a_ub.shape[0] else None,
                  b_ub=b_ub if a_ub.shape[0] else None,
                  A_eq=p.matrix[eq] if eq.any() else None,
                  b_eq=p.r_lb[eq] if eq.any() else None,
                  bounds=np.column_stack([p.lb, p.ub]), method="highs-ds")
    empty = np.zeros(0)
    if res.status != 0 or res.x is None:
        return res.status, None, empty, empty, empty
    row_dual = np.zeros(len(p.r_lb))
    if eq.any():
        row_dual[eq] = res.eqlin.marginals
    if a_ub.shape[0]:
        n_up = int(upper.sum())
        row_dual[upper] = res.ineqlin.marginals[:n_up]
        row_dual[lower] = -res.ineqlin.marginals[n_up:]
    return 0, res.x, res.lower.marginals, res.upper.marginals, row_dual


def _milp(p: _Stacked, counter: Counter) -> tuple[int, np.ndarray | None]:
    counter.fallbacks += 1
    constraints = (LinearConstraint(p.matrix, p.r_lb, p.r_ub) if p.matrix.shape[0] else None)
    res = counter(milp, p.c, integrality=np.ones(len(p.c)), bounds=Bounds(p.lb, p.ub),
                  constraints=constraints, options={"mip_rel_gap": 0.0})
    if res.status == 2:
        return 2, None
    if res.status != 0 or res.x is None:
        raise RuntimeError(f"HiGHS stopped without a plan: {res.message}")
    return 0, np.round(res.x)


def _whole(x: np.ndarray) -> bool:
    return bool(np.all(np.abs(x - np.round(x)) <= 1e-7))


def _hold(blocks: Sequence[Block], faces: Sequence[_Face], p: _Stacked, stage: int,
          x: np.ndarray, low: np.ndarray, up: np.ndarray, row_dual: np.ndarray) -> None:
    """Narrow each face to the LP's optimal set by complementary slackness.

    With integer costs and a totally unimodular matrix the duals are integers, so "non-zero" is
    clear-cut.
    """
    threshold = 1e-6 * max(1.0, float(np.abs(p.c).max(initial=0.0)))
    for b, (block, face) in enumerate(zip(blocks, faces, strict=True)):
        cols = slice(p.col0[b], p.col0[b] + block.n_vars)
        face.checks.append((stage, float(_objective(block, stage) @ np.round(x[cols]))))
        at_low = low[cols] > threshold
        at_up = up[cols] < -threshold
        face.ub[at_low] = face.lb[at_low]
        face.lb[at_up] = face.ub[at_up]
        k = len(block.r_lb)
        tight = np.abs(row_dual[p.row0[b]:p.row0[b] + k]) > threshold
        core_lb, core_ub = face.r_lb[:k], face.r_ub[:k]
        upper_rows = tight & np.isfinite(core_ub)
        lower_rows = tight & ~np.isfinite(core_ub)
        core_lb[upper_rows] = core_ub[upper_rows]
        core_ub[lower_rows] = core_lb[lower_rows]


def _chain(blocks: Sequence[Block], stages: Sequence[int], counter: Counter,
           use_duals: bool = True) -> list[Outcome]:
    """Solve every stage for these blocks together (one LP per stage)."""
    faces = [_Face.of(b) for b in blocks]
    for i, stage in enumerate(stages):
        last = i == len(stages) - 1
        p = _stack(blocks, faces, stage)
        status, x, low, up, row_dual = counter(_lp, p)
        if status == 2:
            return [Outcome("infeasible", None) for _ in blocks]
        if x is None or not _whole(x) or (not use_duals and not last):
            status, x = _milp(p, counter) if (x is None or not _whole(x)) else (0, x)
            if status == 2 or x is None:
                return [Outcome("infeasible", None) for _ in blocks]
            if not last:
                for b, (block, face) in enumerate(zip(blocks, faces, strict=True)):
                    xb = x[p.col0[b]:p.col0[b] + block.n_vars]
                    face.dense.append((stage, float(_objective(block, stage) @ xb)))
                continue
        elif not last:
            _hold(blocks, faces, p, stage, x, low, up, row_dual)
            continue
        xs = [np.round(x[p.col0[b]:p.col0[b] + block.n_vars]) for b, block in enumerate(blocks)]
        for xb, block, face in zip(xs, blocks, faces, strict=True):
            for earlier, optimum in face.checks:
                if abs(float(_objective(block, earlier) @ xb) - optimum) >= 0.5:
                    if not use_duals:
                        raise RuntimeError("plan stages disagree after a plain re-solve")
                    counter.fallbacks += 1
                    return _chain(blocks, stages, counter, use_duals=False)
        return [Outcome("optimal", xb.astype(np.int64)) for xb in xs]
    raise AssertionError("no stages")


def solve(blocks: list[Block], elastic: bool, per_specialty: bool,
          counter: Counter) -> list[Outcome]:
    """All specialties in one LP per stage (they are separable), or one chain per specialty. A
    specialty that cannot meet the requirement is found by solving each alone."""
    stages = [0, 1, 2] if elastic else [1, 2]
    if not blocks:
        return []
    if per_specialty:
        return [_chain([b], stages, counter)[0] for b in blocks]
    together = _chain(blocks, stages, counter)
    if together[0].status == "optimal":
        return together
    return [_chain([b], stages, counter)[0] for b in blocks]
