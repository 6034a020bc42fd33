"""The self-contained report: HTML with no external references, and the PDF Chromium prints.

The HTML tests run everywhere. The PDF tests need Debian's ``chromium`` (skipped with a reason when
it is absent; CI installs it) and a way to read PDF text: ``pypdf`` (dev dependency) or
``pdftotext`` (Debian ``poppler-utils``).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pandas as pd
import pytest

from fairshare import Scenario, load_england, targets
from fairshare.publish.outputs import run_metadata
from fairshare.publish.report import (
    ReportError,
    build_report,
    external_references,
    find_chromium,
    html_to_pdf,
    write_report,
)

SCENARIO = "report check"
LOCAL_OFFICES = ["North East", "North West", "Yorkshire and the Humber", "East Midlands",
                 "West Midlands", "East of England", "London", "Kent Surrey and Sussex",
                 "Thames Valley", "Wessex", "South West"]
# Every major section starts a new page, in this order (the first page is the title page).
MAJOR_HEADINGS = ["The method in plain words", "Where posts are and where need says they should be",
                  "Targets by local office", "Targets by specialty", "The plan: pace of change",
                  "Equity: how evenly posts follow need", "What holds the plan back",
                  "Appendix: pace of change by local office"]

CHROMIUM = find_chromium()
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no Chromium: install Debian's chromium package to test the PDF report")


# --------------------------------------------------------------------------------------------
# Fixtures: real England data, the default method, a named scenario
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def run():
    """Targets, plan, findings and metadata of one real run (public baseline)."""
    bundle = load_england()
    scenario = Scenario(name=SCENARIO, description="Report test: default method.")
    try:
        from fairshare.model.pipeline import run_plan
    except ImportError:  # pragma: no cover - the plan module arrives separately
        t = targets(bundle, scenario)
        return {"targets": t, "plan": None, "findings": None, "status": None,
                "metadata": run_metadata(bundle, scenario)}
    out = run_plan(bundle, scenario)
    return {"targets": out.targets, "plan": out.plan, "findings": out.findings,
            "status": out.status,
            "metadata": run_metadata(bundle, scenario, plan_status=out.status)}


@pytest.fixture(scope="module")
def report_html(run) -> str:
    return build_report(run["targets"], run["plan"], run["metadata"], findings=run["findings"])


def _not_demonstration(run) -> tuple[pd.DataFrame, dict]:
    """The same run as if the establishment were a planner's own file."""
    t = run["targets"].assign(basis="user file my_posts.csv")
    meta = {**run["metadata"], "establishment_modelled": {},
            "establishment": "my_posts.csv (local_office level)"}
    return t, meta


# --------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------


_OFF_DOCUMENT = re.compile(
    r"""(?:src|href)\s*=\s*["']?(?!#)[^"'\s>]+|url\(\s*["']?(?!#)[^)"'\s]|@import|@font-face"""
    r"""|<script|<link|<img|<iframe|<object|<embed""",
    re.IGNORECASE)


def test_html_has_no_external_references(report_html):
    assert external_references(report_html) == []
    # an independent, blunter check: nothing may even try to fetch (fragment links are fine)
    assert _OFF_DOCUMENT.findall(report_html) == []
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", report_html, re.I)
    assert 'href="#targets"' in report_html  # the contents do link inside the document


def test_external_reference_check_finds_references():
    page = ('<img src="https://example.org/x.png"><a href="#ok">in</a>'
            '<link href="style.css"><style>@import "https://f/x.css"; '
            "p{background:url(//cdn/x.png)} q{background:url('#g')}</style>"
            "<svg><use xlink:href='http://a/b#c'/></svg>")
    assert sorted(external_references(page)) == sorted([
        "https://example.org/x.png", "style.css", "//cdn/x.png", "https://f/x.css",
        "http://a/b#c"])


def test_html_contains_scenario_totals_and_every_area(run, report_html):
    t = run["targets"]
    assert f"Scenario \u201c{SCENARIO}\u201d" in report_html
    assert run["metadata"]["scenario_digest"] in report_html
    total = int(t["current"].sum())
    assert int(t["target"].sum()) == total
    # the national total is on the title page and in the targets table's total row
    assert f'<div class="big">{total:,}</div>' in report_html
    assert re.search(rf'<tr class="total"><td>England</td>.*?<td class="num">{total:,}</td>',
                     report_html)
    for area in LOCAL_OFFICES:
        assert f"<td>{area}</td>" in report_html
    moving = int(t["gap"].clip(lower=0).sum())
    assert f"{moving:,}" in report_html


def test_html_lists_every_parameter_vintage_and_licence(run, report_html):
    for name, value in run["metadata"]["scenario"].items():
        if isinstance(value, dict) and value:  # nested parameters are listed one per line
            assert f'<td class="param">{name}.' in report_html
        else:
            assert f'<td class="param">{name}</td>' in report_html
    for vintage in run["metadata"]["data_vintages"].values():
        assert vintage in report_html
    assert "Open Government Licence v3.0" in report_html
    assert "The method in plain words" in report_html
    assert run["metadata"]["fairshare_version"] in report_html


def test_html_map_and_charts_are_inline_svg(report_html):
    map_svg = re.search(r'<svg class="map".*?</svg>', report_html, re.S)
    assert map_svg, "no map"
    # one coloured shape per local office, each titled with its distance from target
    titles = re.findall(r"<title>([^<]*) from target", map_svg.group(0))
    assert sorted(t.split(":")[0] for t in titles) == sorted(LOCAL_OFFICES)
    assert "Above target: gives posts" in map_svg.group(0)
    assert "Below target: receives posts" in map_svg.group(0)
    assert 'aria-label="Gap by area"' in report_html


def test_report_names_the_establishment_and_its_modelled_rows(run):
    public = build_report(run["targets"], None, run["metadata"])
    assert "Public baseline: NHS Digital staff in post, 30 Sept 2017" in public
    assert "<strong>General Practice</strong> current posts are modelled: " in public
    assert 'id="demonstration"' not in public and "DEMONSTRATION" not in public.upper()

    t, meta = _not_demonstration(run)
    own = build_report(t, None, meta)
    assert "my_posts.csv (local_office level)" in own
    assert "Public baseline" not in own and "current posts are modelled" not in own


def test_plan_sections_only_with_a_plan(run, report_html):
    no_plan = build_report(run["targets"], None, run["metadata"])
    assert 'id="plan"' not in no_plan and 'id="appendix"' not in no_plan
    assert "Not in this report: the multi-year plan (no plan was given)" in no_plan
    if run["plan"] is None:
        pytest.skip("fairshare.model.pipeline is not available")
    plan = run["plan"]
    assert 'id="plan"' in report_html and 'id="findings"' in report_html
    assert 'id="equity"' in report_html  # computed from targets and plan when not given
    moved = int(plan["redistribution"].clip(lower=0).sum())
    assert f"<strong>{moved:,}</strong> posts move" in report_html
    for year in sorted(plan["year"].unique()):
        assert f"<td>{year}</td>" in report_html
    for area in LOCAL_OFFICES:  # the appendix: one pace-of-change table per area
        assert f'<h3 class="keep-next">{area}</h3>' in report_html


def test_findings_accepted_as_objects_dicts_or_table(run):
    if not run["findings"]:
        pytest.skip("this run has no findings")
    from dataclasses import asdict

    t, plan, meta = run["targets"], run["plan"], run["metadata"]
    as_objects = build_report(t, plan, meta, findings=run["findings"], area_tables=False)
    as_dicts = build_report(t, plan, meta, findings=[asdict(f) for f in run["findings"]],
                            area_tables=False)
    table = pd.DataFrame([asdict(f) for f in run["findings"]])
    as_table = build_report(t, plan, meta, findings=table, area_tables=False)
    strip = re.compile(r"Created</th><td>[^<]*")
    assert strip.sub("", as_objects) == strip.sub("", as_dicts) == strip.sub("", as_table)
    n = len(run["findings"])
    assert re.search(rf'<td>All</td><td class="num">{n}</td>', as_objects)


def test_text_is_escaped(run):
    t = run["targets"].assign(scenario="<script>alert(1)</script>")
    meta = {**run["metadata"], "scenario": {**run["metadata"]["scenario"],
                                            "name": '<script>alert("x")</script> & "q"'}}
    page = build_report(t, None, meta)
    assert "<script" not in page
    assert "&lt;script&gt;" in page
    assert external_references(page) == []


def test_other_levels_draw_their_own_map(run):
    bundle = load_england()
    for level, n in (("region", 7), ("icb", 42)):
        scenario = Scenario(name=f"{level} map", level=level)
        page = build_report(targets(bundle, scenario), None, run_metadata(bundle, scenario))
        map_svg = re.search(r'<svg class="map".*?</svg>', page, re.S)
        assert map_svg and len(re.findall(r"<path ", map_svg.group(0))) == n
        assert external_references(page) == []


def test_write_html_only_is_atomic(run, tmp_path):
    out = tmp_path / "reports" / "report.html"
    written = write_report(out, None, targets=run["targets"], metadata=run["metadata"])
    assert written == [out]
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in out.parent.iterdir()) == ["report.html"]  # no temp files


def test_write_report_needs_an_output(run):
    with pytest.raises(ReportError, match="nothing to write"):
        write_report(None, None, targets=run["targets"])


def test_bad_targets_table_is_a_clear_error():
    with pytest.raises(ReportError, match="targets table has no column"):
        build_report(pd.DataFrame({"area": ["London"]}), None, {})


def test_missing_chromium_is_a_clear_error(monkeypatch, tmp_path):
    import fairshare.publish.report as report

    monkeypatch.delenv("FAIRSHARE_CHROMIUM", raising=False)
    monkeypatch.setattr(report, "CHROMIUM_CANDIDATES", ("no-such-chromium-binary",))
    source = tmp_path / "r.html"
    source.write_text("<!DOCTYPE html><p>x</p>", encoding="utf-8")
    with pytest.raises(ReportError, match=r"(?i)install Debian's chromium package"):
        html_to_pdf(source, tmp_path / "r.pdf")
    assert not (tmp_path / "r.pdf").exists()


def test_chromium_failure_leaves_no_pdf(tmp_path):
    source = tmp_path / "r.html"
    source.write_text("<!DOCTYPE html><p>x</p>", encoding="utf-8")
    false = shutil.which("false")
    if false is None:  # pragma: no cover
        pytest.skip("no 'false' command")
    with pytest.raises(ReportError, match="could not print"):
        html_to_pdf(source, tmp_path / "r.pdf", chromium=false)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]


# --------------------------------------------------------------------------------------------
# PDF (headless Chromium)
# --------------------------------------------------------------------------------------------


def _pdf_pages(path: Path) -> list[str]:
    """Text of each page (NFKC-normalised), with pypdf or poppler's pdftotext."""
    try:
        from pypdf import PdfReader
    except ImportError:
        PdfReader = None
    if PdfReader is not None:
        pages = [page.extract_text() or "" for page in PdfReader(str(path)).pages]
    elif shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-layout", "-enc", "UTF-8", str(path), "-"],
                              check=True, capture_output=True, text=True).stdout
        pages = text.split("\f")
        if pages and not pages[-1].strip():
            pages = pages[:-1]
    else:
        pytest.skip("cannot read PDF text: install pypdf (dev dependency) or poppler-utils")
    # NFKC undoes ligatures; one space for any run of whitespace undoes line wrapping
    return [" ".join(unicodedata.normalize("NFKC", p).split()) for p in pages]


def _page_objects(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", data))


@pytest.fixture(scope="module")
def full_pdf(run, tmp_path_factory) -> Path:
    if CHROMIUM is None:
        pytest.skip("no Chromium: install Debian's chromium package to test the PDF report")
    folder = tmp_path_factory.mktemp("report")
    html_path, pdf_path = folder / "report.html", folder / "report.pdf"
    written = write_report(html_path, pdf_path, targets=run["targets"], plan=run["plan"],
                           metadata=run["metadata"], findings=run["findings"],
                           status=run["status"])
    assert written == [html_path, pdf_path]
    return pdf_path


@needs_chromium
def test_pdf_exists_and_has_the_expected_pages(run, full_pdf):
    data = full_pdf.read_bytes()
    assert data.startswith(b"%PDF-")
    assert sorted(p.name for p in full_pdf.parent.iterdir()) == ["report.html", "report.pdf"]
    pages = _pdf_pages(full_pdf)
    assert _page_objects(data) == len(pages)
    headings = MAJOR_HEADINGS if run["plan"] is not None else MAJOR_HEADINGS[:4]
    # the title page, one page at least per major section, and one per area in the appendix
    minimum = 1 + len(headings) + (len(LOCAL_OFFICES) - 1 if run["plan"] is not None else 0)
    assert minimum <= len(pages) <= 45, f"{len(pages)} pages"
    # each major section starts on a page of its own, in order (page 1 lists them as contents)
    starts = [next((i for i, text in enumerate(pages) if i > 0 and h in text), None)
              for h in headings]
    assert None not in starts, f"headings not after the title page: {starts}"
    assert starts == sorted(set(starts)), dict(zip(headings, starts, strict=True))
    # every page is numbered
    for i, text in enumerate(pages, start=1):
        assert f"Page {i} of {len(pages)}" in text
        assert f"scenario {SCENARIO}" in text


@needs_chromium
def test_pdf_text_has_scenario_and_table_totals(run, full_pdf):
    pages = _pdf_pages(full_pdf)
    text = "\n".join(pages)
    t = run["targets"]
    total = f"{int(t['current'].sum()):,}"
    assert f"Scenario \u201c{SCENARIO}\u201d" in pages[0]
    assert total in pages[0]
    targets_page = next(p for p in pages[1:] if "Targets by local office" in p)
    # the targets table's total row: England, current, fair share, target, gap 0
    assert re.search(rf"England\s+{total}\s+{total}\.0\s+{total}\s+0\b", targets_page), \
        targets_page[-400:]
    moving = f"{int(t['gap'].clip(lower=0).sum()):,}"
    specialties_page = next(i for i, p in enumerate(pages) if i and "Targets by specialty" in p)
    assert any(re.search(rf"All specialties\s+{total}\s+{moving}\b", p)
               for p in pages[specialties_page:specialties_page + 4])
    for area in LOCAL_OFFICES:
        assert area in targets_page
    if run["plan"] is not None:
        moved = f"{int(run['plan']['redistribution'].clip(lower=0).sum()):,}"
        plan_page = next(p for p in pages if "Moves by year" in p)
        assert re.search(rf"Total\s+\d+\s+{moved}\b", plan_page), plan_page[-600:]
    assert "Open Government Licence v3.0" in text


@needs_chromium
def test_pdf_without_demonstration_baseline_says_nothing_of_it(run, tmp_path):
    t, meta = _not_demonstration(run)
    pdf = write_report(None, tmp_path / "own.pdf", targets=t, metadata=meta)[0]
    pages = _pdf_pages(pdf)
    assert 5 <= len(pages) <= 12, f"{len(pages)} pages"
    assert not any("DEMONSTRATION" in p.upper() for p in pages)
    assert SCENARIO in pages[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["own.pdf"]


def test_default_report_needs_no_network_font_or_script(report_html):
    # what makes the file print the same offline: local font families only, no JS at all
    assert "font-family" in report_html
    assert "<script" not in report_html.lower()
    assert "DejaVu Sans" in report_html
