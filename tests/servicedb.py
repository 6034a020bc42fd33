"""Helpers for the service-store tests: accounts and runs put in the database directly.

They write through the schema, not through the modules under test, so a test of returns or
publications never rests on the code it checks.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine

from fairshare.store.schema import accounts, runs


def add_account(engine: Engine, username: str, role: str = "office_lead",
                office: str | None = None) -> int:
    now = datetime.now(UTC)
    with engine.begin() as conn:
        return int(conn.execute(accounts.insert().values(
            username=username, display_name=username.title(), role=role, office=office,
            active=True, failed_logins=0, created_at=now, updated_at=now,
        ).returning(accounts.c.id)).scalar_one())


def add_run(engine: Engine, run_id: str, name: str = "run") -> str:
    with engine.begin() as conn:
        conn.execute(runs.insert().values(id=run_id, name=name, created="2026-01-01T00:00:00",
                                          saved="2026-01-01T00:00:00", tables={}, metadata={}))
    return run_id
