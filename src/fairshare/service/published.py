"""Reading a stored run's tables from the service's database (``runs`` / ``run_tables``).

The tables are the Parquet bytes the run store writes (``store.runs.table_bytes``); reading
them back here keeps the pages independent of which process saved the run.
"""

from __future__ import annotations

import io

import pandas as pd
from sqlalchemy import Connection, select

from fairshare.store.schema import run_tables, runs


def table_names(conn: Connection, run_id: str) -> list[str]:
    return [str(n) for n in conn.execute(select(run_tables.c.name).where(
        run_tables.c.run_id == run_id).order_by(run_tables.c.name)).scalars()]


def run_table(conn: Connection, run_id: str, name: str) -> pd.DataFrame | None:
    data = conn.execute(select(run_tables.c.data).where(
        run_tables.c.run_id == run_id, run_tables.c.name == name)).scalar()
    return None if data is None else pd.read_parquet(io.BytesIO(data))


def stored_runs(conn: Connection, limit: int = 200) -> list[dict[str, object]]:
    """The newest stored runs (id, name, when saved, scenario), for choosing one to publish."""
    rows = conn.execute(select(runs.c.id, runs.c.name, runs.c.saved, runs.c.scenario_name)
                        .order_by(runs.c.seq.desc()).limit(limit)).mappings().all()
    return [dict(r) for r in rows]


def run_metadata(conn: Connection, run_id: str) -> dict[str, object] | None:
    found = conn.execute(select(runs.c.metadata).where(runs.c.id == run_id)).scalar()
    return dict(found) if isinstance(found, dict) else None
