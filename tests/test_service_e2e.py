"""The shared service end to end: real server, real sign-in, PostgreSQL, headless Chromium.

One story, as the programme would live it (issue 17): the first admin is made by the command
line (`fairshare service create-admin`), `fairshare service serve` runs in a child process on a
throwaway PostgreSQL database (tests/pgcluster.py), and everything else happens in the browser
through the real sign-in page:

1. the admin makes an office lead (North East), an analyst and a viewer on the accounts page;
2. the lead uploads the capacity template, filled in for North East, as a submitted return,
   and saves a second one as a draft;
3. the analyst ticks that return on the jobs page's "Run a plan" form and queues the run; a
   worker started from the command line (`fairshare service worker --once`) computes it while
   the job's page follows it to "Done" without a reload; the run records the return it used
   (office, kind, version, digest), and the analyst publishes it on the publish page;
4. a viewer sees the published plan and its tables (the offices' targets add up to every post
   in the establishment; the targets CSV downloads), and is refused the draft return, the
   returns list, the explorer, the jobs, the accounts and the publish page (403 or 404);
5. the lead, signed in again, finds North East's rows of the published plan on the home page
   (each gap = target - current; the targets add up to North East's total on the plan page).

After each kind of interaction axe-core audits the page (WCAG 2.2 AA tags and best practice, as
tests/test_webapp_e2e.py): no serious or critical violation. Every browser request to anything
but the server is aborted and recorded, and the test fails if there was any. Screenshots of the
sign-in, returns and published-plan pages at 1440 and 1024 px land in ``test-artifacts/``.
Speed is measured in benchmarks/bench_service_load.py and bench_service_overhead.py, never here.
"""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from tests.conftest import chromium_binary
from tests.servicerun import PASSWORD, Server, cli, create_admin, write_settings

CHROMIUM = chromium_binary()
pytest.importorskip("playwright.sync_api", reason="the end-to-end tests need playwright "
                    "(pip install playwright; the browser is Debian's chromium)")
pytest.importorskip("axe_playwright_python", reason="the accessibility audit needs "
                    "axe-playwright-python (the dev extras)")

from axe_playwright_python.sync_playwright import Axe  # noqa: E402
from playwright.sync_api import Page, sync_playwright  # noqa: E402

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]
TIMEOUT = 60_000  # ms: a page that starts a computation on a loaded 2-core machine
SIZES = [(1440, 900), (1024, 768)]
OFFICE = "North East"
#: What the lead fills in on the capacity template: extra trainees a year they can supervise.
CAPACITY = {"General Psychiatry": 3, "Cardiology": 2, "Paediatrics": 1}

pytestmark = [
    pytest.mark.filterwarnings("ignore::ResourceWarning",
                               "ignore::pytest.PytestUnraisableExceptionWarning"),
    pytest.mark.skipif(CHROMIUM is None, reason="the end-to-end tests need Chromium at "
                       "/usr/bin/chromium (apt install chromium)"),
]


def serious_violations(page: Page) -> list[str]:
    """axe-core's serious and critical WCAG violations on the page as it is now."""
    result = Axe().run(page, options={"resultTypes": ["violations"],
                                      "runOnly": {"type": "tag", "values": [
                                          "wcag2a", "wcag2aa", "wcag21a", "wcag21aa",
                                          "wcag22aa", "best-practice"]}})
    return [f"{v['id']} ({v['impact']}): {v['help']} at "
            f"{[n['target'] for n in v['nodes'][:3]]}"
            for v in result.response["violations"] if v["impact"] in ("serious", "critical")]


def audited(page: Page, what: str) -> None:
    assert serious_violations(page) == [], f"accessibility of {what} ({page.url})"


def shots(page: Page, name: str) -> None:
    """The page at 1440 and 1024 px wide, whole, for a person to look at."""
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(ARTIFACTS / f"service-{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1440, "height": 900})


def capacity_file(folder: Path) -> Path:
    """The capacity template as `fairshare template capacity` writes it, filled in for one
    office the way a lead does: keep your own rows, fill the capacity, delete the rest."""
    template = folder / "capacity_template.csv"
    cli("template", "capacity", "--out", str(template))
    rows = list(csv.DictReader(template.open(encoding="utf-8")))
    header = list(rows[0])
    assert header == ["local_office", "specialty", "year", "capacity"]
    filled = [{**r, "capacity": CAPACITY[r["specialty"]]} for r in rows
              if r["local_office"] == OFFICE and r["specialty"] in CAPACITY]
    assert len(filled) == len(CAPACITY), "the template has one row per office and specialty"
    out = folder / "north_east_capacity.csv"
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(filled)
    out.write_text(buffer.getvalue(), encoding="utf-8")
    return out


# --- the service and the browser --------------------------------------------------------------


@pytest.fixture(scope="module")
def database(pg_cluster: Any) -> str:
    url = str(pg_cluster.new_database())
    said = create_admin(url, "admin")
    assert "admin" in said
    return url


@pytest.fixture(scope="module")
def server(database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("service")
    with Server(database, write_settings(folder)) as running:
        yield running


@pytest.fixture(scope="module")
def outside() -> list[str]:
    """Every request the browser tried to make to anything but the server (must stay empty)."""
    return []


@pytest.fixture(scope="module")
def browser(outside: list[str]) -> Iterator[Any]:
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def person(browser: Any, server: Server, outside: list[str]) -> Any:
    """A fresh browser context (own cookies) that may only talk to the server."""
    ctx = browser.new_context(viewport={"width": 1440, "height": 900}, accept_downloads=True)
    host = urlparse(server.url).netloc

    def guard(route: Any) -> None:
        parsed = urlparse(route.request.url)
        if parsed.scheme in ("data", "blob") or parsed.netloc == host:
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    ctx.route("**/*", guard)
    page = ctx.new_page()
    page.set_default_timeout(TIMEOUT)
    return page


def sign_in(page: Page, server: Server, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{server.url}/sign-in")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Sign out").wait_for()


def status_of(page: Page, url: str) -> int:
    answer = page.goto(url)
    assert answer is not None
    return answer.status


# --- the story --------------------------------------------------------------------------------


def test_lead_returns_analyst_publishes_viewer_reads(
        browser: Any, server: Server, database: str, outside: list[str],
        tmp_path: Path) -> None:
    admin = person(browser, server, outside)
    admin.goto(f"{server.url}/")
    assert "/sign-in" in admin.url, "a signed-out visitor is sent to the sign-in page"
    audited(admin, "the sign-in page")
    shots(admin, "sign-in")
    # a wrong password is refused with the same words for every account, and is accessible
    admin.get_by_label("User name").fill("admin")
    admin.get_by_label("Password").fill("not the password at all")
    admin.get_by_role("button", name="Sign in").click()
    admin.get_by_text("The user name or password is not right.").first.wait_for()
    audited(admin, "the sign-in page with its error")

    sign_in(admin, server, "admin")
    make_accounts(admin, server)
    admin.context.close()

    lead = person(browser, server, outside)
    sign_in(lead, server, "ne-lead")
    submitted, draft = submit_capacity(lead, server, capacity_file(tmp_path))
    lead.context.close()

    analyst = person(browser, server, outside)
    sign_in(analyst, server, "analyst")
    # the analyst reads the lead's submitted return, never the draft
    assert status_of(analyst, f"{server.url}/returns/{submitted}") == 200
    assert status_of(analyst, f"{server.url}/returns/{draft}") in (403, 404)
    run_id = run_plan_on(analyst, server, database, submitted)
    version = publish(analyst, server, run_id)
    analyst.context.close()

    viewer = person(browser, server, outside)
    sign_in(viewer, server, "viewer")
    totals = read_published(viewer, server, version)
    for refused in (f"/returns/{draft}", f"/returns/{submitted}", "/returns",
                    "/returns/new/capacity", "/publications/new", "/jobs", "/explore/",
                    "/admin/accounts", f"/publications/{version + 1}"):
        code = status_of(viewer, f"{server.url}{refused}")
        assert code in (403, 404), f"a viewer reached {refused} ({code})"
    audited(viewer, "the page a viewer is refused")
    viewer.context.close()

    lead = person(browser, server, outside)
    sign_in(lead, server, "ne-lead")
    own_office_first(lead, totals[OFFICE])
    lead.context.close()

    assert not outside, f"the pages tried to reach outside addresses: {sorted(set(outside))}"


def make_accounts(page: Page, server: Server) -> None:
    """The admin makes the lead, the analyst and the viewer on the accounts page."""
    page.goto(f"{server.url}/admin/accounts")
    audited(page, "the accounts page")
    for username, name, role, office in (
            ("ne-lead", "North East lead", "office_lead", OFFICE),
            ("analyst", "Central analyst", "analyst", ""),
            ("viewer", "Trust viewer", "viewer", "")):
        page.locator("#username").fill(username)
        page.locator("#display_name").fill(name)
        page.locator("#role").select_option(role)
        page.locator("#office").select_option(office or "")
        page.locator("#password").fill(PASSWORD)
        page.get_by_role("button", name="Make the account").click()
        page.wait_for_url(re.compile(r"/admin/accounts\?made="))
        assert page.get_by_role("cell", name=username, exact=True).count() >= 1 or \
            username in page.inner_text("main")
    audited(page, "the accounts page with three new accounts")


def submit_capacity(page: Page, server: Server, upload: Path) -> tuple[int, int]:
    """The lead uploads the filled template as a submitted return, then again as a draft;
    the two return ids."""
    ids = []
    for status in ("submitted", "draft"):
        page.goto(f"{server.url}/returns/new/capacity")
        audited(page, "the capacity return form")
        page.get_by_label("Capacity file").set_input_files(str(upload))
        page.locator(f"input[name=status][value={status}]").check()
        page.get_by_role("button", name="Check and save").click()
        page.wait_for_url(re.compile(r"/returns/\d+\?saved=1"))
        ids.append(int(re.search(r"/returns/(\d+)", page.url).group(1)))  # type: ignore[union-attr]
        text = page.inner_text("main")
        assert OFFICE in text and status in text.lower()
        audited(page, f"a {status} return")
    page.goto(f"{server.url}/returns")
    text = page.inner_text("main")
    assert "draft" in text.lower() and "submitted" in text.lower()
    audited(page, "the returns list")
    shots(page, "returns")
    return ids[0], ids[1]


def run_plan_on(page: Page, server: Server, database: str, return_id: int) -> str:
    """The analyst queues a run with the North East return on the jobs page; a worker started
    from the command line computes it while the job's page follows it to "Done" without a
    reload; the run's id, as the page shows it."""
    page.goto(f"{server.url}/jobs")
    audited(page, "the jobs page with its run form")
    offered = page.locator("#returns")
    # only the office's newest *submitted* return is offered, never the later draft
    assert f"{OFFICE}: capacity return v1" in offered.inner_text()
    assert "v2" not in offered.inner_text()
    box = page.locator(f"#return-{return_id}")
    box.check()
    page.get_by_label("Name of the run").fill("North East capacity, e2e")
    page.get_by_role("button", name="Queue the run").click()
    page.wait_for_url(re.compile(r"/jobs/\d+$"))
    assert page.locator("#job-status-line").inner_text().strip() == "Waiting for a worker"
    audited(page, "a queued job's page")
    worker = subprocess.Popen(
        [sys.executable, "-m", "fairshare.cli", "service", "worker", "--database", database,
         "--once"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        page.locator("#job-result").wait_for(state="visible", timeout=300_000)
    finally:
        said, _ = worker.communicate(timeout=300)
    assert worker.returncode == 0, said
    assert page.locator("#job-status-line").inner_text().strip() == "Done"
    assert page.locator("#job-progress").get_attribute("value") == "100"
    audited(page, "a finished job's page")
    run_id = page.locator("#job-run-id").inner_text().strip()
    # the run records the return it used: office, kind, version and digest
    from fairshare.store.db import open_database
    from fairshare.store.returns import get_return
    from fairshare.store.sql_runs import SqlRunStore

    engine = open_database(database)
    with engine.connect() as conn:
        record = get_return(conn, return_id)
    assert record is not None
    used = SqlRunStore(engine).metadata(run_id)["returns_used"]
    assert [(u["id"], u["office"], u["kind"], u["version"], u["digest"]) for u in used] == [
        (record.id, OFFICE, "capacity", record.version, record.digest)]
    page.get_by_role("link", name="publish it").click()
    page.wait_for_url(re.compile(r"/publications/new$"))
    return run_id


def publish(page: Page, server: Server, run_id: str) -> int:
    """The analyst publishes the run (on the publish page the job's page linked to)."""
    audited(page, "the publish page")
    page.get_by_label("Run").select_option(run_id)
    page.get_by_label("Title").fill("Plan with North East's capacity")
    page.get_by_label("Note").fill("First plan using a local office's capacity return.")
    page.get_by_role("button", name="Publish as the current plan").click()
    page.wait_for_url(re.compile(r"/publications/\d+$"))
    audited(page, "a newly published plan")
    return int(page.url.rsplit("/", 1)[1])


def read_published(page: Page, server: Server, version: int) -> dict[str, int]:
    """The viewer reads the plan, its tables and a CSV; the offices' targets as shown."""
    page.goto(f"{server.url}/publications")
    assert "Plan with North East's capacity" in page.inner_text("main")
    audited(page, "the published plans list")
    page.get_by_role("link", name=f"v{version}", exact=True).click()
    page.wait_for_url(re.compile(rf"/publications/{version}$"))
    text = page.inner_text("main")
    assert "First plan using a local office's capacity return." in text
    audited(page, "a published plan, as a viewer")
    shots(page, "published-plan")
    # redistribution moves posts, never adds them: the eleven offices' targets shown add up to
    # every post in the establishment the run used (the embedded public baseline, read here)
    from fairshare import load_england

    cells = page.locator("main table tbody tr").evaluate_all(
        "rows => rows.map(r => [...r.cells].map(c => c.innerText.trim()))")
    assert len(cells) == 11
    shown = sum(int(row[-1].replace(",", "")) for row in cells)
    assert shown == int(load_england().posts["posts"].sum())
    with page.expect_download() as download:
        page.locator(f"a[href='/publications/{version}/tables/targets.csv']").click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text("utf-8"))))
    assert {"area", "specialty", "target"} <= set(rows[0])
    offices = {r["area"] for r in rows if r.get("level", "local_office") == "local_office"}
    assert OFFICE in offices
    totals = {row[0]: int(row[-1].replace(",", "")) for row in cells}
    link = page.locator(f"a[href^='/publications/{version}/tables/']:not([download])").first
    link.click()
    page.wait_for_url(re.compile(rf"/publications/{version}/tables/"))
    assert page.locator("table td").count() > 0
    audited(page, "a published table")
    return totals


def own_office_first(page: Page, office_total: int) -> None:
    """Signed in again after the publication, the lead's home page shows their own office's
    figures in the current plan: every row theirs, each gap = target - current, and the
    targets adding up to the office's total on the published plan's page."""
    assert page.get_by_role("heading", name=f"{OFFICE} in the current plan").count() == 1
    table = page.locator("main table").first
    heads = [h.strip() for h in table.locator("thead th").all_inner_texts()]
    rows = table.locator("tbody tr").evaluate_all(
        "rows => rows.map(r => [...r.cells].map(c => c.innerText.trim()))")
    got = [dict(zip(heads, row, strict=True)) for row in rows]
    assert got and {r["area"] for r in got} == {OFFICE}

    def number(text: str) -> int:
        return int(text.replace(",", "").replace("−", "-").replace("+", ""))

    for r in got:
        assert number(r["gap"]) == number(r["target"]) - number(r["current"]), r
    assert sum(number(r["target"]) for r in got) == office_total
    audited(page, "an office lead's home page with the published plan")
