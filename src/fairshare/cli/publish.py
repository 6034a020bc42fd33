"""Publishing: the self-contained report and the web app."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from fairshare.cli.common import (
    REPORT_DRAWS,
    DatabaseOpt,
    DrawsOpt,
    PlanInputs,
    PostsOpt,
    app,
    compute_plan,
    console,
    findings_table,
    friendly,
    plan_inputs,
    quick_intervals,
)
from fairshare.cli.runs import StoreOpt, open_store
from fairshare.publish.outputs import run_metadata
from fairshare.publish.report import write_report


@app.command(rich_help_panel="Publish")
@friendly
@plan_inputs
def report(
    inputs: PlanInputs,
    run: Annotated[str | None, typer.Argument(help="Stored run (id, prefix or name); omit to "
                                              "compute one now.")] = None,
    html: Annotated[Path | None, typer.Option("--html", help="HTML file to write.")] = None,
    pdf: Annotated[Path | None, typer.Option("--pdf", help="PDF file to write (printed by "
                                             "headless Chromium).")] = None,
    store: StoreOpt = None,
    database: DatabaseOpt = None,
    draws: DrawsOpt = REPORT_DRAWS,
) -> None:
    """A self-contained report (map, charts, tables, method, provenance) as HTML and/or PDF."""
    # Printed on A4 (the plan's pages landscape); every page footer gives the basis of the
    # numbers and the scenario's name and digest; files appear whole or not at all.
    from fairshare.cli.signals import stop_cleanly

    if html is None and pdf is None:
        html = Path("report.html")
    with stop_cleanly(" and ".join(str(p) for p in (html, pdf) if p is not None)):
        _report(inputs, run, html, pdf, store, database, draws)


def _report(inputs: PlanInputs, run: str | None, html: Path | None, pdf: Path | None,
            store: Path | None, database: str | None, draws: int) -> None:
    intervals: Any = None
    if run is not None:
        s = open_store(store, database)
        rec = s.get(run)
        meta = dict(s.metadata(rec.id)) | {"run_id": rec.id, "run_name": rec.name}
        tables = s.load_tables(rec.id)
        targets, plan = tables["targets"], tables.get("plan")
        findings: pd.DataFrame | None = tables.get("findings")
        equity = tables.get("equity")
    else:
        bundle, sc, res = compute_plan(inputs)
        meta = run_metadata(bundle, sc, plan_status=res.status)
        targets, plan, findings, equity = res.targets, res.plan, findings_table(res), None
        intervals = quick_intervals(bundle, sc, draws)
    with console.status("Writing the report…"):
        files = write_report(html, pdf, targets=targets, plan=plan, metadata=meta,
                             equity=equity, findings=findings,
                             intervals=None if intervals is None else intervals.areas,
                             interval_cells=None if intervals is None else intervals.cells)
    console.print("wrote " + ", ".join(str(f) for f in files))


@app.command(rich_help_panel="Publish")
@friendly
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on. The default, 127.0.0.1, is "
                                      "this machine only; another address (0.0.0.0: every "
                                      "interface) lets anyone who can reach it use the app, "
                                      "with no sign-in.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.", min=1, max=65535)] = 8050,
    posts: PostsOpt = None,
    threads: Annotated[int, typer.Option(help="Requests served at once (waitress threads).",
                                         min=1, max=64)] = 8,
    debug: Annotated[bool, typer.Option("--debug", help="Dash's development server with its "
                                        "interactive debugger (loopback addresses only).")]
    = False,
    allow_host: Annotated[list[str] | None, typer.Option(
        "--allow-host", help="A name browsers use for this server besides localhost and its "
        "address (e.g. planning.trust.nhs.uk behind a proxy); repeatable. Requests naming any "
        "other host are refused (DNS rebinding).")] = None,
) -> None:
    """The web app: maps, live what-ifs, plans, comparison and downloads, fully offline.

    Served by waitress, a production WSGI server, with compressed assets.
    """
    from fairshare.webapp import serve as run_server

    run_server(host=host, port=port, posts=posts, debug=debug, threads=threads,
               allow_hosts=tuple(allow_host or ()))
