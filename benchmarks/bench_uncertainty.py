"""Benchmark the Monte Carlo: target-level draws/s and plan-level throughput on 1 vs 2 workers.

Target level: every specialty of the establishment x the 11 local offices, whole-post targets per
draw (Hamilton), exact counts reduced to percentiles. Timed serially and with two local worker
processes, end to end (one ``monte_carlo_targets`` call: setup, drawing, targets, summary) and
with a warm process pool (what a session running many scenarios sees).
Target: >= 5,000 draws/s.

Plan level: each draw's targets planned with ``model.plan.plan`` on a Dask ``LocalCluster`` of
1 and then 2 worker processes (``processes=True, threads_per_worker=1``), after a warm-up run on
each cluster. Expected: 2 workers >= 1.8x the throughput of 1.

Run: .venv/bin/python benchmarks/bench_uncertainty.py [--draws N] [--plan-draws N] [--posts FILE]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from fairshare import Scenario, load_england
from fairshare.analysis.uncertainty import (
    KernelCache,
    UncertaintySpec,
    _build_kernel,
    _whole,
    monte_carlo_plan,
    monte_carlo_targets,
)
from fairshare.analysis.uncertainty_runs import _pool_context
from fairshare.inputs.bundle import Bundle


def _best(fn: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def bench_targets(bundle: Bundle, draws: int, repeat: int) -> None:
    sc = Scenario()
    n_spec = bundle.posts["specialty"].nunique()
    print(f"target level: {n_spec} specialties x 11 local offices, {draws} draws, "
          f"{os.cpu_count()} CPUs (best of {repeat})")
    kernel, _ = _build_kernel(bundle, sc, UncertaintySpec(), seed=1)
    t_kernel = _best(lambda: _whole(kernel, kernel.draws(0, 2048)), repeat)
    print(f"  kernel only (draw + targets, 2048 draws)  {2048 / t_kernel:10,.0f} draws/s")
    t1 = _best(lambda: monte_carlo_targets(bundle, sc, draws=draws, seed=1), repeat)
    print(f"  serial, end to end                          {draws / t1:10,.0f} draws/s "
          f"({t1:.2f} s)")
    bench_structure(bundle, sc, repeat)
    t2 = _best(lambda: monte_carlo_targets(bundle, sc, draws=draws, seed=1, workers=2), 1)
    print(f"  2 workers, end to end (cold pool)           {draws / t2:10,.0f} draws/s "
          f"({t2:.2f} s)")
    with ProcessPoolExecutor(max_workers=2, mp_context=_pool_context()) as pool:
        monte_carlo_targets(bundle, sc, draws=4096, seed=0, executor=pool)  # warm the workers
        t3 = _best(lambda: monte_carlo_targets(bundle, sc, draws=draws, seed=1, executor=pool),
                   repeat)
    print(f"  2 workers, end to end (warm pool)           {draws / t3:10,.0f} draws/s "
          f"({t3:.2f} s, {t1 / t3:.2f}x serial)")


def bench_structure(bundle: Bundle, sc: Scenario, repeat: int) -> None:
    """What the structural draws (population base, convergence, σ tiers) cost, at the draw
    counts people use: the CLI's default, the report's, the web app's (cached need arrays)."""
    without = UncertaintySpec(structural=(), specialised_share_tier_shift=0.0)
    for n in (2000, 1000):
        t_new = _best(lambda n=n: monte_carlo_targets(bundle, sc, draws=n, seed=1), repeat)
        t_old = _best(lambda n=n: monte_carlo_targets(bundle, sc, without, draws=n, seed=1),
                      repeat)
        print(f"  {n:,} draws, default spec (structural)        {t_new:6.2f} s; without "
              f"structural choices or σ tiers {t_old:6.2f} s")
    cache = KernelCache()
    monte_carlo_targets(bundle, sc, draws=300, seed=0, cache=cache)
    moved = sc.with_overrides(deprivation_weight=0.25)
    t_web = _best(lambda: monte_carlo_targets(bundle, moved, draws=300, seed=0, cache=cache),
                  repeat)
    print(f"  300 draws after a δ change, cached need arrays (web app) {t_web:6.2f} s")


def bench_plan(bundle: Bundle, draws: int) -> None:
    if importlib.util.find_spec("fairshare.model.plan") is None:
        print("plan level: skipped (fairshare.model.plan not available)")
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        print("plan level: skipped (dask.distributed not installed)")
        return
    sc = Scenario()
    print(f"plan level: {draws} draws, each planned to {sc.horizon} (Dask LocalCluster, "
          f"processes=True, threads_per_worker=1)")
    rates = {}
    for workers in (1, 2):
        with LocalCluster(n_workers=workers, processes=True, threads_per_worker=1,
                          dashboard_address=None) as cluster, Client(cluster) as client:
            monte_carlo_plan(bundle, sc, draws=workers, seed=99, dask_client=client)  # warm-up
            cpu0 = sum(client.run(time.process_time).values())
            t = time.perf_counter()
            monte_carlo_plan(bundle, sc, draws=draws, seed=1, dask_client=client)
            elapsed = time.perf_counter() - t
            cpu = sum(client.run(time.process_time).values()) - cpu0
        rates[workers] = draws / elapsed
        print(f"  {workers} worker(s)  {rates[workers]:6.2f} draws/s ({elapsed:.1f} s wall, "
              f"workers busy {cpu / (workers * elapsed):.0%} of their wall time, "
              f"{cpu / draws:.2f} CPU s per draw)")
    print(f"  speed-up 2 vs 1: {rates[2] / rates[1]:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=50_000, help="target-level draws")
    parser.add_argument("--plan-draws", type=int, default=48, help="plan-level draws")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case (best is shown)")
    parser.add_argument("--posts", help="establishment file (default: the public baseline)")
    parser.add_argument("--skip-plan", action="store_true")
    args = parser.parse_args()
    bundle = load_england(args.posts)
    print(f"load average before: {_load()} (other jobs on the machine distort the figures)")
    bench_targets(bundle, args.draws, args.repeat)
    if not args.skip_plan:
        bench_plan(bundle, args.plan_draws)
    print(f"load average after: {_load()}")


def _load() -> str:
    try:
        return ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


if __name__ == "__main__":
    main()
