"""The service's pages in Chromium: signed in through the real form as each role, every page
audited by axe-core (serious and critical WCAG 2.2 AA violations), no Content-Security-Policy
violation in the console, keyboard focus on the error summary of a form with problems, at
1440 and 1024 px. Screenshots go to test-artifacts/ for a human to look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import chromium_binary

CHROMIUM = chromium_binary()
pytest.importorskip("playwright.sync_api", reason="the end-to-end tests need playwright "
                    "(pip install playwright; the browser is Debian's chromium)")
pytest.importorskip("axe_playwright_python", reason="the accessibility audit needs "
                    "axe-playwright-python (the dev extras)")
_NO_CHROMIUM = CHROMIUM is None

from axe_playwright_python.sync_playwright import Axe  # noqa: E402
from playwright.sync_api import Page, sync_playwright  # noqa: E402

from tests.servicecase import PASSWORD, Case, make_case  # noqa: E402
from tests.servicecase import served as served_case  # noqa: E402

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]

pytestmark = [
    pytest.mark.filterwarnings("ignore::ResourceWarning",
                               "ignore::pytest.PytestUnraisableExceptionWarning"),
    pytest.mark.skipif(_NO_CHROMIUM, reason="the end-to-end tests need Chromium at "
                       "/usr/bin/chromium (apt install chromium)"),
]

#: Each role's pages (a page per role; the authorisation itself is tests/test_service_authz.py).
PAGES = {
    "lead_ldn": ["/", "/returns", "/returns/new/capacity", "/returns/new/post_records",
                 "/publications", "/publications/1", "/publications/1/tables/targets"],
    "admin": ["/admin/accounts", "/admin/audit", "/publications/new", "/reviews"],
    "viewer": ["/", "/publications"],
}



@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Case, str]]:
    case = make_case(f"sqlite:///{tmp_path_factory.mktemp('e2e')}/s.sqlite")
    with served_case(case) as url:
        yield case, url


def serious_violations(page: Page) -> list[str]:
    result = Axe().run(page, options={"resultTypes": ["violations"],
                                      "runOnly": {"type": "tag", "values": [
                                          "wcag2a", "wcag2aa", "wcag21a", "wcag21aa",
                                          "wcag22aa", "best-practice"]}})
    return [f"{v['id']} ({v['impact']}): {v['help']} at "
            f"{[n['target'] for n in v['nodes'][:3]]}"
            for v in result.response["violations"] if v["impact"] in ("serious", "critical")]


def sign_in(page: Page, base: str, who: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/sign-in")
    page.fill("#username", who)
    page.fill("#password", password)
    page.click("main button[type=submit]")


@pytest.mark.parametrize("width", [1440, 1024])
def test_every_page_passes_axe_with_no_csp_violation(served: tuple[Case, str],
                                                     width: int) -> None:
    _, base = served
    ARTIFACTS.mkdir(exist_ok=True)
    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for who, paths in PAGES.items():
            ctx = browser.new_context(viewport={"width": width, "height": 900})
            page = ctx.new_page()
            console: list[str] = []
            page.on("console", lambda m, c=console: c.append(m.text) if m.type == "error"
                    else None)
            sign_in(page, base, who)
            page.wait_for_selector("text=Sign out")
            for path in paths:
                page.goto(base + path)
                name = path.strip("/").replace("/", "-") or "home"
                page.screenshot(path=str(ARTIFACTS / f"service-{who}-{name}-{width}.png"),
                                full_page=True)
                problems += [f"{who} {path}: {v}" for v in serious_violations(page)]
            problems += [f"{who}: console: {c}" for c in console
                         if "Content Security Policy" in c or "Refused" in c]
            ctx.close()
        browser.close()
    assert not problems, "\n".join(problems)


def test_a_form_with_problems_takes_focus_to_its_summary(served: tuple[Case, str]) -> None:
    _, base = served
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        sign_in(page, base, "viewer", "not the password")
        page.wait_for_selector("#error-summary")
        focused = page.evaluate("document.activeElement && document.activeElement.id")
        assert focused == "error-summary"
        assert serious_violations(page) == []
        # on a fresh page the skip link is the first thing the keyboard reaches
        page.goto(f"{base}/sign-in")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
        browser.close()
