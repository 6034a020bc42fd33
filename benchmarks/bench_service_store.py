"""The run store on files vs in the service's database: save and load of a default run.

The shared service keeps runs in its database (``SqlRunStore``: one row, one Parquet blob per
table, one transaction) instead of the run store folder. This prints how long saving and
loading the default `fairshare run` tables take on each: the file store, the database store on
a SQLite file, and on a throwaway PostgreSQL server (tests/pgcluster.py: fsync off, as in the
tests, so its figure leaves out the disk flush that the file store and SQLite, synchronous=FULL,
both pay). Wall and CPU time,
best of five; the load average is printed because the 2-core machine is shared.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/pgcluster.py

from fairshare.analysis.equity import equity_before_after
from fairshare.cli.common import findings_table
from fairshare.inputs.bundle import load_england
from fairshare.model.pipeline import run_plan
from fairshare.publish.outputs import run_metadata
from fairshare.scenario import Scenario
from fairshare.store import db
from fairshare.store.runs import RunStore
from fairshare.store.sql_runs import SqlRunStore

REPEAT = 5


def timed(label: str, func: Callable[[], Any]) -> None:
    walls, cpus = [], []
    for _ in range(REPEAT):
        wall, cpu = time.perf_counter(), time.process_time()
        func()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    print(f"{label:<52} {min(walls) * 1000:8.1f} ms wall {min(cpus) * 1000:8.1f} ms CPU "
          f"(best of {REPEAT})")


def bench(label: str, store: RunStore | SqlRunStore, meta: dict[str, Any],
          tables: dict[str, Any]) -> None:
    saved: list[str] = []
    timed(f"{label}: save", lambda: saved.append(store.save("bench", meta, tables).id))
    timed(f"{label}: load every table", lambda: store.load_tables(saved[-1]))
    timed(f"{label}: list runs", store.list)


def main() -> None:
    print(f"load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    bundle, sc = load_england(), Scenario()
    out = run_plan(bundle, sc)
    tables = {"targets": out.targets, "plan": out.plan, "findings": findings_table(out),
              "fill": out.fill, "equity": equity_before_after(out.targets, out.plan)}
    meta = run_metadata(bundle, sc)
    rows = sum(len(t) for t in tables.values())
    print(f"default run: {rows:,} rows in {len(tables)} tables ({', '.join(tables)})")
    from tests.pgcluster import Cluster

    cluster = Cluster()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            bench("file store (Parquet files + registry)", RunStore(Path(tmp) / "files"),
                  meta, tables)
            sqlite = db.open_database(f"sqlite:///{tmp}/service.sqlite")
            bench("SqlRunStore on SQLite", SqlRunStore(sqlite), meta, tables)
            sqlite.dispose()
            pg = db.open_database(cluster.new_database())
            bench("SqlRunStore on PostgreSQL 15", SqlRunStore(pg), meta, tables)
            pg.dispose()
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
