"""The audit log: every sign-in, submission, publication and role change, append-only.

Written in the same transaction as the change it records, so a change is never without its
entry and an entry never without its change. The database refuses UPDATE and DELETE on the
table (the migration's triggers); this module only ever inserts and reads. ``record`` refuses
detail that could hold a secret (a key such as ``password`` or ``token``) or a file's content,
so nothing secret reaches the log or its export.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sqlalchemy import Connection, select

from fairshare.store.schema import audit_log

_SECRET_KEY = re.compile(r"pass|secret|token|cookie|session|hash|key|data|content", re.I)
MAX_DETAIL_CHARS = 2000


def now() -> datetime:
    return datetime.now(UTC)


def record(conn: Connection, action: str, *, actor: str, target: str | None = None,
           detail: Mapping[str, Any] | None = None, client: str | None = None) -> None:
    """Append one entry (inside the caller's transaction)."""
    clean = dict(detail or {})
    bad = [k for k in clean if _SECRET_KEY.search(k)]
    if bad:
        raise ValueError(f"audit detail may not carry {bad}: secrets and file content stay out "
                         "of the log")
    if len(repr(clean)) > MAX_DETAIL_CHARS:
        raise ValueError("audit detail is too long: record a digest, not content")
    conn.execute(audit_log.insert().values(
        at=now(), actor=actor[:120], action=action[:60],
        target=None if target is None else target[:255], detail=clean or None,
        client=None if client is None else client[:64]))


def entries(conn: Connection, *, since: datetime | None = None,
            limit: int | None = None) -> pd.DataFrame:
    """The log, oldest first (the export an IG reviewer downloads)."""
    query = select(audit_log).order_by(audit_log.c.id)
    if since is not None:
        query = query.where(audit_log.c.at >= since)
    if limit is not None:
        query = query.limit(limit)
    rows = conn.execute(query).mappings().all()
    cols = ["id", "at", "actor", "action", "target", "detail", "client"]
    return pd.DataFrame([dict(r) for r in rows], columns=cols)
