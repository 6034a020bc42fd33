"""One database interface for the shared service: SQLite by default, PostgreSQL by URL.

Where the database is, in order: the ``--database`` option, ``FAIRSHARE_DATABASE_URL``, else a
SQLite file ``service.sqlite`` in the run store's folder (``default_store_dir()``), so the
single-user tool needs no server. Both engines are driven through SQLAlchemy 2 and built by the
same Alembic migrations (``upgrade``), so code above this module never asks which it is on.

SQLite is made to behave like a server for the guarantees the service needs: WAL (readers do
not block the writer), foreign keys on, a 30 s busy wait, ``synchronous=FULL`` (a committed
row survives power loss) and ``BEGIN IMMEDIATE`` for every transaction, so two writers queue
instead of one failing half-way with "database is locked".
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from fairshare.errors import FairshareError
from fairshare.store.runs import default_store_dir

ENV_URL = "FAIRSHARE_DATABASE_URL"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class DatabaseError(FairshareError):
    """The service database cannot be reached, read or migrated (message says which)."""


def database_url(explicit: str | None = None) -> str:
    """The database to use: the option, then the environment, then the local SQLite file."""
    for value in (explicit, os.environ.get(ENV_URL)):
        if value and value.strip():
            return _normalise(value.strip())
    return f"sqlite:///{default_store_dir() / 'service.sqlite'}"


def _normalise(url: str) -> str:
    """Accept the forms people paste (``postgres://``, ``postgresql://``) and use psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseError(
            f"database URL is not understood: expected sqlite:///PATH or "
            f"postgresql://USER@HOST:PORT/NAME ({exc})") from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise DatabaseError(f"database {parsed.get_backend_name()!r} is not supported: "
                            "use sqlite:///PATH or postgresql://USER@HOST:PORT/NAME")
    return url


def redacted(url: str) -> str:
    """The URL as it may appear in a message or a log: never with its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<database URL not understood>"


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


#: Engines by URL, most recently used last. A deployment uses one URL; a process that opens
#: many (the tests) keeps the newest few, and an engine dropped from here is disposed at once,
#: so its pooled connections are closed now rather than whenever the garbage collector runs.
_ENGINES: OrderedDict[str, Engine] = OrderedDict()
_ENGINES_KEPT = 8
_ENGINES_LOCK = threading.Lock()


def engine_for(url: str) -> Engine:
    """One pooled engine per URL per process (engines are thread-safe; connections are not)."""
    with _ENGINES_LOCK:
        engine = _ENGINES.get(url)
        if engine is not None:
            _ENGINES.move_to_end(url)
            return engine
        engine = _ENGINES[url] = _make_engine(url)
        while len(_ENGINES) > _ENGINES_KEPT:
            _ENGINES.popitem(last=False)[1].dispose()
        return engine


def _make_engine(url: str) -> Engine:
    url = _normalise(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        _sqlite_behaves(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def _sqlite_behaves(engine: Engine) -> None:
    """WAL, foreign keys, FULL sync and BEGIN IMMEDIATE (SQLAlchemy's documented recipe)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # let the "begin" hook below issue BEGIN itself
        cur = dbapi_conn.cursor()
        for pragma in ("journal_mode=WAL", "foreign_keys=ON", "synchronous=FULL",
                       "busy_timeout=30000"):
            cur.execute(f"PRAGMA {pragma}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database's tables to ``revision`` (the newest by default); safe to repeat."""
    from alembic import command

    try:
        command.upgrade(_alembic_config(engine), revision)
    except SQLAlchemyError as exc:
        raise DatabaseError(f"cannot migrate the database at {redacted(str(engine.url))}: "
                            f"{exc.__class__.__name__}: {str(exc).splitlines()[0]}") from None


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at, or None for an empty database."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config(engine_for("sqlite://"))).get_current_head()
    assert head is not None
    return head


def open_database(url: str | None = None, *, migrate: bool = True) -> Engine:
    """The engine for ``url`` (resolved by ``database_url``), migrated to the newest tables.

    A database already at a newer revision than this fairshare knows is refused, so an old
    server cannot write rows in a shape it does not understand.
    """
    resolved = database_url(url)
    engine = engine_for(resolved)
    try:
        if migrate:
            upgrade(engine)
        at = current_revision(engine)
    except SQLAlchemyError as exc:
        raise DatabaseError(f"cannot open the database at {redacted(resolved)}: "
                            f"{str(exc).splitlines()[0]}") from None
    if at != head_revision():
        raise DatabaseError(
            f"the database at {redacted(resolved)} is at migration {at!r}, this fairshare "
            f"expects {head_revision()!r}: run `fairshare db upgrade` (or upgrade fairshare)")
    return engine


def table_names(engine: Engine) -> list[str]:
    return sorted(inspect(engine).get_table_names())
