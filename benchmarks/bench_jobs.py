"""Benchmark the job queue: jobs claimed (and finished) per second by 1 and by 2 workers.

Each worker is its own process (as ``fairshare service worker`` is) looping claim -> finish
over empty jobs until the queue is empty, so the figure is the queue's own cost per job: the
claiming transaction (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, ``BEGIN IMMEDIATE`` on
SQLite), the finish and its audit entry. Timed from the first worker's first claim to the last
worker's last finish (process start-up excluded). Real jobs take seconds to minutes, so the
queue is never the bottleneck if it handles tens of jobs a second.

Run: .venv/bin/python benchmarks/bench_jobs.py [--jobs N] [--postgres] [--database URL]
``--postgres`` starts a throwaway PostgreSQL server (tests/pgcluster.py) for the run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.pgcluster, for --postgres

from fairshare.store import db  # noqa: E402
from fairshare.store import jobs as q  # noqa: E402
from fairshare.store.schema import accounts  # noqa: E402

_WORKER = """
import json, sys, time
from fairshare.store import db, jobs as q
engine = db.engine_for(sys.argv[1])
name = sys.argv[2]
n, start = 0, time.time()
while (job := q.claim(engine, name)) is not None:
    q.finish(engine, job.id, {}, worker=name)
    n += 1
print(json.dumps({"n": n, "start": start, "end": time.time()}))
"""


def fill(url: str, jobs: int) -> None:
    engine = db.open_database(url)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        account = conn.execute(accounts.insert().values(
            username=f"bench{now.timestamp()}", display_name="Bench", role="analyst",
            active=True, failed_logins=0, created_at=now, updated_at=now)
            .returning(accounts.c.id)).scalar_one()
        for i in range(jobs):
            q.enqueue(conn, "run", {"n": i}, account)
    engine.dispose()


def drain(url: str, workers: int) -> tuple[int, float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    procs = [subprocess.Popen([sys.executable, "-c", _WORKER, url, f"bench-{i}"], env=env,
                              stdout=subprocess.PIPE, text=True) for i in range(workers)]
    outs = [json.loads(p.communicate()[0]) for p in procs]
    total = sum(o["n"] for o in outs)
    wall = max(o["end"] for o in outs) - min(o["start"] for o in outs)
    return total, wall


def bench(url: str, label: str, jobs: int) -> None:
    for workers in (1, 2):
        fill(url, jobs)
        total, wall = drain(url, workers)
        print(f"{label}: {workers} worker{'s' if workers > 1 else ''}: {total} jobs in "
              f"{wall:.2f} s = {total / wall:,.0f} jobs/s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--database")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} cores; "
          f"{args.jobs} empty jobs per run (claim, finish, audit entry)")
    if args.database:
        bench(db.database_url(args.database), db.redacted(args.database), args.jobs)
        return
    with tempfile.TemporaryDirectory() as tmp:
        bench(f"sqlite:///{tmp}/bench.sqlite", "SQLite (WAL, synchronous=FULL)", args.jobs)
    if args.postgres:
        from tests.pgcluster import Cluster

        cluster = Cluster()
        try:
            bench(cluster.new_database(), "PostgreSQL 15 (fsync off, throwaway)", args.jobs)
        finally:
            cluster.stop()


if __name__ == "__main__":
    main()
