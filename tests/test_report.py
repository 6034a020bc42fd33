"""The self-contained report: HTML with no external references, and the PDF Chromium prints.

The HTML tests run everywhere. The print tests need Debian's ``chromium`` (skipped with a reason
when it is absent; CI installs it) and poppler's ``pdftotext``/``pdftoppm`` or ``pypdf`` to read
the PDF. They print the report on A4 and check, on the pages themselves, what a reader needs:
every plan year, every column of every table, the whole map with its London inset and colour
key, the basis and scenario in every page footer. Pages are also rendered to PNG in
``test-artifacts/report/`` for a person to look at; the HTML is screenshotted at 1440 and 1024 px.
"""

from __future__ import annotations

import html as html_lib
import itertools
import re
import shutil
import subprocess
import unicodedata
from pathlib import Path

import numpy as np
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
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "report"
LOCAL_OFFICES = ["North East", "North West", "Yorkshire and the Humber", "East Midlands",
                 "West Midlands", "East of England", "London", "Kent Surrey and Sussex",
                 "Thames Valley", "Wessex", "South West"]
# Every major section starts a new page, in this order (the first page is the title page).
MAJOR_HEADINGS = ["The method in plain words", "Where posts are and where need says they should be",
                  "Targets by local office", "Targets by specialty", "The plan: pace of change",
                  "Equity: how evenly posts follow need", "What holds the plan back",
                  "Appendix: pace of change by local office"]
# ColorBrewer PuOr classes (published scheme) by |gap| as a share of target: 5, 10, 20, 40%.
PUOR_GIVES = ["#fee0b6", "#fdb863", "#e08214", "#b35806"]
PUOR_RECEIVES = ["#d8daeb", "#b2abd2", "#8073ac", "#542788"]

CHROMIUM = find_chromium()
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no Chromium: install Debian's chromium package to test the PDF report")


# --------------------------------------------------------------------------------------------
# Fixtures: real England data, the default method, a named scenario
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def run():
    """Targets, plan, findings and metadata of one real run (the public baseline)."""
    from fairshare.model.pipeline import run_plan

    bundle = load_england()
    scenario = Scenario(name=SCENARIO, description="Report test: default method.")
    out = run_plan(bundle, scenario)
    return {"targets": out.targets, "plan": out.plan, "findings": out.finding_list,
            "status": out.status,
            "metadata": run_metadata(bundle, scenario, plan_status=out.status)}


@pytest.fixture(scope="module")
def report_html(run) -> str:
    return build_report(run["targets"], run["plan"], run["metadata"], findings=run["findings"])


def _own_file(run, label: str = "my_posts.csv (local_office level)"):
    """The same run as if the establishment were a planner's own file."""
    t = run["targets"].assign(basis="user file my_posts.csv")
    meta = {**run["metadata"], "establishment_modelled": {}, "establishment": label}
    return t, meta


def _text(fragment: str) -> str:
    """Visible text of an HTML fragment, whitespace collapsed."""
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def _tables(page: str) -> list[tuple[str, list[str]]]:
    """(caption, column headers) of every table in the page."""
    out = []
    for body in re.findall(r"<table\b.*?</table>", page, re.S):
        caption = re.search(r"<caption[^>]*>(.*?)</caption>", body, re.S)
        heads = re.findall(r'<th scope="col"[^>]*>(.*?)</th>', body, re.S)
        out.append((_text(caption.group(1)) if caption else "", [_text(h) for h in heads]))
    return out


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
    assert f'<span class="big">{total:,}</span>' in report_html
    assert re.search(rf'<tr class="total"><th scope="row">England</th>.*?'
                     rf'<td class="num">{total:,}</td>', report_html)
    for area in LOCAL_OFFICES:
        assert f'<th scope="row">{area}</th>' in report_html
    moving = int(t["gap"].clip(lower=0).sum())
    assert f"{moving:,}" in report_html


def test_gaps_follow_one_sign_convention(run, report_html):
    """+ receives, − gives, in posts and as % of target, checked against hand sums per area."""
    t = run["targets"]
    by_area = t.groupby("area")[["current", "target"]].sum()
    table = re.search(r'<table class="targets.*?</table>', report_html, re.S).group(0)
    for area, r in by_area.iterrows():
        gap = int(r["target"] - r["current"])
        share = 100 * gap / r["target"]
        row = re.search(rf'<th scope="row">{area}</th>(.*?)</tr>', table, re.S).group(1)
        cells = [_text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        sign = "+" if gap > 0 else "\u2212" if gap < 0 else ""
        assert f"{sign}{abs(gap):,}" in cells, (area, cells)
        assert f"{sign}{abs(share):.1f}%" in cells, (area, cells)
        assert cells[-1] == ("receives" if gap > 0 else "gives" if gap < 0 else "at target")
    # nowhere a signed zero, a hyphen for a minus, or an unsigned non-zero gap
    body = _text(report_html[report_html.index("<body"):])
    for bad in (r"(?<![\w.,])\+0(?![\d.,])", r"\+0\.0+(?!\d)", r"\u22120(?:\.0+)?(?![\d.,])",
                r"(?<![\w])-\d"):
        assert not re.search(bad, body), (bad, re.search(bad, body))


def test_html_lists_every_parameter_vintage_and_licence(run, report_html):
    params = re.search(r'<table class="params.*?</table>', report_html, re.S).group(0)
    for name, value in run["metadata"]["scenario"].items():
        if isinstance(value, dict) and value:  # nested parameters are listed one per line
            assert f'<th scope="row">{name}.' in params
        else:
            assert f'<th scope="row">{name}</th>' in params
    for vintage in run["metadata"]["data_vintages"].values():
        assert vintage in report_html
    assert "Open Government Licence v3.0" in report_html
    assert run["metadata"]["fairshare_version"] in report_html


def test_html_is_accessible_structure(report_html):
    """One h1, no skipped heading level, every table captioned with scoped headers, every chart
    an image with a text alternative, a language and a skip link."""
    assert '<html lang="en-GB">' in report_html
    levels = [int(h) for h in re.findall(r"<h([1-6])\b", report_html)]
    assert levels.count(1) == 1 and levels[0] == 1
    assert all(b <= a + 1 for a, b in itertools.pairwise(levels)), levels
    tables = re.findall(r"<table\b.*?</table>", report_html, re.S)
    assert tables and all("<caption" in t for t in tables)
    assert not re.search(r"<th(?=[\s>])(?![^>]*scope=)", report_html)
    svgs = re.findall(r"<svg\b[^>]*>", report_html)
    assert len(svgs) >= 3
    for svg in svgs:
        assert 'role="img"' in svg and len(re.search(r'aria-label="([^"]*)"', svg).group(1)) > 40
    assert 'href="#main"' in report_html and '<main id="main">' in report_html


def _luminance(hex_colour: str) -> float:
    rgb = np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)]) / 255
    lin = np.where(rgb <= 0.03928, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    return float(lin @ [0.2126, 0.7152, 0.0722])


def _contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_text_colours_meet_wcag_aa_contrast(report_html):
    """Every colour given to text in the CSS is 4.5:1 or better on every background used."""
    css = re.search(r"<style>(.*?)</style>", report_html, re.S).group(1)
    variables = dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})", css))
    text = {variables[v] for v in ("text", "secondary", "nhs-blue", "nhs-dark-blue", "give",
                                   "receive")}
    backgrounds = {"#ffffff", "#f8fafb", variables["grey-5"], "#fff9e6"}
    low = [(t, b, round(_contrast(t, b), 2)) for t in text for b in backgrounds
           if _contrast(t, b) < 4.5]
    assert not low, low
    assert _contrast("#ffffff", variables["nhs-blue"]) >= 4.5  # the masthead


def test_map_has_london_inset_and_colour_key(run, report_html):
    map_svg = re.search(r'<svg class="map".*?</svg>', report_html, re.S).group(0)
    # one coloured shape per local office on the main map, each titled with its gap
    names = {t.split(":")[0] for t in re.findall(r"<title>([^<]*)</title>", map_svg)}
    assert names == set(LOCAL_OFFICES)
    assert "London, enlarged" in map_svg and 'clip-path="url(#inset-clip)"' in map_svg
    # London's fill is the PuOr class of its gap as a share of target, computed here
    t = run["targets"][run["targets"]["area"] == "London"]
    share = (t["target"].sum() - t["current"].sum()) / t["target"].sum()
    k = sum(abs(share) >= e for e in (0.05, 0.10, 0.20, 0.40))
    colour = (PUOR_RECEIVES if share > 0 else PUOR_GIVES)[k - 1]
    london = re.findall(r'fill="(#[0-9a-f]{6})"[^>]*><title>London:', map_svg)
    assert london and set(london) == {colour}  # on the main map and in the inset
    key = _text(map_svg)
    for text in ("Gap, % of target", "+40% or more", "within \u00b15%", "\u221240% or more",
                 "+ below target: receives posts", "\u2212 above target: gives posts"):
        assert text in key


def test_plan_chart_shows_every_plan_year(run, report_html):
    chart = re.search(r'<svg class="chart plan-chart".*?</svg>', report_html, re.S).group(0)
    ticks = re.findall(r'class="tick">([^<]*)</text>', chart)
    years = sorted(int(y) for y in run["plan"]["year"].unique())
    assert len(years) >= 8
    # every year is labelled, or (a plan longer than the panel has room for: 16 years to 2037
    # by default) every other year is, always with the first and the last
    labelled = [y for y in years if str(y) in ticks or f"\u2019{y % 100:02d}" in ticks]
    assert labelled[0] == years[0] and labelled[-1] == years[-1], (labelled, ticks)
    assert all(b - a <= 2 for a, b in itertools.pairwise(labelled)), labelled
    assert f"{years[0]} to {years[-1]}" in report_html


def test_report_names_the_establishment_and_its_modelled_rows(run):
    meta = run["metadata"]
    public = build_report(run["targets"], None, meta)
    assert f"Basis of current posts</th><td>{html_lib.escape(meta['establishment'])}" in public
    for spec, basis in meta["establishment_modelled"].items():
        assert (f"<strong>{html_lib.escape(spec)}</strong> current posts are "
                f"{html_lib.escape(basis)}") in public
    # every per-row basis with its number of rows, counted here
    bases = re.search(r'<table class="bases.*?</table>', public, re.S).group(0)
    for basis, n in run["targets"]["basis"].value_counts().items():
        assert re.search(rf'<th scope="row">{re.escape(html_lib.escape(basis))}</th>'
                         rf'<td class="num">{n:,}</td>', bases), basis
    assert 'id="demonstration"' not in public and "DEMONSTRATION" not in public.upper()
    t, meta = _own_file(run)
    own = build_report(t, None, meta)
    assert "my_posts.csv (local_office level)" in own
    assert "Public baseline" not in own and "current posts are modelled" not in own


def test_old_demonstration_runs_keep_their_warning(run):
    meta = {**run["metadata"], "demonstration_baseline": True}
    page = build_report(run["targets"], None, meta)
    assert 'id="demonstration"' in page and "DEMONSTRATION BASELINE" in page


def _footer(page: str) -> str:
    """The printed footer's text: the CSS string, its escapes (\\3e for ">", \\a a new line)
    undone."""
    css = re.search(r"@bottom-left \{ content: \"([^\"]*)\"", page).group(1)
    return re.sub(r"\\([0-9a-f]{1,6}) ?", lambda m: chr(int(m.group(1), 16)), css)


def test_labels_come_from_the_data(run):
    """The footer names the basis of the numbers as the data says it: the establishment's label,
    one shared per-row basis, or the per-row bases counted when there is no label."""
    t, meta = _own_file(run, "Public baseline, September 2017")
    basis = np.where(t["specialty"].str.startswith("C"), "modelled row", "published figure")
    n_mod = int((basis == "modelled row").sum())
    n_pub = len(basis) - n_mod
    mixed = build_report(t.assign(basis=basis), None, meta)
    footer = _text(re.search(r'<footer class="page-label".*?</footer>', mixed, re.S).group(0))
    for where in (_footer(mixed), footer):
        assert "Basis: Public baseline, September 2017" in where
        assert meta["scenario_digest"] in where and SCENARIO in where
    unlabelled = build_report(t.assign(basis=basis), None, {**meta, "establishment": None})
    assert f"published figure ({n_pub:,} rows); modelled row ({n_mod:,} rows)" in \
        _footer(unlabelled)
    shared = build_report(t, None, meta)  # every row says the same: that is the basis
    assert "Basis: user file my_posts.csv" in _footer(shared)


def test_plan_sections_only_with_a_plan(run, report_html):
    no_plan = build_report(run["targets"], None, run["metadata"])
    assert 'id="plan"' not in no_plan and 'id="appendix"' not in no_plan
    assert "Not in this report: the multi-year plan (no plan was given)" in no_plan
    plan = run["plan"]
    assert 'id="plan"' in report_html and 'id="findings"' in report_html
    assert 'id="equity"' in report_html  # computed from targets and plan when not given
    moved = int(plan["redistribution"].clip(lower=0).sum())
    assert f"<strong>{moved:,}</strong> posts move" in report_html
    years = re.search(r'<table class="plan-years.*?</table>', report_html, re.S).group(0)
    for year in sorted(plan["year"].unique()):
        assert f'<th scope="row">{year}</th>' in years
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
    assert as_objects == as_dicts == as_table
    n = len(run["findings"])
    assert re.search(rf'<th scope="row">All</th>(?:<td[^>]*></td>)?<td class="num">{n:,}</td>',
                     as_objects)


def test_text_is_escaped(run):
    t = run["targets"].assign(scenario="<script>alert(1)</script>")
    meta = {**run["metadata"], "scenario": {**run["metadata"]["scenario"],
                                            "name": '<script>alert("x")</script> & "q" </style>'}}
    page = build_report(t, None, meta)
    assert "<script" not in page
    assert "&lt;script&gt;" in page
    assert page.count("</style>") == 1  # the footer's CSS string cannot close the style
    assert external_references(page) == []


def test_other_levels_draw_their_own_map(run):
    bundle = load_england()
    for level, n in (("region", 7), ("icb", 42)):
        scenario = Scenario(name=f"{level} map", level=level)
        table = targets(bundle, scenario)
        page = build_report(table, None, run_metadata(bundle, scenario))
        map_svg = re.search(r'<svg class="map".*?</svg>', page, re.S).group(0)
        footer = _footer(page)
        assert bundle.posts_label in footer  # the establishment, and how it reached ICBs
        if "current_basis" in table.columns:
            assert str(table["current_basis"].iloc[0]) in footer
        names = {t.split(":")[0] for t in re.findall(r"<title>([^<]*)</title>", map_svg)}
        assert len(names) == n
        assert "London, enlarged" in map_svg
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
    import fairshare.publish.pdf as pdf

    monkeypatch.delenv("FAIRSHARE_CHROMIUM", raising=False)
    monkeypatch.setattr(pdf, "CHROMIUM_CANDIDATES", ("no-such-chromium-binary",))
    source = tmp_path / "r.html"
    source.write_text("<!DOCTYPE html><p>x</p>", encoding="utf-8")
    with pytest.raises(ReportError, match=r"(?i)install Debian's chromium package"):
        html_to_pdf(source, tmp_path / "r.pdf")
    assert not (tmp_path / "r.pdf").exists()


def test_chromium_failure_leaves_no_pdf(tmp_path):
    source = tmp_path / "r.html"
    source.write_text("<!DOCTYPE html><p>x</p>", encoding="utf-8")
    false = shutil.which("false")
    assert false is not None, "the 'false' command (coreutils) is needed by this test"
    with pytest.raises(ReportError, match="could not print"):
        html_to_pdf(source, tmp_path / "r.pdf", chromium=false)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]


def test_default_report_needs_no_network_font_or_script(report_html):
    # what makes the file print the same offline: local font families only, no JS at all
    assert "font-family" in report_html
    assert "<script" not in report_html.lower()
    assert "Arial" in report_html and "Liberation Sans" in report_html


# --------------------------------------------------------------------------------------------
# Print: the PDF Chromium makes on A4, read back with poppler and looked at as PNG pages
# --------------------------------------------------------------------------------------------


def _need(tool: str) -> str:
    found = shutil.which(tool)
    assert found, f"{tool} is needed to read the printed report: apt-get install poppler-utils"
    return found


def _pdf_pages(path: Path) -> list[str]:
    """Text of each page (pdftotext), NFKC-normalised, whitespace collapsed to single spaces."""
    text = subprocess.run([_need("pdftotext"), "-enc", "UTF-8", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout
    pages = text.split("\f")
    if pages and not pages[-1].strip():
        pages = pages[:-1]
    return [" ".join(unicodedata.normalize("NFKC", p).split()) for p in pages]


def _page_sizes(path: Path) -> list[tuple[float, float]]:
    out = subprocess.run(["pdfinfo", "-f", "1", "-l", "999", str(path)], check=True,
                         capture_output=True, text=True).stdout
    return [(float(w), float(h)) for w, h in
            re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts", out)]


def _render(pdf: Path, page: int, stem: str, dpi: int = 60) -> np.ndarray:
    """Render one page to PNG in test-artifacts/report/ (to look at) and return its pixels."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    target = ARTIFACTS / f"{stem}-p{page:02d}"
    subprocess.run([_need("pdftoppm"), "-r", str(dpi), "-f", str(page), "-l", str(page),
                    "-png", "-singlefile", str(pdf), str(target)], check=True)
    ppm = subprocess.run([_need("pdftoppm"), "-r", str(dpi), "-f", str(page), "-l", str(page),
                          "-singlefile", str(pdf)], check=True, capture_output=True).stdout
    header = re.match(rb"P6\s+(\d+)\s+(\d+)\s+(\d+)\s", ppm)
    assert header, "pdftoppm did not write a PPM"
    w, h = int(header.group(1)), int(header.group(2))
    return np.frombuffer(ppm[header.end():], dtype=np.uint8)[: w * h * 3].reshape(h, w, 3)


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
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(pdf_path, ARTIFACTS / "report.pdf")
    shutil.copy(html_path, ARTIFACTS / "report.html")
    return pdf_path


@needs_chromium
def test_pdf_pages_sections_and_footers(run, full_pdf):
    data = full_pdf.read_bytes()
    assert data.startswith(b"%PDF-")
    assert sorted(p.name for p in full_pdf.parent.iterdir()) == ["report.html", "report.pdf"]
    pages = _pdf_pages(full_pdf)
    sizes = _page_sizes(full_pdf)
    assert len(sizes) == len(pages)
    a4 = {(595.0, 842.0), (842.0, 595.0)}
    assert {(round(w), round(h)) for w, h in sizes} <= a4
    minimum = 1 + len(MAJOR_HEADINGS) + len(LOCAL_OFFICES) - 1
    assert minimum <= len(pages) <= 55, f"{len(pages)} pages"  # with intervals, judgements
    starts = [next((i for i, text in enumerate(pages) if i > 0 and h in text), None)
              for h in MAJOR_HEADINGS]
    assert None not in starts, f"headings not after the title page: {starts}"
    assert starts == sorted(set(starts)), dict(zip(MAJOR_HEADINGS, starts, strict=True))
    plan_page = starts[MAJOR_HEADINGS.index("The plan: pace of change")]
    assert sizes[plan_page][0] > sizes[plan_page][1], "the plan prints on a landscape page"
    meta = run["metadata"]
    for i, text in enumerate(pages, start=1):
        assert f"Page {i} of {len(pages)}" in text
        assert f"Basis: {meta['establishment']}" in text, text[-300:]
        assert f"Scenario {SCENARIO} (digest {meta['scenario_digest']})" in text


@needs_chromium
def test_pdf_has_every_plan_year_and_every_column(run, full_pdf, report_html):
    pages = _pdf_pages(full_pdf)
    plan_pages = " ".join(p for p in pages if "Moves by year" in p)
    for year in sorted(run["plan"]["year"].unique()):
        assert re.search(rf"\b{year}\b", plan_pages), year
    page_html = full_pdf.with_suffix(".html").read_text(encoding="utf-8")
    tables = _tables(page_html)
    assert len(tables) > 20
    for caption, headers in tables:
        if not headers:  # the title page's key-value list (its caption is for screen readers)
            continue
        where = [p for p in pages if caption in p]
        assert where, f"table {caption!r} is not on any page"
        # every header (words in order; a header may wrap inside its cell) is on the page
        for head in headers:
            words = head.split()
            assert any(all(w in p for w in words) for p in where), (caption, head)
        last = headers[-1].split()
        assert any(last[-1] in p for p in where), (caption, headers[-1])


@needs_chromium
def test_pdf_map_page_has_london_inset_and_colour_key(run, full_pdf):
    pages = _pdf_pages(full_pdf)
    i = next(i for i, p in enumerate(pages) if i and "Where posts are and where need" in p)
    text = pages[i]
    for words in ("London, enlarged", "LDN", "Gap, % of target", "+40% or more",
                  "\u221240% or more", "within \u00b15%"):
        assert words in text, words
    pixels = _render(full_pdf, i + 1, "map", dpi=72)
    h, w, _ = pixels.shape
    t = run["targets"][run["targets"]["area"] == "London"]
    share = (t["target"].sum() - t["current"].sum()) / t["target"].sum()
    k = sum(abs(share) >= e for e in (0.05, 0.10, 0.20, 0.40))
    fill = (PUOR_RECEIVES if share > 0 else PUOR_GIVES)[k - 1]
    rgb = np.array([int(fill[j:j + 2], 16) for j in (1, 3, 5)])
    london = np.abs(pixels.astype(int) - rgb).max(axis=2) <= 3
    # the inset sits right of the main map: a large patch of London's colour on the right
    assert london[:, w // 2:].sum() > 0.01 * h * w, "no London inset drawn on the page"
    for swatch in (PUOR_RECEIVES[-1], PUOR_GIVES[-1]):  # both ends of the colour key
        rgb = np.array([int(swatch[j:j + 2], 16) for j in (1, 3, 5)])
        assert (np.abs(pixels.astype(int) - rgb).max(axis=2) <= 3)[:, w // 2:].sum() > 50


@needs_chromium
def test_pdf_pages_rendered_for_review(full_pdf):
    """Every page as PNG in test-artifacts/report/ (look at them); none of them blank."""
    pages = len(_page_sizes(full_pdf))
    for n in range(1, pages + 1):
        pixels = _render(full_pdf, n, "page", dpi=50)
        assert (pixels < 200).any(axis=2).mean() > 0.002, f"page {n} is blank"


@needs_chromium
def test_pdf_of_own_file_says_so_on_every_page(run, tmp_path):
    t, meta = _own_file(run)
    pdf = write_report(None, tmp_path / "own.pdf", targets=t, metadata=meta)[0]
    pages = _pdf_pages(pdf)
    assert 5 <= len(pages) <= 16, f"{len(pages)} pages"  # with intervals, judgements
    assert not any("DEMONSTRATION" in p.upper() or "Public baseline" in p for p in pages)
    assert all("Basis: user file my_posts.csv" in p for p in pages)
    assert SCENARIO in pages[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["own.pdf"]


# --------------------------------------------------------------------------------------------
# Screen: the HTML at 1440 and 1024 px, and a narrow window where wide tables scroll sideways
# --------------------------------------------------------------------------------------------


@needs_chromium
@pytest.mark.parametrize("width", [1440, 1024, 700])
def test_html_on_screen_fits_and_tables_scroll_inside_their_box(full_pdf, width):
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright (dev)")
    page_file = full_pdf.with_suffix(".html")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.goto(page_file.as_uri())
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth")
            boxes = page.evaluate("""[...document.querySelectorAll('.table-scroll')].map(b => ({
                scrolls: b.scrollWidth > b.clientWidth + 1,
                style: getComputedStyle(b).overflowX}))""")
            if width >= 1024:
                page.screenshot(path=str(ARTIFACTS / f"screen-{width}.png"), full_page=False)
                page.locator("#targets").screenshot(path=str(ARTIFACTS /
                                                             f"screen-{width}-targets.png"))
        finally:
            browser.close()
    assert overflow <= 0, f"the page scrolls sideways by {overflow} px at {width} px"
    assert boxes and all(b["style"] == "auto" for b in boxes)
    if width == 700:  # the wide tables no longer fit: they scroll in their own box
        assert any(b["scrolls"] for b in boxes)


# --------------------------------------------------------------------------------------------
# Stopped while Chromium prints: no PDF, no temporary file, no Chromium left running
# --------------------------------------------------------------------------------------------


SLOW_CHROMIUM = """#!/bin/sh
# A Chromium that starts writing the PDF, then hangs: stands in for a slow print.
for arg in "$@"; do
  case "$arg" in --print-to-pdf=*) out="${arg#--print-to-pdf=}";; esac
done
printf '%%PDF-1.4 half a page' > "$out"
echo $$ > "$READY.pid"
touch "$READY"
sleep 120
"""


@pytest.mark.parametrize("signum", [15, 1])  # SIGTERM, SIGHUP (a closed terminal)
def test_stopping_report_while_printing_leaves_nothing(tmp_path, signum):
    import os
    import sys
    import time

    fake = tmp_path / "chromium"
    fake.write_text(SLOW_CHROMIUM, encoding="utf-8")
    fake.chmod(0o755)
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "report.pdf").write_bytes(b"%PDF- the previous report")
    ready = tmp_path / "ready"
    env = {**os.environ, "FAIRSHARE_CHROMIUM": str(fake), "READY": str(ready)}
    cmd = [sys.executable, "-m", "fairshare.cli", "report", "--horizon", "2023",
           "--pdf", str(folder / "report.pdf")]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=tmp_path)
    deadline = time.monotonic() + 300
    while not ready.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the report never started printing"
        time.sleep(0.05)
    assert [p for p in os.listdir(folder) if p.endswith(".tmp")]  # the half-printed PDF
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signum, err
    assert "Traceback" not in err and "was not written" in err, err
    assert sorted(p.name for p in folder.iterdir()) == ["report.pdf"], err
    assert (folder / "report.pdf").read_bytes() == b"%PDF- the previous report"
    group = int((tmp_path / "ready.pid").read_text())  # the fake's process group
    deadline = time.monotonic() + 10
    while _running_in_group(group) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _running_in_group(group), "the printing Chromium was left running"


def _running_in_group(pgid: int) -> list[int]:
    """Processes of a process group still running (zombies, dead but not yet reaped by their
    new parent, do not count)."""
    running = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            running.append(int(stat.parent.name))
    return running


def test_intervals_are_shown_with_what_they_cover(run):
    """A hand-made intervals table: every area's interval is printed as given, beside the
    coverage statement; without intervals the report says they are not in it."""
    t = run["targets"]
    areas = pd.DataFrame({"area": ["London", "Wessex"], "current": [11291, 2071],
                          "gap": [-4227, 167], "gap_p5": [-4377.0, 60.0],
                          "gap_p50": [-3644.0, 130.0], "gap_p95": [-3278.0, 203.0],
                          "draws": [1000, 1000],
                          "interval_covers": ["90% interval of 1,000 draws over: δ; "
                                              "population base. Not covered: counting error."] * 2})
    page = build_report(t, None, run["metadata"], intervals=areas)
    section = _text(page[page.index('id="uncertainty"'):page.index("</section>",
                                                                  page.index('id="uncertainty"'))])
    assert "What the intervals cover: 90% interval of 1,000 draws over: δ; population base. " \
           "Not covered: counting error." in section
    assert "London 11,291 −4,227 −3,644 −4,377 to −3,278" in section
    assert "Wessex 2,071 +167 +130 +60 to +203" in section
    assert "intervals on the gaps (not computed" not in page
    assert "intervals on the gaps (not computed" in build_report(t, None, run["metadata"])


def test_report_says_reconstructed_years_and_staff_in_post(run):
    """Issue 18: a banner says the public baseline is staff in post (not funded posts) and
    which plan years are a reconstruction; the plan's year table marks each year."""
    meta = {**run["metadata"], "as_of": "2026-11-28"}  # the 2027 round is the next to come
    page = build_report(run["targets"], run["plan"], meta, findings=run["findings"])
    banner = re.search(r'<aside class="caveat".*?</aside>', page, re.S)
    assert banner, "no banner"
    text = _text(banner.group(0))
    assert "in post on 30 September 2017" in text and "not funded training posts" in text
    first = int(run["plan"]["year"].min())
    assert f"Plan years {first}–2026 are a reconstruction" in text
    assert "2027 on are moves still to make" in text
    years = re.search(r'<table class="[^"]*plan-years.*?</table>', page, re.S)
    assert years
    rows = re.findall(r"<tr>(.*?)</tr>", years.group(0), re.S)
    marked = {}
    for row in rows:
        cells = [_text(c) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        if cells and cells[0].isdigit():
            marked[int(cells[0])] = cells[1]
    assert marked and all(v == ("reconstruction" if y < 2027 else "to come")
                          for y, v in marked.items())
    own, own_meta = _own_file(run)
    mine = build_report(own, run["plan"], own_meta)
    assert "not funded training posts" not in mine  # a planner's own file is not staff in post
