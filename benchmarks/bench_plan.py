"""Benchmark the pace-of-change plan: England, England by ICB, and synthetic countries of 100 and
1,000 areas built through the documented own-data folder (docs/own_data.md, ``load_bundle``).

Each case plans with the default scenario (glide path, cohort-linked vacancies, minimum programme
sizes) and, for England, also at the fastest pace. Timed in-process: the plan only (targets and
loading are not timed), best of ``--repeat`` runs, all in one run so the ratios compare like
with like. The synthetic countries are seeded random populations (SYNTHETIC, for timing only):
every need component equals the population, and each specialty's posts are the population share
times a seeded factor in [0.6, 1.4], so gaps are of the size England's are.

Run: .venv/bin/python benchmarks/bench_plan.py [--repeat N] [--skip-1000]
Targets: England to 2031 and to the default horizon (2037, the glide path's end) <= 0.5 s, to
2040 <= 1 s; 100 areas <= 10x England (same run, default horizon); 1,000 areas <= 60 s; England
by ICB (42 areas) <= 2 s.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from fairshare.inputs.bundle import Bundle, load_bundle, load_england
from fairshare.inputs.schemas import AGE_BANDS, COMPONENTS, SEXES
from fairshare.model.pipeline import plan_options, plan_problem
from fairshare.model.plan import PlanResult, plan
from fairshare.model.targets import targets
from fairshare.scenario import Scenario
from fairshare.vocabulary import Level


def synthetic_country(folder: Path, n_areas: int, seed: int = 2022) -> Bundle:
    """A seeded n-area country in a data folder of its own (each area holds posts)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    codes = [f"A{i:04d}" for i in range(n_areas)]
    names = [f"Area {i:04d}" for i in range(n_areas)]
    regions = [f"R{i // 10:03d}" for i in range(n_areas)]
    people = rng.integers(200_000, 3_000_000, size=n_areas)
    cells = len(SEXES) * len(AGE_BANDS)
    rows = [{"icb_code": c, "sex": s, "age_band": b, "population": int(p) // cells}
            for c, p in zip(codes, people, strict=True) for s in SEXES for b in AGE_BANDS]
    pop = pd.DataFrame(rows)
    pop.to_csv(folder / "population_mid2022.csv", index=False)
    growth = pop.drop(columns="population").merge(pd.DataFrame({"year": range(2022, 2044)}),
                                                  how="cross").assign(factor=1.0)
    growth.to_csv(folder / "growth_factors.csv", index=False)
    wp = pd.DataFrame({"icb_code": codes, "registered": people.astype(float),
                       "population": people.astype(float)})
    for c in COMPONENTS:
        wp[c] = wp["population"]
    wp.to_csv(folder / "weighted_population.csv", index=False)
    pd.DataFrame({"icb_code": codes, "icb_ods": codes, "icb_name": names,
                  "region_code": regions, "region_name": regions}).to_csv(
        folder / "icbs.csv", index=False)
    pd.DataFrame({"local_office": names, "lo_code": codes, "region_code": regions,
                  "region_name": regions}).to_csv(folder / "local_offices.csv", index=False)
    pd.DataFrame({"icb_code": codes, "local_office": names, "share": 1.0}).to_csv(
        folder / "icb_local_office.csv", index=False)
    england = load_england()
    national = england.posts.groupby("specialty")["posts"].sum()
    share = people / people.sum()
    post_rows = []
    for spec, total in national.items():
        raw = share * rng.uniform(0.6, 1.4, size=n_areas) * max(int(total), n_areas)
        for name, value in zip(names, np.round(raw).astype(int), strict=True):
            post_rows.append({"local_office": name, "specialty": spec, "posts": int(value)})
    posts = folder / "posts.csv"
    pd.DataFrame(post_rows).to_csv(posts, index=False)
    return load_bundle(folder, posts)


def timed(bundle: Bundle, scenario: Scenario, level: Level, repeat: int,
          **changes: object) -> tuple[float, float, PlanResult]:
    """Best wall and CPU seconds of ``plan`` for this bundle (targets computed once, untimed)."""
    problem = plan_problem(bundle, targets(bundle, scenario, level=level), scenario)
    options = dataclasses.replace(plan_options(scenario), **changes)  # type: ignore[arg-type]
    best: tuple[float, float, PlanResult] | None = None
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        result = plan(problem, options)
        wall = time.perf_counter() - start
        if best is None or wall < best[0]:
            best = (wall, time.process_time() - cpu, result)
    assert best is not None
    return best


def show(label: str, areas: int, wall: float, cpu: float, result: PlanResult,
         budget: str) -> None:
    st = result.stats
    table = result.table
    last = table[table["year"] == table["year"].max()]
    moved = int(table["vacancies_used"].sum())
    at_target = float((last["remaining_gap"] == 0).mean())
    print(f"{label:<28} {areas:>5} {st['n_vars']:>8} {st['n_constraints']:>8} "
          f"{st['n_solves']:>3} {st['n_fallbacks']:>3} {st['solve_seconds']:>8.3f} {wall:>8.3f} "
          f"{cpu:>7.3f} {moved:>7} {at_target:>6.1%}  {budget}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per case (best is shown)")
    parser.add_argument("--skip-1000", action="store_true", help="skip the 1,000-area country")
    args = parser.parse_args()
    print(f"load average (1 min): {os.getloadavg()[0]:.2f} on {os.cpu_count() or 1} cores")
    print(f"{'case':<28} {'areas':>5} {'vars':>8} {'rows':>8} {'lps':>3} {'fb':>3} "
          f"{'solve s':>8} {'wall s':>8} {'cpu s':>7} {'moved':>7} {'at tgt':>6}  budget")
    england = load_england()
    sc = Scenario()
    base = 0.0
    for horizon, budget in ((2031, 0.5), (sc.horizon, 0.5), (2040, 1.0)):
        scenario = sc.model_copy(update={"horizon": horizon})
        wall, cpu, res = timed(england, scenario, "local_office", args.repeat)
        base = wall if horizon == sc.horizon else base
        show(f"England to {horizon}", 11, wall, cpu, res,
             f"<= {budget} s {'ok' if wall <= budget else 'OVER'}")
        wall, cpu, res = timed(england, scenario, "local_office", args.repeat, pace="fastest")
        show(f"England to {horizon}, fastest", 11, wall, cpu, res, "")
    wall, cpu, res = timed(england, sc, "icb", args.repeat)
    show(f"England by ICB to {sc.horizon}", 42, wall, cpu, res,
         f"<= 2 s {'ok' if wall <= 2 else 'OVER'}")
    sizes = [100] if args.skip_1000 else [100, 1000]
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            bundle = synthetic_country(Path(tmp) / f"country{n}", n)
            repeat = args.repeat if n <= 100 else 1
            wall, cpu, res = timed(bundle, sc, "local_office", repeat)
            budget = (f"<= 10x England: {wall / base:.1f}x {'ok' if wall <= 10 * base else 'OVER'}"
                      if n == 100 else f"<= 60 s {'ok' if wall <= 60 else 'OVER'}")
            show(f"synthetic {n} areas to {sc.horizon}", n, wall, cpu, res, budget)


if __name__ == "__main__":
    main()
