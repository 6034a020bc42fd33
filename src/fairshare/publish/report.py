"""The self-contained report: one HTML file (and a PDF printed from it) a planner can circulate.

``build_report`` turns a run's tables into a single HTML document with everything inline: the CSS,
and the map and charts as SVG drawn here from the embedded boundaries, so the file opens anywhere,
offline, and prints exactly as it shows. It holds no reference to anything outside itself (no
scripts, web fonts, stylesheets or images fetched from elsewhere); ``external_references`` checks
that, and the tests hold it to it.

``write_report`` writes the HTML and/or the PDF. The PDF is the same HTML printed by headless
Chromium (Debian's ``chromium`` package), so the two never disagree. Both appear atomically.

What is in the report (see docs/report.md): the scenario and run, a loud note when the
demonstration baseline was used, the method in plain words, every resolved scenario parameter,
data vintages and licence, the national summary, a map and a chart of the distance from target,
targets by area, a per-specialty summary, and, when given, the multi-year plan, equity metrics
and the plan's findings (the constraints that bind).
"""

from __future__ import annotations

import contextlib
import html
import json
import math
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, is_dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fairshare.errors import FairshareError
from fairshare.io import atomic_path, write_text

__all__ = [
    "CHROMIUM_CANDIDATES",
    "DISTANCE_CLASSES",
    "ReportError",
    "build_report",
    "external_references",
    "find_chromium",
    "html_to_pdf",
    "write_report",
]

MINUS = "\u2212"

#: Where Chromium is looked for, in order, after the ``FAIRSHARE_CHROMIUM`` environment variable.
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome",
                       "google-chrome-stable")

#: Class edges of |distance from target| on the map (5% matches "within ±5% of target").
DISTANCE_CLASSES = (0.05, 0.10, 0.20, 0.40)

# ColorBrewer PuOr (9 classes, colour-blind safe): orange = above target (gives posts),
# purple = below target (receives posts), near-white = within ±5% of target.
_GIVES = ("#fee0b6", "#fdb863", "#e08214", "#b35806")  # 5-10%, 10-20%, 20-40%, >40% above
_RECEIVES = ("#d8daeb", "#b2abd2", "#8073ac", "#542788")  # same, below target
_NEUTRAL = "#f7f7f7"
_NO_DATA = "#d9d9d9"
_GIVE_LINE = "#b35806"
_RECEIVE_LINE = "#542788"

_FINDINGS_SHOWN = 150
_KEEP_TOGETHER = 24  # tables with at most this many rows are not split over pages

#: Sections that follow on from the one before instead of starting a new page.
_FLOWING = frozenset({"scenario"})
_EQUITY_ROWS_SHOWN = 80

_LEVEL_WORDS = {
    "local_office": ("local office", "local offices"),
    "region": ("NHS region", "NHS regions"),
    "icb": ("ICB", "ICBs"),
}

# Boundary file, property holding the area's name and property holding its code, per level.
_BOUNDARIES = {
    "local_office": ("local_office_boundaries.geojson", "local_office", "lo_code"),
    "region": ("region_boundaries.geojson", "NHSER22NM", "NHSER22CD"),
    "icb": ("icb_boundaries.geojson", "ICB23NM", "ICB23CD"),
}

class ReportError(FairshareError):
    """The report could not be written (no Chromium, Chromium failed, bad input tables)."""


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def build_report(targets: pd.DataFrame, plan: pd.DataFrame | None = None,
                 metadata: Mapping[str, Any] | None = None, *,
                 equity: pd.DataFrame | None = None,
                 findings: Iterable[Any] | pd.DataFrame | None = None,
                 status: str | None = None, area_tables: bool = True) -> str:
    """The report as one self-contained HTML document (text).

    ``targets`` is a run's targets table (any one level); ``plan`` the tidy plan table
    (``fairshare.model.pipeline.PlanOutput.plan``) or None; ``metadata`` the run's metadata
    (``publish.outputs.run_metadata`` / ``RunStore.metadata``); ``equity`` an equity metrics
    table (``analysis.equity.equity_before_after``; computed from targets and plan when not
    given); ``findings`` the plan's findings (``Finding`` objects, dicts or a DataFrame);
    ``status`` the plan's solve status (else ``metadata["plan_status"]`` if present);
    ``area_tables`` adds the planners' "pace of change" table of every area as an appendix.
    """
    meta = dict(metadata or {})
    _require(targets, ["area", "specialty", "current", "target"], "targets")
    tgt = _with_gap(targets)
    has_plan = plan is not None and not plan.empty
    if plan is not None and has_plan:
        _require(plan, ["area", "specialty", "year", "redistribution"], "plan")
    scenario = _scenario_dict(meta, tgt)
    name = str(scenario.get("name") or _first(tgt, "scenario") or "unnamed")
    level = str(_first(tgt, "level") or scenario.get("level") or "local_office")
    words = _LEVEL_WORDS.get(level, (level, level))
    demo = _is_demonstration(meta, tgt)
    plan_status = status or meta.get("plan_status") or meta.get("status")
    finding_table = _findings_frame(findings)
    omitted: list[str] = []
    if equity is None and plan is not None and has_plan:
        equity = _compute_equity(tgt, plan, omitted)

    sections: list[tuple[str, str, str]] = []  # (id, heading, body html)
    sections.append(("method", "The method in plain words", _method_section(scenario, tgt)))
    sections.append(("scenario", "Scenario and data", _scenario_section(meta, scenario)
                     + _data_section(meta, tgt)))  # flows on after the method (see _FLOWING)
    sections.append(("map", "Where posts are and where need says they should be",
                     _map_section(tgt, level)))
    sections.append(("targets", f"Targets by {words[0]}", _targets_section(tgt, level)))
    sections.append(("specialties", "Targets by specialty", _specialty_section(tgt)))
    if plan is not None and has_plan:
        sections.append(("plan", "The plan: pace of change",
                         _plan_section(plan, tgt, plan_status)))
    else:
        omitted.append("the multi-year plan (no plan was given)")
    if equity is not None and not equity.empty:
        sections.append(("equity", "Equity: how evenly posts follow need",
                         _equity_section(equity)))
    elif not any(o.startswith("equity") for o in omitted):
        omitted.append("equity metrics (none were given)")
    if finding_table is not None:
        sections.append(("findings", "What holds the plan back", _findings_section(finding_table)))
    elif has_plan:
        omitted.append("the plan's findings (none were given)")
    if area_tables and plan is not None and has_plan:
        appendix = _appendix(plan, tgt, words, omitted)
        if appendix:
            sections.append(("appendix", f"Appendix: pace of change by {words[0]}", appendix))

    body = [
        _header(meta, scenario, name, level, plan_status, tgt),
        _demo_box() if demo else "",
        _summary(tgt, plan if has_plan else None, level),
        _contents(sections, omitted),
    ]
    for sid, heading, content in sections:
        cls = "flowing" if sid in _FLOWING else "major"
        body.append(f'<section class="{cls}" id="{sid}">\n<h2>{_e(heading)}</h2>\n{content}\n'
                    f"</section>")
    footer_left = f"fairshare report \u00b7 scenario {name}"
    css = _css(footer_left, demo)
    title = f"fairshare report \u2014 {name}"
    version = _e(str(meta.get("fairshare_version", "")))
    return (
        "<!DOCTYPE html>\n<html lang=\"en-GB\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{_e(title)}</title>\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<meta name=\"generator\" content=\"fairshare {version}\">\n"
        f"<style>\n{css}\n</style>\n</head>\n<body>\n"
        + "\n".join(b for b in body if b)
        + "\n</body>\n</html>\n"
    )


def _compute_equity(tgt: pd.DataFrame, plan: pd.DataFrame,
                    omitted: list[str]) -> pd.DataFrame | None:
    """Equity before and after the plan (analysis.equity), or None with the reason noted."""
    from fairshare.analysis.equity import equity_before_after

    if "fair_share" not in tgt.columns or "posts" not in plan.columns:
        omitted.append("equity metrics (the tables lack fair shares or posts)")
        return None
    try:
        return equity_before_after(tgt, plan)
    except (ValueError, KeyError) as exc:
        omitted.append(f"equity metrics (could not be computed: {exc})")
        return None


def write_report(html_path: str | Path | None, pdf_path: str | Path | None, *,
                 targets: pd.DataFrame, plan: pd.DataFrame | None = None,
                 metadata: Mapping[str, Any] | None = None,
                 equity: pd.DataFrame | None = None,
                 findings: Iterable[Any] | pd.DataFrame | None = None,
                 status: str | None = None, area_tables: bool = True,
                 chromium: str | None = None, timeout: float = 180.0) -> list[Path]:
    """Write the report as HTML and/or PDF (the PDF is the HTML printed by headless Chromium).

    Returns the paths written. Each file appears atomically; if Chromium is missing or fails, a
    ``ReportError`` says why (and the HTML, when asked for, is still written first).
    """
    if html_path is None and pdf_path is None:
        raise ReportError("nothing to write: give an HTML path, a PDF path or both")
    text = build_report(targets, plan, metadata, equity=equity, findings=findings, status=status,
                        area_tables=area_tables)
    written: list[Path] = []
    if html_path is not None:
        written.append(write_text(html_path, text))
    if pdf_path is not None:
        with tempfile.TemporaryDirectory(prefix="fairshare-report-") as tmp:
            source = Path(tmp) / "report.html"
            source.write_text(text, encoding="utf-8")
            written.append(html_to_pdf(source, pdf_path, chromium=chromium, timeout=timeout))
    return written


def find_chromium(explicit: str | None = None) -> str | None:
    """Path of a Chromium binary: ``explicit``, ``$FAIRSHARE_CHROMIUM``, then the usual names."""
    for candidate in (explicit, os.environ.get("FAIRSHARE_CHROMIUM"), *CHROMIUM_CANDIDATES):
        if not candidate:
            continue
        found = shutil.which(candidate)
        if found:
            return found
    return None


def html_to_pdf(html_path: str | Path, pdf_path: str | Path, *, chromium: str | None = None,
                timeout: float = 180.0) -> Path:
    """Print an HTML file to PDF with headless Chromium (A4, the report's own print CSS)."""
    binary = find_chromium(chromium)
    if binary is None:
        raise ReportError(
            "cannot print the PDF: no Chromium found (looked for $FAIRSHARE_CHROMIUM, "
            + ", ".join(CHROMIUM_CANDIDATES)
            + "). Install Debian's chromium package (apt-get install chromium), or write "
            "only the HTML report and print it from a browser.")
    source = Path(html_path).resolve()
    if not source.is_file():
        raise ReportError(f"cannot print the PDF: {source} does not exist")
    with tempfile.TemporaryDirectory(prefix="fairshare-chromium-") as profile, \
            atomic_path(pdf_path) as tmp:
        tmp.unlink()  # Chromium writes the file itself; an empty one must not pass as output
        cmd = [binary, "--headless", "--no-sandbox", "--disable-gpu",
               "--disable-dev-shm-usage", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--disable-extensions",
               "--no-first-run", "--no-default-browser-check", "--mute-audio",
               f"--user-data-dir={profile}", "--no-pdf-header-footer",
               f"--print-to-pdf={tmp}", source.as_uri()]
        env = {**os.environ, "HOME": profile}
        returncode, output = _run(cmd, timeout, env)
        if returncode != 0 or not tmp.exists() or tmp.stat().st_size == 0:
            tail = "\n".join(output.strip().splitlines()[-8:])
            raise ReportError(f"Chromium could not print {source.name} to PDF "
                              f"(exit code {returncode}).\n{tail}".rstrip())
        with open(tmp, "rb") as fh:
            if fh.read(5) != b"%PDF-":
                raise ReportError(f"Chromium wrote something that is not a PDF for "
                                  f"{source.name}")
    return Path(pdf_path)


def _run(cmd: list[str], timeout: float, env: Mapping[str, str]) -> tuple[int, str]:
    """Run Chromium in its own process group; on timeout end the whole group (its helpers too)."""
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=dict(env), start_new_session=True)
    except OSError as exc:
        raise ReportError(f"cannot start Chromium ({cmd[0]}): {exc}") from exc
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise ReportError(f"Chromium did not finish printing the PDF within {timeout:g} s") \
            from None
    return proc.returncode, out.decode("utf-8", "replace")


_REF = re.compile(
    r"""(?:\b(?:src|href|xlink:href|action|poster|data|srcset)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))"""
    r"""|(?:url\(\s*(?:"([^"]*)"|'([^']*)'|([^)]*))\s*\))"""
    r"""|(?:@import\s+(?:"([^"]*)"|'([^']*)'))""",
    re.IGNORECASE,
)


def external_references(text: str) -> list[str]:
    """Every src/href/url()/@import target in ``text`` that points outside the document.

    Only fragment links (``#section``) stay inside a document; anything else (http, https,
    protocol-relative, file paths, data URIs aside) would need a fetch or a second file.
    """
    found = []
    for match in _REF.finditer(text):
        target = next((g for g in match.groups() if g is not None), "").strip()
        if target.startswith("#") or target.lower().startswith("data:"):
            continue
        found.append(target)
    return found


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------


def _require(df: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ReportError(f"the {name} table has no column(s) {', '.join(missing)}")


def _with_gap(targets: pd.DataFrame) -> pd.DataFrame:
    df = targets.copy()
    if "gap" not in df.columns:
        df["gap"] = df["target"] - df["current"]
    return df


def _first(df: pd.DataFrame, column: str) -> Any:
    if column in df.columns and len(df):
        return df[column].iloc[0]
    return None


def _scenario_dict(meta: Mapping[str, Any], tgt: pd.DataFrame) -> dict[str, Any]:
    scenario = meta.get("scenario")
    if isinstance(scenario, Mapping):
        return dict(scenario)
    if isinstance(scenario, str):
        return {"name": scenario}
    name = meta.get("scenario_name") or _first(tgt, "scenario")
    return {"name": name} if name else {}


def _is_demonstration(meta: Mapping[str, Any], tgt: pd.DataFrame) -> bool:
    for key in ("demonstration_baseline", "demonstration"):
        if key in meta and meta[key] is not None:
            return bool(meta[key])
    baseline = _first(tgt, "basis")
    return isinstance(baseline, str) and "DEMONSTRATION" in baseline


def _findings_frame(findings: Iterable[Any] | pd.DataFrame | None) -> pd.DataFrame | None:
    """Findings as a table: kind, area, specialty, year, size, message (None when not given)."""
    if findings is None:
        return None
    if isinstance(findings, pd.DataFrame):
        df = findings.copy()
    else:
        rows = []
        for f in findings:
            if isinstance(f, Mapping):
                rows.append(dict(f))
            elif is_dataclass(f) and not isinstance(f, type):
                rows.append(asdict(f))
            else:
                rows.append({k: getattr(f, k, None) for k in
                             ("kind", "area", "specialty", "year", "size", "message")}
                            | ({"message": str(f)} if not hasattr(f, "message") else {}))
        df = pd.DataFrame(rows)
    for col in ("kind", "area", "specialty", "year", "size", "message"):
        if col not in df.columns:
            df[col] = None
    return df.reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Formatting
# --------------------------------------------------------------------------------------------


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _int(value: Any) -> str:
    if _is_missing(value):
        return "\u2014"
    return f"{round(float(value)):,}".replace("-", MINUS)


def _signed(value: Any) -> str:
    if _is_missing(value):
        return "\u2014"
    n = round(float(value))
    return f"+{n:,}" if n > 0 else f"{n:,}".replace("-", MINUS)


def _dec(value: Any, places: int = 1) -> str:
    if _is_missing(value):
        return "\u2014"
    return f"{float(value):,.{places}f}".replace("-", MINUS)


def _pct(value: Any, places: int = 1, signed: bool = True) -> str:
    if _is_missing(value) or not math.isfinite(float(value)):
        return "\u2014"
    v = float(value) * 100
    if abs(v) < 0.5 * 10 ** -places:
        v = 0.0
    text = f"{v:+.{places}f}%" if signed and v != 0 else f"{v:.{places}f}%"
    return text.replace("-", MINUS)


class Cell:
    """One table cell: text (already HTML) and classes."""

    __slots__ = ("cls", "html")

    def __init__(self, text: Any = "", cls: str = "", raw: bool = False) -> None:
        self.html = str(text) if raw else _e(text)
        self.cls = cls


def _num(text: str, extra: str = "") -> Cell:
    return Cell(text, ("num " + extra).strip())


def _table(headers: Sequence[str | Cell], rows: Sequence[Sequence[Cell | str]], *,
           total: Sequence[Cell | str] | None = None, cls: str = "",
           caption: str | None = None, keep: bool | None = None) -> str:
    def cell(tag: str, c: Cell | str) -> str:
        c = c if isinstance(c, Cell) else Cell(c)
        attr = f' class="{c.cls}"' if c.cls else ""
        return f"<{tag}{attr}>{c.html}</{tag}>"

    if keep or (keep is None and len(rows) <= _KEEP_TOGETHER):
        cls = (cls + " keep").strip()
    out = [f'<table class="{cls}">' if cls else "<table>"]
    if caption:
        out.append(f"<caption>{_e(caption)}</caption>")
    out.append("<thead><tr>" + "".join(cell("th", h) for h in headers) + "</tr></thead>")
    out.append("<tbody>")
    for row in rows:
        out.append("<tr>" + "".join(cell("td", c) for c in row) + "</tr>")
    if total is not None:
        out.append('<tr class="total">' + "".join(cell("td", c) for c in total) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def _kv_table(pairs: Sequence[tuple[str, str]], cls: str = "kv") -> str:
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{v}</td></tr>" for k, v in pairs)
    return f'<table class="{cls}"><tbody>{rows}</tbody></table>'


# --------------------------------------------------------------------------------------------
# Header, demonstration note, summary, contents
# --------------------------------------------------------------------------------------------


def _header(meta: Mapping[str, Any], scenario: Mapping[str, Any], name: str, level: str,
            plan_status: Any, tgt: pd.DataFrame) -> str:
    pairs: list[tuple[str, str]] = [("Scenario", f"<strong>{_e(name)}</strong>")]
    if scenario.get("description"):
        pairs.append(("Description", _e(scenario["description"])))
    if meta.get("scenario_digest"):
        pairs.append(("Scenario digest", f"<code>{_e(meta['scenario_digest'])}</code>"))
    run_id = meta.get("run_id") or meta.get("id")
    run_name = meta.get("run_name") or meta.get("name")
    if run_id or run_name:
        label = " ".join(x for x in (str(run_id or ""), f"({run_name})" if run_name else "") if x)
        pairs.append(("Run", _e(label)))
    if meta.get("created"):
        pairs.append(("Created", _e(meta["created"])))
    if meta.get("fairshare_version"):
        pairs.append(("fairshare version", _e(meta["fairshare_version"])))
    if meta.get("establishment") or _first(tgt, "basis"):
        pairs.append(("Establishment (current posts)",
                      _e(meta.get("establishment") or _first(tgt, "basis"))))
    method = _first(tgt, "method") or scenario.get("apportionment")
    if method:
        pairs.append(("Whole posts by", _e(method)))
    pairs.append(("Areas", _e(_LEVEL_WORDS.get(level, (level, level))[1])))
    if plan_status:
        pairs.append(("Plan status", _e(plan_status)))
    return ('<header class="title">\n<p class="kicker">fairshare report</p>\n'
            "<h1>Fair shares of specialty training posts</h1>\n"
            f'<p class="subtitle">Scenario \u201c{_e(name)}\u201d</p>\n'
            + _kv_table(pairs, "kv meta") + "\n</header>")


def _demo_box() -> str:
    return (
        '<aside class="demo" id="demonstration">\n'
        "<p class=\"demo-title\">DEMONSTRATION BASELINE \u2014 not real establishment data</p>\n"
        "<p>The current posts in this report are a <strong>modelled demonstration "
        "establishment</strong>: no public table of today's training posts per local office "
        "and specialty exists, so fairshare builds one from public fragments (see the project's "
        "docs/demo_baseline.md). The fair shares are computed from real population, need and "
        "deprivation data, but every current figure, gap and move shown here depends on the "
        "modelled baseline. Use this report to see how the method works, not to decide where "
        "posts go. Rerun with your own establishment file (<code>--posts</code>) for real "
        "numbers.</p>\n</aside>"
    )


def _area_totals(tgt: pd.DataFrame) -> pd.DataFrame:
    cols = ["current", "target", "gap"] + (["fair_share"] if "fair_share" in tgt.columns else [])
    keys = ["area"] + [c for c in ("area_code", "region") if c in tgt.columns]
    out = tgt.groupby(keys, as_index=False, sort=False, dropna=False)[cols].sum()
    out["distance"] = (out["current"] - out["target"]) / out["target"].where(out["target"] != 0)
    return out


def _summary(tgt: pd.DataFrame, plan: pd.DataFrame | None, level: str) -> str:
    areas = _area_totals(tgt)
    total = int(tgt["current"].sum())
    moving = int(tgt["gap"].clip(lower=0).sum())
    giving = areas[areas["gap"] < 0]
    receiving = areas[areas["gap"] > 0]
    words = _LEVEL_WORDS.get(level, (level, level))[1]
    n_spec = tgt["specialty"].nunique()
    figures = [
        (_int(total), "training posts in total", f"{n_spec} specialties, {len(areas)} {words}"),
        (_int(moving), "posts would move to reach every target",
         f"{_pct(moving / total if total else float('nan'), 1, False)} of all posts, "
         "counted per specialty"),
        (str(len(giving)), f"{words} give posts",
         f"{_int(-giving['gap'].sum())} posts net" if len(giving) else "none"),
        (str(len(receiving)), f"{words} receive posts",
         f"{_int(receiving['gap'].sum())} posts net" if len(receiving) else "none"),
    ]
    if plan is not None:
        last = int(plan["year"].max())
        moved = int(plan["redistribution"].clip(lower=0).sum())
        figures.append((_int(moved), f"posts move by {last} in the plan",
                        f"{_pct(moved / moving if moving else float('nan'), 0, False)} of the "
                        "posts that would move"))
        if "expansion" in plan.columns and int(plan["expansion"].sum()):
            figures.append((_int(plan["expansion"].sum()), "time-limited expansion posts",
                            "new posts, on top of the redistribution"))
    cards = "\n".join(
        f'<div class="figure-card"><div class="big">{_e(big)}</div>'
        f'<div class="what">{_e(what)}</div><div class="note">{_e(note)}</div></div>'
        for big, what, note in figures
    )
    return ('<section id="summary" class="summary">\n<h2>National summary</h2>\n'
            f'<div class="cards">\n{cards}\n</div>\n'
            "<p class=\"small\">National totals never change: redistribution moves posts between "
            "areas within each specialty. \u201cPosts that move\u201d adds up, specialty by "
            "specialty, the posts each receiving area is short of its target; an area can give in "
            "one specialty and receive in another, so its net gap is smaller than its moves.</p>\n"
            "</section>")


def _contents(sections: Sequence[tuple[str, str, str]], omitted: Sequence[str]) -> str:
    items = "".join(f'<li><a href="#{sid}">{_e(h)}</a></li>' for sid, h, _ in sections)
    note = ""
    if omitted:
        note = ('<p class="small muted">Not in this report: ' + _e("; ".join(omitted))
                + ".</p>")
    return f'<nav class="contents">\n<h2>Contents</h2>\n<ol>{items}</ol>\n{note}\n</nav>'


# --------------------------------------------------------------------------------------------
# Method, scenario, data
# --------------------------------------------------------------------------------------------


def _method_section(scenario: Mapping[str, Any], tgt: pd.DataFrame) -> str:
    delta = scenario.get("deprivation_weight")
    delta_text = _pct(delta, 0, False) if isinstance(delta, int | float) else "20%"
    method = _first(tgt, "method") or scenario.get("apportionment") or "hamilton"
    horizon = scenario.get("horizon", 2031)
    return f"""
<p>fairshare asks, for every specialty: if training posts followed the population's need for
doctors, how many would each area hold? It then compares that fair share with where posts are today
and plans how to move towards it without moving anyone already in training.</p>
<ol class="method">
<li><strong>Need.</strong> For each of England's 42 integrated care boards (ICBs) it builds
weighted populations, each as a share of England: NHS England's core-services weighted population
(2025/26 allocations); the specialty's own demand driver (maternity need for obstetrics, mental
health need for psychiatry, children for paediatrics, people over 65 for geriatric and old-age
specialties, adult hospital activity by age for medical and surgical specialties); the same driver
on the ONS-projected population when today's recruits finish training; and deprivation (the
health-inequalities, avoidable-mortality weighted population), weighted {_e(delta_text)} in this
scenario.</li>
<li><strong>Fair share.</strong> The weighted populations are mixed with per-specialty weights and
summed from ICBs to {_e("local offices")}. A small specialised share of each specialty's posts
(tertiary services) stays where posts are now.</li>
<li><strong>Targets.</strong> Each specialty's national total stays as it is today:
redistribution moves posts, it never adds or removes them. Fractional targets become whole posts
with a named apportionment method (here: <em>{_e(method)}</em>), exactly, so totals always add
up.</li>
<li><strong>Gap.</strong> Gap = target \u2212 current posts. A negative gap means the area holds
more than its fair share and <em>gives</em> posts; a positive gap means it <em>receives</em>.
The distance from target is (current \u2212 target) / target, as NHS England reports it: above zero
the area is over target.</li>
<li><strong>Pace of change.</strong> Posts move only at recruitment, out of posts that fall vacant
that year; a receiving area takes no more a year than it can supervise; moves never overshoot a
target. An optimiser (a mixed-integer programme) closes the gaps as early as these limits allow,
up to {_e(horizon)}, and says which limits hold it back.</li>
</ol>
<p class="small">The full specification is the project's docs/method.md. Every parameter of this
run is listed under \u201cScenario and data\u201d.</p>
"""


def _flatten(prefix: str, value: Any) -> list[tuple[str, Any]]:
    if isinstance(value, Mapping) and value:
        out: list[tuple[str, Any]] = []
        for k in value:
            out.extend(_flatten(f"{prefix}.{k}" if prefix else str(k), value[k]))
        return out
    return [(prefix, value)]


def _show_value(value: Any) -> str:
    if value is None:
        return "none (default)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Mapping | list | tuple):
        if not value:
            return "none"
        if isinstance(value, list | tuple) and all(isinstance(v, Mapping) for v in value):
            return "; ".join(", ".join(f"{k} {v}" for k, v in item.items()) for item in value)
        return json.dumps(value, ensure_ascii=False)
    return str(value)


@cache
def _parameter_descriptions() -> dict[str, str]:
    """What each scenario parameter means: the Scenario's own field descriptions."""
    from fairshare.scenario import Scenario

    return {name: (f.description or "") for name, f in Scenario.model_fields.items()}


def _scenario_section(meta: Mapping[str, Any], scenario: Mapping[str, Any]) -> str:
    notes = _parameter_descriptions()
    rows = []
    for key in scenario:
        for flat, value in _flatten(key, scenario[key]):
            rows.append([Cell(flat, "param"), Cell(_show_value(value)),
                         Cell(notes.get(key, "") if flat == key else "", "muted")])
    if not rows:
        table = "<p>The run's metadata holds no scenario parameters.</p>"
    else:
        table = _table(["Parameter", "Value", "Meaning"], rows, cls="params", keep=False)
    digest = meta.get("scenario_digest")
    intro = ("<p>Every parameter of the run, defaults included. Equal scenario digests"
             + (f" (this one: <code>{_e(digest)}</code>)" if digest else "")
             + " mean equal parameters.</p>")
    return f'<h3>Scenario parameters</h3>\n{intro}\n{table}'


def _data_section(meta: Mapping[str, Any], tgt: pd.DataFrame) -> str:
    parts = ['<h3 class="keep-next">Data</h3>']
    establishment = meta.get("establishment") or _first(tgt, "basis")
    if establishment:
        parts.append(f"<p><strong>Current posts:</strong> {_e(establishment)}.</p>")
    for spec, basis in (meta.get("establishment_modelled") or {}).items():
        parts.append(f"<p><strong>{_e(spec)}</strong> current posts are {_e(basis)}.</p>")
    vintages = meta.get("data_vintages") or {}
    if vintages:
        parts.append(_table(["Input", "Source and vintage"],
                            [[Cell(k), Cell(v)] for k, v in vintages.items()], cls="vintages"))
    digests = meta.get("input_digests") or {}
    if digests:
        text = ", ".join(f"{_e(k)} <code>{_e(str(v)[:12])}</code>" for k, v in digests.items())
        parts.append(f'<p class="small muted">Input file digests (SHA-256, first 12 '
                     f"characters): {text}.</p>")
    licence = meta.get("licence") or (
        "Contains public sector information licensed under the Open Government Licence v3.0 "
        "(ONS, MHCLG, NHS England). Contains OS data \u00a9 Crown copyright and database right "
        "2022/2023.")
    parts.append(f'<p class="small licence">{_e(licence)} Boundaries: ONS Open Geography '
                 "(ICB April 2023, NHS England regions), merged to local offices by "
                 "fairshare.</p>")
    return "\n".join(parts)


# --------------------------------------------------------------------------------------------
# Targets, specialties
# --------------------------------------------------------------------------------------------


def _side(gap: float) -> str:
    if gap < 0:
        return "gives"
    if gap > 0:
        return "receives"
    return "at target"


def _targets_section(tgt: pd.DataFrame, level: str) -> str:
    areas = _area_totals(tgt).sort_values("gap", kind="stable")
    has_region = "region" in areas.columns and level != "region"
    has_fair = "fair_share" in areas.columns
    headers: list[str | Cell] = [Cell("Area")]
    if has_region:
        headers.append(Cell("NHS region"))
    headers += [_num("Current posts")]
    if has_fair:
        headers.append(_num("Fair share"))
    headers += [_num("Target"), _num("Gap"), _num("Distance from target"),
                Cell("Gives or receives")]
    rows = []
    for r in areas.itertuples(index=False):
        row = [Cell(r.area)]
        if has_region:
            row.append(Cell(r.region))
        row.append(_num(_int(r.current)))
        if has_fair:
            row.append(_num(_dec(r.fair_share)))
        row += [_num(_int(r.target)), _num(_signed(r.gap), _gap_class(r.gap)),
                _num(_pct(r.distance)), Cell(_side(r.gap), _gap_class(r.gap))]
        rows.append(row)
    cur, tar = int(areas["current"].sum()), int(areas["target"].sum())
    total = [Cell("England")] + ([Cell("")] if has_region else []) + [_num(_int(cur))]
    if has_fair:
        total.append(_num(_dec(areas["fair_share"].sum())))
    total += [_num(_int(tar)), _num(_signed(tar - cur)),
              _num(_pct((cur - tar) / tar if tar else float("nan"))), Cell("")]
    intro = ("<p>All specialties together. Gap = target \u2212 current (negative: gives posts; "
             "positive: receives). Distance = (current \u2212 target) / target. The fair share "
             "is the unrounded share of posts need alone would give, before the specialised "
             "share is kept in place and before whole posts.</p>")
    parts = [intro, _table(headers, rows, total=total, cls="targets")]
    parts.append(_waterfall_table(tgt))
    return "\n".join(p for p in parts if p)


def _gap_class(gap: float) -> str:
    if _is_missing(gap) or gap == 0:
        return ""
    return "receive" if gap > 0 else "give"


_WATERFALL_COLUMNS = [
    ("population_share_posts", "Plain population share"),
    ("effect_need", "Age and need"),
    ("effect_projection", "Projected demand"),
    ("effect_deprivation", "Deprivation"),
    ("effect_specialised", "Specialised kept in place"),
    ("effect_rounding", "Whole posts"),
]


def _waterfall_table(tgt: pd.DataFrame) -> str:
    cols = [c for c, _ in _WATERFALL_COLUMNS]
    if any(c not in tgt.columns for c in cols):
        return ""
    wf = tgt.groupby("area", as_index=False, sort=False)[[*cols, "target"]].sum()
    wf = wf.sort_values("area")
    headers = [Cell("Area")] + [_num(label) for _, label in _WATERFALL_COLUMNS] + [_num("Target")]
    rows = []
    for r in wf.itertuples(index=False):
        d = r._asdict()
        rows.append([Cell(r.area), _num(_dec(d[cols[0]]))]
                    + [_num(_signed_dec(d[c])) for c in cols[1:]] + [_num(_int(r.target))])
    total = ([Cell("England"), _num(_dec(wf[cols[0]].sum()))]
             + [_num(_signed_dec(wf[c].sum())) for c in cols[1:]]
             + [_num(_int(wf["target"].sum()))])
    return ('<h3 class="keep-next">Why each target differs from a plain population share</h3>\n'
            "<p class=\"small\">Posts, summed over specialties: start from each area's share of "
            "England's population, then each step adds the posts it moves; the steps add up to "
            "the target.</p>\n" + _table(headers, rows, total=total, cls="waterfall"))


def _signed_dec(value: Any) -> str:
    if _is_missing(value):
        return "\u2014"
    v = float(value)
    if abs(v) < 0.05:
        return "0.0"
    return (f"+{v:,.1f}" if v > 0 else f"{v:,.1f}").replace("-", MINUS)


def _specialty_section(tgt: pd.DataFrame) -> str:
    keys = ["specialty"] + [c for c in ("school", "phase") if c in tgt.columns]
    rows_out = []
    for spec_key, grp in tgt.groupby(keys, sort=False, dropna=False):
        key = spec_key if isinstance(spec_key, tuple) else (spec_key,)
        info = dict(zip(keys, key, strict=True))
        total = int(grp["current"].sum())
        moving = int(grp["gap"].clip(lower=0).sum())
        giver = grp.loc[grp["gap"].idxmin()]
        receiver = grp.loc[grp["gap"].idxmax()]
        rows_out.append({
            **info, "posts": total, "moving": moving,
            "share": moving / total if total else float("nan"),
            "giver": (f"{giver['area']} ({_signed(giver['gap'])})"
                      if giver["gap"] < 0 else "\u2014"),
            "receiver": (f"{receiver['area']} ({_signed(receiver['gap'])})"
                         if receiver["gap"] > 0 else "\u2014"),
        })
    df = pd.DataFrame(rows_out).sort_values(["moving", "specialty"], ascending=[False, True],
                                            kind="stable")
    has_school = "school" in df.columns
    has_phase = "phase" in df.columns
    headers: list[str | Cell] = [Cell("Specialty")]
    if has_school:
        headers.append(Cell("School"))
    if has_phase:
        headers.append(Cell("Phase"))
    headers += [_num("Posts"), _num("Posts that move"), _num("Share"),
                Cell("Largest giver (gap)"), Cell("Largest receiver (gap)")]
    rows = []
    for r in df.to_dict("records"):
        row = [Cell(r["specialty"])]
        if has_school:
            row.append(Cell(r["school"]))
        if has_phase:
            row.append(Cell(r["phase"]))
        row += [_num(_int(r["posts"])), _num(_int(r["moving"])),
                _num(_pct(r["share"], 1, False)), Cell(r["giver"], "give who"),
                Cell(r["receiver"], "receive who")]
        rows.append(row)
    posts, moving = int(df["posts"].sum()), int(df["moving"].sum())
    blanks = int(has_school) + int(has_phase)
    total_row: list[Cell | str] = [Cell("All specialties"), *[Cell("")] * blanks,
                                   _num(_int(posts)), _num(_int(moving)),
                                   _num(_pct(moving / posts if posts else float("nan"), 1, False)),
                                   Cell(""), Cell("")]
    intro = ("<p>Every specialty, largest gaps first. \u201cPosts that move\u201d is the sum of "
             "the receiving areas' gaps (equal to what the giving areas give up).</p>")
    return intro + "\n" + _table(headers, rows, total=total_row, cls="specialties")


# --------------------------------------------------------------------------------------------
# Map and gap chart (inline SVG)
# --------------------------------------------------------------------------------------------


def _distance_colour(distance: float) -> str:
    if _is_missing(distance) or not math.isfinite(distance):
        return _NO_DATA
    size = abs(distance)
    k = sum(size >= edge for edge in DISTANCE_CLASSES)  # 0 = within the first edge
    if k == 0:
        return _NEUTRAL
    return (_GIVES if distance > 0 else _RECEIVES)[k - 1]


@cache
def _boundaries(level: str) -> list[tuple[str, str, list[list[tuple[float, float]]]]]:
    """(name, code, rings as lon/lat) per feature, from the embedded GeoJSON."""
    from fairshare.inputs.bundle import data_file

    fname, name_key, code_key = _BOUNDARIES[level]
    path = data_file(fname)
    if not path.exists():
        return []
    gj = json.loads(path.read_text(encoding="utf-8"))
    out = []
    for feat in gj.get("features", []):
        geom = feat.get("geometry") or {}
        props = feat.get("properties") or {}
        if geom.get("type") == "Polygon":
            polys = [geom["coordinates"]]
        elif geom.get("type") == "MultiPolygon":
            polys = geom["coordinates"]
        else:
            continue
        rings = [[(float(p[0]), float(p[1])) for p in ring] for poly in polys for ring in poly]
        out.append((str(props.get(name_key, "")), str(props.get(code_key, "")), rings))
    return out


def _simplify(points: np.ndarray, tolerance: float) -> np.ndarray:
    """Douglas-Peucker on a ring (iterative), keeping the first and last point."""
    n = len(points)
    if n < 4:
        return points
    keep = np.zeros(n, dtype=bool)
    keep[0] = keep[-1] = True
    stack = [(0, n - 1)]
    while stack:
        a, b = stack.pop()
        if b <= a + 1:
            continue
        seg = points[a + 1:b]
        p, q = points[a], points[b]
        d = q - p
        norm = math.hypot(d[0], d[1])
        if norm == 0:
            dist = np.hypot(seg[:, 0] - p[0], seg[:, 1] - p[1])
        else:
            dist = np.abs(d[0] * (seg[:, 1] - p[1]) - d[1] * (seg[:, 0] - p[0])) / norm
        i = int(np.argmax(dist))
        if dist[i] > tolerance:
            mid = a + 1 + i
            keep[mid] = True
            stack.append((a, mid))
            stack.append((mid, b))
    return points[keep]


def _ring_centroid(ring: np.ndarray) -> tuple[float, float, float]:
    """(area, cx, cy) of a closed ring in screen units."""
    x, y = ring[:, 0], ring[:, 1]
    cross = x[:-1] * y[1:] - x[1:] * y[:-1]
    area = cross.sum() / 2
    if abs(area) < 1e-9:
        return 0.0, float(x.mean()), float(y.mean())
    cx = ((x[:-1] + x[1:]) * cross).sum() / (6 * area)
    cy = ((y[:-1] + y[1:]) * cross).sum() / (6 * area)
    return abs(area), float(cx), float(cy)


def _map_svg(areas: pd.DataFrame, level: str, width: float = 330.0) -> str:
    """Choropleth of the areas' distance from target; empty string if no boundaries."""
    if level not in _BOUNDARIES:
        return ""
    features = _boundaries(level)
    if not features:
        return ""
    by_name = {str(r.area): r for r in areas.itertuples(index=False)}
    by_code = ({str(r.area_code): r for r in areas.itertuples(index=False)}
               if "area_code" in areas.columns else {})
    all_pts = np.array([p for _, _, rings in features for ring in rings for p in ring])
    lon0, lat0 = all_pts[:, 0].min(), all_pts[:, 1].max()
    kx = math.cos(math.radians(54.0))
    span_x = (all_pts[:, 0].max() - lon0) * kx
    span_y = lat0 - all_pts[:, 1].min()
    scale = width / span_x
    height = span_y * scale
    pad = 4.0

    def project(ring: list[tuple[float, float]]) -> np.ndarray:
        arr = np.asarray(ring, dtype=float)
        return np.column_stack([(arr[:, 0] - lon0) * kx * scale + pad,
                                (lat0 - arr[:, 1]) * scale + pad])

    paths, labels = [], []
    for name, code, rings in features:
        row = by_name.get(name) or by_code.get(code)
        distance = getattr(row, "distance", float("nan")) if row is not None else float("nan")
        colour = _distance_colour(distance)
        d_parts = []
        best = (0.0, 0.0, 0.0)
        for ring in rings:
            pts = project(ring)
            ring_area, cx, cy = _ring_centroid(pts)
            if ring_area > best[0]:
                best = (ring_area, cx, cy)
            pts = _simplify(pts, 0.4)
            if len(pts) < 4 or ring_area < 0.3:
                continue
            coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts[:-1])
            d_parts.append(f"M{coords}Z")
        if not d_parts:
            continue
        title = name if row is None else (
            f"{name}: {_pct(distance)} from target (gap {_signed(row.gap)})")
        paths.append(f'<path d="{" ".join(d_parts)}" fill="{colour}" fill-rule="evenodd">'
                     f"<title>{_e(title)}</title></path>")
        if level == "local_office" and code:
            labels.append(f'<text x="{best[1]:.1f}" y="{best[2]:.1f}" class="maplabel">'
                          f"{_e(code)}</text>")
    legend = _map_legend(width + 2 * pad + 14, 20)
    total_w = width + 2 * pad + 14 + 210
    total_h = max(height + 2 * pad, 250)
    return (f'<svg class="map" viewBox="0 0 {total_w:.0f} {total_h:.0f}" role="img" '
            f'aria-label="Map of distance from target by area">\n'
            f'<g stroke="#444" stroke-width="0.6" stroke-linejoin="round">{"".join(paths)}</g>\n'
            f'<g>{"".join(labels)}</g>\n{legend}\n</svg>')


def _map_legend(x0: float, y0: float) -> str:
    edges = [f"{e * 100:.0f}%" for e in DISTANCE_CLASSES]
    entries = []
    for k in range(len(DISTANCE_CLASSES), 0, -1):  # most above target first
        lo, hi = edges[k - 1], edges[k] if k < len(edges) else None
        entries.append((_GIVES[k - 1], f"{lo} to {hi} above" if hi else f"over {lo} above"))
    entries.append((_NEUTRAL, f"within \u00b1{edges[0]} of target"))
    for k in range(1, len(DISTANCE_CLASSES) + 1):
        lo, hi = edges[k - 1], edges[k] if k < len(edges) else None
        entries.append((_RECEIVES[k - 1], f"{lo} to {hi} below" if hi else f"over {lo} below"))
    out = [f'<g transform="translate({x0:.0f},{y0:.0f})" class="legend">',
           '<text x="0" y="0" class="legend-title">Distance from target</text>',
           '<text x="0" y="16" class="legend-side t-give">'
           "Above target: gives posts</text>"]
    y = 26
    for colour, label in entries:
        out.append(f'<rect x="0" y="{y}" width="18" height="13" fill="{colour}" '
                   f'stroke="#777" stroke-width="0.5"/>'
                   f'<text x="24" y="{y + 10}">{_e(label)}</text>')
        y += 16
    out.append(f'<text x="0" y="{y + 12}" class="legend-side t-receive">'
               "Below target: receives posts</text>")
    out.append(f'<rect x="0" y="{y + 22}" width="18" height="13" fill="{_NO_DATA}" '
               f'stroke="#777" stroke-width="0.5"/><text x="24" y="{y + 32}">no data</text>')
    out.append("</g>")
    return "".join(out)


def _gap_bars_svg(areas: pd.DataFrame) -> str:
    """Horizontal bars of each area's gap (target − current), givers left, receivers right."""
    df = areas.sort_values("gap", kind="stable").reset_index(drop=True)
    n = len(df)
    label_w, bar_w, value_w = 190.0, 360.0, 60.0
    row_h = 18.0 if n <= 15 else 13.0
    top = 26.0
    height = top + n * row_h + 26
    lim = float(max(df["gap"].abs().max(), 1))
    scale = (bar_w / 2) / lim
    x0 = label_w + value_w + bar_w / 2
    out = [f'<svg class="chart" viewBox="0 0 {label_w + bar_w + 2 * value_w:.0f} {height:.0f}" '
           f'role="img" aria-label="Gap by area">',
           f'<text x="{x0 - 8:.0f}" y="14" text-anchor="end" class="axis-title t-give">'
           "\u2190 gives posts</text>",
           f'<text x="{x0 + 8:.0f}" y="14" class="axis-title t-receive">'
           "receives posts \u2192</text>"]
    font = 10 if n <= 15 else 8
    for i, r in enumerate(df.itertuples(index=False)):
        y = top + i * row_h
        gap = float(r.gap)
        w = abs(gap) * scale
        colour = _RECEIVE_LINE if gap > 0 else _GIVE_LINE
        x = x0 if gap >= 0 else x0 - w
        out.append(f'<text x="{label_w - 4:.0f}" y="{y + row_h * 0.68:.1f}" text-anchor="end" '
                   f'font-size="{font}">{_e(r.area)}</text>')
        if w > 0:
            out.append(f'<rect x="{x:.1f}" y="{y + 2:.1f}" width="{w:.1f}" '
                       f'height="{row_h - 4:.1f}" fill="{colour}"/>')
        tx = x0 + w + 4 if gap >= 0 else x0 - w - 4
        anchor = "start" if gap >= 0 else "end"
        out.append(f'<text x="{tx:.1f}" y="{y + row_h * 0.68:.1f}" text-anchor="{anchor}" '
                   f'font-size="{font}">{_e(_signed(gap))}</text>')
    out.append(f'<line x1="{x0:.1f}" y1="{top - 4:.0f}" x2="{x0:.1f}" '
               f'y2="{top + n * row_h + 2:.0f}" stroke="#333" stroke-width="1"/>')
    out.append(f'<text x="{x0:.1f}" y="{height - 6:.0f}" text-anchor="middle" '
               'class="axis-title">gap = target \u2212 current posts (all specialties)</text>')
    out.append("</svg>")
    return "\n".join(out)


def _map_section(tgt: pd.DataFrame, level: str) -> str:
    areas = _area_totals(tgt)
    parts = ["<p>Each area's distance from its target, all specialties together: "
             "(current \u2212 target) / target. <span class=\"give\">Orange</span> areas hold more "
             "than their fair share and give posts; <span class=\"receive\">purple</span> areas "
             "hold fewer and receive posts; near-white areas are within \u00b15% of target. "
             "The colours are ColorBrewer\u2019s PuOr scheme, readable with the common forms of "
             "colour blindness.</p>"]
    svg = _map_svg(areas, level)
    if svg:
        parts.append(f'<figure class="map-figure">{svg}<figcaption>Distance from target by '
                     f"{_e(_LEVEL_WORDS.get(level, (level, level))[0])}.</figcaption></figure>")
    else:
        parts.append("<p class=\"muted\">No boundaries are available for this level, so there is "
                     "no map.</p>")
    parts.append(f'<figure class="bars-figure">{_gap_bars_svg(areas)}<figcaption>Gap by area, '
                 "in posts: how many each area gives (left) or receives (right) to reach its "
                 "targets, net over specialties.</figcaption></figure>")
    return "\n".join(parts)


# --------------------------------------------------------------------------------------------
# Plan
# --------------------------------------------------------------------------------------------


def _plan_frame(plan: pd.DataFrame) -> pd.DataFrame:
    df = plan.copy()
    for col in ("expansion", "vacancies", "vacancies_used", "capacity_used"):
        if col not in df.columns:
            df[col] = 0
    df["received"] = df["redistribution"].clip(lower=0)
    df["given"] = (-df["redistribution"]).clip(lower=0)
    return df


def _plan_section(plan: pd.DataFrame, tgt: pd.DataFrame, status: Any) -> str:
    df = _plan_frame(plan)
    years = sorted(int(y) for y in df["year"].unique())
    first, last = years[0], years[-1]
    start_short = int(tgt["gap"].clip(lower=0).sum())
    moved = int(df["received"].sum())
    intro = (f"<p>The plan runs from {first} to {last}. Posts move only when they fall vacant at "
             "recruitment and only as fast as receiving areas can supervise, so most gaps close "
             f"over several years. Over the plan <strong>{_int(moved)}</strong> posts move, "
             f"{_pct(moved / start_short if start_short else float('nan'), 0, False)} of the "
             f"{_int(start_short)} that would move to reach every target.")
    if status:
        intro += f" Solve status: <strong>{_e(status)}</strong>."
    intro += "</p>"
    parts = [intro,
             f'<figure class="plan-figure">{_plan_svg(df, tgt)}<figcaption>Cumulative '
             "redistribution by area and year (posts, all specialties). Purple: posts received "
             "so far; orange: posts given so far; black line: net change; dashed line: the net "
             "gap at the start (where the line would end if every target were reached). Each "
             "panel has its own scale.</figcaption></figure>",
             _plan_year_table(df, start_short),
             _plan_area_table(df, tgt)]
    return "\n".join(parts)


def _plan_year_table(df: pd.DataFrame, start_short: int) -> str:
    has_exp = bool(df["expansion"].abs().sum())
    rows = []
    per_year = df.groupby("year", sort=True)
    for year, g in per_year:
        short = int(g["remaining_gap"].clip(lower=0).sum()) if "remaining_gap" in g else None
        row = [Cell(str(int(year))),
               _num(_int(g.loc[g["redistribution"] != 0, "specialty"].nunique())),
               _num(_int(g["received"].sum()))]
        if has_exp:
            row.append(_num(_int(g["expansion"].sum())))
        row += [_num(_int(g["vacancies"].sum())), _num(_int(g["vacancies_used"].sum())),
                _num(_int(g["capacity_used"].sum())),
                _num(_int(short)),
                _num(_pct(1 - short / start_short if short is not None and start_short
                          else float("nan"), 0, False))]
        rows.append(row)
    headers: list[str | Cell] = [Cell("Year"), _num("Specialties moving"), _num("Posts moved")]
    if has_exp:
        headers.append(_num("Expansion posts"))
    headers += [_num("Vacancies"), _num("Vacancies used"), _num("Capacity used"),
                _num("Still to move (end of year)"), _num("Gap closed")]
    last = df[df["year"] == df["year"].max()]
    short_last = int(last["remaining_gap"].clip(lower=0).sum()) if "remaining_gap" in last else None
    total = [Cell("Total"), _num(_int(df.loc[df["redistribution"] != 0,
                                                  "specialty"].nunique())),
             _num(_int(df["received"].sum()))]
    if has_exp:
        total.append(_num(_int(df["expansion"].sum())))
    total += [_num(_int(df["vacancies"].sum())), _num(_int(df["vacancies_used"].sum())),
              _num(_int(df["capacity_used"].sum())), _num(_int(short_last)),
              _num(_pct(1 - short_last / start_short if short_last is not None and start_short
                        else float("nan"), 0, False))]
    return ('<h3 class="keep-next">Moves by year</h3>\n<p class="small">Posts moved = posts '
            "received (equal to posts given: redistribution conserves each specialty's total). "
            "Still to move = posts the receiving areas are still short of their targets at the "
            f"end of the year; at the start it is {_int(start_short)}.</p>\n"
            + _table(headers, rows, total=total, cls="plan-years"))


def _plan_area_table(df: pd.DataFrame, tgt: pd.DataFrame) -> str:
    last_year = df["year"].max()
    start = tgt.groupby("area", sort=False).agg(
        gap=("gap", "sum"), off=("gap", lambda s: int(s.abs().sum())))
    moves = df.groupby("area", sort=False).agg(received=("received", "sum"),
                                               given=("given", "sum"),
                                               expansion=("expansion", "sum"))
    end = df[df["year"] == last_year]
    if "remaining_gap" in end.columns:
        remaining = end.groupby("area", sort=False).agg(
            rem=("remaining_gap", "sum"), off_end=("remaining_gap", lambda s: int(s.abs().sum())))
    else:
        remaining = pd.DataFrame(index=moves.index, data={"rem": np.nan, "off_end": np.nan})
    table = start.join(moves, how="outer").join(remaining, how="left").fillna(0)
    table = table.sort_values("gap", kind="stable")
    has_exp = bool(table["expansion"].abs().sum())
    headers: list[str | Cell] = [Cell("Area"), _num("Starting gap"), _num("Received"),
                                 _num("Given"), _num("Net moved")]
    if has_exp:
        headers.append(_num("Expansion posts"))
    headers += [_num(f"Gap left in {int(last_year)}"), _num("Posts off target: start"),
                _num(f"Posts off target: {int(last_year)}")]
    rows = []
    for area, r in table.iterrows():
        net = r["received"] - r["given"]
        row = [Cell(area), _num(_signed(r["gap"]), _gap_class(r["gap"])),
               _num(_int(r["received"])), _num(_int(r["given"])),
               _num(_signed(net), _gap_class(net))]
        if has_exp:
            row.append(_num(_int(r["expansion"])))
        row += [_num(_signed(r["rem"])), _num(_int(r["off"])), _num(_int(r["off_end"]))]
        rows.append(row)
    tot = table.sum(numeric_only=True)
    total = [Cell("England"), _num(_signed(tot["gap"])), _num(_int(tot["received"])),
             _num(_int(tot["given"])), _num(_signed(tot["received"] - tot["given"]))]
    if has_exp:
        total.append(_num(_int(tot["expansion"])))
    total += [_num(_signed(tot["rem"])), _num(_int(tot["off"])), _num(_int(tot["off_end"]))]
    return ('<h3 class="keep-next">Moves by area</h3>\n<p class="small">Gaps are net over '
            "specialties (target \u2212 posts); \u201cposts off target\u201d adds up each "
            "specialty's distance from target in either direction, so it shows the moves still "
            "to make even where an area's net gap is small.</p>\n"
            + _table(headers, rows, total=total, cls="plan-areas"))


def _plan_svg(df: pd.DataFrame, tgt: pd.DataFrame) -> str:
    """Small multiples: one panel per area, cumulative received / given / net by year."""
    years = sorted(int(y) for y in df["year"].unique())
    per = df.groupby(["area", "year"], sort=True)[["received", "given"]].sum()
    gaps = tgt.groupby("area")["gap"].sum()
    areas = list(gaps.sort_values(kind="stable").index)
    areas += sorted(set(per.index.get_level_values(0)) - set(areas))
    cols = 3
    pw, ph = 215.0, 120.0
    gx, gy = 10.0, 14.0
    rows_n = math.ceil(len(areas) / cols)
    width = cols * pw + (cols - 1) * gx
    height = rows_n * (ph + gy)
    out = [f'<svg class="chart plan-chart" viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
           'aria-label="Cumulative redistribution by area and year">']
    for i, area in enumerate(areas):
        ox = (i % cols) * (pw + gx)
        oy = (i // cols) * (ph + gy)
        if area in per.index.get_level_values(0):
            a = per.loc[area].reindex(years, fill_value=0)
        else:
            a = pd.DataFrame({"received": 0, "given": 0}, index=years)
        rec = np.concatenate([[0], np.cumsum(a["received"].to_numpy(float))])
        giv = np.concatenate([[0], -np.cumsum(a["given"].to_numpy(float))])
        net = rec + giv
        gap = float(gaps.get(area, 0.0))
        hi = max(rec.max(), gap, 1.0)
        lo = min(giv.min(), gap, -1.0)
        span = hi - lo
        hi += span * 0.08
        lo -= span * 0.08
        left, right, top, bottom = 38.0, 8.0, 26.0, 14.0
        iw, ih = pw - left - right, ph - top - bottom
        xs = [ox + left + iw * k / len(years) for k in range(len(years) + 1)]

        def y_of(v: float, oy: float = oy, hi: float = hi, lo: float = lo, ih: float = ih,
                 top: float = top) -> float:
            return oy + top + (hi - v) / (hi - lo) * ih

        def poly(values: np.ndarray, xs: list[float] = xs, y_of: Any = y_of) -> str:
            return " ".join(f"{x:.1f},{y_of(v):.1f}" for x, v in zip(xs, values, strict=True))

        y0 = y_of(0.0)
        out.append(f'<text x="{ox + 2:.1f}" y="{oy + 11:.1f}" class="panel-title">'
                   f"{_e(area)}</text>")
        out.append(f'<rect x="{ox + left:.1f}" y="{oy + top:.1f}" width="{iw:.1f}" '
                   f'height="{ih:.1f}" fill="#fafafa" stroke="#ccc" stroke-width="0.5"/>')
        out.append(f'<polygon points="{xs[0]:.1f},{y0:.1f} {poly(rec)} {xs[-1]:.1f},{y0:.1f}" '
                   f'fill="{_RECEIVES[1]}" stroke="{_RECEIVE_LINE}" stroke-width="0.6"/>')
        out.append(f'<polygon points="{xs[0]:.1f},{y0:.1f} {poly(giv)} {xs[-1]:.1f},{y0:.1f}" '
                   f'fill="{_GIVES[1]}" stroke="{_GIVE_LINE}" stroke-width="0.6"/>')
        out.append(f'<line x1="{xs[0]:.1f}" y1="{y0:.1f}" x2="{xs[-1]:.1f}" y2="{y0:.1f}" '
                   'stroke="#666" stroke-width="0.6"/>')
        out.append(f'<line x1="{xs[0]:.1f}" y1="{y_of(gap):.1f}" x2="{xs[-1]:.1f}" '
                   f'y2="{y_of(gap):.1f}" stroke="#000" stroke-width="0.8" '
                   'stroke-dasharray="3 2"/>')
        out.append(f'<polyline points="{poly(net)}" fill="none" stroke="#000" '
                   'stroke-width="1.4"/>')
        placed: list[float] = []
        for v in (0, round(rec.max()), round(giv.min()), round(gap)):
            y = y_of(v)
            if any(abs(y - q) < 9 for q in placed):
                continue  # too close to a label already drawn
            placed.append(y)
            out.append(f'<text x="{ox + left - 3:.1f}" y="{y + 2.5:.1f}" '
                       f'text-anchor="end" class="tick">{_e(_signed(v) if v else "0")}</text>')
        out.append(f'<text x="{xs[0]:.1f}" y="{oy + ph - 3:.1f}" class="tick">start</text>')
        out.append(f'<text x="{xs[-1]:.1f}" y="{oy + ph - 3:.1f}" text-anchor="end" '
                   f'class="tick">{years[-1]}</text>')
        out.append(f'<text x="{ox + 2:.1f}" y="{oy + 21:.1f}" class="tick">net '
                   f"{_e(_signed(net[-1]))} by {years[-1]}, gap {_e(_signed(gap))}</text>")
    out.append("</svg>")
    return "\n".join(out)


# --------------------------------------------------------------------------------------------
# Equity and findings
# --------------------------------------------------------------------------------------------


def _equity_cell(column: str, value: Any) -> Cell:
    if _is_missing(value):
        return _num("\u2014")
    if isinstance(value, bool | np.bool_):
        return Cell("yes" if value else "no")
    if isinstance(value, int | np.integer):
        return _num(_int(value))
    if isinstance(value, float | np.floating):
        name = column.lower()
        if "distance" in name or "share" in name or "pct" in name or "percent" in name:
            return _num(_pct(value, 1, "distance" in name))
        if float(value).is_integer() and ("areas" in name or "count" in name):
            return _num(_int(value))
        return _num(f"{float(value):,.3f}".replace("-", MINUS))
    return Cell(value)


def _equity_section(equity: pd.DataFrame) -> str:
    intro = ("<p>How evenly posts follow need: for each area, posts divided by its fair number "
             "of posts (need), and how much that ratio varies across areas. The Gini coefficient "
             "and the coefficient of variation are 0 when every area holds exactly its fair "
             "share (lower is fairer); the distances are the furthest any area is above or "
             "below its target; the last column is the share of areas within \u00b15% of "
             "target.</p>\n")
    known = {"specialty", "stage", "year", "gini", "cv", "max_distance", "min_distance",
             "share_within_5pct"}
    if not known <= set(equity.columns):
        return intro + _equity_generic(equity)
    df = equity.copy()
    overall = df[df["specialty"] == "All"]
    order = {"before": 0, "plan": 1, "after": 2}
    overall = overall.assign(_o=overall["stage"].map(order).fillna(3)).sort_values(["_o", "year"])
    stage_words = {"before": "before the plan", "plan": "after moves",
                   "after": "end of the plan"}
    rows = [[Cell(str(int(r["year"]))), Cell(stage_words.get(r["stage"], r["stage"])),
             _num(_dec(r["gini"], 3)), _num(_dec(r["cv"], 3)),
             _num(_pct(r["max_distance"])), _num(_pct(r["min_distance"])),
             _num(_pct(r["share_within_5pct"], 0, False))]
            for r in overall.to_dict("records")]
    headers = [Cell("Year"), Cell("When"), _num("Gini"), _num("Coefficient of variation"),
               _num("Furthest above target"), _num("Furthest below target"),
               _num("Areas within \u00b15%")]
    parts = [intro, '<h3 class="keep-next">All specialties, year by year</h3>',
             _table(headers, rows, cls="equity")]
    first = df[df["stage"] == "before"].set_index("specialty")
    last = df[df["stage"] == "after"].set_index("specialty")
    specs = [s for s in first.index if s != "All" and s in last.index]
    if specs:
        table = pd.DataFrame({
            "gini_before": first.loc[specs, "gini"], "gini_after": last.loc[specs, "gini"],
            "within_before": first.loc[specs, "share_within_5pct"],
            "within_after": last.loc[specs, "share_within_5pct"],
        }).sort_values("gini_before", ascending=False, kind="stable")
        rows = [[Cell(spec), _num(_dec(r["gini_before"], 3)), _num(_dec(r["gini_after"], 3)),
                 _num(_signed_dec3(r["gini_after"] - r["gini_before"])),
                 _num(_pct(r["within_before"], 0, False)),
                 _num(_pct(r["within_after"], 0, False))]
                for spec, r in table.iterrows()]
        first_year = int(first["year"].min())
        last_year = int(last["year"].max())
        parts.append('<h3 class="keep-next">By specialty, before and after the plan</h3>')
        parts.append(_table([Cell("Specialty"), _num(f"Gini {first_year} (before)"),
                             _num(f"Gini {last_year}"), _num("Change"),
                             _num("Within \u00b15% before"), _num(f"Within \u00b15% {last_year}")],
                            rows, cls="equity-specialties"))
    return "\n".join(parts)


def _signed_dec3(value: Any) -> str:
    if _is_missing(value):
        return "\u2014"
    v = float(value)
    if abs(v) < 0.0005:
        return "0.000"
    return (f"+{v:.3f}" if v > 0 else f"{v:.3f}").replace("-", MINUS)


def _equity_generic(equity: pd.DataFrame) -> str:
    df = equity.reset_index(drop=True)
    if "scenario" in df.columns and df["scenario"].nunique() <= 1:
        df = df.drop(columns=["scenario"])
    shown = df.head(_EQUITY_ROWS_SHOWN)
    headers = [(_num if pd.api.types.is_numeric_dtype(df[c]) and c != "year" else Cell)(
        str(c).replace("_", " ").capitalize()) for c in shown.columns]
    rows = [[Cell(str(int(v))) if c == "year" and not _is_missing(v) else _equity_cell(str(c), v)
             for c, v in zip(shown.columns, rec, strict=True)]
            for rec in shown.itertuples(index=False)]
    note = ""
    if len(df) > len(shown):
        note = (f'<p class="small muted">The first {len(shown)} of {len(df)} rows; the full '
                "table is in the run's equity table.</p>")
    return _table(headers, rows, cls="equity") + note


def _appendix(plan: pd.DataFrame, tgt: pd.DataFrame, words: tuple[str, str],
              omitted: list[str]) -> str:
    """The planners' pace-of-change table (publish.tables) for every area, one per page."""
    from fairshare.publish.tables import pace_of_change

    areas = [a for a in _area_totals(tgt).sort_values("area")["area"] if a in set(plan["area"])]
    blocks = []
    for area in areas:
        try:
            table = pace_of_change(plan, tgt, area, keep_zeros=False)
        except (ValueError, KeyError) as exc:
            omitted.append(f"the pace-of-change table for {area} ({exc})")
            continue
        blocks.append(_pace_block(area, table))
    if not blocks:
        return ""
    intro = (f"<p>For each {_e(words[0])}, the table planners circulate: per specialty (phase), "
             "the fair-share gap (target \u2212 current) and the posts moved each year "
             "(+ received, \u2212 given); specialties with no gap and no moves are left out. "
             "Blank cells are years with no move.</p>")
    return intro + "\n" + "\n".join(blocks)


def _pace_block(area: str, table: pd.DataFrame) -> str:
    columns = list(table.columns)
    label_col = columns[0]
    headers: list[str | Cell] = [Cell(label_col)]
    headers += [_num("Gap" if "gap" in str(c).lower() else str(c)) for c in columns[1:]]
    rows, total = [], None
    for rec in table.to_dict("records"):
        label = str(rec[label_col])
        cells: list[Cell | str] = [Cell(label)]
        for c in columns[1:]:
            v = rec[c]
            if str(c).isdigit():
                cells.append(_num("" if v == 0 else _signed(v), _gap_class(v)))
            else:
                cells.append(_num(_signed(v), _gap_class(v)))
        if label == "Total":
            total = cells
        else:
            rows.append(cells)
    return (f'<div class="area-block"><h3 class="keep-next">{_e(area)}</h3>\n'
            + _table(headers, rows, total=total, cls="pace", keep=False) + "</div>")


_FINDING_KINDS = {
    "horizon": "not at target by the end of the plan",
    "phase": "specialty not phased: no moves",
    "capacity": "supervision capacity",
    "vacancies": "too few vacancies",
    "min_posts": "minimum programme size",
    "pace_cap": "pace cap",
    "timing": "timing",
    "target": "target missed",
}


def _kind_label(kind: Any) -> str:
    if _is_missing(kind):
        return "other"
    return _FINDING_KINDS.get(str(kind), str(kind).replace("_", " "))


def _findings_section(findings: pd.DataFrame) -> str:
    if findings.empty:
        return ("<p>The plan found nothing holding it back: every area reaches its targets "
                "within the plan's limits.</p>")
    df = findings.copy()
    df["size_n"] = pd.to_numeric(df["size"], errors="coerce").fillna(0)
    kinds = (df.groupby("kind", dropna=False)
             .agg(n=("message", "size"), posts=("size_n", "sum"))
             .sort_values("n", ascending=False))
    summary = _table([Cell("Kind"), _num("Findings"), _num("Posts involved")],
                     [[Cell(_kind_label(k)), _num(_int(r["n"])),
                       _num(_int(r["posts"]))] for k, r in kinds.iterrows()],
                     total=[Cell("All"), _num(_int(len(df))),
                            _num(_int(df["size_n"].sum()))], cls="findings-kinds")
    df = df.sort_values(["size_n", "area", "specialty"], ascending=[False, True, True],
                        kind="stable")
    shown = df.head(_FINDINGS_SHOWN)
    blocks = []
    for kind in kinds.index:
        part = shown[shown["kind"].isna()] if _is_missing(kind) else shown[shown["kind"] == kind]
        if part.empty:
            continue
        rows = [[Cell(r["area"] if not _is_missing(r["area"]) else ""),
                 Cell(r["specialty"] if not _is_missing(r["specialty"]) else ""),
                 Cell("" if _is_missing(r["year"]) else str(int(r["year"]))),
                 _num(_int(r["size_n"])),
                 Cell(r["message"] if not _is_missing(r["message"]) else "", "message")]
                for r in part.to_dict("records")]
        blocks.append(f'<h3 class="keep-next">{_e(_kind_label(kind).capitalize())} '
                      f"({len(part)})</h3>\n"
                      + _table([Cell("Area"), Cell("Specialty"), Cell("Year"), _num("Posts"),
                                Cell("What it says")], rows, cls="findings", keep=False))
    note = ""
    if len(df) > len(shown):
        note = (f'<p class="small muted">The {len(shown)} largest of {len(df)} findings; the '
                "full list is in the run's findings.</p>")
    return ("<p>The constraints that bind: where an area cannot reach its target by the end of "
            "the plan, which limit holds it back (vacancies, supervision capacity, minimum "
            "programme size, pace cap, a specialty's phase start), largest first.</p>\n"
            + summary + "\n" + "\n".join(blocks) + note)


# --------------------------------------------------------------------------------------------
# Style
# --------------------------------------------------------------------------------------------


def _css_string(text: str) -> str:
    """A CSS string literal that cannot break out of its rule or the style element."""
    safe = "".join(ch if ch.isprintable() and ch not in '\\"<>' else f"\\{ord(ch):x} "
                   for ch in text)
    return f'"{safe}"'


def _css(footer_left: str, demo: bool) -> str:
    centre = (f"@bottom-center {{ content: {_css_string('DEMONSTRATION BASELINE')}; "
              "color: #b00020; font-weight: bold; font-size: 7.5pt; }") if demo else ""
    return f"""
@page {{
  size: A4;
  margin: 14mm 13mm 15mm 13mm;
  @bottom-left {{ content: {_css_string(footer_left)}; font-size: 7.5pt; color: #555; }}
  {centre}
  @bottom-right {{ content: "Page " counter(page) " of " counter(pages); font-size: 7.5pt;
                   color: #555; }}
}}
:root {{ -webkit-print-color-adjust: exact; print-color-adjust: exact; }}
html {{ font-family: "DejaVu Sans", "Liberation Sans", Arial, Helvetica, sans-serif;
        font-size: 9.5pt; color: #1a1a1a; line-height: 1.38;
        font-variant-ligatures: none; /* "office", not a ligature glyph, in the PDF's text */ }}
body {{ margin: 0 auto; max-width: 184mm; }}
@media screen {{ body {{ padding: 1.5em 1em 4em; }} }}
h1 {{ font-size: 21pt; margin: 0.1em 0 0.1em; line-height: 1.15; }}
h2 {{ font-size: 14pt; margin: 0 0 0.5em; padding-bottom: 0.15em;
      border-bottom: 2px solid #542788; break-after: avoid; }}
h3 {{ font-size: 11pt; margin: 1.2em 0 0.35em; break-after: avoid; }}
p {{ margin: 0.35em 0 0.6em; }}
code {{ font-family: "DejaVu Sans Mono", "Liberation Mono", monospace; font-size: 0.92em; }}
.kicker {{ text-transform: uppercase; letter-spacing: 0.12em; color: #542788; font-weight: bold;
           margin: 0; font-size: 8.5pt; }}
.subtitle {{ font-size: 12.5pt; margin: 0 0 0.8em; color: #333; }}
section.major {{ break-before: page; }}
section.flowing {{ margin-top: 1.6em; }}
@media screen {{ section.major {{ margin-top: 2.5em; }} }}
.keep-next {{ break-after: avoid; }}
.small {{ font-size: 8.5pt; }}
.muted {{ color: #555; }}
.give {{ color: {_GIVE_LINE}; }}
.receive {{ color: {_RECEIVE_LINE}; }}
table {{ border-collapse: collapse; width: 100%; margin: 0.4em 0 0.9em; font-size: 8.2pt; }}
thead {{ display: table-header-group; }}
tr {{ break-inside: avoid; }}
th, td {{ padding: 2.2px 5px; vertical-align: top; }}
thead th {{ background: #ece9f3; text-align: left; border-bottom: 1.2px solid #542788;
            font-weight: bold; }}
tbody tr:nth-child(even) td {{ background: #f8f8f8; }}
td.num, th.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
td.num {{ white-space: nowrap; }}
td.who {{ min-width: 30mm; }}
table.specialties {{ font-size: 7.8pt; }}
table.specialties td:first-child {{ min-width: 40mm; }}
table.targets td:nth-child(-n+2), table.waterfall td:first-child,
table.plan-areas td:first-child {{ white-space: nowrap; }}
.keep-next + p {{ break-after: avoid; }}
table.keep {{ break-inside: avoid; }}
tr.total {{ break-before: avoid; }}
tr.total td {{ font-weight: bold; border-top: 1.4px solid #333; background: #fff; }}
table.kv {{ width: auto; font-size: 9pt; }}
table.kv th {{ text-align: left; padding-right: 1.2em; color: #444; font-weight: normal;
               background: none; white-space: nowrap; }}
table.kv tr:nth-child(even) td {{ background: none; }}
table.params td.param {{ font-family: "DejaVu Sans Mono", "Liberation Mono", monospace;
                          white-space: nowrap; }}
.area-block {{ break-before: page; }}
.area-block:first-of-type {{ break-before: auto; }}
table.pace {{ font-size: 7pt; line-height: 1.2; margin-top: 0.2em; }}
table.pace th, table.pace td {{ padding: 1px 4px; }}
.area-block h3 {{ margin-top: 0; }}
table.pace td:first-child {{ min-width: 52mm; }}
table.findings td.message {{ font-size: 7.6pt; }}
table.findings {{ font-size: 7.6pt; }}
.demo {{ border: 3px solid #b00020; background: #fdecee; padding: 0.6em 0.9em; margin: 0.8em 0;
         break-inside: avoid; }}
.demo-title {{ color: #b00020; font-weight: bold; font-size: 12pt; margin: 0 0 0.3em;
               letter-spacing: 0.03em; }}
.summary h2 {{ margin-top: 0.9em; }}
.cards {{ display: flex; flex-wrap: wrap; gap: 6px; margin: 0.3em 0 0.4em; }}
.figure-card {{ flex: 1 1 30%; border: 1px solid #cfc9e0; background: #f6f4fa; padding: 6px 8px;
                break-inside: avoid; }}
.figure-card .big {{ font-size: 17pt; font-weight: bold; color: #2d1657; line-height: 1.1; }}
.figure-card .what {{ font-weight: bold; font-size: 9pt; }}
.figure-card .note {{ font-size: 7.8pt; color: #555; }}
nav.contents {{ margin-top: 1em; }}
nav.contents h2 {{ border: none; font-size: 12pt; margin-bottom: 0.2em; }}
nav.contents ol {{ margin: 0.2em 0 0.4em 1.3em; padding: 0; }}
nav.contents a {{ color: #2d1657; text-decoration: none; }}
ol.method li {{ margin-bottom: 0.4em; }}
figure {{ margin: 0.5em 0 1em; break-inside: avoid; }}
figcaption {{ font-size: 8pt; color: #444; margin-top: 0.2em; }}
svg {{ display: block; width: 100%; height: auto; font-family: inherit; }}
svg.map {{ max-height: 128mm; }}
svg text {{ font-size: 9px; fill: #1a1a1a; }}
svg .maplabel {{ font-size: 8.5px; font-weight: bold; text-anchor: middle;
                 dominant-baseline: middle; paint-order: stroke; stroke: #fff;
                 stroke-width: 2.2px; }}
svg .legend text {{ font-size: 9.5px; }}
svg .legend .legend-title {{ font-weight: bold; font-size: 10.5px; }}
svg .legend .legend-side {{ font-weight: bold; }}
svg text.t-give {{ fill: {_GIVE_LINE}; }}
svg text.t-receive {{ fill: {_RECEIVE_LINE}; }}
svg .axis-title {{ font-size: 9px; font-weight: bold; }}
svg .panel-title {{ font-size: 9.5px; font-weight: bold; }}
svg .tick {{ font-size: 7.5px; fill: #444; }}
.licence {{ color: #444; }}
"""
