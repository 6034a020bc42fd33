"""Local offices' returns: capacity, cohort and post-record files, every version kept.

A local office lead's return is evidence a central plan rests on, so it is never changed after
it is stored: saving a draft or submitting makes a new row with the next version number for
that office and kind (1, 2, 3 ...; drafts and submissions share the numbering, so "version 3"
names one file set for ever). A run records the versions it used (``ReturnRecord.id``), and
``latest_submitted`` is what a central analyst's run takes by default: drafts are never used.

Every function takes the caller's connection, so a submission, its files and its audit entry
are written in one transaction: all of them or none.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
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
from fairshare.store.schema import RETURN_KINDS, RETURN_STATUSES, returns
from fairshare.store.schema import return_files as files_table

#: What each uploaded file is: capacity and cohort returns, TIS post and placement records.
FILE_ROLES = ("capacity", "cohorts", "posts", "placements")
#: Which file roles each kind of return may carry.
KIND_ROLES = {"capacity": ("capacity",), "cohorts": ("cohorts",),
              "post_records": ("posts", "placements")}
MAX_FILENAME = 255
MAX_NOTE = 4000
MAX_OFFICE = 120


@dataclass(frozen=True)
class ReturnRecord:
    """One stored version of a local office's return (its files are read separately)."""

    id: int
    office: str
    kind: str
    version: int
    status: str
    note: str | None
    rows: int
    digest: str  # SHA-256 over its files' roles and SHA-256s: equal digests, equal files
    submitted_by: int  # the account that saved it
    created_at: datetime  # UTC

    @property
    def label(self) -> str:
        return f"{self.office} {self.kind} return v{self.version} ({self.status})"


def files_digest(digests: Mapping[str, str]) -> str:
    """One SHA-256 for a set of files: over ``role:sha256`` lines in role order."""
    text = "".join(f"{role}:{digests[role]}\n" for role in sorted(digests))
    return hashlib.sha256(text.encode()).hexdigest()


def _check(office: str, kind: str, status: str, files: Mapping[str, tuple[str, bytes]],
           rows: int, note: str | None) -> None:
    """Refuse a return the store cannot keep honestly, saying which field and what is expected."""
    check_text("office", office, limit=MAX_OFFICE)
    if kind not in RETURN_KINDS:
        raise StoreInputError(f"return kind {kind!r} is not known: expected one of "
                              f"{', '.join(RETURN_KINDS)}")
    if status not in RETURN_STATUSES:
        raise StoreInputError(f"return status {status!r} is not known: expected one of "
                              f"{', '.join(RETURN_STATUSES)}")
    if not files:
        raise StoreInputError(f"a {kind} return needs at least one file")
    allowed = KIND_ROLES[kind]
    for role, (filename, data) in files.items():
        if role not in allowed:
            raise StoreInputError(f"a {kind} return cannot carry a {role!r} file: expected "
                                  f"{' and '.join(allowed)}")
        check_text(f"the {role} file's name", filename, limit=MAX_FILENAME)
        if not isinstance(data, bytes) or not data:
            raise StoreInputError(f"the {role} file {filename!r} is empty")
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 0:
        raise StoreInputError(f"rows must be a whole number of rows, 0 or more, not {rows!r}")
    check_text("the note", note, limit=MAX_NOTE, required=False)


def submit(conn: Connection, *, office: str, kind: str, files: Mapping[str, tuple[str, bytes]],
           status: str, account_id: int, note: str | None = None, rows: int) -> ReturnRecord:
    """Store a new version of ``office``'s ``kind`` return with its files and audit entry.

    ``files`` maps a role to (the name as uploaded, the bytes as uploaded); ``rows`` is the
    number of data rows validation counted. The caller validates the content (same messages
    as ``fairshare validate``) and decides who may submit; this keeps what it is given.
    """
    _check(office, kind, status, files, rows, note)
    who = actor(conn, account_id)
    office = office.strip()
    digests = {role: hashlib.sha256(data).hexdigest() for role, (_, data) in files.items()}
    digest = files_digest(digests)
    created = audit.now()

    def insert(version: int) -> int:
        new_id = conn.execute(returns.insert().values(
            office=office, kind=kind, version=version, status=status, note=note, rows=rows,
            digest=digest, submitted_by=account_id, created_at=created,
        ).returning(returns.c.id)).scalar_one()
        conn.execute(files_table.insert(), [
            {"return_id": new_id, "role": role, "filename": name, "sha256": digests[role],
             "data": data} for role, (name, data) in sorted(files.items())])
        return int(new_id)

    version, return_id = insert_next_version(
        conn, returns.c.version, (returns.c.office == office) & (returns.c.kind == kind), insert)
    audit.record(conn, "return_submitted" if status == "submitted" else "return_saved",
                 actor=who, target=f"return {return_id}",
                 detail={"office": office, "kind": kind, "version": version, "status": status,
                         "rows": rows, "digest": digest,
                         "files": {role: name for role, (name, _) in sorted(files.items())}})
    return ReturnRecord(id=return_id, office=office, kind=kind, version=version, status=status,
                        note=note, rows=rows, digest=digest, submitted_by=account_id,
                        created_at=created)


def _record(row: RowMapping) -> ReturnRecord:
    return ReturnRecord(id=int(row["id"]), office=row["office"], kind=row["kind"],
                        version=int(row["version"]), status=row["status"], note=row["note"],
                        rows=int(row["rows"]), digest=row["digest"],
                        submitted_by=int(row["submitted_by"]),
                        created_at=utc(row["created_at"]))


def list_returns(conn: Connection, *, office: str | None = None, kind: str | None = None,
                 statuses: Iterable[str] | None = None) -> list[ReturnRecord]:
    """Stored returns, by office and kind, newest version first; filters are optional."""
    query = select(returns)
    if office is not None:
        query = query.where(returns.c.office == office)
    if kind is not None:
        query = query.where(returns.c.kind == kind)
    if statuses is not None:
        query = query.where(returns.c.status.in_(list(statuses)))
    query = query.order_by(returns.c.office, returns.c.kind, returns.c.version.desc())
    return [_record(row) for row in conn.execute(query).mappings()]


def get_return(conn: Connection, return_id: int) -> ReturnRecord | None:
    """One stored return by id, or None."""
    row = conn.execute(select(returns).where(returns.c.id == return_id)).mappings().first()
    return None if row is None else _record(row)


def return_files(conn: Connection, return_id: int) -> dict[str, tuple[str, bytes]]:
    """A return's files by role: (the name as uploaded, the bytes as uploaded)."""
    rows = conn.execute(select(files_table.c.role, files_table.c.filename, files_table.c.data)
                        .where(files_table.c.return_id == return_id)
                        .order_by(files_table.c.role)).all()
    return {role: (filename, bytes(data)) for role, filename, data in rows}


def latest_submitted(conn: Connection, kind: str) -> dict[str, ReturnRecord]:
    """Each office's newest *submitted* return of ``kind`` (drafts never count)."""
    latest: dict[str, ReturnRecord] = {}
    for record in list_returns(conn, kind=kind, statuses=["submitted"]):
        latest.setdefault(record.office, record)  # newest version first per office
    return latest
