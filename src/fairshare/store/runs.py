"""The run store: every run kept with everything needed to trust, reproduce and compare it.

A planner has to be able to say, months later, exactly which parameters, input files, data
vintages and code version produced a set of numbers, and to put two sets side by side. So each
saved run keeps its fully resolved scenario, input digests, data vintages, package version and
creation time, together with its result tables.

Layout (under ``default_store_dir()`` unless another root is given)::

    <root>/registry.sqlite          one row per complete run (SQLite, WAL mode)
    <root>/runs/<id>/run.json       the run's metadata, sorted keys
    <root>/runs/<id>/<table>.parquet  one file per result table

Atomicity: a run's files are written into ``runs/.tmp-<id>/``, flushed to disk, and the folder
is renamed to ``runs/<id>/``; only then is the registry row inserted, in one SQLite transaction.
The registry is the single source of truth for which runs exist, so a run killed at any point
(even ``kill -9``) leaves either a complete run or an orphan folder that ``list()`` and ``get()``
never see and ``cleanup()`` removes. Deleting works the other way round: registry row first,
then files.

Parquet files are written with fixed options and no index, so identical tables give
byte-identical files: re-running the same scenario on the same inputs reproduces the artefacts
exactly, and the SHA-256 of each file (kept in the registry) proves it.
"""

from __future__ import annotations

import builtins
import contextlib
import difflib
import hashlib
import io
import json
import os
import re
import secrets
import shutil
import sqlite3
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from fairshare.errors import FairshareError

try:  # POSIX advisory locks; on other platforms saves and cleanup simply do not coordinate.
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

REGISTRY = "registry.sqlite"
RUNS = "runs"
RUN_JSON = "run.json"
FORMAT = 1  # registry schema / run.json layout version
TMP_PREFIX = ".tmp-"
DEL_PREFIX = ".del-"
_TABLE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
#: A run id is one plain folder name (made as ``YYYYmmddHHMMSS-xxxxxx``); a registry entry
#: edited to anything else (``../x``, ``/etc``) must never lead a delete outside the store.
MAX_RUN_NAME = 200  # a name fits on a line of `fairshare runs`
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")

# Fixed Parquet options: any change in them would change the bytes of every artefact, so they
# are spelled out rather than left to pyarrow's defaults (which may move between releases).
_PARQUET_OPTIONS: dict[str, Any] = {
    "compression": "zstd",
    "compression_level": 3,
    "version": "2.6",
    "use_dictionary": True,
    "write_statistics": True,
    "data_page_version": "1.0",
    "row_group_size": 1 << 20,
}

LIST_COLUMNS = ["id", "name", "created", "scenario_name", "scenario_digest", "inputs_digest",
                "demonstration", "version"]


class RunStoreError(FairshareError):
    """A run store problem the CLI reports as a message: damaged store, bad name or table."""


class RunNotFound(RunStoreError):
    """No run matches a reference (id, id prefix or name); the message suggests near names."""


class AmbiguousRun(RunStoreError):
    """An id prefix matches more than one run."""


class RunCorrupt(RunStoreError):
    """A run's artefact is missing, unreadable or changed since it was saved."""


@dataclass(frozen=True)
class RunRecord:
    """One saved run as the registry knows it (cheap: no tables are read)."""

    id: str
    name: str
    created: str
    saved: str
    path: Path
    scenario_name: str | None
    scenario_digest: str | None
    inputs_digest: str | None
    vintages_digest: str | None
    demonstration: bool | None
    version: str | None
    tables: tuple[str, ...]
    table_digests: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def label(self) -> str:
        """How a run is named in messages: id and name, so either can be typed back."""
        return f"{self.id} ({self.name})"


def default_store_dir() -> Path:
    """Where runs live unless told otherwise: ``$FAIRSHARE_HOME`` or the user's data folder.

    Follows each platform's convention (XDG on Linux, Application Support on macOS, LOCALAPPDATA
    on Windows) without an extra dependency, so runs survive reinstalling the package.
    """
    home = os.environ.get("FAIRSHARE_HOME", "").strip()
    if home:
        return Path(home).expanduser()
    if sys.platform.startswith("win"):
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "fairshare"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "fairshare"
    xdg = os.environ.get("XDG_DATA_HOME", "").strip()
    return (Path(xdg) if xdg else Path.home() / ".local" / "share") / "fairshare"


def short_digest(value: Any) -> str:
    """12-hex SHA-256 of JSON data (sorted keys): equal digests mean equal content."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=_json_default)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _json_default(obj: Any) -> Any:
    """Let numpy scalars and paths through json; anything else is a caller's mistake."""
    if isinstance(obj, Path):
        return str(obj)
    item = getattr(obj, "item", None)
    if callable(item):
        return item()
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False,
                      default=_json_default) + "\n"


def _fsync_dir(path: Path) -> None:
    """Make a rename or new entry in ``path`` durable (no-op where directories can't be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some file systems refuse fsync on directories
        pass
    finally:
        os.close(fd)


def _write_durable(path: Path, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _test_pause(stage: str) -> None:
    """Test hook: ``FAIRSHARE_TEST_PAUSE=<stage>:<seconds>`` stops a save at a named stage.

    The crash-safety tests kill a saving process at each stage with SIGKILL; printing a marker
    first lets them kill at exactly that point instead of guessing with sleeps.
    """
    spec = os.environ.get("FAIRSHARE_TEST_PAUSE", "")
    if not spec:
        return
    want, _, seconds = spec.partition(":")
    if want == stage:
        print(f"fairshare-test-paused {stage}", file=sys.stderr, flush=True)
        time.sleep(float(seconds or 60))


def table_bytes(df: pd.DataFrame, name: str = "table",
                labels: Mapping[str, str] | None = None) -> bytes:
    """A table as Parquet bytes, identical for identical DataFrames (index not kept).

    ``labels`` (basis, scenario, scenario digest) go into the file's key-value metadata as
    ``fairshare_<key>``, so a stored table copied out of the store still says what it rests
    on; they hold no time, so equal runs still give equal bytes.
    """
    if not isinstance(df, pd.DataFrame):
        raise RunStoreError(f"table '{name}' is a {type(df).__name__}, not a pandas DataFrame")
    bad = [c for c in df.columns if not isinstance(c, str)]
    if bad:
        raise RunStoreError(f"table '{name}': column names must be text, not {bad[:5]!r}")
    dupes = sorted({c for c in df.columns if list(df.columns).count(c) > 1})
    if dupes:
        raise RunStoreError(f"table '{name}': duplicated column names {dupes}")
    try:
        arrow = pa.Table.from_pandas(df, preserve_index=False)
    except (pa.ArrowException, TypeError, ValueError) as exc:
        raise RunStoreError(f"table '{name}' cannot be stored: {exc}") from exc
    if labels:
        extra = {f"fairshare_{k}".encode(): str(v).encode() for k, v in sorted(labels.items())}
        arrow = arrow.replace_schema_metadata({**(arrow.schema.metadata or {}), **extra})
    buf = io.BytesIO()
    pq.write_table(arrow, buf, **_PARQUET_OPTIONS)
    return buf.getvalue()


def _labels(meta: Mapping[str, Any]) -> dict[str, str]:
    """What every stored table says it rests on: basis of the numbers and scenario."""
    scenario = meta.get("scenario")
    return {"basis": str(meta.get("establishment", "")),
            "scenario": str(scenario.get("name", "")) if isinstance(scenario, Mapping) else "",
            "scenario_digest": str(meta.get("scenario_digest", ""))}


def _from_parquet(data: bytes) -> pd.DataFrame:
    """Parquet bytes back to the DataFrame that was saved, object text columns included.

    pandas 3 reads every text column back as ``str``; columns saved as ``object`` (as the
    bundle's plain tables are) are turned back into object so a round trip is exact.
    """
    arrow = pq.read_table(io.BytesIO(data))
    df = arrow.to_pandas()
    meta = json.loads((arrow.schema.metadata or {}).get(b"pandas", b"{}"))
    for col in meta.get("columns", []):
        name = col.get("name")
        if col.get("numpy_type") == "object" and name in df.columns \
                and df[name].dtype != object:
            s = df[name].astype(object)
            df[name] = s.where(s.notna(), None)
    return df


@dataclass(frozen=True)
class PreparedRun:
    """A run made ready to store, before anything is written: every store saves the same.

    ``fields`` are the registry columns (``demonstration`` as a bool or None); ``blobs`` the
    tables as Parquet bytes (``table_bytes``), in name order; ``manifest`` each table's file,
    SHA-256, rows and columns.
    """

    name: str
    now: datetime
    meta: dict[str, Any]
    meta_text: str
    blobs: dict[str, bytes]
    manifest: dict[str, dict[str, Any]]
    fields: dict[str, Any]


def prepare_run(name: str | None, metadata: Mapping[str, Any],
                tables: Mapping[str, pd.DataFrame]) -> PreparedRun:
    """Check a run's name and tables and convert everything, so a bad run fails before a write."""
    name = check_run_name(name, metadata)
    if not tables:
        raise RunStoreError("a run needs at least one result table")
    for table in tables:
        if not isinstance(table, str) or not _TABLE_NAME.match(table) \
                or table == Path(RUN_JSON).stem:
            raise RunStoreError(
                f"table name {table!r} is not allowed: use letters, digits, '_', '-', '.'")
    try:
        meta_text = json.dumps(dict(metadata), sort_keys=True, default=_json_default)
    except (TypeError, ValueError) as exc:
        raise RunStoreError(f"run metadata cannot be stored as JSON: {exc}") from exc
    meta = json.loads(meta_text)
    labels = _labels(meta)
    blobs = {t: table_bytes(tables[t], t, labels) for t in sorted(tables)}
    manifest: dict[str, dict[str, Any]] = {
        t: {"file": f"{t}.parquet", "sha256": hashlib.sha256(b).hexdigest(),
            "rows": len(tables[t]), "columns": [str(c) for c in tables[t].columns]}
        for t, b in blobs.items()
    }
    now = datetime.now(UTC)
    scenario = meta.get("scenario") if isinstance(meta.get("scenario"), dict) else {}
    demo = meta.get("demonstration_baseline")
    fields: dict[str, Any] = {
        "name": name,
        "created": str(meta.get("created") or now.isoformat(timespec="seconds")),
        "saved": now.isoformat(timespec="microseconds"),
        "scenario_name": scenario.get("name"),
        "scenario_digest": meta.get("scenario_digest"),
        "inputs_digest": short_digest(meta["input_digests"])
        if "input_digests" in meta else None,
        "vintages_digest": short_digest(meta["data_vintages"])
        if "data_vintages" in meta else None,
        "demonstration": None if demo is None else bool(demo),
        "version": meta.get("fairshare_version"),
    }
    return PreparedRun(name=name, now=now, meta=meta, meta_text=meta_text, blobs=blobs,
                       manifest=manifest, fields=fields)


def check_run_name(name: str | None, metadata: Mapping[str, Any]) -> str:
    """The run's name: the one given, else the scenario's, else "run"; refused if unusable."""
    if name is None:
        scenario = metadata.get("scenario")
        name = scenario.get("name") if isinstance(scenario, dict) else None
        if not isinstance(name, str) or not name.strip():
            name = "run"
    if not isinstance(name, str) or not name.strip():
        raise RunStoreError("a run name cannot be empty (leave it out to use the "
                            "scenario's name)")
    if len(name) > MAX_RUN_NAME:
        raise RunStoreError(f"a run name is at most {MAX_RUN_NAME} characters; this one has "
                            f"{len(name):,} ({name[:40]!r}…)")
    if any(ord(ch) < 32 for ch in name):
        raise RunStoreError(f"a run name cannot hold control characters: {name!r}")
    return name.strip()


def new_run_id(now: datetime) -> str:
    """A fresh time-sortable run id, ``YYYYmmddHHMMSS-xxxxxx`` (the caller checks it is new)."""
    return f"{now:%Y%m%d%H%M%S}-{secrets.token_hex(3)}"


def find_run(ref: str, rows: Sequence[Any], where: str) -> Any:
    """The row for a reference: exact id, then newest of that name, then unique id prefix.

    ``rows`` are newest first, each with ``id`` and ``name``; ``where`` names the store in
    the message when nothing matches (with near names suggested).
    """
    ref = str(ref).strip()
    for row in rows:
        if row["id"] == ref:
            return row
    for row in rows:  # newest first
        if row["name"] == ref:
            return row
    matches = [row for row in rows if ref and row["id"].startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        ids = ", ".join(f"{r['id']} ({r['name']})" for r in matches[:10])
        raise AmbiguousRun(f"'{ref}' matches {len(matches)} runs: {ids}; type more of the id")
    raise RunNotFound(_not_found(ref, rows, where))


def _not_found(ref: str, rows: Sequence[Any], where: str) -> str:
    if not rows:
        return f"no run '{ref}': {where} holds no runs yet"
    names = list(dict.fromkeys(r["name"] for r in rows))
    ids = [r["id"] for r in rows]
    near = difflib.get_close_matches(ref, names, n=5, cutoff=0.5)
    near += difflib.get_close_matches(ref, ids, n=3, cutoff=0.6)
    if not near:
        low = ref.lower()
        near = [n for n in names if low and (low in n.lower() or n.lower() in low)][:5]
    hint = f" Did you mean: {', '.join(near)}?" if near else ""
    return f"no run '{ref}' in {where}.{hint} (`fairshare runs` lists every run)"


class RunListing:
    """What both run stores (files here, the database in ``sql_runs``) list the same way: each
    gives its registry rows newest first (``_rows``) and makes a record of one (``_record``)."""

    def _rows(self) -> builtins.list[Any]:
        raise NotImplementedError

    def _record(self, row: Any) -> RunRecord:
        raise NotImplementedError

    def list(self) -> pd.DataFrame:
        """Every complete run, newest first (half-written runs are never listed)."""
        rows = self._rows()
        df = pd.DataFrame([{c: r[c] for c in LIST_COLUMNS} for r in rows], columns=LIST_COLUMNS)
        df["demonstration"] = [None if r["demonstration"] is None else bool(r["demonstration"])
                               for r in rows]
        return df

    def records(self) -> builtins.list[RunRecord]:
        """Every complete run as records, newest first."""
        return [self._record(r) for r in self._rows()]


class RunStore(RunListing):
    """A folder of saved runs: SQLite registry plus one Parquet folder per run."""

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root).expanduser() if root is not None else default_store_dir()
        self.runs_dir = self.root / RUNS
        self.registry_path = self.root / REGISTRY
        try:
            self.runs_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunStoreError(f"cannot create run store at {self.root}: {exc}") from exc
        self._init_registry()

    def __repr__(self) -> str:
        return f"RunStore({str(self.root)!r})"

    # ---------------------------------------------------------------- registry plumbing

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A short-lived connection in autocommit mode; transactions are explicit."""
        try:
            conn = sqlite3.connect(self.registry_path, timeout=30, isolation_level=None)
        except sqlite3.Error as exc:
            raise RunStoreError(f"cannot open run registry {self.registry_path}: {exc}") from exc
        try:
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA synchronous=FULL")
            yield conn
        except sqlite3.DatabaseError as exc:
            raise RunStoreError(
                f"run registry {self.registry_path} is damaged or not a fairshare registry: "
                f"{exc}") from exc
        finally:
            conn.close()

    def _init_registry(self) -> None:
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("BEGIN IMMEDIATE")
            try:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version > FORMAT:
                    raise RunStoreError(
                        f"run registry {self.registry_path} was written by a newer fairshare "
                        f"(format {version}); upgrade fairshare to read it")
                conn.execute(
                    """CREATE TABLE IF NOT EXISTS runs (
                        seq INTEGER PRIMARY KEY AUTOINCREMENT,
                        id TEXT NOT NULL UNIQUE,
                        name TEXT NOT NULL,
                        created TEXT NOT NULL,
                        saved TEXT NOT NULL,
                        scenario_name TEXT,
                        scenario_digest TEXT,
                        inputs_digest TEXT,
                        vintages_digest TEXT,
                        demonstration INTEGER,
                        version TEXT,
                        tables TEXT NOT NULL,
                        metadata TEXT NOT NULL
                    )""")
                conn.execute("CREATE INDEX IF NOT EXISTS runs_name ON runs(name)")
                conn.execute(f"PRAGMA user_version={FORMAT}")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    @contextlib.contextmanager
    def _lock(self, exclusive: bool) -> Iterator[None]:
        """Saves share the store lock; cleanup takes it alone, so it never eats a live save.

        flock is released by the kernel when a process dies, so a killed save never leaves the
        store locked.
        """
        if fcntl is None:  # pragma: no cover - Windows
            yield
            return
        with open(self.root / ".lock", "a+b") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    def _rows(self) -> builtins.list[sqlite3.Row]:
        with self._connect() as conn:
            return conn.execute("SELECT * FROM runs ORDER BY seq DESC").fetchall()

    def _record(self, row: sqlite3.Row) -> RunRecord:
        tables = json.loads(row["tables"])
        demo = row["demonstration"]
        return RunRecord(
            id=row["id"],
            name=row["name"],
            created=row["created"],
            saved=row["saved"],
            path=self.runs_dir / row["id"],
            scenario_name=row["scenario_name"],
            scenario_digest=row["scenario_digest"],
            inputs_digest=row["inputs_digest"],
            vintages_digest=row["vintages_digest"],
            demonstration=None if demo is None else bool(demo),
            version=row["version"],
            tables=tuple(sorted(tables)),
            table_digests={k: v["sha256"] for k, v in tables.items()},
        )

    # ---------------------------------------------------------------- public API

    def save(self, name: str | None, metadata: Mapping[str, Any],
             tables: Mapping[str, pd.DataFrame]) -> RunRecord:
        """Store a run atomically and return its record.

        ``metadata`` is ``fairshare.publish.outputs.run_metadata(...)``; ``name`` defaults to the
        scenario's name. Every table is converted before anything touches the disk, so a table
        that cannot be stored fails the save cleanly.
        """
        run = prepare_run(name, metadata, tables)
        fields = {**run.fields, "tables": json.dumps(run.manifest, sort_keys=True),
                  "metadata": run.meta_text,
                  "demonstration": None if run.fields["demonstration"] is None
                  else int(run.fields["demonstration"])}
        with self._lock(exclusive=False):
            run_id, tmp = self._new_run_dir(run.now)
            final = self.runs_dir / run_id
            try:
                for i, (table, blob) in enumerate(run.blobs.items()):
                    _write_durable(tmp / run.manifest[table]["file"], blob)
                    if i == 0:
                        _test_pause("between_tables")
                run_json = {"format": FORMAT, "id": run_id, "name": run.name,
                            "saved": fields["saved"], "tables": run.manifest,
                            "metadata": run.meta}
                _write_durable(tmp / RUN_JSON, _dumps(run_json).encode())
                _fsync_dir(tmp)
                _test_pause("before_rename")
                os.rename(tmp, final)
                _fsync_dir(self.runs_dir)
                _test_pause("before_commit")
                self._insert(run_id, fields)
            except BaseException:
                for leftover in (tmp, final):
                    shutil.rmtree(leftover, ignore_errors=True)
                raise
        return self.get(run_id)

    def _new_run_dir(self, now: datetime) -> tuple[str, Path]:
        """A fresh time-sortable id and its temporary folder (created, so ids never collide)."""
        known = {r["id"] for r in self._rows()}
        for _ in range(100):
            run_id = new_run_id(now)
            if run_id in known or (self.runs_dir / run_id).exists():
                continue
            tmp = self.runs_dir / f"{TMP_PREFIX}{run_id}"
            try:
                tmp.mkdir()
            except FileExistsError:
                continue
            return run_id, tmp
        raise RunStoreError("could not allocate a new run id")  # pragma: no cover

    def _insert(self, run_id: str, fields: dict[str, Any]) -> None:
        cols = ["id", *fields]
        sql = (f"INSERT INTO runs ({', '.join(cols)}) "
               f"VALUES ({', '.join('?' for _ in cols)})")
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(sql, [run_id, *fields.values()])
                _test_pause("before_sql_commit")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def get(self, ref: str) -> RunRecord:
        """A run by exact id, then by name (the newest of that name), then by unique id prefix."""
        return self._record(find_run(ref, self._rows(), f"the run store at {self.root}"))

    def metadata(self, ref: str) -> dict[str, Any]:
        """The metadata the run was saved with (resolved scenario, digests, vintages, ...)."""
        record = self.get(ref)
        with self._connect() as conn:
            row = conn.execute("SELECT metadata FROM runs WHERE id = ?", (record.id,)).fetchone()
        if row is None:
            raise RunNotFound(f"run {record.label} was deleted while being read")
        result: dict[str, Any] = json.loads(row["metadata"])
        return result

    def load_table(self, ref: str, table: str) -> pd.DataFrame:
        """One result table of a run, checked against the digest recorded when it was saved."""
        record = self.get(ref)
        if table not in record.tables:
            raise RunStoreError(f"run {record.label} has no table '{table}'; it has: "
                                f"{', '.join(record.tables)}")
        if not _TABLE_NAME.fullmatch(table):
            raise RunCorrupt(f"run {record.label}: the registry names a table {table!r}, which "
                             "is not a table name (the registry was edited outside fairshare)")
        path = self._contained(record) / f"{table}.parquet"
        try:
            data = path.read_bytes()
        except FileNotFoundError as exc:
            raise RunCorrupt(f"run {record.label}: artefact file {path} is missing "
                             f"(the run folder was changed outside fairshare)") from exc
        except OSError as exc:
            raise RunCorrupt(f"run {record.label}: cannot read artefact file {path}: "
                             f"{exc}") from exc
        expected = record.table_digests.get(table)
        if expected and hashlib.sha256(data).hexdigest() != expected:
            raise RunCorrupt(f"run {record.label}: artefact file {path} is corrupt or was "
                             f"changed after the run was saved (SHA-256 does not match)")
        try:
            return _from_parquet(data)
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise RunCorrupt(f"run {record.label}: artefact file {path} is not a readable "
                             f"Parquet file: {exc}") from exc

    def load_tables(self, ref: str) -> dict[str, pd.DataFrame]:
        """Every result table of a run, by name."""
        record = self.get(ref)
        return {t: self.load_table(record.id, t) for t in record.tables}

    def delete(self, ref: str) -> RunRecord:
        """Remove a run: registry row first (the run is gone at once), then its files.

        If removing the files is interrupted, what is left is an orphan folder that
        ``cleanup()`` removes; the registry never points at half-deleted files.
        """
        record = self.get(ref)
        path = self._contained(record)
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute("DELETE FROM runs WHERE id = ?", (record.id,))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        if path.exists():
            doomed = self.runs_dir / f"{DEL_PREFIX}{record.id}"
            try:
                os.rename(path, doomed)
            except OSError:
                doomed = path
            shutil.rmtree(doomed, ignore_errors=True)
        return record

    def _contained(self, record: RunRecord) -> Path:
        """The run's folder, refusing a registry id that is not one plain name inside the store."""
        path = self.runs_dir / record.id
        if not _RUN_ID.fullmatch(record.id) or path.parent != self.runs_dir:
            shown = record.id if len(record.id) <= 80 else record.id[:80] + "…"
            raise RunCorrupt(f"the run registry {self.registry_path} holds the id {shown!r}, "
                             "which is not a run id (it was edited outside fairshare): no file "
                             "was touched; restore the registry from a backup")
        return path

    def export(self, ref: str, out: Path | str | None) -> builtins.list[Path]:
        """Write a run's tables, labelled, with its ``run.json`` and ``columns.csv``.

        The rules are ``publish.outputs.write_output``'s (a folder, one file, or by default a
        new dated folder under results/), so an exported run reads like the output of the
        command that made it.
        """
        from fairshare.publish.outputs import write_output  # heavy import, so late

        record = self.get(ref)
        tables = {t: self.load_table(record.id, t) for t in record.tables}
        meta = {**self.metadata(record.id), "run_id": record.id, "run_name": record.name}
        return write_output(None if out is None else Path(out), tables, meta,
                            command="export", name=record.name)

    def orphans(self) -> builtins.list[Path]:
        """Folders under ``runs/`` that belong to no registered run (interrupted saves/deletes)."""
        known = {r["id"] for r in self._rows()}
        return sorted(p for p in self.runs_dir.iterdir() if p.is_dir() and p.name not in known)

    def cleanup(self) -> int:
        """Remove orphan folders left by interrupted saves or deletes; returns how many.

        Takes the store lock exclusively, so a save running in another process is waited for
        rather than having its unfinished folder removed.
        """
        with self._lock(exclusive=True):
            orphans = self.orphans()
            for path in orphans:
                shutil.rmtree(path, ignore_errors=True)
        return sum(1 for p in orphans if not p.exists())
