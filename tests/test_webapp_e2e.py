"""The web app end to end, in real headless Chromium (Playwright), fully offline.

The app runs in a background thread on a free localhost port. Every browser request to anything
other than that server is aborted and recorded, and the module fails if there was any: the page
must work with its own assets only (no CDN, no tiles, no topojson, no version check).
Screenshots of every tab at 1440×900 and 1024×768 land in ``test-artifacts/`` (git-ignored) for
a human to look at, and axe-core (vendored in ``axe-playwright-python``, so offline) audits each
one: no serious or critical WCAG violations. Speed is measured in benchmarks/bench_webapp.py,
never asserted here.
"""

from __future__ import annotations

import io
import itertools
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from tests.conftest import chromium_binary

CHROMIUM = chromium_binary()
pytest.importorskip("dash", reason="the web app needs dash")
pytest.importorskip("playwright.sync_api", reason="the end-to-end tests need playwright "
                    "(pip install playwright; the browser is Debian's chromium)")
pytest.importorskip("axe_playwright_python", reason="the accessibility audit needs "
                    "axe-playwright-python (the dev extras)")
# Without Chromium every test here is reported as not run, one by one (tests/conftest.py);
# with it, a test here that cannot start fails.
_NO_CHROMIUM = CHROMIUM is None

from axe_playwright_python.sync_playwright import Axe  # noqa: E402
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
    app = create_app(engine=Engine(prefetch=False))  # no background workbooks in tests
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
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
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


MAIN = "#map .subplot.xy"
INSET = "#map .subplot.x2y2"
TABS = [("map", "Map and targets", "#targets-table td"), ("plan", "Plan", "#years-table td"),
        ("posts", "Posts", "#posts-answer-text"),
        ("compare", "Compare A and B", "#compare-table td"),
        ("uncertainty", "Uncertainty", "#uncertainty-table td"),
        ("equity", "Equity", "#equity-table td"), ("report", "Report", "#report table td")]
SIZES = [(1440, 900), (1024, 768)]


def open_map(page: Page, url: str, shapes: int) -> None:
    page.goto(url)
    page.wait_for_selector(f"#map-info[data-shapes='{shapes}']")
    page.wait_for_function(
        f"document.querySelectorAll('{MAIN} path.js-fill').length === {shapes}")


def summary_target(page: Page) -> int:
    return int(page.get_attribute("#area-summary", "data-target") or "-1")


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"webapp-{name}.png"), full_page=True)


def serious_violations(page: Page) -> list[str]:
    """axe-core's serious and critical WCAG violations on the page as it is now."""
    result = Axe().run(page, options={"resultTypes": ["violations"],
                                      "runOnly": {"type": "tag", "values": [
                                          "wcag2a", "wcag2aa", "wcag21a", "wcag21aa",
                                          "wcag22aa", "best-practice"]}})
    return [f"{v['id']} ({v['impact']}): {v['help']} at "
            f"{[n['target'] for n in v['nodes'][:3]]}"
            for v in result.response["violations"] if v["impact"] in ("serious", "critical")]


# ---------------------------------------------------------------------------------------------


def test_map_draws_one_shape_per_area_and_a_london_inset(page: Page, server: str) -> None:
    open_map(page, f"{server}/?level=icb", 42)
    assert page.locator(f"{INSET} path.js-fill").count() == len(figures.inset_codes("icb"))
    shot(page, "map-icb")
    # switching the level by clicking the control redraws 11 local offices
    page.get_by_text("Local office (11)").click()
    page.wait_for_selector("#map-info[data-shapes='11']")
    page.wait_for_function(f"document.querySelectorAll('{MAIN} path.js-fill').length === 11")
    assert "level" not in page.url  # local office is the default: the link stays short
    # London is labelled in its inset, not squeezed onto its neighbours in the main map
    assert "LDN" in (page.locator(INSET).text_content() or "")
    assert "LDN" not in (page.locator(MAIN).text_content() or "")
    page.get_by_text("NHS region (7)").click()
    page.wait_for_selector("#map-info[data-shapes='7']")
    page.wait_for_function(f"document.querySelectorAll('{MAIN} path.js-fill').length === 7")
    assert "level=region" in page.url
    legend = page.locator("#map").text_content() or ""
    assert "gives" in legend and "receives" in legend
    # the map in words, beside the map
    assert "Furthest above target" in page.inner_text("#map-alt")
    # the map fills its panel: England's drawing spans most of the panel's height
    panel = page.locator("#map").bounding_box()
    drawn = page.locator(f"{MAIN} .scatterlayer").bounding_box()
    assert panel is not None and drawn is not None
    assert drawn["height"] > 0.6 * panel["height"]


def test_the_mouse_wheel_scrolls_the_page_not_the_map(page: Page, server: str) -> None:
    # the window's size first: the map's height follows it, and a resize after the map is drawn
    # re-lays its axes out (a change of range that is not the wheel's doing)
    page.set_viewport_size({"width": 1440, "height": 700})
    open_map(page, f"{server}/", 11)
    box = page.locator("#map").bounding_box()
    assert box is not None
    before = page.evaluate("document.querySelector('#map .js-plotly-plot')._fullLayout"
                           ".xaxis.range.slice()")
    page.mouse.move(box["x"] + box["width"] / 3, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, 400)
    page.wait_for_function("window.scrollY > 0")
    after = page.evaluate("document.querySelector('#map .js-plotly-plot')._fullLayout"
                          ".xaxis.range.slice()")
    assert before == after


def test_hover_and_click_pick_an_area(page: Page, server: str) -> None:
    open_map(page, f"{server}/", 11)
    i = next(k for k, s in enumerate(figures.shapes("local_office")) if s["name"] == "Wessex")
    box = page.locator(f"{MAIN} .scatterlayer .trace").nth(i).locator(
        "path.js-fill").bounding_box()
    assert box is not None
    shape = figures.shapes("local_office")[i]
    x, y = shape["label_x"], shape["label_y"]  # a point well inside Wessex, in map units
    page.evaluate("window.scrollTo(0, document.querySelector('#map').getBoundingClientRect()"
                  ".top + window.scrollY)")
    point = page.evaluate(
        """([x, y]) => { const gd = document.querySelector('#map .js-plotly-plot');
            const l = gd._fullLayout;
            const r = gd.getBoundingClientRect();
            return [r.left + l.xaxis._offset + l.xaxis.l2p(x),
                    r.top + l.yaxis._offset + l.yaxis.l2p(y)]; }""", [x, y])
    hover = page.locator("#map .hoverlayer .hovertext")
    for _ in range(5):  # a hover during a redraw (slow, loaded machine) can be lost: retry it
        page.mouse.move(1, 1)
        page.mouse.move(point[0], point[1], steps=4)
        try:
            hover.first.wait_for(timeout=6000)
            break
        except PlaywrightTimeout:
            continue
    hover.first.wait_for()
    text = hover.first.text_content() or ""
    for word in ("Wessex", "Current", "Fair share", "Target", "Gap", "% of target"):
        assert word in text
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
    thumb = page.locator("#delta [role='slider']")
    assert thumb.get_attribute("aria-labelledby") == "delta-label"
    thumb.focus()
    page.keyboard.press("End")
    page.wait_for_function(
        f"document.querySelector('#area-summary').dataset.target !== '{before}'")
    after_keys = summary_target(page)
    page.wait_for_function("window.location.search.includes('d=1')")
    page.go_back()
    page.wait_for_function(
        f"document.querySelector('#area-summary').dataset.target === '{before}'")
    assert page.locator("#delta [role='slider']").get_attribute("aria-valuenow") == "0.2"
    open_map(page, f"{server}/?d=1", 11)
    assert summary_target(page) == after_keys


def test_bad_link_values_are_normalised_or_said(page: Page, server: str) -> None:
    link = f"{server}/?spec=cardiology&area=Atlantis&h=99999&sigma=0.9&cmp=hello"
    open_map(page, link, 11)
    notes = page.inner_text("#link-notes")
    for said in ("area=Atlantis", "h=99999", "sigma=0.9", "cmp=hello"):
        assert said in notes
    assert "cardiology" not in notes  # a name in lower case is simply understood
    assert page.get_attribute("#area-summary", "data-specialty") == "Cardiology"
    assert page.locator("#sigma [role='slider']").get_attribute("aria-valuenow") == "0.05"
    page.wait_for_function("window.location.search === '?spec=Cardiology'")


def test_the_planners_question_in_two_clicks(page: Page, server: str) -> None:
    """How many posts does London give up in Cardiology by 2030, and in which years?"""
    open_map(page, f"{server}/?h=2030", 11)
    page.click("#specialty")  # click 1 (then type to search)
    page.keyboard.type("Cardio")
    page.keyboard.press("Enter")
    page.wait_for_function("window.location.search.includes('spec=Cardiology')")
    page.get_by_role("tab", name="Plan").click()  # click 2
    page.wait_for_selector("#plan-answer-text")
    answer = page.inner_text("#plan-answer-text")
    assert re.search(r"London gives up [\d,]+ Cardiology posts by 2030: ", answer)
    heads = page.locator("#years-table th").all_inner_texts()
    assert any("Running total" in h for h in heads)
    shot(page, "plan-question")


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


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_every_tab_renders_accessibly(page: Page, server: str, width: int,
                                      height: int) -> None:
    page.set_viewport_size({"width": width, "height": height})
    open_map(page, f"{server}/?spec=Cardiology&cmp=file:delta-30", 11)
    problems: dict[str, list[str]] = {}
    for value, name, ready in TABS:
        if value != "map":
            page.get_by_role("tab", name=name).click()
        page.wait_for_selector(ready)
        assert page.get_by_role("tab", name=name).get_attribute("aria-selected") == "true"
        shot(page, f"tab-{value}-{width}")
        if value == "report":
            assert "Establishment: Public baseline" in page.inner_text("#report")
        found = serious_violations(page)
        if found:
            problems[value] = found
    assert not problems, problems
    # tab labels do not overlap at this width
    boxes = [page.get_by_role("tab", name=n).bounding_box() for _, n, _ in TABS]
    for a, b in itertools.pairwise(boxes):
        assert a is not None and b is not None
        assert a["x"] + a["width"] <= b["x"] + 1 or b["y"] >= a["y"] + a["height"] - 1


def test_controls_are_named_by_their_labels(page: Page, server: str) -> None:
    open_map(page, f"{server}/", 11)
    page.wait_for_function("document.querySelector('#specialty')"
                           ".getAttribute('aria-labelledby') === 'specialty-label'")
    # a dropdown is announced by its label, a slider by its label, a radio group by its legend
    assert page.get_by_role("button", name="Specialty (type to search)").count() == 1
    assert page.get_by_role("slider", name="Deprivation weight δ (avoidable mortality)") \
        .count() == 1
    assert page.get_by_role("radiogroup", name="Level ?").count() == 1
    # the dropdown and the Tab key: the button is a tab stop, the hidden proxy is not
    assert page.get_attribute("#specialty", "tabindex") == "0"


def test_keyboard_walk_reaches_the_end_of_the_page(page: Page, server: str) -> None:
    page.set_viewport_size({"width": 1024, "height": 768})
    open_map(page, f"{server}/", 11)
    page.wait_for_selector("#targets-table td")
    last = page.evaluate("""() => { const all = [...document.querySelectorAll(
        'a[href], button, input, [tabindex]')].filter(e => e.tabIndex >= 0 && !e.disabled
        && e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden');
        all[all.length - 1].setAttribute('data-last-stop', '1');
        return all.length; }""")
    seen: list[str] = []
    for _ in range(last + 40):
        page.keyboard.press("Tab")
        name, ring, body, is_last = page.evaluate("""() => { const e = document.activeElement;
            const s = getComputedStyle(e);
            return [e.id || String(e.className) || e.tagName,
                    s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2
                    || s.boxShadow !== 'none' || s.backgroundColor === 'rgb(255, 235, 59)',
                    e === document.body, e.hasAttribute('data-last-stop')]; }""")
        if body:
            continue
        assert ring, f"{name} has no visible focus indicator"
        seen.append(str(name))
        if is_last:
            break
    else:
        raise AssertionError(f"Tab never reached the end of the page: last stops {seen[-8:]}")
    # every kind of control was a stop on the way: dropdown, radio, slider, sort button
    text = " ".join(seen)
    for part in ("specialty", "dash-options-list-option-checkbox", "dash-slider-thumb", "sort",
                 "dl-excel"):
        assert part in text, f"no {part} reached by Tab"


def test_tables_sort_from_the_keyboard_without_a_trap(page: Page, server: str) -> None:
    open_map(page, f"{server}/", 11)
    page.wait_for_selector("#targets-table td")

    def column(index: int) -> list[int]:
        cells = page.locator(f"#targets-table tbody tr td:nth-child({index})")
        return [int(re.sub(r"[^\d-]", "", c.replace("−", "-"))) for c in
                cells.all_inner_texts()]

    heads = page.locator("#targets-table th").all_inner_texts()
    k = next(i for i, h in enumerate(heads) if h.startswith("Current")) + 1
    button = page.locator(f"#targets-table th:nth-child({k}) button.sort")
    button.focus()
    page.keyboard.press("Enter")
    assert column(k) == sorted(column(k))
    assert page.locator(f"#targets-table th:nth-child({k})").get_attribute("aria-sort") \
        == "ascending"
    page.keyboard.press("Enter")
    assert column(k) == sorted(column(k), reverse=True)
    # Tab and Shift+Tab move on from a sort button
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") != button.text_content()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.textContent") != button.text_content()


# ---------------------------------------------------------------------------------------------
# Offline: a walk of the whole app, every control and every mode-bar button
# ---------------------------------------------------------------------------------------------

def _guarded_context(browser: Any, server: str, tried: list[str], **kwargs: Any) -> Any:
    """A context in which every request to anything but loopback is blocked and recorded
    (pages a button opens, such as a "Share chart" pop-up, included)."""
    ctx = browser.new_context(viewport={"width": 1440, "height": 900}, accept_downloads=True,
                              **kwargs)

    def guard(route: Any) -> None:
        parsed = urlparse(route.request.url)
        host = (parsed.hostname or "").strip("[]")
        if parsed.scheme in ("data", "blob", "about") or host in ("127.0.0.1", "localhost",
                                                                   "::1"):
            route.continue_()
        else:
            tried.append(route.request.url)
            route.abort()

    ctx.route("**/*", guard)
    ctx.on("page", lambda p: tried.append(f"a new window opened: {p.url}")
           if not p.url.startswith(server) and p.url not in ("", "about:blank") else None)
    return ctx


def _settle(page: Page) -> None:
    page.wait_for_function(
        "document.querySelectorAll('[data-dash-is-loading=\"true\"]').length === 0")


def _press_every_modebar_button(page: Page, panel: str) -> int:
    """Hover each graph of a panel and press every button of its mode bar; how many."""
    pressed = 0
    graphs = page.locator(f"{panel} .js-plotly-plot")
    for g in range(graphs.count()):
        graph = graphs.nth(g)
        if not graph.is_visible():
            continue
        graph.hover(position={"x": 5, "y": 5})
        buttons = graph.locator(".modebar-btn")
        for b in range(buttons.count()):
            graph.hover(position={"x": 5, "y": 5})
            button = buttons.nth(b)
            if button.is_visible():
                button.click()
                pressed += 1
                page.wait_for_timeout(150)
    return pressed


def _use_every_control(page: Page) -> None:
    """Every radio option, every dropdown (opened, then a choice by keyboard), every slider."""
    for radio in page.locator("#controls input[type='radio']").all():
        if radio.is_visible():
            radio.check()
            _settle(page)
    for box in page.locator("#controls button.dash-dropdown").all():
        if box.is_visible():
            box.click()
            page.keyboard.press("ArrowDown")
            page.keyboard.press("Enter")
            _settle(page)
    for thumb in page.locator("#controls [role='slider']").all():
        if thumb.is_visible():
            thumb.focus()
            page.keyboard.press("ArrowRight")
            _settle(page)


def test_a_walk_of_the_whole_app_sends_nothing_off_the_machine(browser: Any,
                                                                 server: str) -> None:
    """Every tab, every control, every download and every mode-bar button of every chart, with
    anything not to loopback blocked and recorded: nothing may have been attempted."""
    tried: list[str] = []
    ctx = _guarded_context(browser, server, tried)
    page = ctx.new_page()
    page.set_default_timeout(TIMEOUT)
    try:
        open_map(page, f"{server}/?spec=Cardiology&cmp=file:delta-30", 11)
        page.evaluate("window.print = () => { window.__printed = true; }")
        pressed = 0
        for value, name, ready in TABS:
            if value != "map":
                page.get_by_role("tab", name=name).click()
            page.wait_for_selector(ready)
            _settle(page)
            pressed += _press_every_modebar_button(page, f"#panel-{value}")
            for button in page.locator(f"#panel-{value} button:visible").all():
                button.click()
            for select in page.locator(f"#panel-{value} button.dash-dropdown").all():
                select.click()
                page.keyboard.press("ArrowDown")
                page.keyboard.press("Enter")
                _settle(page)
            if value == "posts":  # its file in and file out
                _upload(page, "minimums.csv", TRUST_MIN)
                page.wait_for_function("document.querySelector('#trust-min-status')"
                                       ".innerText.includes('minimums.csv')")
                _settle(page)
                with page.expect_download(timeout=60_000):
                    page.click("#dl-posts")
        assert page.evaluate("window.__printed === true")
        assert pressed >= 6, f"only {pressed} mode-bar buttons were found to press"
        page.get_by_role("tab", name="Map and targets").click()
        _use_every_control(page)
        for dl in ("#dl-targets", "#dl-plan", "#dl-report", "#dl-excel"):
            with page.expect_download(timeout=120_000):
                page.click(dl)
        for link in page.locator("a.term").all()[:3]:
            link.click()
        page.wait_for_timeout(500)
    finally:
        ctx.close()
    assert not tried, f"the app tried to reach beyond this machine: {sorted(set(tried))}"


# ---------------------------------------------------------------------------------------------
# Dropdowns by keyboard, every time
# ---------------------------------------------------------------------------------------------

def _type_and_enter(page: Page, control: str, text: str, delay: int = 60) -> None:
    """Tab to a dropdown (focus), type as a person does (a key at a time), press Enter."""
    page.focus(control)
    page.keyboard.type(text, delay=delay)
    page.keyboard.press("Enter")


def test_typing_searches_a_dropdown_every_time_and_enter_picks_the_best_match(
        page: Page, server: str) -> None:
    open_map(page, f"{server}/", 11)
    # the same dropdown, used again and again: every letter lands, Enter takes the new value
    for typed, chosen in (("Cardio", "Cardiology"), ("Derm", "Dermatology"),
                          ("Paed", "Paediatrics"), ("Geriatric", "Geriatric Medicine"),
                          ("Cardio", "Cardiology")):
        _type_and_enter(page, "#specialty", typed)
        page.wait_for_function(
            "([s]) => document.querySelector('#area-summary').dataset.specialty === s",
            arg=[chosen])
    # "Wes" is the start of Wessex, only a later word of North West
    _type_and_enter(page, "#area", "Wes")
    page.wait_for_function("document.querySelector('#area-summary').dataset.area === 'Wessex'")
    # a local office's code picks it; and again after the first use
    _type_and_enter(page, "#area", "KSS")
    page.wait_for_function(
        "document.querySelector('#area-summary').dataset.area === 'Kent Surrey and Sussex'")
    _type_and_enter(page, "#area", "London")
    page.wait_for_function("document.querySelector('#area-summary').dataset.area === 'London'")


# ---------------------------------------------------------------------------------------------
# Accessibility after interaction, not only on untouched pages
# ---------------------------------------------------------------------------------------------

def test_no_serious_violations_after_each_kind_of_interaction(page: Page, server: str) -> None:
    """axe-core after a radio is chosen, with each kind of dropdown open, after an option is
    chosen from it (by keyboard), and after a tab switch by keyboard."""
    open_map(page, f"{server}/", 11)
    problems: dict[str, list[str]] = {}

    def audit(after: str, settle: bool = True) -> None:
        if settle:  # the page as the interaction left it, not mid-redraw (dimmed on purpose)
            page.wait_for_timeout(400)  # the redraw it set off has begun...
            _settle(page)  # ...and ended
        found = serious_violations(page)
        if found:
            problems[after] = found

    page.get_by_text("Custom, all specialties").click()
    page.wait_for_function("window.location.search.includes('wm=custom')")
    audit("a radio option chosen (component weights)")
    page.get_by_text("NHS region (7)").click()
    page.wait_for_selector("#map-info[data-shapes='7']")
    audit("a radio option chosen (level)")
    for control in ("#specialty", "#area", "#method"):
        page.click(control)
        page.wait_for_selector(".dash-dropdown-content[data-state='open'] .dash-dropdown-option")
        audit(f"dropdown {control} open")
        page.keyboard.press("ArrowDown")
        page.keyboard.press("ArrowDown")
        audit(f"dropdown {control} open, an option highlighted")
        page.keyboard.press("Enter")
        page.wait_for_selector(".dash-dropdown-content[data-state='open']", state="detached")
        _settle(page)
        audit(f"an option chosen from {control}")
    tab = page.get_by_role("tab", name="Map and targets")
    tab.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_selector("#years-table td")
    _settle(page)
    audit("the Plan tab opened by keyboard")
    assert not problems, problems


# ---------------------------------------------------------------------------------------------
# When the server cannot be reached
# ---------------------------------------------------------------------------------------------

def test_a_server_that_cannot_be_reached_is_said_on_the_page(page: Page, server: str) -> None:
    """With the callback route cut, a slider still moves: the page must say that the figures
    and the address are stale (a visible alert), also for a download; it goes once the server
    answers again."""
    open_map(page, f"{server}/", 11)
    _settle(page)
    before = summary_target(page)

    def cut(route: Any) -> None:
        route.abort("connectionrefused")

    page.route("**/_dash-update-component*", cut)
    thumb = page.locator("#delta [role='slider']")
    thumb.focus()
    page.keyboard.press("End")
    message = page.get_by_role("alert").filter(has_text="cannot be reached")
    message.wait_for(state="visible")
    text = message.inner_text()
    assert "last settings" in text and "fairshare serve" in text
    assert summary_target(page) == before  # the figures really are the old ones
    box = message.bounding_box()
    assert box is not None and 0 <= box["y"] < 900  # on screen, wherever the page is scrolled
    page.click("#dl-excel")  # a download while cut off says so too (the message stays)
    page.wait_for_timeout(500)
    assert message.is_visible()
    page.unroute("**/_dash-update-component*", cut)
    thumb.focus()
    page.keyboard.press("Home")
    message.wait_for(state="hidden")


# ---------------------------------------------------------------------------------------------
# The Report tab, printed from the app
# ---------------------------------------------------------------------------------------------

def _pdf_words(pdf: Path) -> list[tuple[int, float, float, float, str]]:
    """(page, x min, x max, y min, word) of every word pdftotext finds in the PDF."""
    import html as html_lib
    import subprocess

    out = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True,
                         text=True, check=True).stdout
    words, page_no = [], 0
    for line in out.splitlines():
        if "<page " in line:
            page_no += 1
        m = re.search(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" '
                      r'yMax="[\d.]+">(.*)</word>', line)
        if m:
            words.append((page_no, float(m[1]), float(m[3]), float(m[2]),
                          html_lib.unescape(m[4])))
    return words


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs pdftotext (poppler-utils)")
def test_the_report_tab_prints_whole(page: Page, server: str) -> None:
    """The Report tab printed by the browser itself (print media, A4): the map keeps its London
    inset, the targets table every column, the plan chart every plan year on its axis, and the
    headline appears once; nothing runs off the page's right edge."""
    page.goto(f"{server}/?tab=report&h=2031")
    page.wait_for_selector("#report table td")
    _settle(page)
    heads = page.locator("#report table.data").first.locator("th").all_inner_texts()
    pdf = ARTIFACTS / "webapp-report-printed.pdf"
    page.pdf(path=str(pdf), format="A4", print_background=True)
    words = _pdf_words(pdf)
    text = " ".join(w[4] for w in words)
    # every column of the on-screen targets table, waterfall included, is on paper
    from fairshare.webapp.views import TARGET_COLUMNS

    flat = re.sub(r"\s+", " ", text)

    def printed_together(heading: str) -> bool:
        """Every word of a (wrapped) column heading, on one page within a few lines."""
        want = set(re.findall(r"[A-Za-z]{2,}", heading))
        for pg, _, _, y, _ in words:
            near = {w for p2, _, _, y2, w in words if p2 == pg and abs(y2 - y) < 30}
            near = {m for w in near for m in re.findall(r"[A-Za-z]{2,}", w)}
            if want <= near:
                return True
        return False

    for _, heading, _ in TARGET_COLUMNS:
        assert printed_together(heading), f"column {heading!r} is missing from the print"
    assert heads, "no targets table on the Report tab"
    # the map's London inset and its label
    assert "London, enlarged" in flat and "LDN" in flat
    # the plan chart's axis: one printed line holding every plan year 2022..2031 in order
    lines: dict[tuple[int, int], list[tuple[float, str]]] = {}
    for pg, x0, _, y0, w in words:
        lines.setdefault((pg, round(y0)), []).append((x0, w))
    years = [str(y) for y in range(2022, 2032)]
    axis = [sorted(ws) for ws in lines.values() if [w for _, w in sorted(ws)] == years]
    assert axis, "no printed line holds the plan chart's years 2022 to 2031"
    # the headline once (the report has its own; the page's is not printed again)
    assert flat.count("to move to reach every target") == 1
    # nothing beyond the right margin of an A4 page (595 pt wide, 12 mm = 34 pt margins)
    beyond = [w for w in words if w[2] > 595 - 30]
    assert not beyond, f"printed past the right margin: {beyond[:5]}"


# ---------------------------------------------------------------------------------------------
# The map: classed colours, on the first screen, labels that never overlap
# ---------------------------------------------------------------------------------------------

LABEL_BOXES = """() => [...document.querySelectorAll('#map .textpoint text')]
    .filter(t => t.textContent.trim()).map(t => { const r = t.getBoundingClientRect();
      return [t.textContent, r.left, r.top, r.right, r.bottom]; })"""


def _overlapping(boxes: list[list[Any]]) -> list[tuple[str, str]]:
    out = []
    for a, b in itertools.combinations(boxes, 2):
        if a[1] < b[3] - 1 and b[1] < a[3] - 1 and a[2] < b[4] - 1 and b[2] < a[4] - 1:
            out.append((a[0], b[0]))
    return out


@pytest.mark.parametrize(("width", "height", "zoom"), [
    (1440, 900, 1), (1024, 768, 1), (1024, 768, 2), (1440, 900, 2)])
def test_map_labels_never_overlap(browser: Any, server: str, width: int, height: int,
                                  zoom: int) -> None:
    """Local-office and region labels, South East included, at 1440 and 1024 px and at 200%
    zoom (the same screen, half as many CSS pixels, twice the device pixels); none is cut by
    the map's edge."""
    ctx = browser.new_context(viewport={"width": width // zoom, "height": height // zoom},
                              device_scale_factor=zoom)
    page = ctx.new_page()
    page.set_default_timeout(TIMEOUT)
    try:
        for level, shapes in (("local_office", 11), ("region", 7)):
            query = "" if level == "local_office" else "?level=region"
            open_map(page, f"{server}/{query}", shapes)
            _settle(page)
            boxes = page.evaluate(LABEL_BOXES)
            assert len(boxes) >= shapes, boxes
            assert not _overlapping(boxes), (level, _overlapping(boxes))
            panel = page.locator("#map").bounding_box()
            assert panel is not None
            for text, left, _, right, _ in boxes:
                assert left >= panel["x"] - 1 and right <= panel["x"] + panel["width"] + 1, \
                    f"label {text!r} is cut by the map's edge"
            shot(page, f"map-labels-{level}-{width}-x{zoom}")
    finally:
        ctx.close()


def test_the_map_is_on_the_first_screen(browser: Any, server: str) -> None:
    """At 1024×768 the map starts on the first screen; at 1440×900 all of England, Cornwall's
    tip included, is on it."""
    ctx = browser.new_context(viewport={"width": 1024, "height": 768})
    page = ctx.new_page()
    page.set_default_timeout(TIMEOUT)
    try:
        open_map(page, f"{server}/", 11)
        drawn = page.locator(f"{MAIN} .scatterlayer").bounding_box()
        assert drawn is not None and drawn["y"] < 768 - 150, \
            f"England's drawing starts {drawn and drawn['y']:.0f} px down a 768 px screen"
        shot(page, "first-screen-1024")
        page.set_viewport_size({"width": 1440, "height": 900})
        open_map(page, f"{server}/?level=icb", 42)
        _settle(page)
        drawn = page.locator(f"{MAIN} .scatterlayer").bounding_box()
        assert drawn is not None
        assert drawn["y"] >= 0 and drawn["y"] + drawn["height"] <= 900, \
            f"England runs from {drawn['y']:.0f} to {drawn['y'] + drawn['height']:.0f} px " \
            "on a 900 px screen: Cornwall is cut"
        shot(page, "first-screen-1440")
    finally:
        ctx.close()


def test_the_map_is_classed_with_a_legend_of_classes(page: Page, server: str) -> None:
    """Seven classes of the gap as % of target, each in the legend with its count of areas;
    the counts add up to the areas drawn and match the table's % column, class by class."""
    open_map(page, f"{server}/?level=icb", 42)
    legend = page.locator("#map .legend .traces").evaluate_all(
        "items => items.map(i => i.textContent)")
    legend = [t for t in legend if t and re.search(r"\(\d+\)\s*$", t)]
    assert len(legend) == len(figures.GAP_CLASSES)
    counts = [int(re.search(r"\((\d+)\)\s*$", t)[1]) for t in legend]  # type: ignore[index]
    assert sum(counts) == 42
    heads = page.locator("#targets-table th").all_inner_texts()
    k = next(i for i, h in enumerate(heads) if h.startswith("Gap (% of target)")) + 1
    values = page.locator(f"#targets-table tbody tr td:nth-child({k})").evaluate_all(
        "cells => cells.map(c => c.dataset.v)")
    pct = [float(v) for v in values if v not in (None, "", "NaN")]
    assert len(pct) == 42
    expected = [0] * len(figures.GAP_CLASSES)
    for p in pct:
        bounds = [-0.5, -0.2, -0.05, 0.05, 0.2, 0.5]  # the documented class bounds
        expected[sum(p >= b for b in bounds)] += 1
    assert sorted(counts) == sorted(expected) and counts == expected[::-1]


def test_which_icbs_gain_most_by_2030_is_answered_in_the_app(page: Page, server: str) -> None:
    """Level ICB, Plan tab, horizon 2030: the ICB plan names the ICBs gaining most, and sorting
    its "By 2030" column puts the first of them on top."""
    open_map(page, f"{server}/?spec=Cardiology&h=2030", 11)
    page.locator("#level").get_by_text("ICB (42)").click()
    page.wait_for_selector("#map-info[data-shapes='42']")
    page.get_by_role("tab", name="Plan").click()
    page.wait_for_selector("#icb-plan-table td")
    answer = page.inner_text("#icb-plan-answer")
    m = re.match(r"By 2030, the ICBs that gain most Cardiology posts: (.+?) \(\+(\d+)\)", answer)
    assert m, answer
    assert page.locator("#icb-plan-table tbody tr").count() == 42
    heads = page.locator("#icb-plan-table th").all_inner_texts()
    k = next(i for i, h in enumerate(heads) if h.startswith("By 2030")) + 1
    button = page.locator(f"#icb-plan-table th:nth-child({k}) button.sort")
    button.click()
    button.click()  # descending: the largest gain first
    top = page.locator("#icb-plan-table tbody tr").first.locator("td")
    assert int(re.sub(r"[^\d]", "", top.nth(k - 1).inner_text())) == int(m[2])
    shot(page, "plan-icb")


def test_a_download_says_it_is_being_made(page: Page, server: str) -> None:
    """Straight after a change, the Excel button shows a visible, announced progress message
    (not a 10 px dot) until the workbook is saved, and no second click can be queued."""
    open_map(page, f"{server}/", 11)
    thumb = page.locator("#delta [role='slider']")
    thumb.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function("window.location.search.includes('d=0.21')")
    progress = page.locator("#dl-progress")
    with page.expect_download(timeout=120_000):
        page.click("#dl-excel")
        progress.wait_for(state="visible")
        assert progress.get_attribute("role") == "status"
        assert "Preparing your download" in progress.inner_text()
        box = progress.bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 20
        assert page.locator("#dl-excel").is_disabled()
    progress.wait_for(state="hidden")
    assert "ready" in page.inner_text("#dl-status")


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_the_map_can_be_coloured_by_scarcity(browser: Any, server: str, width: int,
                                             height: int) -> None:
    """Choosing "where consultants are scarce" recolours the map by the scarcity designation:
    the link keeps it, the legend counts the thirds (3 / 5 / 3 of the 11 local offices, all
    designated for Cardiology), the words beside the map name the scarce offices, and axe-core
    finds no serious or critical violation."""
    ctx = browser.new_context(viewport={"width": width, "height": height})
    page = ctx.new_page()
    page.set_default_timeout(TIMEOUT)
    try:
        open_map(page, f"{server}/?spec=Cardiology", 11)
        page.get_by_text("where consultants are scarce").click()
        page.wait_for_function("window.location.search.includes('col=scarcity')")
        page.wait_for_function("document.querySelector('#map-alt') && document.querySelector("
                               "'#map-alt').textContent.includes('Scarce (index')")
        _settle(page)
        legend = page.locator("#map .legend .traces").evaluate_all(
            "items => items.map(i => i.textContent)")
        legend = [t for t in legend if t and re.search(r"\(\d+\)\s*$", t)]
        assert legend == ["scarce (lowest third) (3)", "middle third (5)",
                          "well provided (highest third) (3)"]
        alt = page.inner_text("#map-alt")
        assert "scarce: 3; middle third: 5; well provided: 3" in alt
        assert page.is_checked("#map-colour input[value='scarcity']")
        shot(page, f"scarcity-map-{width}")
        found = serious_violations(page)
        assert not found, found
    finally:
        ctx.close()


# ---------------------------------------------------------------------------------------------
# The Posts tab: a minimum-unit file in, the recommendations out as CSV
# ---------------------------------------------------------------------------------------------

#: R1K and RF4 give London Cardiology posts under the default minimum unit (2); with their
#: minimum set to all their posts (10 and 5) they give none.
TRUST_MIN = b"org_code,specialty,min_posts\nR1K,Cardiology,10\nRF4,,5\n"
POSTS_URL = "/?spec=Cardiology&area=London&tab=posts"


def _trust_rows(page: Page) -> list[tuple[str, int]]:
    """(trust code, change) of every row of the Posts table as drawn."""
    heads = page.locator("#posts-table th[scope='col']").all_inner_texts()
    code, change = (next(i for i, h in enumerate(heads) if h.startswith(w))
                    for w in ("Trust (ODS", "Change"))
    out = []
    for row in page.locator("#posts-table tbody tr").all():
        cells = row.locator("td, th").all_inner_texts()
        out.append((cells[code].strip(), int(cells[change].replace("−", "-").replace("+", ""))))
    return out


def _upload(page: Page, name: str, data: bytes) -> None:
    page.set_input_files("#trust-min-upload input[type='file']",
                         files=[{"name": name, "mimeType": "text/csv", "buffer": data}])


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_posts_tab_takes_a_minimum_unit_file_and_gives_its_csv(page: Page, server: str,
                                                               width: int, height: int) -> None:
    """Upload a file (the trusts it names stop giving), a bad file (its problems by row and
    column, the table kept), the default again, and download the CSV: axe-core after each."""
    page.set_viewport_size({"width": width, "height": height})
    page.goto(server + POSTS_URL)
    page.wait_for_selector("#posts-table td")
    _settle(page)
    before = _trust_rows(page)
    assert any(code in ("R1K", "RF4") and change < 0 for code, change in before)
    problems: dict[str, list[str]] = {}

    def audit(after: str) -> None:
        page.wait_for_timeout(300)
        _settle(page)
        shot(page, f"posts-{after.replace(' ', '-')}-{width}")
        if found := serious_violations(page):
            problems[after] = found

    _upload(page, "minimums.csv", TRUST_MIN)
    page.wait_for_function("document.querySelector('#trust-min-status').innerText"
                           ".includes('minimums.csv (2 rows')")
    page.wait_for_function("!document.querySelector('#posts-table').innerText"
                           ".match(/\\bR1K\\b/)")
    after = _trust_rows(page)
    assert after != before
    assert not any(code in ("R1K", "RF4") and change < 0 for code, change in after)
    audit("upload")
    _upload(page, "broken.csv", b"org_code,min_posts\nR1Z,2\nRF4,two\n")
    message = page.locator("#trust-min-message li")
    message.first.wait_for()
    texts = message.all_inner_texts()
    assert any("broken.csv, row 2, column 'org_code'" in t for t in texts)
    assert any("row 3, column 'min_posts'" in t and "whole number" in t for t in texts)
    assert "still uses minimums.csv" in page.inner_text("#trust-min-message")
    assert _trust_rows(page) == after  # the table is kept
    audit("bad upload")
    # a file over the page's limit is said in the page, never sent (the server refuses
    # requests over 1 MB, which would leave the page silent)
    big = b"org_code,min_posts\n" + b"R1K,3\n" * 150_000
    _upload(page, "big.csv", big)
    page.wait_for_function("document.querySelector('#trust-min-message').innerText"
                           ".includes('big.csv cannot be used')")
    said = page.inner_text("#trust-min-message")
    assert f"{len(big):,} bytes" in said and "still uses minimums.csv" in said
    assert "minimums.csv (2 rows" in page.inner_text("#trust-min-status")
    audit("too large upload")
    with page.expect_download(timeout=60_000) as info:
        page.click("#dl-posts")
    download = info.value
    path = ARTIFACTS / f"webapp-{download.suggested_filename}"
    download.save_as(str(path))
    import pandas as pd

    got = pd.read_csv(path, keep_default_na=False)
    assert list(zip(got["org_code"], got["change"], strict=True)) == after
    assert got["min_unit_source"].str.contains("minimums.csv").all()
    page.wait_for_function("document.querySelector('#dl-posts-status').innerText"
                           ".includes('ready')")
    audit("download")
    page.click("#trust-min-clear")
    page.wait_for_function("document.querySelector('#trust-min-status').innerText"
                           ".includes('the default')")
    page.wait_for_function("document.querySelector('#posts-table').innerText"
                           ".match(/\\bR1K\\b/) !== null")
    assert _trust_rows(page) == before
    audit("default again")
    assert not problems, problems
