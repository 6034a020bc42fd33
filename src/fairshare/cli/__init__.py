"""The fairshare command line: a thin layer over the core functions.

Errors in a user's input are printed as one clear message (file, row, column, what was
expected) with exit code 2; nothing is written when an input is bad.

Start-up: each command imports only the module that defines it (``COMMANDS``), so
``fairshare targets`` never loads the plan, the report, Excel, the run store or the analyses.
A misspelt command loads them all to suggest one. ``fairshare --help`` loads none: it lists
the commands from ``SUMMARY`` (their help panel and first line, checked against the real
commands by tests/test_cli_startup.py), so it answers without loading pandas.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

from fairshare.cli.common import app

#: The command modules, in the order of the help panels (the main job first).
MODULES = ("runs", "planning", "posts", "basic", "analysis", "scarcity", "calibrate", "outcomes",
           "publish", "baseline", "service", "db")

#: Which module defines each command (tests/test_cli_startup.py checks it is complete).
COMMANDS = {
    "run": "runs", "runs": "runs", "compare": "runs",
    "plan": "planning", "tables": "planning", "export": "planning", "posts": "posts",
    "targets": "basic", "specialties": "basic", "validate": "basic", "template": "basic",
    "scenario": "basic",
    "uncertainty": "analysis", "sensitivity": "analysis", "equity": "analysis",
    "scarcity": "scarcity", "calibrate": "calibrate",
    "outcome": "outcomes", "monitor": "outcomes",
    "report": "publish", "serve": "publish",
    "baseline": "baseline",
    "service": "service",
    "db": "db",
}


#: Each command's help panel and the first paragraph of its help (line breaks kept, as the
#: listing shows them), in the order ``--help`` lists them (commands,
#: then groups of commands, each in the order of ``MODULES``).
SUMMARY = {
    "run": ("Runs", "The main job: targets + plan + tables, stored as a run you can list and "
            "compare."),
    "compare": ("Runs", "Previous vs current per area and by school, and what explains the "
                "change."),
    "plan": ("Targets and plan", "The multi-year pace-of-change plan: every specialty from its "
             "phase start to the horizon."),
    "tables": ("Targets and plan", "The deanery tables: one year for an area, or the pace of "
               "change across the plan."),
    "export": ("Targets and plan", "Every table in one formatted Excel workbook, with an "
               "\"About this run\" sheet."),
    "targets": ("Targets and plan", "Fair-share targets: current, fair share, target, gap and "
                "distance per area and specialty."),
    "specialties": ("Data and scenarios", "The specialty catalogue: school, programme length, "
                    "phase, demand driver, weights, σ."),
    "validate": ("Data and scenarios", "Check an input file (establishment, capacity, cohorts, "
                 "minimum sizes or fill rates) and\nexplain every problem; the kind of file is "
                 "recognised by its columns."),
    "template": ("Data and scenarios", "A file to fill in: every local office x specialty, in "
                 "the columns fairshare reads."),
    "scenario": ("Data and scenarios", "Show a scenario with every default resolved, or the "
                 "scenario JSON schema."),
    "uncertainty": ("Analysis", "Intervals on targets and gaps: Monte Carlo over judgements "
                    "and structural choices."),
    "sensitivity": ("Analysis", "Which parameters move the targets most (SALib Morris "
                    "screening; Sobol on request)."),
    "equity": ("Analysis", "Spread of posts per weighted population across areas, by year, "
               "before and after the plan."),
    "scarcity": ("Analysis", "Consultants per need-weighted population by area and specialty, "
                 "and which areas are\nscarce, middle or well provided (terciles, as Japan "
                 "designates physician-scarce areas)."),
    "calibrate": ("Analysis", "Fit δ, the weight mix, the σ multiplier and the convergence "
                  "share to published gaps."),
    "outcome": ("Analysis", "New specialists per 100,000 weighted need by area, plan against "
                "status quo (no moves)."),
    "monitor": ("Analysis", "Impact metrics against their baseline, flagging what got worse, "
                "beside the posts moved."),
    "report": ("Publish", "A self-contained report (map, charts, tables, method, provenance) as "
               "HTML and/or PDF."),
    "serve": ("Publish", "The web app: maps, live what-ifs, plans, comparison and downloads, "
              "fully offline."),
    "runs": ("Runs", "Saved runs: list, show, export, delete, cleanup."),
    "posts": ("Targets and plan", "The area plan as recommendations per trust: which trusts "
              "give and which receive posts, each round, and why (docs/posts.md)."),
    "baseline": ("Data and scenarios", "The public baseline: show it, or build one from a later "
                 "NHS Digital staff file (docs/baseline.md)."),
    "service": ("Service", "The shared service: its workers (and server), on one database "
                "(docs/service.md)."),
    "db": ("Service", "The service's database: bring its tables to this version, or show "
           "where it is and what it holds."),
}


def load_commands(name: str | None = None) -> None:
    """Register one command's module, or every module when ``name`` is unknown or None."""
    module = COMMANDS.get(name or "")
    for mod in (module,) if module else MODULES:
        import_module(f"fairshare.cli.{mod}")


class LazyGroup(TyperGroup):
    """A command group that imports a command's module only when that command is asked for;
    its own help lists the commands from ``SUMMARY`` without importing any."""

    _listing = False

    def format_help(self, ctx: Any, formatter: Any) -> None:
        if ctx.parent is not None:  # only the top-level help is listed from SUMMARY
            return super().format_help(ctx, formatter)
        LazyGroup._listing = True
        try:
            return super().format_help(ctx, formatter)
        finally:
            LazyGroup._listing = False

    def _refresh(self) -> None:
        # Typer builds the click commands from what is registered so far; rebuild after loading.
        self.commands = dict(typer.main.get_group(app).commands)

    def list_commands(self, ctx: Any) -> list[str]:
        if LazyGroup._listing:
            return list(SUMMARY)
        load_commands()
        self._refresh()
        return super().list_commands(ctx)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:  # typer vendors click's types
        if LazyGroup._listing and cmd_name in SUMMARY:
            panel, text = SUMMARY[cmd_name]
            return TyperCommand(cmd_name, help=text, rich_help_panel=panel)
        if cmd_name not in self.commands:
            load_commands(cmd_name)
            self._refresh()
        return super().get_command(ctx, cmd_name)


app.info.cls = LazyGroup

__all__ = ["COMMANDS", "SUMMARY", "app", "load_commands"]
