"""The shared service from the command line: ``fairshare service worker`` (issue 17)."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from fairshare.cli.common import DatabaseOpt, app, console, friendly

service_app = typer.Typer(no_args_is_help=True, help="The shared service: its workers (and "
                          "server), on one database (docs/service.md).")
app.add_typer(service_app, name="service", rich_help_panel="Service")


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
    done = Worker(engine, SqlRunStore(engine), name=name, dask=dask).run(once=once)
    console.print(f"worker {name} stopped: {done} job{'s' if done != 1 else ''} done",
                  highlight=False)

