"""The page: a control panel (every scenario parameter) beside tabs of maps, plans and tables.

Every control has a visible label tied to it, lives in the normal tab order and works from the
keyboard (sliders take arrow keys, Home/End and typed values). Controls only set values: what is
drawn comes from the callbacks, which read the one ``state`` store, so the address bar always
describes exactly what is on screen.
"""

from __future__ import annotations

import warnings
from typing import Any

from dash import dash_table, dcc, html

from fairshare.webapp.engine import Engine
from fairshare.webapp.state import (
    ALL,
    DEFAULTS,
    HORIZON_MAX,
    HORIZON_MIN,
    METHODS,
    VARIANTS,
    YEAR_MAX,
    YEAR_MIN,
)

METHOD_LABELS = {
    "hamilton": "Largest remainder (Hamilton)",
    "webster": "Webster / Sainte-Laguë",
    "huntington-hill": "Huntington-Hill",
    "dhondt": "D'Hondt / Jefferson",
    "adams": "Adams",
}
LEVEL_LABELS = {"icb": "ICB (42)", "local_office": "Local office (11)", "region": "NHS region (7)"}

GRAPH_CONFIG: Any = {
    "displaylogo": False,
    "scrollZoom": True,
    "responsive": True,
    "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"],
    "toImageButtonOptions": {"format": "png", "filename": "fairshare", "scale": 2},
}

FONT_STACK = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"

#: The maps fill most of the screen's height: a laptop sees all of England without scrolling,
#: a projector gets a big map.
MAP_STYLE = {"height": "68vh", "minHeight": "440px"}

TABLE_STYLE: dict[str, Any] = {
    "style_table": {"overflowX": "auto", "maxHeight": "70vh", "overflowY": "auto"},
    "style_cell": {"fontFamily": FONT_STACK, "fontSize": "0.95rem", "padding": "4px 8px",
                   "textAlign": "right", "whiteSpace": "normal", "height": "auto",
                   "minWidth": "70px"},
    "style_header": {"fontWeight": "600", "backgroundColor": "#f0f2f5",
                     "whiteSpace": "normal", "textAlign": "center"},
    "style_cell_conditional": [
        {"if": {"column_id": c}, "textAlign": "left"}
        for c in ("area", "area_code", "region", "specialty", "school", "phase", "side",
                  "School", "Specialty", "Phase", "Specialty (phase)", "presence", "metric")
    ],
    "sort_action": "native",
    "page_action": "none",
    "cell_selectable": True,
}


def _attrs(values: dict[str, str]) -> Any:
    """ARIA / data attributes (keyword names Python cannot spell) for a Dash component."""
    return values


def _label(text: str, for_id: str, hint: str | None = None) -> html.Label:
    parts: list[Any] = [text]
    if hint:
        parts.append(html.Span(hint, className="hint"))
    return html.Label(parts, htmlFor=for_id, id=f"{for_id}-label")


def _slider(id_: str, lo: float, hi: float, step: float, marks: dict[Any, str],
            label: str, hint: str | None = None) -> html.Div:
    return html.Div(className="control", children=[
        _label(label, id_, hint),
        dcc.Slider(id=id_, min=lo, max=hi, step=step, value=DEFAULTS[id_.replace("-", "_")],
                   marks=marks, updatemode="mouseup", included=False,
                   tooltip={"placement": "bottom", "always_visible": False}),
    ])


def _fieldset(title: str, children: list[Any]) -> html.Fieldset:
    return html.Fieldset(className="group", children=[html.Legend(title), *children])


def table(id_: str, **extra: Any) -> Any:
    """A sortable table. Dash 4 marks DataTable as deprecated in favour of the separate
    dash-ag-grid package; it still ships with Dash and does all we need (native sorting), so the
    warning is silenced here rather than pulling in another dependency."""
    opts = {**TABLE_STYLE, **extra}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning,
                                message=r"(?s).*dash_table\.DataTable")
        return dash_table.DataTable(id=id_, columns=[], data=[], **opts)  # type: ignore[attr-defined]


def controls(engine: Engine) -> html.Div:
    """The control panel: view, fair share, whole posts, plan."""
    spec_options = [{"label": ALL, "value": ALL}] + [
        {"label": s, "value": s} for s in engine.specialties]
    area_options = [{"label": a, "value": a} for a in engine.local_offices]
    year_options = [{"label": "When today's recruits complete (programme end)", "value": 0}] + [
        {"label": str(y), "value": y} for y in range(YEAR_MIN, YEAR_MAX + 1)]
    return html.Div(id="controls", className="controls", role="region",
                    **_attrs({"aria-label": "Scenario controls"}), children=[
        _fieldset("View", [
            html.Div(className="control", children=[
                _label("Specialty", "specialty"),
                dcc.Dropdown(id="specialty", options=spec_options, value=DEFAULTS["specialty"],
                             clearable=False, searchable=True),
            ]),
            html.Div(className="control", children=[
                _label("Level", "level"),
                dcc.RadioItems(id="level", value=DEFAULTS["level"], className="radios",
                               options=[{"label": LEVEL_LABELS[k], "value": k}
                                        for k in ("icb", "local_office", "region")]),
            ]),
            html.Div(className="control", children=[
                _label("Area for the plan and tables", "area", "(local office)"),
                dcc.Dropdown(id="area", options=area_options, value=DEFAULTS["area"],
                             clearable=False),
            ]),
        ]),
        _fieldset("Fair share", [
            _slider("delta", 0, 1, 0.01, {0: "0", 0.2: "0.2", 0.5: "0.5", 1: "1"},
                    "Deprivation weight δ", "(avoidable mortality)"),
            html.Div(className="control", children=[
                _label("Component weights", "weights-mode"),
                dcc.RadioItems(id="weights-mode", value=DEFAULTS["weights_mode"],
                               className="radios", options=[
                                   {"label": "Catalogue (per specialty)", "value": "catalogue"},
                                   {"label": "Custom, all specialties", "value": "custom"}]),
            ]),
            html.Div(id="weights-box", className="subgroup", children=[
                _slider("w-core", 0, 1, 0.05, {0: "0", 0.5: "0.5", 1: "1"},
                        "Core need (Component 1)"),
                _slider("w-specialty", 0, 1, 0.05, {0: "0", 0.5: "0.5", 1: "1"},
                        "Specialty driver today"),
                _slider("w-future", 0, 1, 0.05, {0: "0", 0.5: "0.5", 1: "1"},
                        "Projected demand"),
                html.Div(id="weights-note", className="hint", **_attrs({"aria-live": "polite"})),
            ]),
            html.Div(className="control", children=[
                _label("Specialised share σ", "sigma-mode", "(posts kept where they are)"),
                dcc.RadioItems(id="sigma-mode", value=DEFAULTS["sigma_mode"], className="radios",
                               options=[{"label": "Catalogue (per specialty)",
                                         "value": "catalogue"},
                                        {"label": "Same for all", "value": "custom"}]),
            ]),
            _slider("sigma", 0, 0.5, 0.01, {0: "0", 0.1: "0.1", 0.25: "0.25", 0.5: "0.5"},
                    "σ for all specialties"),
            html.Div(className="control", children=[
                _label("Projection year", "projection-year"),
                dcc.Dropdown(id="projection-year", options=year_options,
                             value=DEFAULTS["projection_year"], clearable=False),
            ]),
            html.Div(className="control", children=[
                _label("Projection variant", "variant", "(ONS 2018-based)"),
                dcc.Dropdown(id="variant", value=DEFAULTS["variant"], clearable=False,
                             options=[{"label": v.replace("_", " "), "value": v}
                                      for v in VARIANTS]),
            ]),
        ]),
        _fieldset("Whole posts", [
            html.Div(className="control", children=[
                _label("Apportionment method", "method"),
                dcc.Dropdown(id="method", value=DEFAULTS["method"], clearable=False,
                             options=[{"label": METHOD_LABELS.get(m, m), "value": m}
                                      for m in METHODS]),
            ]),
        ]),
        _fieldset("Pace of change", [
            _slider("horizon", HORIZON_MIN, HORIZON_MAX, 1,
                    {y: str(y) for y in (HORIZON_MIN, 2031, HORIZON_MAX)}, "Plan horizon"),
            _slider("pace-cap", 0, 1, 0.05, {0: "none", 0.25: "25%", 0.5: "50%", 1: "100%"},
                    "Pace cap", "(most of the gap closed a year; 0 = none)"),
            html.Div(className="control", children=[
                _label("Time-limited expansion", "expansion", "(from a scenario file)"),
                dcc.Dropdown(id="expansion", value=DEFAULTS["expansion"], clearable=False,
                             options=[{"label": label, "value": key}
                                      for key, label in engine.expansion_options()]),
            ]),
            html.Div(className="control", children=[
                _label("Year for the area table", "year"),
                dcc.Dropdown(id="year", value=DEFAULTS["year"], clearable=False, options=[
                    {"label": "First year anything moves", "value": 0}] + [
                    {"label": str(y), "value": y} for y in range(YEAR_MIN, HORIZON_MAX + 1)]),
            ]),
        ]),
        html.P(className="hint", children=[
            "Every change updates the address bar: copy it to share this exact view."]),
    ])


def header(engine: Engine) -> html.Header:
    banner = html.Div(
        id="basis-banner", className="basis-banner", role="note", children=[
            html.Strong("Current posts: "), engine.bundle.posts_label,
            " (see docs/baseline.md; ", html.Code("fairshare serve --posts FILE"),
            " uses your own)."])
    return html.Header(className="top", children=[
        html.Div(className="title", children=[
            html.H1("fairshare"),
            html.Span("fair, needs-based shares of England's specialty training posts",
                      className="subtitle"),
        ]),
        html.Div(className="downloads", children=[
            html.Span("Download:", className="hint"),
            html.Button("Excel workbook", id="dl-excel", className="btn", n_clicks=0),
            html.Button("Targets CSV", id="dl-targets", className="btn", n_clicks=0),
            html.Button("Plan CSV", id="dl-plan", className="btn", n_clicks=0),
            html.Button("Report (HTML)", id="dl-report", className="btn", n_clicks=0),
            dcc.Loading(html.Div(id="dl-status", className="hint"), type="dot",
                        delay_show=200),
        ]),
        banner,
    ])


def _tab(label: str, value: str, children: list[Any]) -> dcc.Tab:
    return dcc.Tab(label=label, value=value, className="tab", selected_className="tab--on",
                   children=html.Div(className="panel", id=f"panel-{value}", children=children))


def tabs(engine: Engine) -> dcc.Tabs:
    refs = engine.references()
    return dcc.Tabs(id="tabs", value=DEFAULTS["tab"], className="tabs", children=[
        _tab("Map & targets", "map", [
            html.Div(id="map-message", className="message", role="alert"),
            html.Div(id="summary", className="summary", **_attrs({"aria-live": "polite"})),
            dcc.Loading(type="default", delay_show=400, children=[
                dcc.Graph(id="map", config=GRAPH_CONFIG, className="map", style=MAP_STYLE,
                          clear_on_unhover=True),
                html.Div(id="map-info-wrap"),
            ]),
            html.H2("Targets by area", id="targets-title"),
            html.P(className="hint", children=[
                "Gap = target − current: positive receives posts, negative gives. Distance = "
                "(current − target) / target, as NHS England reports it. Click a column "
                "heading to sort."]),
            table("targets-table"),
        ]),
        _tab("Plan", "plan", [
            html.Div(id="plan-message", className="message", role="alert"),
            dcc.Loading(type="default", delay_show=300, children=[
                dcc.Graph(id="plan-graph", config=GRAPH_CONFIG),
                html.Div(id="plan-status", className="status"),
            ]),
            dcc.Loading(type="default", delay_show=300, children=[
                html.H2(id="one-year-title"),
                table("one-year-table"),
                html.H2(id="pace-title"),
                table("pace-table"),
                html.Div(id="findings"),
            ]),
        ]),
        _tab("Compare", "compare", [
            html.Div(className="control inline", children=[
                _label("Compare this view with", "compare"),
                dcc.Dropdown(id="compare", value=DEFAULTS["compare"], clearable=False,
                             options=[{"label": r.label, "value": r.key} for r in refs]),
            ]),
            html.Div(id="compare-message", className="message", role="alert"),
            dcc.Loading(type="default", delay_show=300, children=[
                dcc.Graph(id="compare-map", config=GRAPH_CONFIG, className="map",
                          style=MAP_STYLE),
                html.Div(id="compare-explain"),
                html.H2("Change by area"),
                table("compare-table"),
                html.H2("Previous vs current by school (national)"),
                table("compare-school"),
            ]),
        ]),
        _tab("Uncertainty", "uncertainty", [
            html.Div(className="control inline", children=[
                _label("Monte Carlo draws", "draws"),
                dcc.Dropdown(id="draws", value=DEFAULTS["draws"], clearable=False,
                             options=[{"label": str(n), "value": n}
                                      for n in (100, 300, 1000, 3000)]),
            ]),
            html.Div(id="uncertainty-message", className="message", role="alert"),
            dcc.Loading(type="default", delay_show=300, children=[
                dcc.Graph(id="uncertainty-graph", config=GRAPH_CONFIG),
                html.Div(id="uncertainty-notes", className="hint"),
                table("uncertainty-table"),
            ]),
        ]),
        _tab("Equity", "equity", [
            html.Div(id="equity-message", className="message", role="alert"),
            dcc.Loading(type="default", delay_show=300, children=[
                dcc.Graph(id="equity-graph", config=GRAPH_CONFIG),
                table("equity-table"),
            ]),
        ]),
        _tab("Report", "report", [
            html.Div(className="no-print", children=[
                html.Button("Print or save as PDF", id="print", className="btn primary",
                            n_clicks=0),
                html.Span(" The report prints without the controls.", className="hint"),
            ]),
            dcc.Loading(type="default", delay_show=300, children=[
                html.Div(id="report", className="report"),
            ]),
        ]),
    ])


def page(engine: Engine) -> html.Div:
    """The whole page (built per visit, so the list of stored runs is fresh)."""
    return html.Div(className="page", children=[
        dcc.Location(id="url", refresh=False),
        dcc.Store(id="state"),
        *[dcc.Store(id=f"{name}-key") for name in
          ("map", "plan", "deanery", "compare", "uncertainty", "equity", "report")],
        dcc.Download(id="download"),
        html.Div(id="print-done", hidden=True),
        header(engine),
        html.Div(className="shell", children=[
            html.Aside(className="sidebar no-print", children=[controls(engine)]),
            html.Main(className="content", children=[tabs(engine)]),
        ]),
        html.Footer(className="footer", children=[
            "Contains public sector information licensed under the Open Government Licence "
            "v3.0 (ONS, MHCLG, NHS England). Contains OS data © Crown copyright and database "
            "right 2022/2023. ", html.Span(engine.bundle.posts_label, id="establishment")]),
    ])
