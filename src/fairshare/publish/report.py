"""The self-contained report: one HTML file (and a PDF printed from it) a planner can circulate.

``build_report`` gathers a run's tables into data (``report_tables``, ``report_equity``), draws
the charts as inline SVG (``charts``) and lays everything out with the Jinja2 templates in
``templates/``, so the file opens anywhere, offline, and prints as it shows. It holds no
reference to anything outside itself; ``external_references`` checks that.

Every page says what its numbers rest on: the basis of the current posts (the establishment's
label or the per-row ``basis`` values) and the scenario's name and digest, in the printed page
footers and at the head and foot of the HTML (``publish.labels``). One sign convention runs
through it: gap = target − current, + receives, − gives.

``write_report`` writes the HTML and/or the PDF (``publish.pdf``); both appear atomically. What
is in the report is described in docs/report.md.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
from markupsafe import Markup

from fairshare.io import write_text
from fairshare.provenance import judgements, kinds_of, run_provenance
from fairshare.publish import charts
from fairshare.publish import report_tables as rt
from fairshare.publish.labels import (
    RunLabel,
    basis_counts,
    establishment_caveat,
    run_label,
    years_caveat,
    years_status,
)
from fairshare.publish.pdf import CHROMIUM_CANDIDATES, ReportError, find_chromium, html_to_pdf
from fairshare.publish.report_equity import equity_tables
from fairshare.publish.report_format import Cell, Table, count, label, num, percent
from fairshare.publish.report_intervals import intervals_context

__all__ = ["CHROMIUM_CANDIDATES", "ReportError", "build_report", "external_references",
           "find_chromium", "html_to_pdf", "write_report"]

#: NHS.UK frontend colours (service-manual.nhs.uk/design-system/styles/colour).
NHS_COLOURS = {"blue": "#005eb8", "dark_blue": "#003087", "text": "#212b32",
               "secondary": "#4c6272", "grey_4": "#d8dde0", "grey_5": "#f0f4f5",
               "warm_yellow": "#ffb81c", "red": "#d5281b", "focus": "#ffeb3b"}

_LEVEL_WORDS = {"local_office": ("local office", "local offices"),
                "region": ("NHS region", "NHS regions"), "icb": ("ICB", "ICBs")}
_LANDSCAPE = frozenset({"plan"})  # small multiples and wide tables of the plan
_PORTRAIT_YEARS = 12  # the appendix fits a portrait page up to this many plan years
_FLOWING = frozenset({"scenario"})  # follows on from the section before, no new page


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("fairshare.publish", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=False, lstrip_blocks=False)
    env.globals["m"] = env.get_template("macros.html.j2").module
    return env


def build_report(targets: pd.DataFrame, plan: pd.DataFrame | None = None,
                 metadata: Mapping[str, Any] | None = None, *,
                 equity: pd.DataFrame | None = None,
                 findings: Iterable[Any] | pd.DataFrame | None = None,
                 status: str | None = None, area_tables: bool = True,
                 intervals: pd.DataFrame | None = None,
                 interval_cells: pd.DataFrame | None = None) -> str:
    """The report as one self-contained HTML document (text).

    ``targets`` is a run's targets table (any one level); ``plan`` the tidy plan table
    (``fairshare.model.pipeline.PlanOutput.plan``) or None; ``metadata`` the run's metadata
    (``publish.outputs.run_metadata`` / ``RunStore.metadata``); ``equity`` an equity metrics
    table (``analysis.equity.equity_before_after``; computed from targets and plan when not
    given); ``findings`` the plan's findings (``Finding`` objects, dicts or a DataFrame);
    ``status`` the plan's solve status (else ``metadata["plan_status"]``); ``area_tables`` adds
    the planners' "pace of change" table of every area as an appendix; ``intervals`` (and
    ``interval_cells``) are ``analysis.uncertainty.monte_carlo_intervals``' ``areas`` (and
    ``cells``) tables, shown with what they cover.
    """
    meta = dict(metadata or {})
    _require(targets, ["area", "specialty", "current", "target"], "targets")
    tgt = targets if "gap" in targets.columns else targets.assign(
        gap=targets["target"] - targets["current"])
    has_plan = plan is not None and not plan.empty
    if plan is not None and has_plan:
        _require(plan, ["area", "specialty", "year", "redistribution"], "plan")
    else:
        plan = None
    scenario = _scenario_dict(meta)
    lab = run_label(meta, tgt)
    level = str(_first(tgt, "level") or scenario.get("level") or "local_office")
    words = _LEVEL_WORDS.get(level, (level, level))
    omitted: list[str] = []
    ctx: dict[str, Any] = {"meta": meta, "label": lab, "name": lab.scenario, "words": words,
                           "demo": _is_demonstration(meta, tgt), "omitted": omitted,
                           "palette": charts.PALETTE, "nhs": NHS_COLOURS}
    ctx["footer_left"] = Markup(_css_string(f"Basis: {lab.basis}\n{lab.scenario_text}"))
    ctx["facts"] = _facts(meta, scenario, lab, words, status or meta.get("plan_status"))
    ctx["cards"] = _cards(tgt, plan, words)
    ctx.update(_method(scenario, tgt), **_scenario_data(meta, scenario))
    ctx["modelled"] = list((meta.get("establishment_modelled") or {}).items())
    ctx["caveats"] = [c for c in (establishment_caveat(meta), years_caveat(
        plan["year"].unique() if plan is not None else [], meta)) if c]
    bases = basis_counts(tgt)
    ctx["bases"] = (Table("Basis of the current posts, row by row",
                          [Cell("Basis"), num("Rows (area \u00d7 specialty)")],
                          [[label(b), num(count(n))] for b, n in bases], cls="bases", keep=True)
                    if len(bases) > 1 else None)
    areas = rt.area_totals(tgt)
    ctx["map_svg"] = Markup(charts.map_svg(areas, level, words[0]))
    ctx["bars_svg"] = Markup(charts.gap_bars_svg(areas))
    ctx["targets_table"] = rt.targets_table(tgt, level)
    ctx["waterfall"] = rt.waterfall_table(tgt)
    ctx["specialty_table"] = rt.specialty_table(tgt)
    sections = [("method", "The method in plain words"), ("scenario", "Scenario and data"),
                ("map", "Where posts are and where need says they should be"),
                ("targets", f"Targets by {words[0]}"), ("specialties", "Targets by specialty")]
    has_intervals = intervals is not None and not intervals.empty
    if intervals is not None and has_intervals:
        ctx["intervals"] = intervals_context(intervals, interval_cells)
        sections.append(("uncertainty", "How firm the gaps are: intervals"))
    sections += _plan_parts(ctx, tgt, plan, equity, findings, status or meta.get("plan_status"),
                            area_tables)
    if not has_intervals:
        omitted.append("intervals on the gaps (not computed: a stored run, or --draws 0)")
    wide = plan is not None and plan["year"].nunique() > _PORTRAIT_YEARS
    ctx["sections"] = [{"id": sid, "heading": heading, "cls": _section_class(sid, wide)}
                       for sid, heading in sections]
    return _environment().get_template("report.html.j2").render(ctx)


def _plan_parts(ctx: dict[str, Any], tgt: pd.DataFrame, plan: pd.DataFrame | None,
                equity: pd.DataFrame | None, findings: Iterable[Any] | pd.DataFrame | None,
                status: Any, area_tables: bool) -> list[tuple[str, str]]:
    """The plan, equity, findings and appendix sections that the inputs allow (and notes why
    the others are missing)."""
    omitted, words = ctx["omitted"], ctx["words"]
    sections = []
    if plan is None:
        omitted.append("the multi-year plan (no plan was given)")
    else:
        ctx["plan"] = _plan_context(plan, tgt, status, ctx["meta"])
        sections.append(("plan", "The plan: pace of change"))
        if equity is None:
            equity = _compute_equity(tgt, plan, omitted)
    if equity is not None and not equity.empty:
        ctx["equity_tables"], ctx["equity_left_out"] = equity_tables(equity)
        sections.append(("equity", "Equity: how evenly posts follow need"))
    elif not any(o.startswith("equity") for o in omitted):
        omitted.append("equity metrics (none were given)")
    frame = rt.findings_frame(findings)
    if frame is not None:
        ctx["findings"] = _findings_context(frame)
        sections.append(("findings", "What holds the plan back"))
    elif plan is not None:
        omitted.append("the plan's findings (none were given)")
    if area_tables and plan is not None:
        ctx["appendix"] = _appendix(plan, tgt, omitted)
        if ctx["appendix"]:
            sections.append(("appendix", f"Appendix: pace of change by {words[0]}"))
    return sections


def _section_class(sid: str, many_years: bool) -> str:
    cls = "flowing" if sid in _FLOWING else "major"
    landscape = sid in _LANDSCAPE or (many_years and sid == "appendix")
    return f"{cls} landscape" if landscape else cls


def write_report(html_path: str | Path | None, pdf_path: str | Path | None, *,
                 targets: pd.DataFrame, plan: pd.DataFrame | None = None,
                 metadata: Mapping[str, Any] | None = None,
                 equity: pd.DataFrame | None = None,
                 findings: Iterable[Any] | pd.DataFrame | None = None,
                 status: str | None = None, area_tables: bool = True,
                 intervals: pd.DataFrame | None = None,
                 interval_cells: pd.DataFrame | None = None,
                 chromium: str | None = None, timeout: float = 180.0) -> list[Path]:
    """Write the report as HTML and/or PDF (the PDF is the HTML printed by headless Chromium).

    Returns the paths written. Each file appears atomically; if Chromium is missing or fails, a
    ``ReportError`` says why (and the HTML, when asked for, is still written first).
    """
    if html_path is None and pdf_path is None:
        raise ReportError("nothing to write: give an HTML path, a PDF path or both")
    text = build_report(targets, plan, metadata, equity=equity, findings=findings, status=status,
                        area_tables=area_tables, intervals=intervals,
                        interval_cells=interval_cells)
    written: list[Path] = []
    if html_path is not None:
        written.append(write_text(html_path, text))
    if pdf_path is not None:
        with tempfile.TemporaryDirectory(prefix="fairshare-report-") as tmp:
            source = Path(tmp) / "report.html"
            source.write_text(text, encoding="utf-8")
            written.append(html_to_pdf(source, pdf_path, chromium=chromium, timeout=timeout))
    return written


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


# --- inputs and context ------------------------------------------------------------------------


def _require(df: pd.DataFrame, columns: list[str], name: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ReportError(f"the {name} table has no column(s) {', '.join(missing)}")


def _first(df: pd.DataFrame, column: str) -> Any:
    return df[column].iloc[0] if column in df.columns and len(df) else None


def _scenario_dict(meta: Mapping[str, Any]) -> dict[str, Any]:
    scenario = meta.get("scenario")
    if isinstance(scenario, Mapping):
        return dict(scenario)
    name = scenario if isinstance(scenario, str) else meta.get("scenario_name")
    return {"name": name} if name else {}


def _is_demonstration(meta: Mapping[str, Any], tgt: pd.DataFrame) -> bool:
    for key in ("demonstration_baseline", "demonstration"):
        if meta.get(key) is not None:
            return bool(meta[key])
    baseline = _first(tgt, "basis") or _first(tgt, "baseline")  # runs saved before the rename
    return isinstance(baseline, str) and "DEMONSTRATION" in baseline


def _facts(meta: Mapping[str, Any], scenario: Mapping[str, Any], lab: RunLabel,
           words: tuple[str, str], status: Any) -> list[tuple[str, str]]:
    """The title page's key-value lines."""
    run = " ".join(str(x) for x in (meta.get("run_id") or meta.get("id") or "",
                                    f"({meta['run_name']})" if meta.get("run_name") else "") if x)
    pairs = [("Scenario", lab.scenario), ("Description", scenario.get("description")),
             ("Scenario digest", lab.digest), ("Run", run), ("Created", meta.get("created")),
             ("fairshare version", meta.get("fairshare_version")),
             ("Basis of current posts", lab.basis),
             ("Establishment", meta.get("establishment")
              if meta.get("establishment") != lab.basis else None),
             ("Whole posts by", scenario.get("apportionment")), ("Areas", words[1]),
             ("Plan status", status)]
    return [(k, str(v)) for k, v in pairs if v]


def _cards(tgt: pd.DataFrame, plan: pd.DataFrame | None,
           words: tuple[str, str]) -> list[dict[str, str]]:
    """The national headline figures, each with its unit."""
    areas = rt.area_totals(tgt)
    total, moving = tgt["current"].sum(), tgt["gap"].clip(lower=0).sum()
    giving, receiving = areas[areas["gap"] < 0], areas[areas["gap"] > 0]
    cards = [
        (count(total), "training posts in total",
         f"{tgt['specialty'].nunique()} specialties, {len(areas)} {words[1]}"),
        (count(moving), "posts would move to reach every target",
         f"{percent(moving / total if total else float('nan'), 1, sign=False)} of all posts, "
         "counted per specialty"),
        (count(len(receiving)),
         f"{words[0]} receives posts" if len(receiving) == 1 else f"{words[1]} receive posts",
         f"+{count(receiving['gap'].sum())} posts net" if len(receiving) else "none"),
        (count(len(giving)),
         f"{words[0]} gives posts" if len(giving) == 1 else f"{words[1]} give posts",
         f"{count(giving['gap'].sum())} posts net" if len(giving) else "none"),
    ]
    if plan is not None:
        moved = plan["redistribution"].clip(lower=0).sum()
        cards.append((count(moved), f"posts move by {int(plan['year'].max())} in the plan",
                      f"{percent(moved / moving if moving else float('nan'), 0, sign=False)} "
                      "of the posts that would move"))
        if "expansion" in plan.columns and int(plan["expansion"].sum()):
            cards.append((count(plan["expansion"].sum()), "time-limited expansion posts",
                          "new posts, on top of the redistribution"))
    return [{"big": b, "what": w, "note": n} for b, w, n in cards]


def _method(scenario: Mapping[str, Any], tgt: pd.DataFrame) -> dict[str, Any]:
    delta = scenario.get("deprivation_weight")
    return {"method": {
        "delta": percent(delta, 0, sign=False) if isinstance(delta, int | float) else "20%",
        "apportionment": _first(tgt, "method") or scenario.get("apportionment") or "hamilton",
        "horizon": scenario.get("horizon", 2037),
        "glide_until": scenario.get("glide_until", 2037),
        "pace": scenario.get("pace", "glide")}}


def _flatten(prefix: str, value: Any) -> list[tuple[str, Any]]:
    if isinstance(value, Mapping) and value:
        return [pair for k in value
                for pair in _flatten(f"{prefix}.{k}" if prefix else str(k), value[k])]
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


def _kind_cell(kind: str) -> Cell:
    """What a parameter is; a judgement stands out."""
    return Cell(kind, "judgement" if "judgement" in kind else "muted")


def _scenario_data(meta: Mapping[str, Any], scenario: Mapping[str, Any]) -> dict[str, Any]:
    """Every resolved parameter with its meaning, the data vintages, digests and licence."""
    notes = _parameter_descriptions()
    prov = meta.get("provenance")
    if not isinstance(prov, Mapping) or not prov:  # a run recorded before provenance was kept
        prov = run_provenance(scenario)
    rows = [[label(flat), Cell(_show_value(value)), _kind_cell(kinds_of(flat, prov)),
             Cell(notes.get(key, "") if flat == key else "", "muted")]
            for key in scenario for flat, value in _flatten(key, scenario[key])]
    params = (Table("Scenario parameters", [Cell("Parameter"), Cell("Value"), Cell("What it is"),
                                            Cell("Meaning")], rows, cls="params")
              if rows else None)
    marked = judgements(prov)
    judged = (Table("Judgements in this run: inputs chosen by a person, not taken from a public "
                    "source (change one and the numbers change)",
                    [Cell("Input"), Cell("Value"), Cell("What it rests on")],
                    [[label(k), Cell("data file" if k.startswith("data/") else _show_value(v)),
                      Cell(b)] for k, v, b in marked], cls="judgements")
              if marked else None)
    vintages = meta.get("data_vintages") or {}
    licence = meta.get("licence") or (
        "Contains public sector information licensed under the Open Government Licence v3.0 "
        "(ONS, MHCLG, NHS England). Contains OS data \u00a9 Crown copyright and database right "
        "2022/2023.")
    return {"params": params, "judged": judged,
            "vintages": Table("Data sources and vintages", [Cell("Input"),
                                                              Cell("Source and vintage")],
                              [[label(k), Cell(str(v))] for k, v in vintages.items()],
                              cls="vintages", keep=True) if vintages else None,
            "digests": [(k, str(v)[:12]) for k, v in (meta.get("input_digests") or {}).items()],
            "licence": licence}


def _plan_context(plan: pd.DataFrame, tgt: pd.DataFrame, status: Any,
                  meta: Mapping[str, Any]) -> dict[str, Any]:
    df = rt.plan_frame(plan)
    years = sorted(int(y) for y in df["year"].unique())
    statuses = dict(zip(years, years_status(years, meta), strict=True))
    start_short = int(tgt["gap"].clip(lower=0).sum())
    moved = int(df["received"].sum())
    return {"first": years[0], "last": years[-1], "years": years, "status": status,
            "moved": count(moved), "start_short": count(start_short),
            "share": percent(moved / start_short if start_short else float("nan"), 0,
                             sign=False),
            "svg": Markup(charts.plan_svg(df, tgt.groupby("area")["gap"].sum())),
            "years_table": rt.plan_year_table(df, start_short, statuses),
            "caveat": years_caveat(years, meta),
            "areas_table": rt.plan_area_table(df, tgt)}


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


def _findings_context(frame: pd.DataFrame) -> dict[str, Any] | None:
    if frame.empty:
        return None
    summary, blocks, left_out = rt.findings_tables(frame)
    return {"summary": summary, "blocks": blocks, "left_out": left_out,
            "shown": rt.FINDINGS_SHOWN}


def _appendix(plan: pd.DataFrame, tgt: pd.DataFrame,
              omitted: list[str]) -> list[tuple[str, Table]]:
    """The planners' pace-of-change table (publish.tables) for every area, one per page."""
    from fairshare.publish.tables import pace_of_change

    present = set(plan["area"])
    out = []
    for area in sorted(a for a in rt.area_totals(tgt)["area"] if a in present):
        try:
            out.append((area, rt.pace_table(area, pace_of_change(plan, tgt, area,
                                                                 keep_zeros=False))))
        except (ValueError, KeyError) as exc:
            omitted.append(f"the pace-of-change table for {area} ({exc})")
    return out


def _css_string(text: str) -> str:
    """A CSS string literal that cannot break out of its rule or the style element."""
    safe = "".join(ch if ch.isprintable() and ch not in '\\"<>' else f"\\{ord(ch):x} "
                   for ch in text)
    return f'"{safe}"'

