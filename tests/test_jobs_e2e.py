"""A job's page in real headless Chromium: an analyst signs in, queues a run with London's
submitted capacity return, and watches the page follow the worker to "Done" without reloading
(the self-hosted script polling the status JSON), offline and with no serious axe violation.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import pytest

from tests.conftest import chromium_binary

CHROMIUM = chromium_binary()
pytest.importorskip("playwright.sync_api", reason="the end-to-end tests need playwright "
                    "(pip install playwright; the browser is Debian's chromium)")
pytest.importorskip("axe_playwright_python", reason="the accessibility audit needs "
                    "axe-playwright-python (the dev extras)")

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402

from fairshare.service.worker import Worker  # noqa: E402
from fairshare.store import jobs as q  # noqa: E402
from fairshare.store.sql_runs import SqlRunStore  # noqa: E402
from tests.servicecase import PASSWORD, Case, make_case  # noqa: E402
from tests.servicecase import served as served_case  # noqa: E402
from tests.test_webapp_e2e import ARGS, ARTIFACTS, serious_violations  # noqa: E402

pytestmark = [
    pytest.mark.filterwarnings("ignore::ResourceWarning",
                               "ignore::pytest.PytestUnraisableExceptionWarning"),
    pytest.mark.skipif(CHROMIUM is None, reason="the end-to-end tests need Chromium at "
                       "/usr/bin/chromium (apt install chromium)"),
]



@pytest.fixture
def served(tmp_path: Any) -> Iterator[tuple[Case, str]]:
    case = make_case(f"sqlite:///{tmp_path / 'service.sqlite'}")
    with served_case(case) as url:
        yield case, url


@pytest.fixture
def page(served: tuple[Case, str]) -> Iterator[Page]:
    host = urlparse(served[1]).netloc
    outside: list[str] = []

    def guard(route: Any) -> None:
        parsed = urlparse(route.request.url)
        if parsed.scheme in ("data", "blob") or parsed.netloc == host:
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        ctx = browser.new_context(viewport={"width": 1280, "height": 900})
        ctx.route("**/*", guard)
        p = ctx.new_page()
        p.set_default_timeout(30_000)
        yield p
        browser.close()
    assert not outside, f"the page tried to reach outside addresses: {outside}"


def test_the_job_page_follows_the_worker_to_done(served: tuple[Case, str], page: Page) -> None:
    case, url = served
    with case.engine.begin() as conn:  # the case's own queued job would be taken first
        q.cancel(conn, case.ids["job"], case.ids["admin"])
    page.goto(f"{url}/sign-in")
    page.get_by_label("User name").fill("analyst")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{url}/jobs")
    london = page.get_by_label("London: capacity return v2", exact=False)
    assert london.is_checked()
    page.get_by_label("North East: capacity return v2", exact=False).uncheck()
    page.get_by_label("Last plan year").fill("2030")
    page.screenshot(path=ARTIFACTS / "jobs.png", full_page=True)
    page.get_by_role("button", name="Queue the run").click()
    page.wait_for_url(f"{url}/jobs/*")
    status = page.get_by_role("status")
    assert status.inner_text() == "Waiting for a worker"
    assert page.locator("progress#job-progress").get_attribute("value") == "0"
    assert serious_violations(page) == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "job-queued.png", full_page=True)  # for a human to look at

    worker = threading.Thread(target=Worker(case.engine, SqlRunStore(case.engine),
                                            name="e2e").run, kwargs={"once": True})
    worker.start()
    expect(status).to_have_text("Done", timeout=120_000)  # no reload: the script polled
    worker.join(timeout=60)
    assert page.locator("progress#job-progress").get_attribute("value") == "100"
    assert page.get_by_role("button", name="Cancel this job").is_hidden()
    assert page.locator("#job-ended").inner_text().endswith("UTC")
    run_id = page.locator("#job-run-id").inner_text()
    job_id = int(page.url.rsplit("/", 1)[1])
    with case.engine.connect() as conn:
        job = q.get(conn, job_id)
    assert job is not None and job.result is not None and job.result["run_id"] == run_id
    used = SqlRunStore(case.engine).metadata(run_id)["returns_used"]
    assert [(r["office"], r["kind"], r["id"]) for r in used] == [
        ("London", "capacity", case.ids["lead_ldn_submitted"])]
    assert serious_violations(page) == []
    page.screenshot(path=ARTIFACTS / "job-done.png", full_page=True)
