"""Benchmark fairshare.apportionment: every method on 10,000 units and 100,000 seats.

Run::

    python benchmarks/bench_apportionment.py            # ours only (a few seconds)
    python benchmarks/bench_apportionment.py --oracle   # also the `apportionment` package, once
                                                        # per method (slow: ~1 min and ~16 GB of
                                                        # memory per divisor method)

The weights are seeded random floats (log-normal, like fair shares of very unequal areas), so every
run times the same problem.  Ours is the best of ``--repeat`` runs; the target is 0.1 s per method.
Controlled rounding of a 65 x 45 table (specialties x areas) is timed too (target 50 ms).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from fairshare.apportionment import METHODS, apportion, controlled_round

TARGET_S = 0.1
TARGET_TABLE_S = 0.05
ORACLE_NAME = {
    "hamilton": "largest_remainder",
    "webster": "saintelague",
    "huntington-hill": "huntington",
    "dhondt": "dhondt",
    "adams": "adams",
}


def best_of(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    """Best wall-clock time of ``repeat`` calls, and the last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def table_case(seed: int) -> tuple[list[list[float]], list[int], list[int]]:
    """A 65 x 45 table with whole row totals and Hamilton-rounded column totals."""
    rng = np.random.default_rng(seed)
    x = rng.gamma(0.7, 3.0, (65, 45))
    rows = np.round(x.sum(axis=1) * 3).astype(int)
    x *= (rows / x.sum(axis=1))[:, None]
    cols = apportion(list(x.sum(axis=0)), int(rows.sum()), "hamilton")
    return x.tolist(), rows.tolist(), cols


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=10_000)
    parser.add_argument("--seats", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20_240_601)
    parser.add_argument("--oracle", action="store_true",
                        help="also time the `apportionment` package once per method (slow)")
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    weights = rng.lognormal(mean=0.0, sigma=1.0, size=args.units).tolist()
    print(f"{args.units:,} units, {args.seats:,} seats, seed {args.seed}; "
          f"best of {args.repeat}, target {TARGET_S * 1000:.0f} ms")
    ours: dict[str, list[int]] = {}
    for method in METHODS:
        seconds, result = best_of(lambda m=method: apportion(weights, args.seats, m), args.repeat)
        assert isinstance(result, list) and sum(result) == args.seats
        ours[method] = result
        flag = "ok" if seconds <= TARGET_S else "SLOW"
        print(f"  fairshare  {method:16s} {seconds * 1000:8.1f} ms  {flag}")

    table, rows, cols = table_case(args.seed)
    seconds, _ = best_of(lambda: controlled_round(table, rows, cols), args.repeat)
    flag = "ok" if seconds <= TARGET_TABLE_S else "SLOW"
    print(f"  fairshare  controlled_round 65x45 {seconds * 1000:6.1f} ms  {flag} "
          f"(target {TARGET_TABLE_S * 1000:.0f} ms)")

    if args.oracle:
        import apportionment.methods as oracle

        names = [f"unit{i}" for i in range(args.units)]
        print("apportionment package (one run each):")
        for method in METHODS:
            start = time.perf_counter()
            theirs = oracle.compute(ORACLE_NAME[method], weights, args.seats, parties=names)
            seconds = time.perf_counter() - start
            differ = sum(int(a) != b for a, b in zip(theirs, ours[method], strict=True))
            print(f"  oracle     {method:16s} {seconds * 1000:8.1f} ms  "
                  f"({differ} units differ from fairshare)", flush=True)
            del theirs


if __name__ == "__main__":
    main()
