"""Test-wide settings and the project's skip policy.

Hypothesis: no per-example deadline (a loaded 2-core CI machine is slow, and speed is measured
in benchmarks/, not asserted in tests); on CI (``CI`` set) the examples are derandomised so a
run is reproducible and a red build always means a change, never a newly drawn example.

Skips: a test that needs something missing (a package, a data file, a module) *fails* with the
reason, so a green run always means everything was tested. The one exception is the browser
(Chromium): a machine *without a Chromium binary* may still run the rest, and the closing summary
line counts the browser tests not run (``... 12 passed, 5 not run (no Chromium) ...``), one per
test. When Chromium is installed, a browser test that cannot start (Playwright or axe missing,
a launch that fails) fails with its reason like any other test: it is never quietly not run.
``FAIRSHARE_CHROMIUM`` names the binary the browser tests use (default ``/usr/bin/chromium``,
else ``chromium`` on the PATH).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Generator
from typing import Any

import pytest
from hypothesis import settings

settings.register_profile("fairshare", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "fairshare")

#: A skip whose reason matches this is a browser test on a machine without Chromium.
BROWSER_REASON = re.compile(r"chromium", re.IGNORECASE)
NOT_RUN = "not run (no Chromium)"


def chromium_binary() -> str | None:
    """The Chromium executable the browser tests run, or None when this machine has none."""
    named = os.environ.get("FAIRSHARE_CHROMIUM")
    if named is not None:
        return named if os.access(named, os.X_OK) else None
    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium"
    return shutil.which("chromium")


def _not_run_for_want_of_chromium(reason: str) -> bool:
    """A skip counts as "not run (no Chromium)" only if it is about the browser and there is no
    Chromium binary: with one installed, any browser test that did not run has failed."""
    return bool(BROWSER_REASON.search(reason)) and chromium_binary() is None


def _skip_reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    longrepr: Any = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def _fail_instead_of_skip(report: pytest.TestReport | pytest.CollectReport) -> None:
    """A skip for anything but the browser becomes a failure that says what is missing."""
    if not report.skipped or hasattr(report, "wasxfail"):
        return
    reason = _skip_reason(report)
    if _not_run_for_want_of_chromium(reason):
        return
    report.outcome = "failed"
    if BROWSER_REASON.search(reason):
        report.longrepr = (f"Chromium is installed at {chromium_binary()}, but this browser test "
                           f"could not start (the project's policy is to fail, not skip): "
                           f"{reason}")
        return
    report.longrepr = (f"this test needs something that is missing (the project's policy is to "
                       f"fail, not skip): {reason}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    _fail_instead_of_skip(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    report = yield
    _fail_instead_of_skip(report)
    return report


def pytest_report_teststatus(
    report: pytest.TestReport, config: pytest.Config
) -> tuple[str, str, str] | None:
    """Count browser tests not run under their own name in the closing summary line."""
    browser = report.skipped and _not_run_for_want_of_chromium(_skip_reason(report))
    if browser and not hasattr(report, "wasxfail") and report.when in ("setup", "call"):
        return NOT_RUN, "c", "NOT RUN (no Chromium)"
    return None


@pytest.fixture(scope="session")
def pg_cluster() -> Generator[Any, None, None]:
    """One throwaway PostgreSQL server per test process (tests/pgcluster.py)."""
    from tests.pgcluster import Cluster

    cluster = Cluster()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Any) -> Generator[str, None, None]:
    """A fresh, empty service database: once on SQLite, once on the PostgreSQL server.

    Afterwards the process's pooled engine for it is disposed: ``db.engine_for`` caches a few
    engines, and one dropped from the cache with connections still open would be reported
    (ResourceWarning, an error here) in whichever later test the garbage collector runs.
    """
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'service.sqlite'}"
    else:
        url = str(request.getfixturevalue("pg_cluster").new_database())
    yield url
    from fairshare.store import db

    db.engine_for(db.database_url(url)).dispose()
