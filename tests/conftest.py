"""Test-wide settings and the project's skip policy.

Hypothesis: no per-example deadline (a loaded 2-core CI machine is slow, and speed is measured
in benchmarks/, not asserted in tests); on CI (``CI`` set) the examples are derandomised so a
run is reproducible and a red build always means a change, never a newly drawn example.

Skips: a test that needs something missing (a package, a data file, a module) *fails* with the
reason, so a green run always means everything was tested. The one exception is the browser
(Chromium): a machine without it may still run the rest, and the closing summary line counts
the browser tests not run (``... 12 passed, 5 not run (no Chromium) ...``), one per test.
"""

from __future__ import annotations

import os
import re
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
    if BROWSER_REASON.search(reason):
        return
    report.outcome = "failed"
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
    browser = report.skipped and BROWSER_REASON.search(_skip_reason(report))
    if browser and not hasattr(report, "wasxfail") and report.when in ("setup", "call"):
        return NOT_RUN, "c", "NOT RUN (no Chromium)"
    return None
