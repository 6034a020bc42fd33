"""What fill likelihood adds to the plan and to expansion (issue 16 part 3), in seconds.

Prints, for the default England plan with an illustrative expansion (60 mental-health posts in
2027 and 2028), the time of the fill steps alone (rates per area x specialty, expected fill,
findings) and the whole ``run_plan`` with expansion by need and by expected fill. Figures only;
no assertion (docs/fill.md quotes them). Best of five warm runs; compare with the same script's
``run_plan`` line on a checkout before this change for the whole-plan cost.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_fill.py
"""

from __future__ import annotations

import time

from fairshare import Scenario, load_england
from fairshare.inputs.fill import default_fill_rates
from fairshare.model.fill import area_fill, expected_fill, fill_findings
from fairshare.model.pipeline import run_plan

REPEATS = 5


def best(func: object) -> float:
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        func()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    bundle = load_england()
    tranches = [{"year": y, "priority": "mental health", "posts": 60} for y in (2027, 2028)]
    need = Scenario(expansion=tranches)
    by_fill = Scenario(expansion=tranches, expansion_allocation="expected_fill")
    out = run_plan(bundle, need)  # also the warm-up: the first call loads and caches the data
    run_plan(bundle, by_fill)
    plan = out.plan

    def steps() -> None:
        fill = area_fill(default_fill_rates(), plan[["area", "specialty"]])
        expected_fill(plan, fill)
        fill_findings(plan, fill, 0.8)

    print(f"fill steps alone (rates, expected fill, findings): {best(steps) * 1000:.1f} ms")
    print(f"run_plan, expansion by need:          {best(lambda: run_plan(bundle, need)):.2f} s")
    print(f"run_plan, expansion by expected fill: {best(lambda: run_plan(bundle, by_fill)):.2f} s")


if __name__ == "__main__":
    main()
