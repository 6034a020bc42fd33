"""The run store in the service's database (SQLite or PostgreSQL), for a shared deployment.

The same public interface, records, errors, ids and Parquet bytes as ``store.runs.RunStore``,
so every command and the web app work on either. A run's row in ``runs`` and its tables (the
``table_bytes`` Parquet blobs, in ``run_tables``) are inserted in ONE database transaction:
a save killed at any point, even by ``kill -9``, leaves nothing, and a committed run is
complete, on both engines. There are no files, so there are never orphans to clean up.

``open_run_store`` chooses: with no ``--database`` and no ``FAIRSHARE_DATABASE_URL`` it is the
file store exactly as before; with either, this store on that database.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
from sqlalchemy import Connection, Engine, RowMapping, delete, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from fairshare.store import db
from fairshare.store.runs import (
    RunCorrupt,
    RunListing,
    RunNotFound,
    RunRecord,
    RunStore,
    RunStoreError,
    _from_parquet,
    _test_pause,
    find_run,
    new_run_id,
    prepare_run,
)
from fairshare.store.schema import decisions, publications, run_tables, runs

#: The runs columns a listing needs (the metadata JSON is read only when asked for).
_LISTED = [c for c in runs.c if c.name != "metadata"]
#: How many fresh ids a save tries before giving up (ids have 24 random bits per second).
_ID_ATTEMPTS = 20


def open_run_store(database: str | None, root: Path | str | None = None
                   ) -> RunStore | SqlRunStore:
    """The run store to use: the file store (``root``) unless a database is named.

    A database is named by ``database`` (the ``--database`` option) or, when no ``root`` is
    given either, the ``FAIRSHARE_DATABASE_URL`` environment variable: an option on the
    command line wins over the environment. Both options at once are refused, as it would be
    unclear which store a run went to.
    """
    explicit = (database or "").strip()
    if explicit and root is not None:
        raise RunStoreError("give either --store (a run store folder) or --database (the "
                            "service's database), not both")
    if root is not None:
        return RunStore(root)
    named = explicit or os.environ.get(db.ENV_URL, "").strip()
    return SqlRunStore(db.open_database(named)) if named else RunStore()


def _check_portable(meta_text: str) -> None:
    """Refuse metadata PostgreSQL's JSON cannot hold, on both engines, so they keep the same."""
    try:
        json.dumps(json.loads(meta_text), allow_nan=False)
    except ValueError:
        raise RunStoreError("run metadata holds NaN or Infinity, which the service's database "
                            "cannot store as JSON: give the value as text or leave it out"
                            ) from None
    if "\\u0000" in meta_text:
        raise RunStoreError("run metadata holds a NUL character, which the service's database "
                            "cannot store: remove it")


class SqlRunStore(RunListing):
    """Runs kept in the service's database: one row per run, one blob per table."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.where = f"the database at {db.redacted(str(engine.url))}"
        # What messages name as the store's location (``RunStore.root`` for files).
        self.root = db.redacted(str(engine.url))

    def __repr__(self) -> str:
        return f"SqlRunStore({self.root!r})"

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """A database failure as a message naming the database (never its password)."""
        try:
            yield
        except SQLAlchemyError as exc:
            first = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            raise RunStoreError(f"run store at {self.root}: {exc.__class__.__name__}: "
                                f"{first}") from None

    def _rows(self) -> builtins.list[RowMapping]:
        with self._errors(), self.engine.connect() as conn:
            return list(conn.execute(select(*_LISTED).order_by(runs.c.seq.desc())).mappings())

    def _record(self, row: RowMapping) -> RunRecord:
        demo = row["demonstration"]
        manifest = row["tables"]
        return RunRecord(
            id=row["id"], name=row["name"], created=row["created"], saved=row["saved"],
            path=Path(row["id"]),  # no folder: the id, so messages and labels still work
            scenario_name=row["scenario_name"], scenario_digest=row["scenario_digest"],
            inputs_digest=row["inputs_digest"], vintages_digest=row["vintages_digest"],
            demonstration=None if demo is None else bool(demo), version=row["version"],
            tables=tuple(sorted(manifest)),
            table_digests={k: v["sha256"] for k, v in manifest.items()},
        )

    # ---------------------------------------------------------------- public API

    def save(self, name: str | None, metadata: Mapping[str, Any],
             tables: Mapping[str, pd.DataFrame]) -> RunRecord:
        """Store a run and its tables in one transaction and return its record."""
        run = prepare_run(name, metadata, tables)
        _check_portable(run.meta_text)
        with self._errors():
            for _ in range(_ID_ATTEMPTS):
                run_id = new_run_id(run.now)
                try:
                    with self.engine.begin() as conn:
                        self._insert(conn, run_id, run.fields, run.manifest, run.meta,
                                     run.blobs)
                except IntegrityError:
                    if self._exists(run_id):
                        continue  # the id was taken in the same second: draw another
                    raise
                return self.get(run_id)
        raise RunStoreError("could not allocate a new run id")  # pragma: no cover

    def _insert(self, conn: Connection, run_id: str, fields: Mapping[str, Any],
                manifest: Mapping[str, Any], meta: Mapping[str, Any],
                blobs: Mapping[str, bytes]) -> None:
        conn.execute(runs.insert().values(id=run_id, **fields, tables=dict(manifest),
                                          metadata=dict(meta)))
        for i, (table, blob) in enumerate(blobs.items()):
            conn.execute(run_tables.insert().values(
                run_id=run_id, name=table, sha256=manifest[table]["sha256"], data=blob))
            if i == 0:
                _test_pause("between_tables")
        _test_pause("before_sql_commit")

    def _exists(self, run_id: str) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(select(runs.c.id).where(runs.c.id == run_id)).first() is not None

    def get(self, ref: str) -> RunRecord:
        """A run by exact id, then by name (the newest of that name), then by unique id prefix.

        An exact id is looked up by the index (every table load does this); only a name or a
        prefix reads the whole list, as the file store does.
        """
        with self._errors(), self.engine.connect() as conn:
            row = conn.execute(select(*_LISTED).where(runs.c.id == str(ref).strip())
                               ).mappings().first()
        if row is not None:
            return self._record(row)
        return self._record(find_run(ref, self._rows(), self.where))

    def metadata(self, ref: str) -> dict[str, Any]:
        """The metadata the run was saved with (resolved scenario, digests, vintages, ...)."""
        record = self.get(ref)
        with self._errors(), self.engine.connect() as conn:
            meta = conn.execute(select(runs.c.metadata).where(runs.c.id == record.id)).scalar()
        if meta is None:
            raise RunNotFound(f"run {record.label} was deleted while being read")
        return dict(meta)

    def load_table(self, ref: str, table: str) -> pd.DataFrame:
        """One result table of a run, checked against the digest recorded when it was saved."""
        record = self.get(ref)
        if table not in record.tables:
            raise RunStoreError(f"run {record.label} has no table '{table}'; it has: "
                                f"{', '.join(record.tables)}")
        with self._errors(), self.engine.connect() as conn:
            data = conn.execute(select(run_tables.c.data).where(
                (run_tables.c.run_id == record.id) & (run_tables.c.name == table))).scalar()
        where = f"table '{table}' in {self.where}"
        if data is None:
            raise RunCorrupt(f"run {record.label}: {where} is missing (the database was "
                             "changed outside fairshare)")
        data = bytes(data)
        if hashlib.sha256(data).hexdigest() != record.table_digests.get(table):
            raise RunCorrupt(f"run {record.label}: {where} is corrupt or was changed after "
                             "the run was saved (SHA-256 does not match)")
        try:
            return _from_parquet(data)
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise RunCorrupt(f"run {record.label}: {where} is not readable Parquet: "
                             f"{exc}") from exc

    def load_tables(self, ref: str) -> dict[str, pd.DataFrame]:
        """Every result table of a run, by name."""
        record = self.get(ref)
        return {t: self.load_table(record.id, t) for t in record.tables}

    def delete(self, ref: str) -> RunRecord:
        """Remove a run and its tables in one transaction; a published or decided run is kept."""
        record = self.get(ref)
        with self._errors(), self.engine.begin() as conn:
            for table, what in ((publications, "published"), (decisions, "decided on")):
                if conn.execute(select(table.c.id).where(table.c.run_id == record.id)
                                .limit(1)).first() is not None:
                    raise RunStoreError(f"run {record.label} has been {what} in the service, "
                                        "so it is kept: the record must stay readable")
            conn.execute(delete(run_tables).where(run_tables.c.run_id == record.id))
            conn.execute(delete(runs).where(runs.c.id == record.id))
        return record

    def export(self, ref: str, out: Path | str | None) -> builtins.list[Path]:
        """Write a run's tables, labelled, with ``run.json`` and ``columns.csv`` (as RunStore)."""
        from fairshare.publish.outputs import write_output  # heavy import, so late

        record = self.get(ref)
        tables = self.load_tables(record.id)
        meta = {**self.metadata(record.id), "run_id": record.id, "run_name": record.name}
        return write_output(None if out is None else Path(out), tables, meta,
                            command="export", name=record.name)

    def orphans(self) -> builtins.list[Path]:
        """Always empty: a run and its tables are one transaction, so nothing is left over."""
        return []

    def cleanup(self) -> int:
        """Nothing to remove (see ``orphans``); kept so both stores answer the same calls."""
        return 0
