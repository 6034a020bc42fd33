"""What every control does, as plain functions, and their wiring into Dash.

Each view is a plain function ``view(engine, state) -> dict`` (figures as plotly dicts, tables as
DataTable columns and records), so tests and benchmarks call them directly, without a browser or
a server. ``register`` wires them to the page:

* ``sync`` keeps three things in step: the address bar's query string, the controls and the
  ``state`` store. Opening a link sets the controls from the query string; moving a control
  writes the query string. Every view reads only ``state``.
* Each view runs only when its tab is showing and only when something it depends on changed
  (a small per-view key store in the browser remembers what it last drew), so moving δ while
  on the map recomputes the map and its table, not the plan.

Callbacks keep no state on the server; the engine's caches only remember results of the core.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from fairshare.analysis import equity
from fairshare.errors import FairshareError
from fairshare.webapp import figures
from fairshare.webapp.engine import Engine
from fairshare.webapp.state import (
    ALL,
    SCENARIO_KEYS,
    TARGET_KEYS,
    clean_state,
    key_of,
    normalised_weights,
    query_to_state,
    state_to_query,
)

log = logging.getLogger("fairshare.webapp")

#: (state key, component id, property): every control whose value is part of the page's state.
CONTROLS: list[tuple[str, str, str]] = [
    ("tab", "tabs", "value"),
    ("specialty", "specialty", "value"),
    ("level", "level", "value"),
    ("delta", "delta", "value"),
    ("weights_mode", "weights-mode", "value"),
    ("w_core", "w-core", "value"),
    ("w_specialty", "w-specialty", "value"),
    ("w_future", "w-future", "value"),
    ("sigma_mode", "sigma-mode", "value"),
    ("sigma", "sigma", "value"),
    ("projection_year", "projection-year", "value"),
    ("variant", "variant", "value"),
    ("method", "method", "value"),
    ("horizon", "horizon", "value"),
    ("pace_cap", "pace-cap", "value"),
    ("expansion", "expansion", "value"),
    ("area", "area", "value"),
    ("year", "year", "value"),
    ("compare", "compare", "value"),
    ("draws", "draws", "value"),
]
KEYS = [k for k, _, _ in CONTROLS]

#: What each view depends on (it is redrawn only when one of these changes).
VIEW_KEYS: dict[str, tuple[str, ...]] = {
    "map": (*TARGET_KEYS, "specialty", "level", "area"),
    "plan": (*SCENARIO_KEYS, "specialty", "area"),
    "deanery": (*SCENARIO_KEYS, "area", "year"),
    "compare": (*TARGET_KEYS, "specialty", "level", "compare"),
    "uncertainty": (*TARGET_KEYS, "specialty", "draws"),
    "equity": (*SCENARIO_KEYS, "specialty"),
    "report": (*SCENARIO_KEYS, "specialty", "level", "area", "year"),
}

GIVES, RECEIVES = "#b35806", "#542788"

PLAN_NOTE = ("Redistribution moves posts only when they fall vacant at recruitment, within each "
             "receiving area's supervision capacity; it never moves a current trainee.")


class ViewError(Exception):
    """A message for the planner instead of a figure (bad parameters, nothing to show)."""


# --------------------------------------------------------------------------------------------
# State <-> URL <-> controls
# --------------------------------------------------------------------------------------------

def _same(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return abs(float(a) - float(b)) < 1e-9
    return bool(a == b)


def controls_to_state(engine: Engine, values: dict[str, Any]) -> dict[str, Any]:
    """The state the controls describe (unusable values replaced by defaults)."""
    return clean_state(values, specialties=engine.specialties, areas=engine.local_offices)


def state_to_controls(state: dict[str, Any]) -> list[Any]:
    """Control values, in ``CONTROLS`` order."""
    return [state[k] for k in KEYS]


def sync(engine: Engine, trigger: str | None, search: str | None,
         values: Sequence[Any], click: dict[str, Any] | None = None
         ) -> tuple[str | None, dict[str, Any], list[Any]]:
    """(new query string or None, state, control values or None each where unchanged).

    ``trigger`` is the id of what changed: None (first load) or "url" read the query string
    into the controls; a control id writes the controls into the query string; "map" (a click
    on an area) picks that area for the plan and tables.
    """
    known = {"specialties": engine.specialties, "areas": engine.local_offices}
    if trigger in (None, "url"):
        state = query_to_state(search, **known)
        canonical = state_to_query(state)
        return (canonical if canonical != (search or "") else None), state, \
            state_to_controls(state)
    raw = dict(zip(KEYS, values, strict=True))
    if trigger == "map":
        area = area_from_click(engine, raw.get("level"), click)
        if area:
            raw["area"] = area
    state = clean_state(raw, **known)
    fixes = [state[k] if (trigger == "map" and k == "area") or not _same(state[k], raw[k])
             else None for k in KEYS]
    query = state_to_query(state)
    return (query if query != (search or "") else None), state, fixes


def area_from_click(engine: Engine, level: str | None, click: dict[str, Any] | None) -> str | None:
    """The local office of a clicked map area (an ICB's main local office), if any."""
    if not click or not click.get("points") or level not in ("local_office", "icb"):
        return None
    curve = click["points"][0].get("curveNumber")
    geo = figures.shapes(level)
    if not isinstance(curve, int) or not 0 <= curve < len(geo):
        return None
    code = geo[curve]["code"]
    if level == "local_office":
        return str(geo[curve]["name"])
    pieces = engine.bundle.icb_local_office
    pieces = pieces[pieces["icb_code"] == code].sort_values("share", ascending=False)
    return str(pieces["local_office"].iloc[0]) if len(pieces) else None


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------

_FORMATS: dict[str, dict[str, Any]] = {
    "int": {"specifier": ","},
    "signed": {"specifier": "+,"},
    "one": {"specifier": ",.1f"},
    "pct": {"specifier": "+.1%"},
    "share": {"specifier": ".0%"},
    "prob": {"specifier": ".0%"},
    "three": {"specifier": ".3f"},
}


def columns_spec(spec: Sequence[tuple[str, str, str | None]]) -> list[dict[str, Any]]:
    """DataTable columns from (id, heading, format or None for text)."""
    out = []
    for col, name, fmt in spec:
        c: dict[str, Any] = {"id": col, "name": name}
        if fmt:
            c["type"] = "numeric"
            c["format"] = {"locale": {}, "nully": "–", "prefix": None, **_FORMATS[fmt]}
        out.append(c)
    return out


def records(df: pd.DataFrame, spec: Sequence[tuple[str, str, str | None]]) -> list[dict[str, Any]]:
    """JSON-safe records of the spec's columns (NaN as None, numpy scalars as Python)."""
    cols = [c for c, _, _ in spec if c in df.columns]
    out = df[cols].astype(object).where(df[cols].notna(), None)
    return [{k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}
            for row in out.to_dict("records")]


def _table(df: pd.DataFrame, spec: Sequence[tuple[str, str, str | None]]) -> dict[str, Any]:
    spec = [s for s in spec if s[0] in df.columns]
    return {"columns": columns_spec(spec), "data": records(df, spec)}


def _plain_table(df: pd.DataFrame) -> dict[str, Any]:
    """A planner's layout (tables.one_year, pace_of_change, ...) as it is, numbers signed."""
    spec = []
    for col in df.columns:
        numeric = pd.api.types.is_numeric_dtype(df[col])
        signed = col not in ("Previous", "Current")
        spec.append((str(col), str(col), ("signed" if signed else "int") if numeric else None))
    out = df.copy()
    out.columns = [str(c) for c in out.columns]
    return _table(out, spec)


TARGET_COLUMNS: list[tuple[str, str, str | None]] = [
    ("area", "Area", None),
    ("area_code", "Code", None),
    ("region", "Region", None),
    ("current", "Current posts", "int"),
    ("fair_share", "Fair share", "one"),
    ("target_fractional", "Target (before whole posts)", "one"),
    ("target", "Target", "int"),
    ("gap", "Gap (target − current)", "signed"),
    ("distance", "Distance from target", "pct"),
    ("side", "Gives / receives", None),
    ("population_share_posts", "Plain population share", "one"),
    ("effect_need", "+ age and need", "one"),
    ("effect_projection", "+ projected demand", "one"),
    ("effect_deprivation", "+ deprivation", "one"),
    ("effect_specialised", "+ specialised kept", "one"),
    ("effect_rounding", "+ whole posts", "one"),
]


def table_styles(gap_column: str = "gap") -> list[dict[str, Any]]:
    """Gives / receives coloured (with the words, never colour alone)."""
    return [
        {"if": {"filter_query": f"{{{gap_column}}} > 0", "column_id": gap_column},
         "color": RECEIVES, "fontWeight": "600"},
        {"if": {"filter_query": f"{{{gap_column}}} < 0", "column_id": gap_column},
         "color": GIVES, "fontWeight": "600"},
        {"if": {"filter_query": '{side} = "receives"', "column_id": "side"}, "color": RECEIVES},
        {"if": {"filter_query": '{side} = "gives"', "column_id": "side"}, "color": GIVES},
    ]


# --------------------------------------------------------------------------------------------
# Views (plain functions of the state)
# --------------------------------------------------------------------------------------------

def _scenario(engine: Engine, state: dict[str, Any]) -> Any:
    try:
        return engine.scenario(state)
    except (ValueError, FairshareError) as exc:
        raise ViewError(f"These parameters cannot be used: {_short_error(exc)}") from exc


def _short_error(exc: BaseException) -> str:
    text = str(exc).strip()
    if "validation error" in text:  # pydantic: keep the messages, drop the URLs
        lines = [ln.strip() for ln in text.splitlines()[1:]
                 if ln.strip() and not ln.strip().startswith("For further")]
        text = "; ".join(lines)
    return text


def short_area(name: str) -> str:
    """"NHS Sussex Integrated Care Board" -> "Sussex ICB" (readable on a map and a projector)."""
    text = str(name)
    if text.endswith(" Integrated Care Board"):
        text = text.removeprefix("NHS ").removesuffix(" Integrated Care Board") + " ICB"
    return text


def _display(df: pd.DataFrame) -> pd.DataFrame:
    """Area names as shown on screen (the downloads keep the official names)."""
    if "area" in df.columns and df["area"].astype(str).str.endswith(" Board").any():
        df = df.copy()
        df["area"] = df["area"].map(short_area)
    return df


def _with_side(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    df["side"] = [figures.side(g) for g in df["gap"]]
    return df


def area_summary(engine: Engine, scenario: Any, state: dict[str, Any]) -> dict[str, Any]:
    """The chosen local office's figures for the chosen specialty (or all specialties)."""
    rows = engine.area_view(scenario, "local_office", state["specialty"])
    row = rows[rows["area"] == state["area"]]
    if row.empty:
        raise ViewError(f"{state['area']} has no figures for {state['specialty']}")
    r = row.iloc[0]
    return {"area": state["area"], "specialty": state["specialty"],
            "current": int(r["current"]), "fair_share": float(r["fair_share"]),
            "target": int(r["target"]), "gap": int(r["gap"]),
            "distance": None if pd.isna(r["distance"]) else float(r["distance"]),
            "side": figures.side(int(r["gap"]))}


def targets_view(engine: Engine, state: dict[str, Any]) -> dict[str, Any]:
    """The map tab: choropleth of distance from target, the targets table, the area summary."""
    scenario = _scenario(engine, state)
    level, spec = state["level"], state["specialty"]
    try:
        rows = _display(engine.area_view(scenario, level, spec))
        summary = area_summary(engine, scenario, state)
    except (ValueError, FairshareError) as exc:
        raise ViewError(_short_error(exc)) from exc
    title = (f"{spec}: distance from target by {figures.LEVEL_NAMES[level]}"
             f" (δ = {scenario.deprivation_weight:g}, {scenario.apportionment})")
    selected = state["area"] if level == "local_office" else None
    fig = figures.distance_map(rows, level, title, selected)
    ordered = _with_side(rows).sort_values("distance", na_position="last")
    return {"figure": fig, "shapes": fig["layout"]["meta"]["shapes"], "level": level,
            "table": _table(ordered, TARGET_COLUMNS), "summary": summary,
            "weights": normalised_weights(state), "scenario": scenario.resolved(),
            "estimated_current": "current_basis" in rows.columns
            and str(rows["current_basis"].iloc[0]).startswith("estimated")}


def plan_view(engine: Engine, state: dict[str, Any]) -> dict[str, Any]:
    """The plan chart: the chosen area's moves per year for the chosen specialty (or all)."""
    scenario = _scenario(engine, state)
    spec, area = state["specialty"], state["area"]
    try:
        table, result = engine.specialty_plan(scenario, spec)
    except (ValueError, FairshareError) as exc:
        raise ViewError(f"The plan could not be made: {_short_error(exc)}") from exc
    rows = table[table["area"] == area]
    if rows.empty:
        raise ViewError(f"{area} has no plan rows for {spec}")
    by_year = rows.groupby("year", as_index=False)[
        ["redistribution", "expansion", "net", "remaining_gap", "posts", "target"]].sum()
    first = rows[rows["year"] == rows["year"].min()]
    start_gap = int((first["target"] - first["posts"] + first["net"]).sum())
    moved = int(by_year["redistribution"].sum())
    left = int(by_year["remaining_gap"].iloc[-1])
    what = "all specialties added up" if spec == ALL else spec
    title = f"{area}: {what}, moves per year and the gap still open"
    findings = [f for f in getattr(result, "findings", [])
                if f.area in (area, "England") and (spec == ALL or f.specialty == spec)]
    return {"figure": figures.plan_chart(by_year, title),
            "status": str(getattr(result, "status", "")), "start_gap": start_gap,
            "moved": moved, "remaining": left, "horizon": int(scenario.horizon),
            "findings": [str(f) for f in findings[:50]], "by_year": by_year}


def deanery_view(engine: Engine, state: dict[str, Any]) -> dict[str, Any]:
    """The deanery tables: the area's one-year table and its pace of change (whole plan)."""
    from fairshare.publish.excel import default_year
    from fairshare.publish.tables import one_year, pace_of_change

    scenario = _scenario(engine, state)
    area = state["area"]
    try:
        out = engine.full_plan(scenario)
        year = int(state["year"]) or default_year(out.plan)
        one = one_year(out.plan, area, year)
        pace = pace_of_change(out.plan, out.targets, area)
    except (ValueError, FairshareError) as exc:
        raise ViewError(f"The plan tables could not be made: {_short_error(exc)}") from exc
    findings = [str(f) for f in out.findings if f.area == area][:50]
    return {"year": year, "one_year": _plain_table(one), "pace": _plain_table(pace),
            "status": out.status, "findings": findings,
            "one_year_frame": one, "pace_frame": pace}


def compare_view(engine: Engine, state: dict[str, Any]) -> dict[str, Any]:
    """This view against a reference scenario or stored run: change map, tables, what differs."""
    from fairshare.store.compare import compare_tables, explain, school_table

    scenario = _scenario(engine, state)
    level, spec = state["level"], state["specialty"]
    try:
        current = engine.targets(scenario, level, spec)
        previous, prev_meta, label = engine.reference_targets(state["compare"], level, spec)
        keys = ("area_code", "area", "specialty")
        table = compare_tables(previous, current, keys=keys, values=("current", "target", "gap"))
    except (ValueError, FairshareError) as exc:
        raise ViewError(f"The comparison could not be made: {_short_error(exc)}") from exc
    per_area = _display(table).groupby(["area_code", "area"], as_index=False, sort=False)[
        ["target_previous", "target_current", "target_change", "gap_previous",
         "gap_current"]].sum()
    title = f"{spec}: change in target, this view − {label}"
    fig = figures.change_map(per_area, level, title, "this view", label)
    # a scenario's name and description label it; they cannot explain a change in numbers
    lines = [line for line in explain(prev_meta, engine.metadata(scenario))
             if not line.startswith(("name:", "description:"))]
    per_area = per_area.sort_values("target_change")
    spec_cols: list[tuple[str, str, str | None]] = [
        ("area", "Area", None), ("area_code", "Code", None),
        ("target_previous", f"Target: {label}", "int"), ("target_current", "Target: this view",
                                                         "int"),
        ("target_change", "Change", "signed"), ("gap_previous", f"Gap: {label}", "signed"),
        ("gap_current", "Gap: this view", "signed")]
    return {"figure": fig, "shapes": fig["layout"]["meta"]["shapes"],
            "table": _table(per_area, spec_cols),
            "school": _plain_table(school_table(table, "target")),
            "explanation": lines, "label": label, "frame": table}


def uncertainty_view(engine: Engine, state: dict[str, Any]) -> dict[str, Any]:
    """Monte Carlo intervals on each local office's target for the chosen specialty."""
    scenario = _scenario(engine, state)
    spec, draws = state["specialty"], int(state["draws"])
    try:
        mc = engine.intervals(scenario, draws)
    except (ValueError, FairshareError) as exc:
        raise ViewError(f"The intervals could not be made: {_short_error(exc)}") from exc
    notes = list(mc.attrs.get("notes", []))
    cols: list[tuple[str, str, str | None]] = [
        ("specialty", "Specialty", None), ("area", "Local office", None),
        ("current", "Current", "int"), ("target", "Target", "int"),
        ("target_p5", "Target 5%", "one"), ("target_p50", "Target 50%", "one"),
        ("target_p95", "Target 95%", "one"), ("gap_p5", "Gap 5%", "signed"),
        ("gap_p95", "Gap 95%", "signed"), ("p_gives", "P(gives)", "prob"),
        ("p_receives", "P(receives)", "prob")]
    if spec == ALL:
        unsure = mc[(mc["p_gives"] > 0.05) & (mc["p_receives"] > 0.05)]
        figure = figures.empty_figure(
            f"{len(unsure)} specialty × local office pairs could give or receive (both "
            f"more than 5% likely). Choose one specialty to see its intervals.")
        return {"figure": figure, "table": _table(unsure, cols), "notes": notes,
                "draws": draws}
    rows = mc[mc["specialty"] == spec]
    if rows.empty:
        raise ViewError(f"no intervals for {spec}")
    figure = figures.interval_chart(
        rows, f"{spec}: 5–95% interval of each local office's target ({draws:,} draws)")
    return {"figure": figure, "table": _table(rows.sort_values("area"), cols[1:]),
            "notes": notes, "draws": draws}


EQUITY_COLUMNS: list[tuple[str, str, str | None]] = [
    ("stage", "Stage", None), ("year", "Year", None), ("gini", "Gini", "three"),
    ("cv", "Coefficient of variation", "three"), ("max_distance", "Max distance", "pct"),
    ("min_distance", "Min distance", "pct"), ("share_within_5pct", "Areas within ±5%", "share"),
    ("areas", "Areas", "int"), ("posts", "Posts", "int")]


def equity_view(engine: Engine, state: dict[str, Any]) -> dict[str, Any]:
    """Equity of posts per weighted need across local offices, before, during and after the plan.

    ``analysis.equity.equity_before_after`` on the whole plan; the rows shown are the chosen
    specialty's, or the all-specialty ("All") rows.
    """
    scenario = _scenario(engine, state)
    spec = state["specialty"]
    try:
        out = engine.full_plan(scenario)
        table = engine.equity(scenario)
        label = equity.ALL if spec == ALL else spec
        checks = [m for m in engine.equity_checks(scenario) if f" for {label} rises " in m]
    except (ValueError, FairshareError) as exc:
        raise ViewError(f"The equity metrics could not be made: {_short_error(exc)}") from exc
    rows = table[table["specialty"] == label].reset_index(drop=True)
    if rows.empty:
        raise ViewError(f"no equity figures for {spec}")
    title = (f"Equity of posts per weighted need across local offices: "
             f"{'all specialties' if spec == ALL else spec}")
    figure = figures.equity_chart(rows, title)
    return {"figure": figure, "table": _table(rows, EQUITY_COLUMNS), "checks": checks[:20],
            "status": out.status, "frame": rows}


def report_view(engine: Engine, state: dict[str, Any]) -> dict[str, Any]:
    """Everything the printable report shows, as data (the layout is ``report_children``)."""
    scenario = _scenario(engine, state)
    targets = targets_view(engine, state)
    plan: dict[str, Any] | None
    deanery: dict[str, Any] | None
    try:
        plan = plan_view(engine, state)
    except ViewError as exc:
        plan = {"error": str(exc)}
    try:
        deanery = deanery_view(engine, state)
    except ViewError as exc:
        deanery = {"error": str(exc)}
    return {"scenario": scenario.resolved(), "targets": targets, "plan": plan,
            "deanery": deanery, "created": datetime.now(UTC).strftime("%d %B %Y %H:%M UTC"),
            "establishment": engine.bundle.posts_label}


# --------------------------------------------------------------------------------------------
# Downloads
# --------------------------------------------------------------------------------------------

def excel_download(engine: Engine, state: dict[str, Any]) -> tuple[str, bytes]:
    """(file name, bytes) of the run's Excel workbook for the current parameters."""
    scenario = _scenario(engine, state)
    return f"fairshare-{scenario.digest()}.xlsx", engine.workbook_bytes(scenario)


def targets_csv(engine: Engine, state: dict[str, Any]) -> tuple[str, str]:
    """(file name, text) of the targets table at the current level, every specialty."""
    scenario = _scenario(engine, state)
    table = engine.targets(scenario, state["level"], ALL)
    return (f"fairshare-targets-{state['level']}-{scenario.digest()}.csv",
            table.to_csv(index=False, float_format="%.6f"))


def plan_csv(engine: Engine, state: dict[str, Any]) -> tuple[str, str]:
    """(file name, text) of the whole plan (every local office, specialty and year)."""
    scenario = _scenario(engine, state)
    out = engine.full_plan(scenario)
    return f"fairshare-plan-{scenario.digest()}.csv", out.plan.to_csv(index=False)


def report_html(engine: Engine, state: dict[str, Any]) -> tuple[str, str]:
    """(file name, text) of the self-contained HTML report (``fairshare.publish.report``)."""
    from fairshare.publish.report import build_report

    scenario = _scenario(engine, state)
    out = engine.full_plan(scenario)
    meta = engine.metadata(scenario, plan_status=out.status)
    text = build_report(out.targets, out.plan, meta, findings=out.findings, status=out.status)
    return f"fairshare-report-{scenario.digest()}.html", text


# --------------------------------------------------------------------------------------------
# Dash wiring
# --------------------------------------------------------------------------------------------

def _message(text: str) -> Any:
    from dash import html

    return html.Div(text, className="alert")


def _summary_children(s: dict[str, Any], estimated: bool) -> Any:
    from dash import html

    dist = "–" if s["distance"] is None else f"{s['distance']:+.1%}".replace("-", "−")
    colour = {"gives": GIVES, "receives": RECEIVES}.get(s["side"], "#333")
    return html.Div(id="area-summary", className="summary-box", **{
        "data-area": s["area"], "data-specialty": s["specialty"],
        "data-target": str(s["target"]), "data-current": str(s["current"])}, children=[
        html.Span(f"{s['area']} · {s['specialty']}", className="summary-name"),
        html.Span(["Current ", html.B(f"{s['current']:,}", id="summary-current")]),
        html.Span(["Fair share ", html.B(f"{s['fair_share']:,.1f}")]),
        html.Span(["Target ", html.B(f"{s['target']:,}", id="summary-target")]),
        html.Span(["Gap ", html.B(f"{s['gap']:+,}".replace("-", "−"), style={"color": colour}),
                   f" ({s['side']})"]),
        html.Span(["Distance ", html.B(dist)]),
        html.Span("ICB current posts are estimated from local-office posts by population."
                  if estimated else "", className="hint"),
    ])


def _signed_text(n: int) -> str:
    return "0" if n == 0 else f"{n:+,}".replace("-", "−")


def _findings(lines: list[str], status: str) -> Any:
    from dash import html

    if not lines:
        return html.P(f"Plan status: {status}. No constraint findings for this area.",
                      className="hint")
    return html.Details(open=False, children=[
        html.Summary(f"Plan status: {status}. {len(lines)} finding(s) for this area"),
        html.Ul([html.Li(line) for line in lines])])


def report_children(engine: Engine, data: dict[str, Any]) -> list[Any]:
    """The printable report page."""
    from dash import dcc, html

    sc = data["scenario"]
    t = data["targets"]
    params = [("Specialty", t["summary"]["specialty"]), ("Level", t["level"]),
              ("Deprivation weight δ", sc["deprivation_weight"]),
              ("Component weights", sc["weights"] or "catalogue (per specialty)"),
              ("Specialised share σ", "catalogue" if sc["specialised_share"] is None
               else sc["specialised_share"]),
              ("Projection", f"{sc['projection_year'] or 'programme end'}, "
                             f"{sc['projection_variant']}"),
              ("Apportionment", sc["apportionment"]),
              ("Plan", f"{sc['plan_start']}–{sc['horizon']}, pace cap "
                       f"{sc['pace_cap'] if sc['pace_cap'] else 'none'}"),
              ("Establishment", data["establishment"])]
    out: list[Any] = [
        html.H1(f"fairshare report: {t['summary']['specialty']}"),
        html.P(f"Made {data['created']} with the fairshare web app.", className="hint"),
    ]
    out.append(html.P(f"Establishment: {data['establishment']}", className="hint"))
    out.append(html.Table(className="params", children=[
        html.Tbody([html.Tr([html.Th(k), html.Td(str(v))]) for k, v in params])]))
    fig = dict(t["figure"])
    fig["layout"] = {**fig["layout"], "height": 640, "dragmode": False}
    out += [html.H2("Distance from target"),
            dcc.Graph(figure=fig, config={"staticPlot": True}, className="report-map"),
            html.H2("Targets by area"), _static_table(t["table"])]
    plan, deanery = data["plan"], data["deanery"]
    out.append(html.H2(f"Plan: {t['summary']['area']}"))
    if plan and "error" not in plan:
        out += [dcc.Graph(figure=plan["figure"], config={"staticPlot": True}),
                html.P(PLAN_NOTE, className="hint")]
    elif plan:
        out.append(html.P(plan["error"], className="alert"))
    if deanery and "error" not in deanery:
        out += [html.H3(f"{t['summary']['area']}: changes to training posts in "
                        f"{deanery['year']}"), _static_table(deanery["one_year"])]
    elif deanery:
        out.append(html.P(deanery["error"], className="alert"))
    out.append(html.P("Contains public sector information licensed under the Open Government "
                      "Licence v3.0. Contains OS data © Crown copyright and database right "
                      "2022/2023.", className="hint"))
    return out


def _static_table(payload: dict[str, Any]) -> Any:
    """A plain HTML table (prints cleanly, unlike an interactive one)."""
    from dash import html

    cols = payload["columns"]

    def cell(value: Any, col: dict[str, Any]) -> str:
        if value is None:
            return "–"
        spec = (col.get("format") or {}).get("specifier")
        if spec and isinstance(value, int | float):
            return format(value, spec).replace("-", "−")
        return str(value)

    return html.Table(className="static", children=[
        html.Thead(html.Tr([html.Th(c["name"]) for c in cols])),
        html.Tbody([html.Tr([html.Td(cell(row.get(c["id"]), c)) for c in cols])
                    for row in payload["data"]])])


def _guard(name: str, state: dict[str, Any] | None, last: str | None) -> str:
    """The view's key, or PreventUpdate when its tab is hidden or nothing it uses changed."""
    from dash.exceptions import PreventUpdate

    if not state:
        raise PreventUpdate
    tab = "plan" if name == "deanery" else name
    if state.get("tab") != tab:
        raise PreventUpdate
    key = key_of(state, VIEW_KEYS[name])
    if key == last:
        raise PreventUpdate
    return key


def _failure(name: str, exc: Exception) -> str:
    if isinstance(exc, ViewError):
        return str(exc)
    log.error("%s view failed:\n%s", name, traceback.format_exc())
    return f"Something went wrong drawing this view ({type(exc).__name__}: {exc})."


def register(app: Any, engine: Engine) -> None:
    """Attach every callback to ``app``."""
    from dash import Input, Output, State, ctx, dcc, html, no_update

    def nu(v: Any) -> Any:
        return no_update if v is None else v

    @app.callback(
        Output("url", "search"), Output("state", "data"),
        *[Output(cid, prop) for _, cid, prop in CONTROLS],
        Input("url", "search"), Input("map", "clickData"),
        *[Input(cid, prop) for _, cid, prop in CONTROLS],
    )
    def _sync(search: str | None, click: Any, *values: Any) -> tuple[Any, ...]:
        trigger = ctx.triggered_id
        query, state, controls = sync(engine, trigger, search, values, click)
        return (nu(query), state, *[nu(v) for v in controls])

    @app.callback(Output("weights-box", "className"), Output("weights-note", "children"),
                  Output("sigma", "disabled"), Input("state", "data"))
    def _weights(state: dict[str, Any] | None) -> tuple[Any, ...]:
        if not state:
            return "subgroup", "", True
        custom = state.get("weights_mode") == "custom"
        note = ""
        if custom:
            try:
                w = normalised_weights(state)
                assert w is not None
                note = f"Used (scaled to sum to 1): core {w[0]:.2f}, specialty {w[1]:.2f}, " \
                       f"future {w[2]:.2f}"
            except ValueError as exc:
                note = str(exc)
        return ("subgroup" if custom else "subgroup off"), note, \
            state.get("sigma_mode") != "custom"

    @app.callback(
        Output("map", "figure"), Output("map-info-wrap", "children"),
        Output("targets-table", "columns"), Output("targets-table", "data"),
        Output("targets-table", "style_data_conditional"),
        Output("summary", "children"), Output("map-message", "children"),
        Output("targets-title", "children"), Output("map-key", "data"),
        Input("state", "data"), State("map-key", "data"))
    def _map(state: dict[str, Any] | None, last: str | None) -> tuple[Any, ...]:
        key = _guard("map", state, last)
        assert state is not None
        try:
            v = targets_view(engine, state)
        except Exception as exc:
            return (figures.empty_figure("No map: see the message above."), None, [], [],
                    [], None, _message(_failure("map", exc)), "Targets by area", key)
        info = html.Div(id="map-info", className="hint", **{
            "data-shapes": str(v["shapes"]), "data-level": v["level"]},
            children=f"{v['shapes']} {figures.LEVEL_PLURALS[v['level']]} drawn. Hover an area "
                     "for its figures; click one to pick it for the plan; scroll to zoom.")
        title = f"Targets by {figures.LEVEL_NAMES[v['level']]}: {state['specialty']}"
        return (v["figure"], info, v["table"]["columns"], v["table"]["data"], table_styles(),
                _summary_children(v["summary"], v["estimated_current"]), None, title, key)

    @app.callback(
        Output("plan-graph", "figure"), Output("plan-status", "children"),
        Output("plan-message", "children"), Output("plan-key", "data"),
        Input("state", "data"), State("plan-key", "data"))
    def _plan(state: dict[str, Any] | None, last: str | None) -> tuple[Any, ...]:
        key = _guard("plan", state, last)
        assert state is not None
        try:
            v = plan_view(engine, state)
        except Exception as exc:
            return (figures.empty_figure("No plan chart."), None,
                    _message(_failure("plan", exc)), key)
        status = html.P(className="status-line", children=[
            f"Gap at the start: {_signed_text(v['start_gap'])} posts. Moved by "
            f"{v['horizon']}: {_signed_text(v['moved'])}. Still open at {v['horizon']}: "
            f"{_signed_text(v['remaining'])}. ",
            html.Span(PLAN_NOTE, className="hint")])
        return v["figure"], status, None, key

    @app.callback(
        Output("one-year-title", "children"), Output("one-year-table", "columns"),
        Output("one-year-table", "data"), Output("pace-title", "children"),
        Output("pace-table", "columns"), Output("pace-table", "data"),
        Output("findings", "children"), Output("deanery-key", "data"),
        Input("state", "data"), State("deanery-key", "data"))
    def _deanery(state: dict[str, Any] | None, last: str | None) -> tuple[Any, ...]:
        key = _guard("deanery", state, last)
        assert state is not None
        try:
            v = deanery_view(engine, state)
        except Exception as exc:
            return (_message(_failure("deanery", exc)), [], [], "", [], [], None, key)
        area = state["area"]
        return (f"{area}: changes to training posts in {v['year']}",
                v["one_year"]["columns"], v["one_year"]["data"],
                f"{area}: pace of change (redistribution by year)",
                v["pace"]["columns"], v["pace"]["data"],
                _findings(v["findings"], v["status"]), key)

    @app.callback(
        Output("compare-map", "figure"), Output("compare-explain", "children"),
        Output("compare-table", "columns"), Output("compare-table", "data"),
        Output("compare-school", "columns"), Output("compare-school", "data"),
        Output("compare-message", "children"), Output("compare-key", "data"),
        Input("state", "data"), State("compare-key", "data"))
    def _compare(state: dict[str, Any] | None, last: str | None) -> tuple[Any, ...]:
        key = _guard("compare", state, last)
        assert state is not None
        try:
            v = compare_view(engine, state)
        except Exception as exc:
            return (figures.empty_figure("No comparison."), None, [], [], [], [],
                    _message(_failure("compare", exc)), key)
        lines = v["explanation"]
        explain = html.Div(className="explain", children=[
            html.H3("What differs"),
            html.Ul([html.Li(x) for x in lines]) if lines else
            html.P("Nothing: the same parameters, inputs and version.")])
        return (v["figure"], explain, v["table"]["columns"], v["table"]["data"],
                v["school"]["columns"], v["school"]["data"], None, key)

    @app.callback(
        Output("uncertainty-graph", "figure"), Output("uncertainty-notes", "children"),
        Output("uncertainty-table", "columns"), Output("uncertainty-table", "data"),
        Output("uncertainty-message", "children"), Output("uncertainty-key", "data"),
        Input("state", "data"), State("uncertainty-key", "data"))
    def _uncertainty(state: dict[str, Any] | None, last: str | None) -> tuple[Any, ...]:
        key = _guard("uncertainty", state, last)
        assert state is not None
        try:
            v = uncertainty_view(engine, state)
        except Exception as exc:
            return (figures.empty_figure("No intervals."), None, [], [],
                    _message(_failure("uncertainty", exc)), key)
        notes = ["Seeded Monte Carlo (seed 0) over δ, component weights, σ and ONS projection "
                 "variants; every draw keeps each specialty's national total. Intervals are "
                 "for local offices.", *v["notes"]]
        return (v["figure"], html.Ul([html.Li(n) for n in notes]), v["table"]["columns"],
                v["table"]["data"], None, key)

    @app.callback(
        Output("equity-graph", "figure"), Output("equity-table", "columns"),
        Output("equity-table", "data"), Output("equity-message", "children"),
        Output("equity-key", "data"),
        Input("state", "data"), State("equity-key", "data"))
    def _equity(state: dict[str, Any] | None, last: str | None) -> tuple[Any, ...]:
        key = _guard("equity", state, last)
        assert state is not None
        try:
            v = equity_view(engine, state)
        except Exception as exc:
            return (figures.empty_figure("No equity metrics to show."), [], [],
                    _message(_failure("equity", exc)), key)
        note = None
        if v["checks"]:
            note = html.Details(className="alert", children=[
                html.Summary(f"{len(v['checks'])} year(s) in which the plan raises inequality "
                             "(why, per area)"),
                html.Ul([html.Li(m) for m in v["checks"]])])
        return v["figure"], v["table"]["columns"], v["table"]["data"], note, key

    @app.callback(Output("report", "children"), Output("report-key", "data"),
                  Input("state", "data"), State("report-key", "data"))
    def _report(state: dict[str, Any] | None, last: str | None) -> tuple[Any, ...]:
        key = _guard("report", state, last)
        assert state is not None
        try:
            return report_children(engine, report_view(engine, state)), key
        except Exception as exc:
            return _message(_failure("report", exc)), key

    @app.callback(Output("download", "data"), Output("dl-status", "children"),
                  Input("dl-excel", "n_clicks"), Input("dl-targets", "n_clicks"),
                  Input("dl-plan", "n_clicks"), Input("dl-report", "n_clicks"),
                  State("state", "data"), prevent_initial_call=True)
    def _download(_x: int, _t: int, _p: int, _r: int,
                  state: dict[str, Any] | None) -> tuple[Any, ...]:
        if not state:
            return no_update, "The page is still loading."
        try:
            if ctx.triggered_id == "dl-excel":
                name, content = excel_download(engine, state)
                return dcc.send_bytes(content, name), f"{name} ready."
            if ctx.triggered_id == "dl-targets":
                name, text = targets_csv(engine, state)
            elif ctx.triggered_id == "dl-report":
                name, text = report_html(engine, state)
            else:
                name, text = plan_csv(engine, state)
            return dcc.send_string(text, name), f"{name} ready."
        except Exception as exc:
            return no_update, _failure("download", exc)

    app.clientside_callback(
        "function(n) { if (n) { window.print(); } return ''; }",
        Output("print-done", "children"), Input("print", "n_clicks"),
        prevent_initial_call=True)
