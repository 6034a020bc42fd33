"""Benchmark the service's run job with what the loop adds: an office's post records as its
cohorts, and review decisions (the trust split made with them, twice: without and with).

Times ``service.job_kinds.run_job`` (the worker's computation, no database) for the England
default to 2030: plain; with North East's SYNTHETIC post records (scripts/make_synthetic_tis.py);
with one review decision (a rejection of Barts' 2027 Cardiology recommendation, a made-up
decision). Wall and CPU seconds, best of ``--repeat``.

Run: .venv/bin/python benchmarks/bench_run_job_loop.py [--repeat N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from make_synthetic_tis import synthetic_records, write_set  # noqa: E402

from fairshare.service import job_kinds as jk  # noqa: E402
from fairshare.store.decisions import COLUMNS  # noqa: E402

SCENARIO = {"scenario": {"horizon": 2030}}


def records() -> jk.StoredReturn:
    folder = Path(tempfile.mkdtemp(prefix="bench-loop-"))
    write_set(folder, *synthetic_records(seed=5, areas=["North East"]))
    files = {role: (f"{role}.csv", (folder / f"SYNTHETIC_tis_{role}.csv").read_bytes())
             for role in ("posts", "placements")}
    return jk.StoredReturn(id=1, office="North East", kind="post_records", version=1,
                           status="submitted", digest="bench", files=files)


def decision() -> jk.StoredDecisions:
    row = {"id": 1, "run_id": "bench", "recommendation": "London|Cardiology|2027|R1H",
           "area": "London", "specialty": "Cardiology", "decision": "reject",
           "reason": "benchmark (made up)", "proposed": None, "decided_by": 1,
           "decided_by_name": "bench", "decided_at": "2026-12-06T00:00:00+00:00"}
    return jk.StoredDecisions("bench", pd.DataFrame([row], columns=COLUMNS))


def timed(params: dict[str, object], ctx: jk.JobContext, repeat: int) -> tuple[float, float]:
    best = (float("inf"), float("inf"))
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        jk.run_job(params, ctx)
        best = min(best, (time.perf_counter() - wall, time.process_time() - cpu))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    repeat = parser.parse_args().repeat
    quiet = lambda f, m: None  # noqa: E731
    cases = {
        "run (no returns, no decisions)": ({**SCENARIO}, jk.JobContext({}, quiet)),
        "run + North East post records (SYNTHETIC)": (
            {**SCENARIO, "returns": [1]}, jk.JobContext({1: records()}, quiet)),
        "run + 1 review decision (trust split twice)": (
            {**SCENARIO}, jk.JobContext({}, quiet, decisions=decision())),
    }
    print(f"run_job, England default to 2030, best of {repeat}")
    for name, (params, ctx) in cases.items():
        wall, cpu = timed(params, ctx, repeat)
        print(f"  {name:48s} {wall:6.2f} s wall  {cpu:6.2f} s CPU")


if __name__ == "__main__":
    main()
