"""The page: a control panel (every scenario parameter) beside tabs of maps, plans and tables.

Looks and behaves like an NHS.UK service (``assets/style.css`` follows the NHS.UK frontend's
colours, type scale, spacing and focus style; served locally). Every control has a visible
label tied to it (sliders and dropdowns get it as their accessible name in
``assets/keyboard.js``; radio groups are fieldsets with a legend), lives in the normal tab
order and works from the keyboard. Controls only set values: what is drawn comes from the
callbacks, which read the one ``state`` store, so the address bar always describes exactly
what is on screen.
"""

from __future__ import annotations

from typing import Any

from dash import dcc, html

from fairshare.webapp.engine import Engine
from fairshare.webapp.state import (
    ALL,
    DEFAULTS,
    DRAW_OPTIONS,
    HORIZON_MAX,
    HORIZON_MIN,
    METHODS,
    SIGMA_MAX,
    VARIANTS,
    YEAR_MAX,
    YEAR_MIN,
)
from fairshare.webapp.words import GLOSSARY, METHOD_LABELS, term_link

LEVEL_LABELS = {"icb": "ICB (42)", "local_office": "Local office (11)", "region": "NHS region (7)"}

#: No scroll-wheel zoom: the wheel scrolls the page. Zoom with the buttons; no box select.
#: Nothing leaves the machine: plotly's "Share chart…" / "Edit in Chart Studio" buttons (which
#: upload the chart's data to chart-studio.plotly.com) and its "Edit chart" link are switched
#: off and removed, and its server address is blanked; the PNG download is made in the browser.
NO_CLOUD: Any = {
    "showSendToCloud": False,
    "showEditInChartStudio": False,
    "showLink": False,
    "sendData": False,
    "plotlyServerURL": "",
    "displaylogo": False,
}
GRAPH_CONFIG: Any = {
    **NO_CLOUD,
    "scrollZoom": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d", "pan2d",
                               "sendDataToCloud", "editInChartStudio"],
    "toImageButtonOptions": {"format": "png", "filename": "fairshare", "scale": 2},
}

#: The map's height: with the header, headline and tabs above it, all of England (Cornwall
#: included) is on the first screen at 1440×900, and the map starts on it at 1024×768.
MAP_STYLE = {"height": "60vh", "minHeight": "420px"}


def _attrs(values: dict[str, Any]) -> Any:
    """ARIA / data attributes (keyword names Python cannot spell) for a Dash component."""
    return values


def _label(text: str, for_id: str, hint: str | None = None, term: str | None = None
           ) -> Any:
    parts: list[Any] = [text]
    if hint:
        parts.append(html.Span(" " + hint, className="hint"))
    label = html.Label(parts, htmlFor=for_id, id=f"{for_id}-label")
    if term:
        return html.Div(className="label-row", children=[label, term_link(term, "?")])
    return label


def _slider(id_: str, lo: float, hi: float, step: float, marks: dict[Any, str],
            label: str, hint: str | None = None, term: str | None = None) -> html.Div:
    return html.Div(className="control", children=[
        _label(label, id_, hint, term),
        dcc.Slider(id=id_, min=lo, max=hi, step=step, value=DEFAULTS[id_.replace("-", "_")],
                   marks=marks, updatemode="mouseup", included=False,
                   tooltip={"placement": "top", "always_visible": False}),
    ])


def _radios(id_: str, legend: str, options: list[dict[str, str]], hint: str | None = None,
            term: str | None = None) -> html.Fieldset:
    """A radio group: a fieldset whose legend names it (and, by role, the group)."""
    title: list[Any] = [legend]
    if hint:
        title.append(html.Span(" " + hint, className="hint"))
    if term:
        title += [" ", term_link(term, "?")]
    return html.Fieldset(className="control radios-set", id=f"{id_}-group", children=[
        html.Legend(title, id=f"{id_}-label"),
        dcc.RadioItems(id=id_, value=DEFAULTS[id_.replace("-", "_")], className="radios",
                       options=options),
    ])


def _dropdown(id_: str, label: str, options: list[dict[str, Any]], hint: str | None = None,
              term: str | None = None, searchable: bool = False) -> html.Div:
    return html.Div(className="control", children=[
        _label(label, id_, hint, term),
        dcc.Dropdown(id=id_, options=options, value=DEFAULTS[id_.replace("-", "_")],
                     clearable=False, searchable=searchable),
    ])


def _fieldset(title: str, children: list[Any]) -> html.Fieldset:
    return html.Fieldset(className="group", children=[html.Legend(title), *children])


def controls(engine: Engine) -> html.Div:
    """The control panel: view, fair share, whole posts, plan."""
    spec_options = [{"label": ALL, "value": ALL}] + [
        {"label": s, "value": s} for s in engine.specialties]
    codes = {v: k for k, v in engine.area_codes.items()}
    area_options = [{"label": f"{a} ({codes[a]})" if a in codes else a, "value": a}
                    for a in engine.local_offices]
    year_options = [{"label": "When today's recruits complete (programme end)", "value": 0}] + [
        {"label": str(y), "value": y} for y in range(YEAR_MIN, YEAR_MAX + 1)]
    return html.Div(id="controls", className="controls", role="region",
                    **_attrs({"aria-label": "Scenario controls"}), children=[
        html.H2("Settings", className="controls-title"),
        _fieldset("View", [
            _dropdown("specialty", "Specialty", spec_options,
                      "(type to search)", searchable=True),
            _radios("level", "Level", [{"label": LEVEL_LABELS[k], "value": k}
                                       for k in ("icb", "local_office", "region")],
                    term="local-office"),
            _dropdown("area", "Area for the plan and tables", area_options, "(local office)",
                      term="local-office", searchable=True),
        ]),
        _fieldset("Fair share", [
            _slider("delta", 0, 1, 0.01, {0: "0", 0.2: "0.2", 0.5: "0.5", 1: "1"},
                    "Deprivation weight δ", "(avoidable mortality)", term="fair-share"),
            _radios("weights-mode", "Component weights", [
                {"label": "Catalogue (per specialty)", "value": "catalogue"},
                {"label": "Custom, all specialties", "value": "custom"}]),
            html.Div(id="weights-box", className="subgroup", children=[
                _slider("w-core", 0, 1, 0.05, {0: "0", 0.5: "0.5", 1: "1"},
                        "Core need (Component 1)"),
                _slider("w-specialty", 0, 1, 0.05, {0: "0", 0.5: "0.5", 1: "1"},
                        "Specialty driver today"),
                _slider("w-future", 0, 1, 0.05, {0: "0", 0.5: "0.5", 1: "1"},
                        "Projected demand"),
                html.Div(id="weights-note", className="hint", **_attrs({"aria-live": "polite"})),
            ]),
            _radios("sigma-mode", "Specialised share σ", [
                {"label": "Catalogue (per specialty)", "value": "catalogue"},
                {"label": "Same for all", "value": "custom"}], "(posts kept where they are)"),
            _slider("sigma", 0, SIGMA_MAX, 0.01,
                    {0: "0", 0.1: "0.1", 0.25: "0.25", SIGMA_MAX: f"{SIGMA_MAX:g}"},
                    "σ for all specialties"),
            _dropdown("projection-year", "Projection year", year_options),
            _dropdown("variant", "Projection variant", [
                {"label": v.replace("_", " "), "value": v} for v in VARIANTS],
                "(ONS 2018-based)"),
        ]),
        _fieldset("Whole posts", [
            _dropdown("method", "Apportionment method", [
                {"label": METHOD_LABELS.get(m, m), "value": m} for m in METHODS],
                term="hamilton"),
        ]),
        _fieldset("Pace of change", [
            _slider("horizon", HORIZON_MIN, HORIZON_MAX, 1,
                    {y: str(y) for y in (HORIZON_MIN, 2031, 2037, HORIZON_MAX)}, "Plan horizon"),
            _slider("pace-cap", 0, 1, 0.05, {0: "none", 0.5: "50%", 1: "100%"},
                    "Pace cap", "(share of the gap closed a year)", term="pace-cap"),
            _dropdown("expansion", "Time-limited expansion", [
                {"label": label, "value": key} for key, label in engine.expansion_options()],
                "(from a scenario file)", term="expansion"),
            _dropdown("year", "Year for the one-year table", [
                {"label": "First year still to come", "value": 0}] + [
                {"label": str(y), "value": y} for y in range(YEAR_MIN, HORIZON_MAX + 1)],
                term="plan-year"),
        ]),
        html.P(className="hint", children=[
            "Every change updates the address bar: copy it to share this exact view."]),
    ])


def header(engine: Engine) -> html.Header:
    """NHS-style blue header with the service name, the downloads and the data banner."""
    bundle = engine.bundle
    modelled = f": {', '.join(bundle.modelled)}" if bundle.modelled else ""
    banner = html.Div(id="basis-banner", role="note", className="basis-banner", children=[
        html.Strong("Current posts: "), bundle.posts_label, modelled, " (see docs/baseline.md; ",
        html.Code("fairshare serve --posts FILE"), " uses your own)."])
    return html.Header(className="top", children=[
        html.Div(className="top-row", children=[
            html.H1(className="brand", children=[
                html.Span("fairshare", className="logo"),
                html.Span("Fair, needs-based shares of England's specialty training posts",
                          className="service"),
            ]),
            downloads(),
        ]),
        banner,
    ])


def downloads() -> html.Div:
    return html.Div(className="downloads no-print", role="group",
                    **_attrs({"aria-label": "Downloads"}), children=[
        html.Span("Download:", className="hint"),
        html.Button("Excel workbook", id="dl-excel", className="btn", n_clicks=0),
        html.Button("Targets CSV", id="dl-targets", className="btn", n_clicks=0),
        html.Button("Plan CSV", id="dl-plan", className="btn", n_clicks=0),
        html.Button("Report (HTML)", id="dl-report", className="btn", n_clicks=0),
        html.Div(id="dl-status", className="hint", role="status"),
        # shown while a download is being made (the callback's ``running`` state), pinned to
        # the top of the window so it is seen wherever the page is scrolled
        html.Div(id="dl-progress", className="dl-progress", role="status"),
    ])


def _tab(label: str, value: str, children: list[Any]) -> dcc.Tab:
    return dcc.Tab(label=label, value=value, className="tab", selected_className="tab--on",
                   children=html.Div(className="panel", id=f"panel-{value}", children=children))


def _box(id_: str) -> html.Div:
    return html.Div(id=id_, className="box")


def _loading(children: list[Any], what: str = "this view") -> dcc.Loading:
    """While a view is redrawn its old content stays (dimmed, headings kept) and a progress
    note is pinned to the top of the window, so it is never below the fold."""
    busy = html.Div(className="busy", role="status", children=[
        html.Span(className="busy-dot", **_attrs({"aria-hidden": "true"})),
        f"Updating {what}…"])
    return dcc.Loading(delay_show=250, parent_className="loading", custom_spinner=busy,
                       overlay_style={"visibility": "visible", "opacity": 0.55},
                       children=children)


def trust_min_upload() -> html.Section:
    """The Posts tab's minimum unit per trust: the scenario's default, or a file as the CLI's
    ``--trust-min`` (chosen with a button, or dropped on it), and a way back to the default."""
    from fairshare.webapp.posts_tab import status_text

    return html.Section(className="trust-min no-print",
                        **_attrs({"aria-labelledby": "trust-min-title"}), children=[
        html.H2("Minimum unit per trust", id="trust-min-title"),
        html.P(status_text(None), id="trust-min-status", role="status"),
        html.Div(className="upload-row", children=[
            dcc.Upload(id="trust-min-upload", accept=".csv,.xlsx,.txt", multiple=False,
                       className="upload", className_active="upload upload--active",
                       children=html.Button("Choose a minimum-unit file (CSV or Excel)",
                                            id="trust-min-choose", className="btn",
                                            n_clicks=0)),
            html.Button("Use the default", id="trust-min-clear", className="btn", n_clicks=0),
        ]),
        html.Div(id="trust-min-message", className="message", role="alert"),
        html.P(className="hint", id="trust-min-hint", children=[
            "Columns: ", html.Code("org_code"), " (a trust's ODS code, e.g. RTD), ",
            html.Code("min_posts"), " (whole posts) and optionally ", html.Code("specialty"),
            " (empty: every specialty), as ", html.Code("fairshare posts --trust-min"),
            ". A trust never gives posts below its minimum unit. The file stays on this "
            "server and is not part of the page's address."]),
    ])


def tabs(engine: Engine) -> dcc.Tabs:
    refs = engine.references()
    options = [{"label": r.label, "value": r.key} for r in refs]
    return dcc.Tabs(id="tabs", value=DEFAULTS["tab"], className="tabs", children=[
        _tab("Map and targets", "map", [
            _radios("map-colour", "Colour the map by", [
                {"label": "gap to target", "value": "gap"},
                {"label": "where consultants are scarce", "value": "scarcity"}],
                term="scarcity"),
            html.Div(id="map-message", className="message", role="alert"),
            _loading([
                dcc.Graph(id="map", config=GRAPH_CONFIG, className="map", style=MAP_STYLE,
                          clear_on_unhover=True),
                html.Div(id="map-info-wrap"),
            ], "the map"),
            html.Div(id="summary", className="summary", **_attrs({"aria-live": "polite"})),
            html.H2("Targets by area", id="targets-title"),
            html.P(className="hint", children=[
                term_link("gap"), " = target − current: + receives posts, − gives. "
                "Sort a column with its heading button."]),
            _box("targets-box"),
        ]),
        _tab("Plan", "plan", [
            html.Div(id="plan-message", className="message", role="alert"),
            html.P(className="hint", children=[
                "The chosen area and specialty, year by year. Pick the area on the map or in "
                "the controls; ", term_link("plan-year", "plan years"), " are recruitment "
                "rounds."]),
            _loading([
                html.Div(id="plan-answer", **_attrs({"aria-live": "polite"})),
                _box("plan-years"),
                dcc.Graph(id="plan-graph", config=GRAPH_CONFIG),
            ], "the plan"),
            _loading([
                html.H2("Every ICB"),
                html.Div(id="icb-plan"),
            ], "the ICB plan"),
            _loading([
                html.H2("Deanery tables"),
                _box("one-year-box"),
                _box("pace-box"),
                html.Div(id="findings"),
            ], "the deanery tables"),
        ]),
        _tab("Posts", "posts", [
            html.Div(id="posts-message", className="message", role="alert"),
            html.P(className="hint", children=[
                "Which trusts of the chosen area give and receive the plan's posts, round by "
                "round, and why (as ", html.Code("fairshare posts"), "; docs/posts.md). The "
                "trust split is modelled from public 2017 staff in post: a recommendation for "
                "a task-and-finish group to review, not a decision."]),
            trust_min_upload(),
            _loading([
                html.Div(id="posts-answer", **_attrs({"aria-live": "polite"})),
                html.Div(className="download-row no-print", children=[
                    html.Button("Download these recommendations (CSV)", id="dl-posts",
                                className="btn", n_clicks=0),
                    html.Div(id="dl-posts-status", className="hint", role="status"),
                ]),
                _box("posts-box"),
            ], "the trust recommendations"),
        ]),
        _tab("Compare A and B", "compare", [
            html.Div(className="compare-pick", children=[
                html.Div(className="control", children=[
                    _label("A", "compare-a", "(this view, a scenario or a saved run)"),
                    dcc.Dropdown(id="compare-a", value=DEFAULTS["compare_a"],
                                 clearable=False, searchable=True, options=[
                                     {"label": "This view (the controls)", "value": "view"},
                                     *options]),
                ]),
                html.Div(className="control", children=[
                    _label("B", "compare", "(a scenario or a saved run)"),
                    dcc.Dropdown(id="compare", value=DEFAULTS["compare"], clearable=False,
                                 searchable=True, options=options),
                ]),
            ]),
            html.Div(id="compare-message", className="message", role="alert"),
            _loading([
                dcc.Graph(id="compare-map", config=GRAPH_CONFIG, className="map",
                          style=MAP_STYLE),
                html.Div(id="compare-explain"),
                _box("compare-box"),
                _box("compare-school"),
            ], "the comparison"),
        ]),
        _tab("Uncertainty", "uncertainty", [
            html.Div(className="control inline", children=[
                _label("Monte Carlo draws", "draws"),
                dcc.Dropdown(id="draws", value=DEFAULTS["draws"], clearable=False,
                             options=[{"label": f"{n:,}", "value": n}
                                      for n in DRAW_OPTIONS]),
            ]),
            html.Div(id="uncertainty-message", className="message", role="alert"),
            _loading([
                dcc.Graph(id="uncertainty-graph", config=GRAPH_CONFIG),
                html.Div(id="uncertainty-notes", className="hint"),
                _box("uncertainty-box"),
            ], "the intervals"),
        ]),
        _tab("Equity", "equity", [
            html.Div(id="equity-message", className="message", role="alert"),
            _loading([
                dcc.Graph(id="equity-graph", config=GRAPH_CONFIG),
                _box("equity-box"),
            ], "the equity figures"),
        ]),
        _tab("Report", "report", [
            html.Div(className="no-print", children=[
                html.Button("Print or save as PDF", id="print", className="btn primary",
                            n_clicks=0),
                html.Span(" Prints this page without the controls. For the full printed "
                          "report use Download: Report (HTML).", className="hint"),
            ]),
            _loading([html.Div(id="report", className="report")], "the report"),
        ]),
    ])


def glossary() -> html.Section:
    """Every term the page uses, one click from each use (links ``#def-<key>``)."""
    items: list[Any] = []
    for key, (term, text) in GLOSSARY.items():
        items += [html.Dt(term, id=f"def-{key}"), html.Dd(text)]
    return html.Section(id="glossary", className="glossary",
                        **_attrs({"aria-labelledby": "glossary-title"}), children=[
        html.H2("Words used here", id="glossary-title"), html.Dl(items)])


def page(engine: Engine) -> html.Div:
    """The whole page (built per visit, so the list of stored runs is fresh)."""
    return html.Div(className="page", children=[
        dcc.Location(id="url", refresh=False),
        dcc.Store(id="state"),
        *[dcc.Store(id=f"{name}-{part}") for name in
          ("headline", "map", "plan", "posts", "deanery", "icbplan", "compare", "uncertainty",
           "equity", "report") for part in ("key", "state")],
        dcc.Download(id="download"),
        dcc.Download(id="download-posts"),
        dcc.Store(id="trust-min"),
        dcc.Store(id="trust-min-file"),
        html.Div(id="print-done", hidden=True),
        header(engine),
        html.Div(id="link-notes", className="link-notes", role="status"),
        html.Div(className="shell", children=[
            html.Aside(className="sidebar no-print", children=[controls(engine)]),
            html.Main(id="main", className="content", tabIndex=-1, children=[
                html.Div(id="headline", **_attrs({"aria-live": "polite"})),
                tabs(engine),
                glossary()]),
        ]),
        html.Footer(className="footer", children=[
            "Contains public sector information licensed under the Open Government Licence "
            "v3.0 (ONS, MHCLG, NHS England). Contains OS data © Crown copyright and database "
            "right 2022/2023. ", html.Span(engine.bundle.posts_label, id="establishment")]),
    ])
