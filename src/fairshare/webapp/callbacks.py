"""The page's wiring: each Dash callback calls a plain view (``views``) and renders its payload.

* ``_sync`` keeps three things in step: the address bar's query string, the controls and the
  ``state`` store. Opening a link sets the controls from the query string and says plainly
  which link values were ignored; moving a control writes the query string.
* Each view runs only when its tab is showing and only when something it depends on changed
  (a small per-view key store in the browser remembers what it last drew).
* The server trusts no client: every view cleans the state it is sent (``_guard``) exactly as
  a link is cleaned, so a hand-made request cannot ask for more than the controls allow.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

from fairshare.errors import InputError
from fairshare.webapp import figures, posts_tab, views
from fairshare.webapp.engine import Engine
from fairshare.webapp.layout import NO_CLOUD
from fairshare.webapp.state import SCENARIO_KEYS, TARGET_KEYS, clean_state, key_of
from fairshare.webapp.tables import html_table, signed
from fairshare.webapp.views import CONTROLS, PLAN_NOTE, ViewError
from fairshare.webapp.words import term_link

log = logging.getLogger("fairshare.webapp")

DOWNLOAD_BUTTONS = ("dl-excel", "dl-targets", "dl-plan", "dl-report")
#: Said, pinned to the top of the window, while a download is made.
DOWNLOAD_PROGRESS = ("Preparing your download… The Excel workbook (every table of this "
                     "scenario, 25 sheets) takes a second or two; it will be saved when ready.")

#: What each view depends on (it is redrawn only when one of these changes).
VIEW_KEYS: dict[str, tuple[str, ...]] = {
    "headline": (*TARGET_KEYS, "specialty"),
    "map": (*TARGET_KEYS, "specialty", "level", "area", "map_colour"),
    "plan": (*SCENARIO_KEYS, "specialty", "area"),
    "posts": (*SCENARIO_KEYS, "specialty", "area"),
    "deanery": (*SCENARIO_KEYS, "specialty", "area", "year"),
    "icbplan": (*SCENARIO_KEYS, "specialty", "level"),
    "compare": (*TARGET_KEYS, "specialty", "level", "compare_a", "compare"),
    "uncertainty": (*TARGET_KEYS, "specialty", "draws"),
    "equity": (*SCENARIO_KEYS, "specialty"),
    "report": (*SCENARIO_KEYS, "specialty", "level", "area", "year"),
}
#: The tab a view is drawn on (None: every tab).
VIEW_TAB = {"headline": None, "deanery": "plan", "icbplan": "plan"}


def gate_js(name: str) -> str:
    """A browser-side gate in front of a view: the page's state is passed on to the view only
    when the view's tab is showing and something the view depends on changed, so a change
    costs one request per view on screen, not one per view (each hidden view used to cost a
    round trip to the server to learn it had nothing to do). The server still checks both
    (``_guard``): the gate only saves requests, it is never trusted."""
    import json

    tab = VIEW_TAB.get(name, name)
    keys = json.dumps(list(VIEW_KEYS[name]))
    return ("function(state, prev) {"
            " var nu = window.dash_clientside.no_update;"
            " if (!state) { return nu; }"
            f" var tab = {json.dumps(tab)};"
            " if (tab !== null && state.tab !== tab) { return nu; }"
            f" var keys = {keys};"
            " var key = function (s) { return JSON.stringify(keys.map(function (k) {"
            " return s[k] === undefined ? null : s[k]; })); };"
            " if (prev && key(prev) === key(state)) { return nu; }"
            " return state; }")


def _guard(engine: Engine, name: str, state: Any, last: str | None, extra: str = ""
           ) -> tuple[str, dict[str, Any]]:
    """(the view's key, the cleaned state), or PreventUpdate when its tab is hidden or nothing
    it uses changed (``extra``: what else it depends on, e.g. an uploaded file's digest)."""
    from dash.exceptions import PreventUpdate

    if not isinstance(state, dict) or not state:
        raise PreventUpdate
    state = clean_state(state, **engine.known())
    tab = VIEW_TAB.get(name, name)
    if tab is not None and state.get("tab") != tab:
        raise PreventUpdate
    key = key_of(state, VIEW_KEYS[name]) + (f"|file={extra}" if extra else "")
    if key == last:
        raise PreventUpdate
    return key, state


def _failure(name: str, exc: Exception) -> str:
    if isinstance(exc, ViewError):
        return str(exc)
    log.error("%s view failed:\n%s", name, traceback.format_exc())
    return f"Something went wrong drawing this view ({type(exc).__name__}: {exc})."


def _message(text: str) -> Any:
    from dash import html

    return html.Div(text, className="alert")


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------

def headline_children(h: dict[str, Any], prefix: str = "headline") -> Any:
    """England's headline figures as cards (what the report leads with)."""
    from dash import html

    what = "all specialties" if h["specialty"] == views.ALL else h["specialty"]

    def card(big: str, label: Any, note: str) -> Any:
        return html.Div(className="card", children=[
            html.P(big, className="card-big"), html.P(label, className="card-label"),
            html.P(note, className="card-note")])

    share = f"{h['to_move'] / h['posts']:.1%} of {h['posts']:,} posts" if h["posts"] else ""
    named: Any = {"aria-labelledby": f"{prefix}-title"}
    return html.Section(**named, className="headline",
                        children=[
        html.H2(f"England at a glance: {what}" if prefix == "headline" else
                f"Headline figures, England: {what}", id=f"{prefix}-title"),
        html.Div(className="cards", children=[
            card(f"{h['to_move']:,} posts", ["to move to reach every ",
                                             term_link("target", "target")], share),
            card(f"{h['giving']} of {h['areas']}", [term_link("local-office", "local offices"),
                                                    " give posts"], "above their target"),
            card(f"{h['receiving']} of {h['areas']}", [term_link("local-office",
                                                                 "local offices"),
                                                       " receive posts"], "below their target"),
            card(f"{h['gini_now']:.3f} → {h['gini_target']:.3f}",
                 [term_link("gini", "Gini"), " today → at target"],
                 "posts per fair-share post; 0 = fair"),
        ])])


def summary_children(s: dict[str, Any], estimated: bool) -> Any:
    from dash import html

    pct = "–" if s["gap_pct"] is None else signed(100 * s["gap_pct"], 1, "%")
    return html.Div(id="area-summary", className="summary-box", **{
        "data-area": s["area"], "data-specialty": s["specialty"],
        "data-target": str(s["target"]), "data-current": str(s["current"])}, children=[
        html.Span(f"{s['area']} · {s['specialty']}", className="summary-name"),
        html.Span(["Current ", html.B(f"{s['current']:,}", id="summary-current"), " posts"]),
        html.Span(["Fair share ", html.B(f"{s['fair_share']:,.1f}"), " posts"]),
        html.Span(["Target ", html.B(f"{s['target']:,}", id="summary-target"), " posts"]),
        html.Span([term_link("gap", "Gap"), " ",
                   html.B(f"{signed(s['gap'])} posts", className=s["side"].replace(" ", "-")),
                   f" ({pct} of target: {s['side']})"]),
        html.Span("ICB current posts are estimated from local-office posts by population."
                  if estimated else "", className="hint"),
    ])


def icb_plan_children(engine: Engine, state: dict[str, Any]) -> Any:
    """The Plan tab's "every ICB" section: the plan over the 42 ICBs when Level is ICB, else
    how to get it (it is a plan of its own, solved only when asked for)."""
    from dash import html

    if state["level"] != "icb":
        return html.P(["To plan over the 42 ICBs (as ", html.Code("fairshare plan --level icb"),
                       ") and see which ICBs gain most by each year, choose Level: ",
                       html.Strong("ICB (42)"), "."], className="hint")
    try:
        v = views.icb_plan_view(engine, state)
    except Exception as exc:
        return _message(_failure("icb plan", exc))
    notes = ["Planned directly over the 42 ICBs (fairshare plan --level icb): each ICB's "
             "posts move toward its own target, with the same rules as the local-office plan. "
             "Sort any year's column to rank the ICBs."]
    if v["estimated"]:
        notes.append("Current posts per ICB are estimated from local-office posts by "
                     "population: give an establishment per ICB for a plan on real ICB posts.")
    what = state["specialty"]
    return [html.P(html.Strong(v["answer"]), className="answer", id="icb-plan-answer"),
            *[html.P(n, className="hint") for n in notes],
            html_table(v["table"], f"Every ICB, {what}: posts received (+) or given (−) by "
                                   "each year, largest gain first", table_id="icb-plan-table")]


def findings_children(lines: list[str], status: str) -> Any:
    from dash import html

    if not lines:
        return html.P(f"Plan status: {status}. No constraint findings for this area.",
                      className="hint")
    return html.Details(open=False, children=[
        html.Summary(f"Plan status: {status}. {len(lines)} finding(s) for this area"),
        html.Ul([html.Li(line) for line in lines])])


#: The report's width in CSS pixels: an A4 page less 12 mm margins (186 mm at 96 px per inch).
#: Its charts are drawn at this fixed size, on screen as on paper, so printing never clips
#: them (a chart sized to a wide screen loses its right-hand side on the page).
REPORT_WIDTH = 700
#: The targets table's columns that explain a target (the waterfall): printed as a second
#: table, so that neither is wider than the page.
WHY_COLUMNS = ("population_share_posts", "effect_need", "effect_projection",
               "effect_deprivation", "effect_specialised", "effect_rounding")


def _report_graph(figure: dict[str, Any], height: int, class_name: str) -> Any:
    """A static chart at the report's page width."""
    from dash import dcc

    fig = dict(figure)
    fig["layout"] = {**fig["layout"], "height": height, "width": REPORT_WIDTH,
                     "autosize": False}
    return dcc.Graph(figure=fig, config={**NO_CLOUD, "staticPlot": True, "responsive": False},
                     className=f"report-graph {class_name}")


def _report_tables(payload: dict[str, Any] | None) -> list[tuple[dict[str, Any], str]]:
    """The targets table as two page-wide tables: the targets, then why they differ from a
    plain population share (each area named in both)."""
    if not payload or not payload.get("columns"):
        return []
    cols = payload["columns"]
    keys = ("area", "area_code")
    main = [c for c in cols if c["id"] not in WHY_COLUMNS]
    why = [c for c in cols if c["id"] in keys or c["id"] in WHY_COLUMNS]
    out = [({**payload, "columns": main}, "Targets by area")]
    if len(why) > len(keys):
        out.append(({**payload, "columns": why},
                    "Why each target differs from a plain population share (posts)"))
    return out


def report_children(data: dict[str, Any]) -> list[Any]:
    """The on-screen report (the printed report is ``fairshare report``; here, one page)."""
    from dash import html

    sc, t = data["scenario"], data["targets"]
    spec = t["summary"]["specialty"]
    params = [("Specialty", spec), ("Level", figures.LEVEL_NAMES[t["level"]]),
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
    out: list[Any] = [html.H2(f"Report: {spec}"),
                      html.P(f"Made {data['created']} with the fairshare web app.",
                             className="hint")]
    out.append(html.P(f"Establishment: {data['establishment']}", className="hint"))
    out += [headline_children(data["headline"], "report-headline"),
            html.Table(className="params", children=[
                html.Caption("Scenario"),
                html.Tbody([html.Tr([html.Th(k, scope="row"), html.Td(str(v))])
                            for k, v in params])])]
    out += [html.H3("Gap as % of target"), html.P(t["alt"], className="hint"),
            _report_graph(t["figure"], 620, "report-map"),
            *[html_table(part, caption, sortable=False)
              for part, caption in _report_tables(t["table"])]]
    plan, deanery = data["plan"], data["deanery"]
    area = t["summary"]["area"]
    out.append(html.H3(f"Plan: {area}"))
    if "error" not in plan:
        out += [html.P(plan["answer"], className="answer"),
                _report_graph(plan["figure"], 460, "report-chart"),
                html_table(plan["years"], f"{area}: year by year", sortable=False),
                html.P(PLAN_NOTE, className="hint")]
    else:
        out.append(html.P(plan["error"], className="alert"))
    if "error" not in deanery:
        out.append(html_table(deanery["one_year"], f"{area}: changes to training posts in "
                                                   f"{deanery['year']}", sortable=False))
    else:
        out.append(html.P(deanery["error"], className="alert"))
    out.append(html.P("Contains public sector information licensed under the Open Government "
                      "Licence v3.0. Contains OS data © Crown copyright and database right "
                      "2022/2023.", className="hint"))
    return out


# --------------------------------------------------------------------------------------------
# Wiring
# --------------------------------------------------------------------------------------------

def register(app: Any, engine: Engine) -> None:
    """Attach every callback to ``app``."""
    from dash import Input, Output, State, ctx, dcc, html, no_update

    def nu(v: Any) -> Any:
        return no_update if v is None else v

    @app.callback(
        Output("url", "search"), Output("state", "data"), Output("link-notes", "children"),
        *[Output(cid, prop) for _, cid, prop in CONTROLS],
        Input("url", "search"), Input("map", "clickData"),
        *[Input(cid, prop) for _, cid, prop in CONTROLS],
    )
    def _sync(search: Any, click: Any, *values: Any) -> tuple[Any, ...]:
        trigger = ctx.triggered_id
        if not isinstance(search, str | None):
            search = None
        query, state, controls, notes = views.sync(engine, trigger, search, values, click)
        shown: Any = no_update
        if notes is not None:
            shown = html.Div(className="alert", children=[
                html.P("Some of the link's settings could not be used:"),
                html.Ul([html.Li(n) for n in notes])]) if notes else None
        return (nu(query), state, shown, *[nu(v) for v in controls])

    @app.callback(Output("weights-box", "className"), Output("weights-note", "children"),
                  Output("sigma", "disabled"), Input("state", "data"))
    def _weights(state: Any) -> tuple[Any, ...]:
        if not isinstance(state, dict):
            return "subgroup", "", True
        state = clean_state(state, **engine.known())
        custom = state["weights_mode"] == "custom"
        note = ""
        if custom:
            try:
                w = views.normalised_weights(state)
                assert w is not None
                note = f"Used (scaled to sum to 1): core {w[0]:.2f}, specialty {w[1]:.2f}, " \
                       f"future {w[2]:.2f}"
            except ValueError as exc:
                note = str(exc)
        return ("subgroup" if custom else "subgroup off"), note, \
            state["sigma_mode"] != "custom"

    def one_output(name: str, view: Any, render: Any) -> None:
        """A view drawn into one element (id ``name``) by ``render``."""
        @app.callback(Output(name, "children"), Output(f"{name}-key", "data"),
                      Input(f"{name}-state", "data"), State(f"{name}-key", "data"))
        def _draw(state: Any, last: Any) -> tuple[Any, ...]:
            key, state = _guard(engine, name, state, last)
            try:
                return render(view(engine, state)), key
            except Exception as exc:
                return _message(_failure(name, exc)), key

    one_output("headline", views.headline, headline_children)
    one_output("report", views.report_view, report_children)

    @app.callback(
        Output("map", "figure"), Output("map-info-wrap", "children"),
        Output("targets-box", "children"), Output("summary", "children"),
        Output("map-message", "children"), Output("targets-title", "children"),
        Output("map-key", "data"), Input("map-state", "data"), State("map-key", "data"))
    def _map(state: Any, last: Any) -> tuple[Any, ...]:
        key, state = _guard(engine, "map", state, last)
        try:
            v = views.targets_view(engine, state)
        except Exception as exc:
            return (figures.empty_figure("No map: see the message above."), None, None,
                    None, _message(_failure("map", exc)), "Targets by area", key)
        plural = figures.LEVEL_PLURALS[v["level"]]
        info = html.Div(id="map-info", className="hint", **{
            "data-shapes": str(v["shapes"]), "data-level": v["level"]}, children=[
            html.P(v["alt"], id="map-alt"),
            html.P(f"{v['shapes']} {plural} drawn, London enlarged on the right. Hover an "
                   "area for its figures; click one to pick it for the plan and tables.")])
        title = f"Targets by {figures.LEVEL_NAMES[v['level']]}: {state['specialty']}"
        engine.prefetch_workbook(engine.scenario(state))
        return (v["figure"], info, html_table(v["table"], title, table_id="targets-table"),
                summary_children(v["summary"], v["estimated_current"]), None, title, key)

    @app.callback(
        Output("plan-graph", "figure"), Output("plan-answer", "children"),
        Output("plan-years", "children"), Output("plan-message", "children"),
        Output("plan-key", "data"), Input("plan-state", "data"), State("plan-key", "data"))
    def _plan(state: Any, last: Any) -> tuple[Any, ...]:
        key, state = _guard(engine, "plan", state, last)
        try:
            v = views.plan_view(engine, state)
        except Exception as exc:
            return (figures.empty_figure("No plan chart."), None, None,
                    _message(_failure("plan", exc)), key)
        answer = html.Div(className="answer", id="plan-answer-text", children=[
            html.P(html.Strong(v["answer"])),
            html.P(f"Gap at the start: {signed(v['start_gap'])} posts. Moved by "
                   f"{v['horizon']}: {signed(v['moved'])} posts. Still open at {v['horizon']}: "
                   f"{signed(v['remaining'])} posts. Years before {v['first_to_come']} are a "
                   "reconstruction of what the plan would have moved.", className="hint")])
        years = html_table(v["years"], f"{state['area']}, {state['specialty']}: year by year",
                           table_id="years-table")
        engine.prefetch_workbook(engine.scenario(state))
        return v["figure"], answer, years, None, key

    @app.callback(
        Output("posts-answer", "children"), Output("posts-box", "children"),
        Output("posts-message", "children"), Output("posts-key", "data"),
        Input("posts-state", "data"), Input("trust-min", "data"), State("posts-key", "data"))
    def _posts(state: Any, held: Any, last: Any) -> tuple[Any, ...]:
        digest = str(held.get("digest", "")) if isinstance(held, dict) else ""
        key, state = _guard(engine, "posts", state, last, digest)
        try:
            v = views.posts_view(engine, state, posts_tab.held_file(engine, held))
        except Exception as exc:
            return None, None, _message(_failure("posts", exc)), key
        answer = html.Div(className="answer", id="posts-answer-text",
                          children=html.P(html.Strong(v["answer"])))
        caption = (f"{state['area']}, {state['specialty']}: trust recommendations by "
                   "recruitment year (posts; + receives, − gives)")
        return answer, html_table(v["table"], caption, table_id="posts-table"), None, key

    @app.callback(
        Output("one-year-box", "children"), Output("pace-box", "children"),
        Output("findings", "children"), Output("deanery-key", "data"),
        Input("deanery-state", "data"), State("deanery-key", "data"))
    def _deanery(state: Any, last: Any) -> tuple[Any, ...]:
        key, state = _guard(engine, "deanery", state, last)
        try:
            v = views.deanery_view(engine, state)
        except Exception as exc:
            return _message(_failure("deanery", exc)), None, None, key
        area, spec = state["area"], state["specialty"]
        return (html_table(v["one_year"], f"{area}, {spec}: changes to training posts in "
                                          f"{v['year']} (posts; + received, − given)",
                           table_id="one-year-table"),
                html_table(v["pace"], f"{area}, {spec}: pace of change, redistribution by "
                                      "year (posts; + received, − given)",
                           table_id="pace-table"),
                findings_children(v["findings"], v["status"]), key)

    @app.callback(
        Output("icb-plan", "children"), Output("icbplan-key", "data"),
        Input("icbplan-state", "data"), State("icbplan-key", "data"))
    def _icb_plan(state: Any, last: Any) -> tuple[Any, ...]:
        key, state = _guard(engine, "icbplan", state, last)
        return icb_plan_children(engine, state), key

    @app.callback(
        Output("compare-map", "figure"), Output("compare-explain", "children"),
        Output("compare-box", "children"), Output("compare-school", "children"),
        Output("compare-message", "children"), Output("compare-key", "data"),
        Input("compare-state", "data"), State("compare-key", "data"))
    def _compare(state: Any, last: Any) -> tuple[Any, ...]:
        key, state = _guard(engine, "compare", state, last)
        try:
            v = views.compare_view(engine, state)
        except Exception as exc:
            return (figures.empty_figure("No comparison."), None, None, None,
                    _message(_failure("compare", exc)), key)
        a, b = v["labels"]
        explain = html.Div(className="explain", children=[
            html.P([html.Strong("A: "), a, html.Br(), html.Strong("B: "), b]),
            html.H3("What differs (B → A)"),
            html.Ul([html.Li(x) for x in v["explanation"]]) if v["explanation"] else
            html.P("Nothing: the same parameters, inputs and version.")])
        return (v["figure"], explain,
                html_table(v["table"], "Change in target by area, A − B",
                           table_id="compare-table"),
                html_table(v["school"], "Targets by school, England: A and B"), None, key)

    @app.callback(
        Output("uncertainty-graph", "figure"), Output("uncertainty-notes", "children"),
        Output("uncertainty-box", "children"), Output("uncertainty-message", "children"),
        Output("uncertainty-key", "data"), Input("uncertainty-state", "data"),
        State("uncertainty-key", "data"))
    def _uncertainty(state: Any, last: Any) -> tuple[Any, ...]:
        key, state = _guard(engine, "uncertainty", state, last)
        try:
            v = views.uncertainty_view(engine, state)
        except Exception as exc:
            return (figures.empty_figure("No intervals."), None, None,
                    _message(_failure("uncertainty", exc)), key)
        notes = [*v["notes"][:1], "Seeded Monte Carlo (seed 0); every draw keeps each "
                 "specialty's national total. Intervals are for local offices.", *v["notes"][1:]]
        return (v["figure"], html.Ul([html.Li(n) for n in notes]),
                html_table(v["table"], f"Intervals on each target ({v['draws']:,} draws)",
                           table_id="uncertainty-table"), None, key)

    @app.callback(
        Output("equity-graph", "figure"), Output("equity-box", "children"),
        Output("equity-message", "children"), Output("equity-key", "data"),
        Input("equity-state", "data"), State("equity-key", "data"))
    def _equity(state: Any, last: Any) -> tuple[Any, ...]:
        key, state = _guard(engine, "equity", state, last)
        try:
            v = views.equity_view(engine, state)
        except Exception as exc:
            return (figures.empty_figure("No equity metrics to show."), None,
                    _message(_failure("equity", exc)), key)
        note = None
        if v["checks"]:
            note = html.Details(className="alert", children=[
                html.Summary(f"{len(v['checks'])} year(s) in which the plan raises inequality "
                             "(why, per area)"),
                html.Ul([html.Li(m) for m in v["checks"]])])
        return (v["figure"], html_table(v["table"], "Equity before, during and after the plan",
                                        table_id="equity-table"), note, key)

    @app.callback(Output("download", "data"), Output("dl-status", "children"),
                  Input("dl-excel", "n_clicks"), Input("dl-targets", "n_clicks"),
                  Input("dl-plan", "n_clicks"), Input("dl-report", "n_clicks"),
                  State("state", "data"), prevent_initial_call=True,
                  running=[(Output("dl-progress", "children"), DOWNLOAD_PROGRESS, ""),
                           *[(Output(b, "disabled"), True, False) for b in DOWNLOAD_BUTTONS]])
    def _download(_x: Any, _t: Any, _p: Any, _r: Any, state: Any) -> tuple[Any, ...]:
        if not isinstance(state, dict):
            return no_update, "The page is still loading."
        state = clean_state(state, **engine.known())
        try:
            if ctx.triggered_id == "dl-excel":
                name, content = views.excel_download(engine, state)
                return dcc.send_bytes(content, name), f"{name} ready."
            if ctx.triggered_id == "dl-targets":
                name, text = views.targets_csv(engine, state)
            elif ctx.triggered_id == "dl-report":
                name, text = views.report_html(engine, state)
            else:
                name, text = views.plan_csv(engine, state)
            return dcc.send_string(text, name), f"{name} ready."
        except Exception as exc:
            return no_update, _failure("download", exc)

    register_posts_files(app, engine)
    for name in VIEW_KEYS:
        app.clientside_callback(gate_js(name), Output(f"{name}-state", "data"),
                                Input("state", "data"), State(f"{name}-state", "data"))

    app.clientside_callback(
        "function(n) { if (n) { window.print(); } return ''; }",
        Output("print-done", "children"), Input("print", "n_clicks"),
        prevent_initial_call=True)


#: The Posts tab's upload, checked in the browser: a file over LIMIT bytes is said in the page
#: (with what the table still uses) and never sent; a smaller one goes to the server.
UPLOAD_SIZE_JS = """function(contents, filename, held) {
  var nu = window.dash_clientside.no_update;
  if (!contents) { return [nu, nu, nu]; }
  var body = contents.length - contents.indexOf(",") - 1;
  var pad = contents.endsWith("==") ? 2 : contents.endsWith("=") ? 1 : 0;
  var bytes = Math.floor(body * 3 / 4) - pad;
  if (bytes <= LIMIT) { return [{contents: contents, filename: filename || ""}, nu, null]; }
  var n = function (x) { return x.toLocaleString("en-GB"); };
  var still = held && held.digest ? "The table still uses " + held.name + "." :
    "The table still uses the default minimum unit.";
  var p = function (text) {
    return {type: "P", namespace: "dash_html_components", props: {children: text}}; };
  return [nu, {type: "Div", namespace: "dash_html_components", props: {className: "alert",
    children: [p((filename || "The file") + " cannot be used: " + n(bytes) + " bytes, and " +
      "the page takes a minimum-unit file up to " + n(LIMIT) + " bytes (a minimum per trust " +
      "and specialty is far smaller). Give a larger file to fairshare posts --trust-min."),
      p(still)]}}, null];
}"""


def register_posts_files(app: Any, engine: Engine) -> None:
    """The Posts tab's file in (a minimum-unit file) and file out (the CSV on screen)."""
    from dash import Input, Output, State, ctx, dcc, no_update

    # In the browser first: a file too large for the server's 1 MB request limit is said in
    # the page (the server would refuse the request, and the page would show nothing); a file
    # within it is passed on. The upload is emptied each time, so the same file can be chosen
    # again.
    app.clientside_callback(
        UPLOAD_SIZE_JS.replace("LIMIT", str(posts_tab.MAX_UPLOAD_BYTES)),
        Output("trust-min-file", "data"),
        Output("trust-min-message", "children", allow_duplicate=True),
        Output("trust-min-upload", "contents"),
        Input("trust-min-upload", "contents"), State("trust-min-upload", "filename"),
        State("trust-min", "data"), prevent_initial_call=True)

    @app.callback(
        Output("trust-min", "data"), Output("trust-min-message", "children"),
        Output("trust-min-file", "data"),
        Input("trust-min-file", "data"), Input("trust-min-clear", "n_clicks"),
        State("trust-min", "data"), prevent_initial_call=True)
    def _trust_min(file: Any, _clear: Any, held: Any) -> tuple[Any, ...]:
        if ctx.triggered_id == "trust-min-clear":
            return None, None, None
        if not isinstance(file, dict) or not file.get("contents"):
            return no_update, no_update, no_update
        try:  # the file's contents are dropped from the page once read
            entry = posts_tab.read_upload(engine, str(file["contents"]),
                                          str(file.get("filename") or ""))
        except InputError as exc:
            return no_update, problems_children(exc, held), None
        except Exception as exc:
            return no_update, _message(_failure("minimum-unit file", exc)), None
        return entry, None, None

    @app.callback(Output("trust-min-status", "children"), Input("trust-min", "data"))
    def _trust_min_status(held: Any) -> str:
        return posts_tab.status_text(held)

    @app.callback(
        Output("download-posts", "data"), Output("dl-posts-status", "children"),
        Input("dl-posts", "n_clicks"), State("state", "data"), State("trust-min", "data"),
        prevent_initial_call=True, running=[(Output("dl-posts", "disabled"), True, False)])
    def _download_posts(_n: Any, state: Any, held: Any) -> tuple[Any, ...]:
        if not isinstance(state, dict):
            return no_update, "The page is still loading."
        state = clean_state(state, **engine.known())
        try:
            name, text = posts_tab.posts_csv(engine, state, held)
        except Exception as exc:
            return no_update, _failure("posts download", exc)
        return dcc.send_string(text, name), f"{name} ready."


def problems_children(exc: InputError, held: Any) -> Any:
    """A file's problems as the CLI lists them (file, row, column, what was expected), and
    what the table uses meanwhile."""
    from dash import html

    head, *lines = str(exc).splitlines()
    name = held.get("name") if isinstance(held, dict) and held.get("digest") else None
    still = (f"The table still uses {name}." if name else
             "The table still uses the default minimum unit.")
    return html.Div(className="alert", children=[
        html.P(f"{exc.problems[0].file if exc.problems else 'The file'} cannot be used: "
               f"{head}"),
        html.Ul([html.Li(line.strip().removeprefix("- ")) for line in lines]),
        html.P(still)])
