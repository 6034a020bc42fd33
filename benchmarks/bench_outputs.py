"""Writing results: how long labelling, formatting and the atomic folder swap take.

Every output row gains its basis, scenario and year status, every float is formatted from the
data dictionary, and a folder is built beside its destination and swapped in whole. This
prints what that costs for the England plan folder (targets, plan, findings, equity) and for a
large synthetic table (200,000 rows), so a slowdown shows up here rather than in users' runs.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from fairshare.analysis.equity import equity_before_after
from fairshare.inputs.bundle import load_england
from fairshare.model.pipeline import run_plan
from fairshare.publish.outputs import run_metadata, write_output
from fairshare.scenario import Scenario


def timed(label: str, func: object, repeat: int = 5) -> None:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        func()  # type: ignore[operator]
        best = min(best, time.perf_counter() - start)
    print(f"{label:<55} {best * 1000:8.1f} ms (best of {repeat})")


def main() -> None:
    print(f"load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    bundle, sc = load_england(), Scenario(horizon=2031)
    out = run_plan(bundle, sc)
    tables = {"targets": out.targets, "plan": out.plan, "findings": out.findings,
              "equity": equity_before_after(out.targets, out.plan)}
    meta = run_metadata(bundle, sc)
    rows = sum(len(t) for t in tables.values())
    rng = np.random.default_rng(0)
    n = 200_000
    big = pd.DataFrame({"area": rng.choice(["A", "B", "C"], n), "specialty": "Cardiology",
                        "year": rng.integers(2022, 2040, n), "fair_share": rng.random(n) * 100,
                        "gini": rng.random(n), "posts": rng.integers(0, 500, n)})
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        timed(f"England plan folder ({rows:,} rows in 4 tables)",
              lambda: write_output(root / "plan", tables, meta, command="plan", name="b"))
        timed("England plan as one Parquet file",
              lambda: write_output(root / "p.parquet", tables, meta, command="plan", name="b"))
        timed(f"synthetic table, {n:,} rows, folder",
              lambda: write_output(root / "big", {"plan": big}, meta, command="x", name="b"),
              repeat=3)


if __name__ == "__main__":
    main()
