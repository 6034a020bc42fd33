"""Each command imports only what it uses (issue 11 item 13); speed is in bench_startup.py."""

from __future__ import annotations

import subprocess
import sys

import typer

import fairshare.cli as cli

HEAVY = ("fairshare.model.plan", "fairshare.publish.report", "fairshare.publish.excel",
         "fairshare.store.runs", "fairshare.store.compare", "fairshare.analysis.uncertainty",
         "fairshare.analysis.sensitivity", "fairshare.analysis.outcome",
         "fairshare.analysis.monitoring", "fairshare.webapp")


def test_every_command_is_mapped_to_the_module_that_defines_it():
    cli.load_commands()
    group = typer.main.get_group(cli.app)
    defined = {}
    for name, command in group.commands.items():
        callback = command.callback
        if isinstance(command, typer.core.TyperGroup) and name == "runs":
            callback = command.commands["show"].callback
        defined[name] = callback.__module__.removeprefix("fairshare.cli.")
    assert defined == cli.COMMANDS


def test_targets_imports_no_other_command_module():
    code = ("import sys, fairshare.cli as c; c.load_commands('targets'); "
            "print('\\n'.join(sys.modules))")
    loaded = set(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                                text=True, timeout=120).stdout.split())
    assert "fairshare.cli.basic" in loaded
    assert not {m for m in loaded if m.startswith(HEAVY)}
    assert not {m for m in loaded if m.startswith("fairshare.cli.")} - {
        "fairshare.cli.basic", "fairshare.cli.common"}
