"""Benchmark `fairshare posts`: the England area plan shared over trusts (docs/posts.md).

Times, in-process and best of ``--repeat`` runs: the area plan (``run_plan``), then the trust
split on top of it (``run_trust_plan``: ICB fair targets, the plan's completions, and the
post-by-post trust choice), for the default scenario to 2031 and to 2040. Prints rows, posts
moved, posts placed at a trust and the seconds of each stage.

Run: .venv/bin/python benchmarks/bench_posts.py [--repeat N]
Target (issue 15): the trust split in <= 3 s on top of the area plan.
"""

from __future__ import annotations

import argparse
import time

from fairshare.inputs.bundle import load_england
from fairshare.inputs.trusts import TRUST_BASIS, load_catchment, load_trusts, trust_minimums
from fairshare.model.pipeline import run_plan
from fairshare.model.trust_pipeline import run_trust_plan
from fairshare.scenario import Scenario


def best(func, repeat: int):  # type: ignore[no-untyped-def]
    """The result of the last run and the fastest time."""
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - started)
    return result, min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    bundle = load_england()
    trusts, catchment = load_trusts(), load_catchment()
    basis = {s: TRUST_BASIS for s in bundle.specialties["specialty"]}
    print(f"{'case':<22}{'plan s':>8}{'trusts s':>10}{'rows':>8}{'moved':>8}{'at trust':>10}")
    for horizon in (2031, 2040):
        sc = Scenario(horizon=horizon)
        trusts["min_posts"] = trust_minimums(trusts, sc.trust_min_posts, None)
        out, plan_s = best(lambda sc=sc: run_plan(bundle, sc), args.repeat)
        table, trust_s = best(lambda sc=sc, out=out: run_trust_plan(
            bundle, sc, out, trusts, catchment, basis), args.repeat)
        moved = int(out.plan["redistribution"].abs().sum())
        at_trust = int(table.loc[table["org_code"] != "", "change"].abs().sum())
        print(f"{'England to ' + str(horizon):<22}{plan_s:>8.2f}{trust_s:>10.2f}"
              f"{len(table):>8,}{moved:>8,}{at_trust:>10,}")


if __name__ == "__main__":
    main()
