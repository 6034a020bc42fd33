"""Published plans: the run the programme calls its current plan, every earlier one kept.

Publishing never replaces anything: it adds version max + 1 pointing at a stored run, with a
title, a note and who published it when. The current plan is the highest version and the
previous plan the one before it, so "previous vs current" always compares two plans that were
actually published, never a draft run with a published one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, RowMapping, select

from fairshare.store import audit
from fairshare.store.records import (
    StoreInputError,
    actor,
    check_text,
    insert_next_version,
    utc,
)
from fairshare.store.schema import publications, runs

MAX_TITLE = 200
MAX_NOTE = 4000


@dataclass(frozen=True)
class Publication:
    """One published plan."""

    id: int
    version: int
    run_id: str
    title: str
    note: str
    published_by: int
    published_at: datetime  # UTC

    @property
    def label(self) -> str:
        return f"published plan v{self.version} ({self.title})"


def publish(conn: Connection, *, run_id: str, title: str, note: str,
            account_id: int) -> Publication:
    """Publish a stored run as the new current plan (in the caller's transaction, audited)."""
    check_text("the title", title, limit=MAX_TITLE)
    check_text("the note", note, limit=MAX_NOTE, required=False)
    who = actor(conn, account_id)
    known = conn.execute(select(runs.c.id).where(runs.c.id == run_id)).scalar()
    if known is None:
        raise StoreInputError(f"run {run_id!r} is not in this database: only a run stored in "
                              "the service's database can be published")
    at = audit.now()
    title, note = title.strip(), note or ""

    def insert(version: int) -> int:
        return int(conn.execute(publications.insert().values(
            version=version, run_id=run_id, title=title, note=note,
            published_by=account_id, published_at=at,
        ).returning(publications.c.id)).scalar_one())

    version, pub_id = insert_next_version(conn, publications.c.version, None, insert)
    audit.record(conn, "published", actor=who, target=f"run {run_id}",
                 detail={"publication": version, "title": title})
    return Publication(id=pub_id, version=version, run_id=run_id, title=title, note=note,
                       published_by=account_id, published_at=at)


def _publication(row: RowMapping) -> Publication:
    return Publication(id=int(row["id"]), version=int(row["version"]), run_id=row["run_id"],
                       title=row["title"], note=row["note"],
                       published_by=int(row["published_by"]),
                       published_at=utc(row["published_at"]))


def list_publications(conn: Connection) -> list[Publication]:
    """Every published plan, newest (current) first."""
    rows = conn.execute(select(publications).order_by(publications.c.version.desc()))
    return [_publication(row) for row in rows.mappings()]


def _nth_newest(conn: Connection, n: int) -> Publication | None:
    row = conn.execute(select(publications).order_by(publications.c.version.desc())
                       .offset(n).limit(1)).mappings().first()
    return None if row is None else _publication(row)


def current(conn: Connection) -> Publication | None:
    """The programme's current plan (the newest publication), or None before the first."""
    return _nth_newest(conn, 0)


def previous(conn: Connection) -> Publication | None:
    """The plan published before the current one, or None while there is at most one."""
    return _nth_newest(conn, 1)
