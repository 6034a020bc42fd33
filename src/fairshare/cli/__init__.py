"""The fairshare command line: a thin layer over the core functions.

Errors in a user's input are printed as one clear message (file, row, column, what was
expected) with exit code 2; nothing is written when an input is bad.

Start-up: each command imports only the module that defines it (``COMMANDS``), so
``fairshare targets`` never loads the plan, the report, Excel, the run store or the analyses.
``--help`` and a misspelt command load them all to list every command.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

import typer
from typer.core import TyperGroup

from fairshare.cli.common import app

#: The command modules, in the order of the help panels (the main job first).
MODULES = ("runs", "planning", "posts", "basic", "analysis", "calibrate", "outcomes", "publish",
           "baseline")

#: Which module defines each command (tests/test_cli_startup.py checks it is complete).
COMMANDS = {
    "run": "runs", "runs": "runs", "compare": "runs",
    "plan": "planning", "tables": "planning", "export": "planning", "posts": "posts",
    "targets": "basic", "specialties": "basic", "validate": "basic", "template": "basic",
    "scenario": "basic",
    "uncertainty": "analysis", "sensitivity": "analysis", "equity": "analysis",
    "calibrate": "calibrate",
    "outcome": "outcomes", "monitor": "outcomes",
    "report": "publish", "serve": "publish",
    "baseline": "baseline",
}


def load_commands(name: str | None = None) -> None:
    """Register one command's module, or every module when ``name`` is unknown or None."""
    module = COMMANDS.get(name or "")
    for mod in (module,) if module else MODULES:
        import_module(f"fairshare.cli.{mod}")


class LazyGroup(TyperGroup):
    """A command group that imports a command's module only when that command is asked for."""

    def _refresh(self) -> None:
        # Typer builds the click commands from what is registered so far; rebuild after loading.
        self.commands = dict(typer.main.get_group(app).commands)

    def list_commands(self, ctx: Any) -> list[str]:
        load_commands()
        self._refresh()
        return super().list_commands(ctx)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:  # typer vendors click's types
        if cmd_name not in self.commands:
            load_commands(cmd_name)
            self._refresh()
        return super().get_command(ctx, cmd_name)


app.info.cls = LazyGroup

__all__ = ["COMMANDS", "app", "load_commands"]
