"""The shared service from the command line: ``fairshare service serve|create-admin|worker``
(issue 17).

``serve`` runs the service with waitress; it refuses to start without an active admin (and
says how to make one), and refuses cookies without ``Secure`` on any address but loopback.
``create-admin`` makes the first admin: the password is typed twice at a prompt that does not
echo it, or read from standard input (``--password-stdin``); there is never a default.
``worker`` takes queued jobs (runs, uncertainty, calibration) until SIGTERM (docs/service.md,
"Long jobs"). The single-user ``fairshare serve`` is unchanged.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from fairshare.cli.common import DatabaseOpt, app, console, friendly
from fairshare.errors import FairshareError

service_app = typer.Typer(no_args_is_help=True, help="The shared service: its workers (and "
                          "server), on one database (docs/service.md).")
app.add_typer(service_app, name="service", rich_help_panel="Service")

SettingsOpt = Annotated[Path | None, typer.Option(
    "--settings", help="Settings file (.toml or .yaml; docs/service.md). FAIRSHARE_* "
    "variables override it.")]


@service_app.command("serve")
@friendly
def serve(
    database: DatabaseOpt = None,
    settings_file: SettingsOpt = None,
    host: Annotated[str, typer.Option(help="Address to listen on (behind a reverse proxy: "
                                      "127.0.0.1).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.", min=1, max=65535)] = 8060,
    threads: Annotated[int, typer.Option(help="Requests served at once (waitress threads).",
                                         min=1, max=64)] = 8,
) -> None:
    """The shared service (sign-in, returns, reviews, published plans) with waitress."""
    from waitress import serve as waitress_serve

    from fairshare.service.app import create_app
    from fairshare.service.settings import load_settings
    from fairshare.store.accounts import admin_exists
    from fairshare.store.db import open_database, redacted
    from fairshare.webapp.app import CONNECTION_SETTINGS, is_loopback

    settings = load_settings(settings_file, database_url=database)
    if not settings.secure_cookies and not is_loopback(host):
        raise FairshareError(f"secure_cookies is off, which is only allowed on this machine's "
                             f"own address (127.0.0.1), not {host}: serve over HTTPS (behind a "
                             "reverse proxy with TLS) and leave secure_cookies on")
    engine = open_database(settings.database_url)
    with engine.connect() as conn:
        if not admin_exists(conn):
            raise FairshareError(f"the database at {redacted(str(engine.url))} has no active "
                                 "admin: make one first with `fairshare service create-admin "
                                 "USERNAME`")
    _log_to_stderr()
    service = create_app(settings, engine)
    if settings.explorer:  # build the explorer now, in the background, not on its first visit
        import threading

        threading.Thread(target=service.extensions["fairshare_explorer"].wsgi,
                         name="explorer-warm", daemon=True).start()
    console.print(f"fairshare service on http://{host}:{port} (database "
                  f"{redacted(str(engine.url))}); Ctrl+C stops it", highlight=False)
    waitress_serve(service, host=host, port=port, threads=threads, ident="fairshare",
                   **CONNECTION_SETTINGS)


def _log_to_stderr() -> None:
    """One line per request on standard error (the settings choose JSON or text)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    access = logging.getLogger("fairshare.service.access")
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    access.propagate = False


@service_app.command("create-admin")
@friendly
def create_admin(
    username: Annotated[str, typer.Argument(help="The admin's user name.")],
    database: DatabaseOpt = None,
    display_name: Annotated[str | None, typer.Option("--name", help="Name shown.")] = None,
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Read the password from standard input (first line) instead "
        "of a prompt.")] = False,
) -> None:
    """Make an admin account (the first one, or another). There is no default password."""
    from fairshare.store.accounts import AccountError, check_password, create_account
    from fairshare.store.db import open_database, redacted

    password = _password(password_stdin)
    try:
        check_password(password)
    except AccountError as exc:
        raise FairshareError(str(exc)) from None
    engine = open_database(database)
    try:
        with engine.begin() as conn:
            made = create_account(conn, username=username, role="admin", password=password,
                                  display_name=display_name, actor="cli")
    except AccountError as exc:
        raise FairshareError(str(exc)) from None
    console.print(f"admin {made.username} created in {redacted(str(engine.url))}",
                  highlight=False)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise FairshareError("--password-stdin: nothing came through standard input")
        return line.rstrip("\r\n")
    if not sys.stdin.isatty():
        raise FairshareError("no terminal to ask for the password: pipe it with "
                             "--password-stdin")
    first = typer.prompt("Password (12 characters or more)", hide_input=True)
    again = typer.prompt("The same password again", hide_input=True)
    if first != again:
        raise FairshareError("the two passwords differ: nothing was created")
    return str(first)


@service_app.command("worker")
@friendly
def worker(
    database: DatabaseOpt = None,
    dask: Annotated[str | None, typer.Option(
        "--dask", help="Dask scheduler address (tcp://host:port) or 'local': uncertainty "
        "draws run on that cluster.")] = None,
    once: Annotated[bool, typer.Option(
        "--once", help="Run at most one queued job, then stop.")] = False,
) -> None:
    """Take queued jobs (runs, uncertainty, calibration) one at a time until SIGTERM."""
    from fairshare.service.worker import Worker, default_name
    from fairshare.store.db import open_database, redacted
    from fairshare.store.sql_runs import SqlRunStore

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: "
                        "%(message)s")
    logging.getLogger("fairshare").setLevel(logging.INFO)  # the worker's own steps
    engine = open_database(database, migrate=False)
    name = default_name()
    console.print(f"worker {name} on {redacted(str(engine.url))}"
                  + (f", Dask {dask}" if dask else "") + (": one job" if once else
                                                         ": until stopped (SIGTERM)"),
                  highlight=False)
    work = Worker(engine, SqlRunStore(engine), name=name, dask=dask)
    work.run(once=once)
    console.print(f"worker {name} stopped: {work.summary()}", highlight=False)

