"""The web app end to end, in real headless Chromium (Playwright), fully offline.

The app runs in a background thread on a free localhost port. Every browser request to anything
other than that server is aborted and recorded, and the module fails if there was any: the page
must work with its own assets only (no CDN, no tiles, no topojson, no version check).
Screenshots of each tab land in ``test-artifacts/`` (git-ignored) for a human to look at.
"""

from __future__ import annotations

import io
import re
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

CHROMIUM = Path("/usr/bin/chromium")
pytest.importorskip("dash", reason="the web app needs dash")
pytest.importorskip("playwright.sync_api", reason="the end-to-end tests need playwright "
                    "(pip install playwright; the browser is Debian's chromium)")
# Without Chromium every test here is reported as not run, one by one (tests/conftest.py).
_NO_CHROMIUM = not CHROMIUM.exists() and shutil.which("chromium") is None

from playwright.sync_api import Page, sync_playwright  # noqa: E402
from playwright.sync_api import TimeoutError as PlaywrightTimeout  # noqa: E402
from werkzeug.serving import WSGIRequestHandler, make_server  # noqa: E402

from fairshare.webapp import figures  # noqa: E402
from fairshare.webapp.app import create_app  # noqa: E402
from fairshare.webapp.engine import Engine  # noqa: E402

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]
TIMEOUT = 30_000  # ms, for anything that waits on the server

# Dash's threaded dev server and Chromium's pipes may leave sockets to the garbage collector.
pytestmark = [
    pytest.mark.filterwarnings("ignore::ResourceWarning",
                               "ignore::pytest.PytestUnraisableExceptionWarning"),
    pytest.mark.skipif(_NO_CHROMIUM, reason="the end-to-end tests need Chromium at "
                       "/usr/bin/chromium (apt install chromium)"),
]


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    app = create_app(engine=Engine())
    srv = make_server("127.0.0.1", 0, app.server, threaded=True, request_handler=_Quiet)
    thread = threading.Thread(target=srv.serve_forever, name="fairshare-web", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.server_port}"
    finally:
        srv.shutdown()
        thread.join(timeout=10)
        srv.server_close()


@pytest.fixture(scope="module")
def outside() -> list[str]:
    """Every request the browser tried to make to anything but the app (must stay empty)."""
    return []


@pytest.fixture(scope="module")
def browser(server: str, outside: list[str]) -> Iterator[Any]:
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        exe = str(CHROMIUM) if CHROMIUM.exists() else shutil.which("chromium")
        b = pw.chromium.launch(executable_path=exe, args=ARGS)
        yield b
        b.close()
    assert not outside, f"the page tried to reach outside addresses: {sorted(set(outside))}"


@pytest.fixture(scope="module")
def context(browser: Any, server: str, outside: list[str]) -> Iterator[Any]:
    """One browser context for the module (its HTTP cache keeps page loads quick)."""
    ctx = browser.new_context(viewport={"width": 1440, "height": 900}, accept_downloads=True)
    host = urlparse(server).netloc

    def guard(route: Any) -> None:
        url = route.request.url
        parsed = urlparse(url)
        if parsed.scheme in ("data", "blob") or parsed.netloc == host:
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    ctx.route("**/*", guard)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: Any) -> Iterator[Page]:
    p = context.new_page()
    p.set_default_timeout(TIMEOUT)
    yield p
    p.close()


def open_map(page: Page, url: str, shapes: int) -> None:
    page.goto(url)
    page.wait_for_selector(f"#map-info[data-shapes='{shapes}']")
    page.wait_for_function(
        f"document.querySelectorAll('#map path.js-fill').length === {shapes}")


def summary_target(page: Page) -> int:
    return int(page.get_attribute("#area-summary", "data-target") or "-1")


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"webapp-{name}.png"), full_page=True)


# ---------------------------------------------------------------------------------------------


def test_map_draws_one_shape_per_area(page: Page, server: str) -> None:
    started = time.perf_counter()
    open_map(page, f"{server}/?level=icb", 42)
    assert time.perf_counter() - started < 20
    assert page.locator("#map path.js-fill").count() == 42
    shot(page, "map-icb")
    # switching the level by clicking the control redraws 11 local offices
    page.get_by_text("Local office (11)").click()
    page.wait_for_selector("#map-info[data-shapes='11']")
    page.wait_for_function("document.querySelectorAll('#map path.js-fill').length === 11")
    assert "level" not in page.url  # local office is the default: the link stays short
    page.get_by_text("NHS region (7)").click()
    page.wait_for_selector("#map-info[data-shapes='7']")
    page.wait_for_function("document.querySelectorAll('#map path.js-fill').length === 7")
    assert "level=region" in page.url
    # the legend says which side gives and which receives
    legend = page.locator("#map").text_content() or ""
    assert "gives" in legend and "receives" in legend
    # a laptop screen and a projector: the map stays in view, the page reflows
    for width, height, name in ((1280, 720, "laptop-1280x720"), (1920, 1080,
                                                                 "projector-1920x1080")):
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(300)
        box = page.locator("#map .main-svg").first.bounding_box()
        assert box is not None and box["width"] > 500 and box["height"] > 400
        page.screenshot(path=str(ARTIFACTS / f"webapp-{name}.png"))


def test_hover_shows_the_areas_figures(page: Page, server: str) -> None:
    open_map(page, f"{server}/", 11)
    i = next(k for k, s in enumerate(figures.shapes("local_office")) if s["name"] == "London")
    box = page.locator("#map .scatterlayer .trace").nth(i).locator("path.js-fill").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    hover = page.locator("#map .hoverlayer .hovertext")
    hover.first.wait_for()
    text = hover.first.text_content() or ""
    for word in ("London", "Current posts", "Fair share", "Target", "Gap", "Distance"):
        assert word in text
    shot(page, "map-hover")
    # a click on an area picks it for the summary, the plan and the deanery tables
    j = next(k for k, s in enumerate(figures.shapes("local_office")) if s["name"] == "Wessex")
    shape = figures.shapes("local_office")[j]
    x, y = shape["label_x"], shape["label_y"]  # a point well inside Wessex, in map units
    point = page.evaluate(
        """([x, y]) => { const gd = document.querySelector('#map .js-plotly-plot');
            const l = gd._fullLayout;
            const r = gd.querySelector('.nsewdrag').getBoundingClientRect();
            return [r.left + l.xaxis.l2p(x), r.top + l.yaxis.l2p(y)]; }""", [x, y])
    picked = "document.querySelector('#area-summary').dataset.area === 'Wessex'"
    for _ in range(5):  # a click during a redraw (slow, loaded machine) can be lost: retry it
        page.mouse.move(point[0], point[1])
        page.mouse.click(point[0], point[1])
        try:
            page.wait_for_function(picked, timeout=6000)
            break
        except PlaywrightTimeout:
            continue
    page.wait_for_function(picked)
    assert "area=Wessex" in page.url


def test_deprivation_slider_changes_a_named_areas_target(page: Page, server: str) -> None:
    open_map(page, f"{server}/", 11)
    assert page.get_attribute("#area-summary", "data-area") == "London"
    before = summary_target(page)
    # keyboard: the slider's handle is in the tab order and takes Home / End / arrows
    thumb = page.locator("#delta [role='slider']")
    thumb.focus()
    page.keyboard.press("End")
    page.wait_for_function(
        f"document.querySelector('#area-summary').dataset.target !== '{before}'")
    after_keys = summary_target(page)
    assert after_keys != before
    page.wait_for_function("window.location.search.includes('d=1')")
    shot(page, "map-delta-1")
    # the browser's Back button returns to the previous view, figures included
    page.go_back()
    page.wait_for_function(
        f"document.querySelector('#area-summary').dataset.target === '{before}'")
    assert page.locator("#delta [role='slider']").get_attribute("aria-valuenow") == "0.2"
    # a deep link sets the slider and shows the same figures
    open_map(page, f"{server}/?d=1", 11)
    assert summary_target(page) == after_keys
    assert page.locator("#delta [role='slider']").get_attribute("aria-valuenow") == "1"
    open_map(page, f"{server}/?d=0", 11)
    assert summary_target(page) != after_keys


def test_deep_link_restores_every_control(page: Page, server: str) -> None:
    link = (f"{server}/?spec=Paediatrics&level=icb&d=0.35&m=webster&h=2035&cap=0.25"
            f"&area=Wessex")
    open_map(page, link, 42)
    assert page.get_attribute("#area-summary", "data-specialty") == "Paediatrics"
    assert page.get_attribute("#area-summary", "data-area") == "Wessex"
    assert page.locator("#delta [role='slider']").get_attribute("aria-valuenow") == "0.35"
    assert "Webster" in page.locator("#method").inner_text()
    for part in ("spec=Paediatrics", "level=icb", "d=0.35", "m=webster", "h=2035", "cap=0.25"):
        assert part in page.url


def test_excel_download_is_a_valid_workbook(page: Page, server: str) -> None:
    import openpyxl

    open_map(page, f"{server}/", 11)
    with page.expect_download(timeout=60_000) as info:
        page.click("#dl-excel")
    download = info.value
    assert download.suggested_filename.endswith(".xlsx")
    path = ARTIFACTS / "webapp-download.xlsx"
    download.save_as(str(path))
    wb = openpyxl.load_workbook(io.BytesIO(path.read_bytes()), read_only=True)
    assert "About this run" in wb.sheetnames and "Targets" in wb.sheetnames
    wb.close()


def test_every_tab_renders(page: Page, server: str) -> None:
    from fairshare.webapp.engine import scenarios_dir

    # compare with the project's 30% deprivation scenario when there is one (a working copy)
    compare = "&cmp=file:delta-30" if scenarios_dir() and \
        (scenarios_dir() / "delta-30.yaml").exists() else ""  # type: ignore[operator]
    open_map(page, f"{server}/?area=London{compare}", 11)
    shot(page, "tab-map")
    # tabs are reachable from the keyboard: focus the current one, arrow right, Enter
    page.get_by_role("tab", name="Map & targets").focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function("window.location.search.includes('tab=plan')")
    assert page.get_by_role("tab", name="Plan").get_attribute("aria-selected") == "true"
    page.wait_for_selector("#plan-graph .barlayer")
    page.wait_for_selector("#one-year-table td")
    page.wait_for_selector("#pace-table td")
    assert "London" in page.inner_text("#one-year-title")
    shot(page, "tab-plan")

    page.get_by_role("tab", name="Compare").click()
    page.wait_for_selector("#compare-map path.js-fill")
    page.wait_for_selector("#compare-table td")
    shot(page, "tab-compare")

    page.get_by_role("tab", name="Uncertainty").click()
    page.wait_for_selector("#uncertainty-table td")
    page.wait_for_selector("#uncertainty-graph .scatterlayer .trace")
    shot(page, "tab-uncertainty")

    page.get_by_role("tab", name="Equity").click()
    page.wait_for_selector("#equity-table td")
    shot(page, "tab-equity")

    page.get_by_role("tab", name="Report").click()
    page.wait_for_selector("#report h1")
    page.wait_for_selector("#report table.static td")
    assert "Establishment: Public baseline" in page.inner_text("#report")
    shot(page, "tab-report")
    page.emulate_media(media="print")
    shot(page, "tab-report-print")
    assert not page.locator(".sidebar").is_visible()
    page.emulate_media(media="screen")


def test_tables_sort_natively(page: Page, server: str) -> None:
    open_map(page, f"{server}/", 11)
    page.wait_for_selector("#targets-table td")

    def column(name: str) -> list[str]:
        cells = page.locator(f"#targets-table td[data-dash-column='{name}']")
        return [c.strip() for c in cells.all_inner_texts()]

    page.locator("#targets-table th[data-dash-column='current'] .column-header--sort").click()
    values = [int(re.sub(r"[^\d-]", "", v)) for v in column("current")]
    assert values == sorted(values) or values == sorted(values, reverse=True)
