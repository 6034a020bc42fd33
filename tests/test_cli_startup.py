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
        if isinstance(command, typer.core.TyperGroup):  # a group: where its commands live
            callback = next(iter(command.commands.values())).callback
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


def test_dask_is_optional_and_its_absence_is_explained(tmp_path, monkeypatch):
    """Without the `dask` extra, --dask says how to install it (and [brackets] survive)."""
    from typer.testing import CliRunner

    for name in ("dask", "dask.distributed", "distributed"):
        monkeypatch.setitem(sys.modules, name, None)  # import fails as if not installed
    res = CliRunner().invoke(cli.app, ["uncertainty", "--dask", "local", "--draws", "5",
                                       "--out", str(tmp_path / "out")])
    assert res.exit_code == 2
    assert "pip install 'fairshare[dask]'" in " ".join(res.output.split())
    assert not (tmp_path / "out").exists()


SKIPPING = '''
import pytest
def test_ok(): pass
def test_needs_data(): pytest.skip("shared data not at /nowhere")
@pytest.mark.skipif(True, reason="no Chromium: install Debian's chromium package")
@pytest.mark.parametrize("x", [1, 2, 3])
def test_browser(x): pass
'''


def _policy_suite(tmp_path, chromium: str):
    """The suite's policy (tests/conftest.py), run on a small suite of its own, with
    ``FAIRSHARE_CHROMIUM`` naming the browser binary (a missing path: no Chromium)."""
    import os
    from pathlib import Path

    (tmp_path / "conftest.py").write_text((Path(__file__).parent / "conftest.py").read_text())
    (tmp_path / "test_policy.py").write_text(SKIPPING)
    env = {**os.environ, "FAIRSHARE_CHROMIUM": chromium}
    res = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "-p", "no:dash", "-p", "no:xdist", str(tmp_path)], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120, env=env)
    return res, res.stdout.strip().splitlines()[-1]


def test_skips_fail_with_the_reason_but_browser_tests_are_counted(tmp_path):
    """Without a Chromium binary, browser tests are counted as not run; other skips fail."""
    res, last = _policy_suite(tmp_path, str(tmp_path / "no-such-chromium"))
    assert res.returncode == 1
    assert "1 failed, 1 passed, 3 not run (no Chromium)" in last
    assert "shared data not at /nowhere" in res.stdout


def test_browser_tests_that_cannot_start_fail_when_chromium_is_installed(tmp_path):
    """With a Chromium binary present, a browser test that skips (say, Playwright missing) is a
    failure that names the binary, never "not run"."""
    browser = tmp_path / "chromium"
    browser.write_text("#!/bin/sh\n")
    browser.chmod(0o755)
    res, last = _policy_suite(tmp_path, str(browser))
    assert res.returncode == 1
    # a skip at set-up (skipif) is reported by pytest as an error: failed either way
    assert "1 failed, 1 passed, 3 errors" in last and "not run" not in last
    assert f"Chromium is installed at {browser}" in res.stdout


def test_help_summary_says_what_each_command_says():
    """`fairshare --help` lists commands from cli.SUMMARY without importing them: it must say
    what the commands themselves say, in their panels and order."""
    cli.load_commands()
    group = typer.main.get_group(cli.app)
    ctx = typer.Context(group)
    real = {name: (getattr(group.commands[name], "rich_help_panel", None),
                   (group.commands[name].help or "").split("\n\n")[0].strip())
            for name in group.commands}
    assert real == cli.SUMMARY
    assert set(group.list_commands(ctx)) == set(cli.SUMMARY)


def test_help_loads_no_command_module_and_no_pandas():
    code = ("import sys, runpy; sys.argv = ['fairshare', '--help']\n"
            "try:\n    runpy.run_module('fairshare.cli', run_name='__main__')\n"
            "except SystemExit:\n    pass\n"
            "print('MODULES', ' '.join(sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True, timeout=120).stdout
    loaded = set(out.split("MODULES", 1)[1].split())
    assert "run" in out and "baseline" in out  # the listing itself
    assert "pandas" not in loaded and "numpy" not in loaded
    assert not {m for m in loaded if m.startswith("fairshare.cli.")} - {"fairshare.cli.common",
                                                                         "fairshare.cli.__main__"}
