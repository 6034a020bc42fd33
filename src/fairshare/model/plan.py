"""The multi-year pace-of-change plan (METHOD §4): which posts move, where, and when.

Redistribution is slow by design: a post can move only when its trainee completes (no current
trainee moves, and a released post is not refilled, so its cohort line frees one post fewer a
programme length later), a receiving area can take only as many extra trainees a year as it can
supervise, and a giving area must keep a viable programme. The default pace is the programme's
glide path: each gap spread evenly over a window to 2030, keeping at least half of a giving
area's intake and growing a receiving area's intake by at most half. ``pace="fastest"`` closes
gaps as early as the constraints allow.

Why the model looks the way it does (``docs/plan.md`` writes it out):

* **One sign per area.** An area above target only gives, one below only receives, one at target
  never moves, so the remaining distance is linear in the moves and "never overshoot" is a bound
  on a sum of non-negative moves.
* **Whole plans from LPs.** Every row sums moves over a set from one of two laminar families
  (years; an area's cohort lines inside its whole plan), so the matrix is totally unimodular and
  every LP vertex is a whole plan: no branching, fast and deterministic at any scale
  (``plan_model``).
* **Lexicographic objective, solved in stages** (``plan_solve``): the least relaxation (elastic
  mode), then the most discounted progress, then a unique tie-break (areas furthest from target
  first). Each stage's duals hold the previous optimum exactly.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from fairshare.model.cohorts import (
    PlanInputError,
    default_capacity,
    default_vacancies,
    vacancies_after_moves,
    vacancies_from_cohorts,
)
from fairshare.model.plan_findings import outcome_findings, precheck_data, relaxation
from fairshare.model.plan_inputs import (
    ELASTIC_PENALTIES,
    Finding,
    PlanData,
    PlanOptions,
    PlanProblem,
    PlanResult,
    prepare,
)
from fairshare.model.plan_model import Block, build_block
from fairshare.model.plan_solve import Counter, Outcome, solve

__all__ = [
    "ELASTIC_PENALTIES",
    "Finding",
    "PlanInputError",
    "PlanOptions",
    "PlanProblem",
    "PlanResult",
    "default_capacity",
    "default_vacancies",
    "plan",
    "precheck",
    "vacancies_from_cohorts",
]


def precheck(problem: PlanProblem, options: PlanOptions | None = None) -> list[Finding]:
    """What cannot hold, in the planner's words, before any solving.

    Each check is a necessary condition for every phased area to reach its target by the deadline
    (``require_target_by`` if set, else the horizon): enough posts falling vacant in a giving area
    along its cohort lines, enough capacity in a receiving area, a pace (cap, glide path, cohort
    share, intake growth) that allows the whole gap in the years left, a target not below the
    minimum viable programme, and, per specialty and year, givers releasing posts when receivers
    can take them. With a requirement any finding (other than kind "phase") makes the plan
    infeasible; without one they explain why targets will not be met by the horizon.
    """
    return precheck_data(prepare(problem, options or PlanOptions()))


def plan(problem: PlanProblem, options: PlanOptions | None = None) -> PlanResult:
    """The plan: integer moves per area, specialty and year toward target at the chosen pace.

    Status "optimal": every constraint holds and progress is the best possible; the findings say
    which areas do not reach target by the glide window's end or the horizon and what holds them
    back. "elastic": some constraints had to be relaxed (elastic mode); a finding names each.
    "infeasible": ``require_target_by`` cannot be met; the affected specialties get no moves and
    the findings name the constraints, areas and years that stop it.
    """
    options = options or PlanOptions()
    started = time.perf_counter()
    data = prepare(problem, options)
    blocks = [b for spec in data.specialties
              if (b := build_block(data, spec, options.elastic)) is not None]
    counter = Counter()
    outcomes = solve(blocks, options.elastic, options.per_specialty, counter)
    moves = np.zeros((len(data.area), len(data.years)), dtype=np.int64)
    findings: list[Finding] = []
    relaxed = False
    for block, outcome in zip(blocks, outcomes, strict=True):
        if outcome.x is None:
            continue
        m = block.moves(outcome.x)
        moves[block.rows, block.years[0] - options.start_year:] = m * block.side[:, None]
        for slack in block.slacks:
            if size := int(outcome.x[slack.var]):
                relaxed = True
                findings.append(relaxation(data, block, m, slack, size, diagnosis=False))
    infeasible = [b for b, o in zip(blocks, outcomes, strict=True) if o.status == "infeasible"]
    if infeasible:
        findings = _diagnose(data, problem, infeasible, counter) + findings
    planned = {b.specialty: (b, o.x) for b, o in zip(blocks, outcomes, strict=True)}
    findings.extend(outcome_findings(data, planned, moves))
    status = "infeasible" if infeasible else ("elastic" if relaxed else "optimal")
    return PlanResult(table=_table(data, moves), findings=findings, status=status,
                      stats=_stats(options, blocks, outcomes, counter, started))


def _diagnose(data: PlanData, problem: PlanProblem, infeasible: list[Block],
              counter: Counter) -> list[Finding]:
    """The precheck's explanations, plus the least relaxation that would meet the requirement
    (placed as the elastic plan would place it, so the years named are the natural ones)."""
    specs = {b.specialty for b in infeasible}
    findings = [f for f in precheck_data(data) if f.specialty in specs]
    for block in infeasible:
        elastic_block = build_block(data, block.specialty, elastic=True)
        assert elastic_block is not None
        x = solve([elastic_block], True, True, counter)[0].x
        assert x is not None
        m = elastic_block.moves(x)
        for slack in elastic_block.slacks:
            if int(x[slack.var]):
                findings.append(relaxation(data, elastic_block, m, slack, int(x[slack.var]),
                                           diagnosis=True))
    return findings


def _stats(options: PlanOptions, blocks: list[Block], outcomes: list[Outcome], counter: Counter,
           started: float) -> dict[str, Any]:
    return {
        "mode": "per_specialty" if options.per_specialty else "single",
        "pace": options.pace,
        "n_vars": sum(b.n_vars for b in blocks),
        "n_constraints": sum(len(b.r_lb) for b in blocks),
        "n_integer": 0,
        "n_solves": counter.solves,
        "n_fallbacks": counter.fallbacks,
        "solve_seconds": counter.seconds,
        "total_seconds": time.perf_counter() - started,
        "per_specialty": {
            b.specialty: {"n_vars": b.n_vars, "n_constraints": len(b.r_lb), "status": o.status}
            for b, o in zip(blocks, outcomes, strict=True)
        },
    }


def _table(data: PlanData, moves: np.ndarray) -> pd.DataFrame:
    n_pairs, n_years = moves.shape
    cumulative = np.cumsum(moves, axis=1)
    posts = data.current[:, None] + cumulative
    target = np.repeat(data.target[:, None], n_years, axis=1)
    vacancies = vacancies_after_moves(data.vacancies, moves, data.lengths)
    return pd.DataFrame({
        "area": np.repeat(data.area, n_years),
        "specialty": np.repeat(data.specialty, n_years),
        "year": np.tile(np.arange(data.years.start, data.years.stop, dtype=np.int64), n_pairs),
        "redistribution": moves.reshape(-1),
        "cumulative": cumulative.reshape(-1),
        "posts": posts.reshape(-1),
        "target": target.reshape(-1),
        "remaining_gap": (target - posts).reshape(-1),
        "vacancies": vacancies.reshape(-1),
        "vacancies_used": np.maximum(-moves, 0).reshape(-1),
        "capacity": data.capacity.reshape(-1),
        "capacity_used": np.maximum(moves, 0).reshape(-1),
    })
