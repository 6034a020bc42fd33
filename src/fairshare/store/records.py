"""What the service's record modules share: their error, who an account is, version numbers.

Returns and publications are numbered 1, 2, 3 ... (per office and kind, or overall), never
overwritten. The next number is read and inserted in the caller's transaction. On SQLite every
transaction starts with ``BEGIN IMMEDIATE`` (store/db.py), so writers queue and two can never
read the same maximum; on PostgreSQL two transactions can, and the second insert then fails on
the unique constraint. ``insert_next_version`` runs the insert in a savepoint and, on that
failure, rolls back only the savepoint and reads the maximum again, so the caller's other work
in the transaction is kept and every submission is stored exactly once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, select
from sqlalchemy.exc import IntegrityError

from fairshare.errors import FairshareError
from fairshare.store.schema import accounts

#: How many times a version number lost to a concurrent writer is re-read before giving up;
#: each retry means another writer committed, so this bounds the queue, not the luck.
MAX_VERSION_RETRIES = 100


class StoreInputError(FairshareError):
    """A submission, publication or decision the store refuses (the message says why)."""


def utc(value: datetime) -> datetime:
    """A stored time as an aware UTC datetime (SQLite hands times back without a zone)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def actor(conn: Connection, account_id: int) -> str:
    """The username the audit log names for ``account_id``; an unknown or deactivated account
    is refused, so a record is never made in the name of someone who may no longer act."""
    row = conn.execute(select(accounts.c.username, accounts.c.active)
                       .where(accounts.c.id == account_id)).first()
    if row is None:
        raise StoreInputError(f"account {account_id!r} does not exist: a change must be made by "
                              "a known account")
    if not row.active:
        raise StoreInputError(f"account {row.username!r} is deactivated: it can no longer "
                              "submit, publish or decide")
    return str(row.username)


def insert_next_version(conn: Connection, version_col: Any, where: ColumnElement[bool] | None,
                        insert: Callable[[int], Any]) -> tuple[int, Any]:
    """Insert with version = max + 1 (of ``version_col`` among rows matching ``where``).

    ``insert(version)`` runs the insert and returns what the caller needs (e.g. the new id);
    it is retried with a fresh maximum when a concurrent writer took the number first.
    """
    query = select(func.coalesce(func.max(version_col), 0))
    if where is not None:
        query = query.where(where)
    for _ in range(MAX_VERSION_RETRIES):
        version = int(conn.execute(query).scalar_one()) + 1
        try:
            with conn.begin_nested():
                return version, insert(version)
        except IntegrityError as exc:
            if "version" not in str(exc.orig).lower():
                raise
    raise StoreInputError(f"could not number a new version after {MAX_VERSION_RETRIES} "
                          "attempts: too many writers at once; try again")


def check_text(label: str, value: str | None, *, limit: int, required: bool = True) -> None:
    """Refuse empty (when required), over-long or control-character text, naming the field."""
    if value is None or not value.strip():
        if required:
            raise StoreInputError(f"{label} cannot be empty")
        return
    if len(value) > limit:
        raise StoreInputError(f"{label} is at most {limit} characters; this one has "
                              f"{len(value):,}")
    if any(ord(ch) < 32 and ch not in "\n\t" for ch in value):
        raise StoreInputError(f"{label} cannot hold control characters: {value[:60]!r}")
