"""`fairshare db upgrade|status`: the service's database, migrated and inspected.

An administrator upgrading fairshare runs ``fairshare db upgrade`` once (servers refuse a
database at another migration), and ``fairshare db status`` to see which database a command
would use and whether it is up to date. Every message names the database without its password.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from fairshare.cli.common import DatabaseOpt, app, console, friendly

if TYPE_CHECKING:  # SQLAlchemy loads only when a db command runs
    from sqlalchemy import Engine

db_app = typer.Typer(help="The service's database: bring its tables to this version, or show "
                     "where it is and what it holds.", no_args_is_help=True)
app.add_typer(db_app, name="db", rich_help_panel="Service")

#: The tables whose row counts `db status` shows: what the service holds.
COUNTED = ("accounts", "runs", "returns", "publications", "decisions", "jobs", "audit_log")


@db_app.command("upgrade")
@friendly
def db_upgrade(database: DatabaseOpt = None) -> None:
    """Create the database's tables, or bring them to this fairshare's newest migration."""
    from fairshare.store import db

    url = db.database_url(database)
    engine = db.engine_for(url)
    try:
        before = _revision(engine)
        db.upgrade(engine)
        after = db.current_revision(engine)
    finally:
        engine.dispose()
    where = db.redacted(url)
    if before == after:
        console.print(f"the database at {where} is already at the newest migration ({after})")
    else:
        console.print(f"upgraded the database at {where} from {before or 'empty'} to {after}")


@db_app.command("status")
@friendly
def db_status(database: DatabaseOpt = None) -> None:
    """Which database commands use, its migration, and how many rows each record table holds.

    Exits with 1 when the database needs `fairshare db upgrade`.
    """
    from sqlalchemy import func, select
    from sqlalchemy.engine import make_url

    from fairshare.store import db
    from fairshare.store.schema import metadata

    url = db.database_url(database)
    where = db.redacted(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database \
            and not Path(parsed.database).expanduser().exists():
        console.print(f"no database at {where} yet: `fairshare db upgrade` creates it")
        raise typer.Exit(1)
    engine = db.engine_for(url)
    try:
        at, head = _revision(engine), db.head_revision()
        console.print(f"database: {where} ({engine.dialect.name})")
        console.print(f"migration: {at or 'none (empty database)'}; this fairshare: {head}")
        if at != head:
            console.print("needs `fairshare db upgrade`" if at is None or _older(at)
                          else "written by a newer fairshare: upgrade fairshare")
            raise typer.Exit(1)
        with engine.connect() as conn:
            for name in COUNTED:
                rows = conn.execute(select(func.count()).select_from(metadata.tables[name]))
                n = rows.scalar_one()
                console.print(f"  {name}: {n:,} row{'' if n == 1 else 's'}")
    finally:
        engine.dispose()


def _revision(engine: Engine) -> str | None:
    """The database's migration, or a message naming the database if it cannot be reached."""
    from sqlalchemy.exc import SQLAlchemyError

    from fairshare.store import db

    try:
        return db.current_revision(engine)
    except SQLAlchemyError as exc:
        cause = getattr(exc, "orig", None) or exc
        raise db.DatabaseError(f"cannot reach the database at {db.redacted(str(engine.url))}: "
                               f"{str(cause).splitlines()[0]}") from None


def _older(revision: str) -> bool:
    """Whether ``revision`` is one of this fairshare's migrations (so an upgrade applies)."""
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    from fairshare.store import db

    script = ScriptDirectory(str(db.MIGRATIONS))
    try:
        return script.get_revision(revision) is not None
    except CommandError:
        return False
