"""Cost of scarcity and the rural / coastal need terms in `targets` (issue 16: ≤ 0.1 s added).

Prints, in-process on the embedded England data: targets per level with both additions; the
scarcity table alone (what ``targets`` now computes beside its own columns); the rural and
coastal uplift alone; and targets with the terms switched on. With ``--before DIR`` (a checkout
without them, e.g. /work/main) it also times that tree's targets in a subprocess.

Run: .venv/bin/python benchmarks/bench_scarcity.py [--before ../main]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

TIMER = """
import statistics, time
from fairshare import Scenario, load_england, targets
b = load_england()
for level in ("local_office", "region", "icb"):
    times = []
    for _ in range(5):
        t = time.perf_counter(); targets(b, Scenario(level=level))
        times.append(time.perf_counter() - t)
    best, med = min(times) * 1000, statistics.median(times) * 1000
    print(f"  {level}: best {best:.0f} ms, median {med:.0f} ms")
"""


def _best(fn: Callable[[], object], repeat: int = 5) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times), statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", type=Path, help="a tree without scarcity, timed for comparison")
    args = ap.parse_args()
    from fairshare import Scenario, load_england, targets
    from fairshare.model.need import rural_coastal_uplift
    from fairshare.model.scarcity import scarcity
    from fairshare.model.targets import prepare

    bundle = load_england()
    both = Scenario(rural_weight=0.2, coastal_weight=0.2)
    print("targets with scarcity columns (this tree):")
    for level in ("local_office", "region", "icb"):
        best, med = _best(lambda lv=level: targets(bundle, Scenario(level=lv)))  # type: ignore[misc]
        print(f"  {level}: best {best * 1000:.0f} ms, median {med * 1000:.0f} ms")
    inp = prepare(bundle, Scenario())
    best, med = _best(lambda: scarcity(bundle, Scenario(), inp))
    print(f"scarcity table alone (all levels, added to every targets call): best "
          f"{best * 1000:.1f} ms, median {med * 1000:.1f} ms (budget with the terms: 100 ms)")
    icbs = sorted(bundle.icbs["icb_code"])
    best, med = _best(lambda: rural_coastal_uplift(bundle, both, icbs))
    print(f"rural and coastal uplift alone: best {best * 1000:.2f} ms, median {med * 1000:.2f} ms")
    best, med = _best(lambda: targets(bundle, both))
    print(f"targets with rural_weight = coastal_weight = 0.2: best {best * 1000:.0f} ms, median "
          f"{med * 1000:.0f} ms")
    if args.before:
        print(f"targets in {args.before} (before):")
        env = {"PYTHONPATH": str(args.before.resolve() / "src")}
        run = subprocess.run([sys.executable, "-c", TIMER], env=env, capture_output=True,
                             text=True, check=True)
        print(run.stdout.rstrip())


if __name__ == "__main__":
    main()
