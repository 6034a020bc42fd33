"""The web app's server and its words: what it refuses, how it serves, how it writes numbers.

No browser: the Flask test client and the plain functions. Each case is something a hostile or
careless client, a hand-edited link or a busy first minute did to the app.
"""

from __future__ import annotations

import json
import re
import threading
from datetime import date
from typing import Any

import pytest

pytest.importorskip("dash", reason="the web app needs dash")

from fairshare.errors import FairshareError
from fairshare.webapp import figures, views
from fairshare.webapp.app import (
    MAX_REQUEST_BYTES,
    create_app,
    exposure_warning,
    is_loopback,
    serve,
)
from fairshare.webapp.engine import Engine
from fairshare.webapp.state import DEFAULTS, clean_state, read_link
from fairshare.webapp.tables import fmt, signed


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(prefetch=False)


@pytest.fixture(scope="module")
def client(engine: Engine) -> Any:
    return create_app(engine=engine).server.test_client()


def callback_body(app: Any, output_part: str, state: dict[str, Any]) -> dict[str, Any]:
    """The JSON Dash's renderer sends for the callback whose output names ``output_part``."""
    from dash._utils import split_callback_id

    output = next(k for k in app.callback_map if output_part in k)
    spec = app.callback_map[output]
    # a view reads the page's state through its gate (``<view>-state``), the same dict
    return {"output": output, "outputs": split_callback_id(output),
            "inputs": [{**i, "value": state if i["id"] == "state"
                        or str(i["id"]).endswith("-state") else None}
                       for i in spec["inputs"]],
            "state": [{**s, "value": None} for s in spec["state"]],
            "changedPropIds": [f"{spec['inputs'][0]['id']}.data"]}


# --- links: normalised, or said plainly what was ignored ---------------------------------------

def known(engine: Engine) -> dict[str, Any]:
    return engine.known()


@pytest.mark.parametrize(("link", "key", "value"), [
    ("?spec=cardiology", "specialty", "Cardiology"),
    ("?spec=%20CARDIOLOGY%20", "specialty", "Cardiology"),
    ("?area=ldn", "area", "London"),
    ("?area=wessex", "area", "Wessex"),
    ("?area=kent%20surrey%20and%20sussex", "area", "Kent Surrey and Sussex"),
])
def test_link_names_match_in_any_case_or_by_code(engine: Engine, link: str, key: str,
                                                  value: str) -> None:
    state, notes = read_link(link, **known(engine))
    assert state[key] == value and notes == []


@pytest.mark.parametrize(("link", "key", "said"), [
    ("?area=Atlantis", "area", "area=Atlantis"),
    ("?spec=Nonsense", "specialty", "spec=Nonsense"),
    ("?h=99999", "horizon", "h=99999"),
    ("?sigma=0.9", "sigma", "sigma=0.9"),
    ("?n=300000", "draws", "n=300000"),
    ("?d=nan", "delta", "d=nan"),
    ("?year=2039", "year", "year=2039"),
])
def test_unusable_link_values_are_said_not_silently_replaced(engine: Engine, link: str,
                                                              key: str, said: str) -> None:
    state, notes = read_link(link, **known(engine))
    assert state[key] == DEFAULTS[key] if key != "year" else state[key] == 0
    assert len(notes) == 1 and said in notes[0] and "Showing" in notes[0]


def test_unknown_comparison_and_unknown_settings_are_said(engine: Engine) -> None:
    _, state, _, notes = views.sync(engine, None, "?cmp=hello&a=nope&zoom=3",
                                    [None] * len(views.KEYS))
    assert state["compare"] == "default" and state["compare_a"] == "view"
    assert any("cmp=hello" in n for n in notes) and any("a=nope" in n for n in notes)
    assert any("zoom=3" in n and "not a setting" in n for n in notes)
    # controls moved by hand carry no link notes
    assert views.sync(engine, "delta", "", views.state_to_controls(state))[3] is None


def test_sigma_and_draws_are_bounded_by_their_controls() -> None:
    assert clean_state({"sigma": 0.9})["sigma"] == DEFAULTS["sigma"]
    assert clean_state({"sigma": 0.5})["sigma"] == 0.5
    assert clean_state({"draws": 300_000})["draws"] == DEFAULTS["draws"]
    assert clean_state({"draws": 3000})["draws"] == 3000
    assert clean_state({"draws": 2999})["draws"] == DEFAULTS["draws"]


# --- the server trusts no client ---------------------------------------------------------------

def test_callback_that_asks_for_300000_draws_gets_the_controls_limit(engine: Engine) -> None:
    app = create_app(engine=engine)
    client = app.server.test_client()
    state = clean_state({"tab": "uncertainty", "specialty": "Cardiology"}) | {"draws": 300_000}
    response = client.post("/_dash-update-component",
                           json=callback_body(app, "uncertainty-graph", state))
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "(300 draws)" in text and "300,000" not in text


@pytest.mark.parametrize("body", [
    b"not json", b"[1, 2, 3]", b'{"output": "nothing..here"}', b'{"output": 5}', b"{}",
    b'{"output": "..headline.children...headline-key.data..", "inputs": "x"}',
    b'{"output": "..headline.children...headline-key.data..", "inputs": [], "state": []}',
    b'{"output": "..headline.children...headline-key.data..", "inputs": [{"id": "url", '
    b'"property": "search"}], "state": [{"id": "headline-key", "property": "data"}]}',
    b'{"output": "print-done.children", "inputs": [{"id": "print", "property": "n_clicks"}],'
    b' "state": [], "outputs": {"id": "print-done", "property": "children"}}',
    b'{"output": "..headline.children...headline-key.data..", "inputs": [{"id": "state", '
    b'"property": "data", "value": {}}], "state": [{"id": "headline-key", "property": "data"}],'
    b' "outputs": [{"id": "map", "property": "figure"}]}',
])
def test_malformed_callback_bodies_get_a_clear_400(client: Any, body: bytes) -> None:
    response = client.post("/_dash-update-component", data=body,
                           content_type="application/json")
    assert response.status_code == 400
    assert "Bad request" in response.get_data(as_text=True)


def test_over_large_request_is_refused_with_413(client: Any) -> None:
    response = client.post("/_dash-update-component", data=b" " * (MAX_REQUEST_BYTES + 1),
                           content_type="application/json")
    assert response.status_code == 413
    assert "refused" in response.get_data(as_text=True)


def test_assets_are_compressed_and_plotly_is_the_partial_bundle(client: Any) -> None:
    page = client.get("/").get_data(as_text=True)
    assert "plotly-basic" in page and "package_data/plotly.min.js" not in page
    layout = client.get("/_dash-layout").get_data(as_text=True)
    assert "plotlyjs_url" not in layout
    src = re.search(r'src="(/assets/plotly-basic[^"]+)"', page)
    assert src is not None
    for encoding in ("br", "gzip"):
        response = client.get(src.group(1), headers={"Accept-Encoding": encoding})
        body = response.get_data()
        assert response.headers["Content-Encoding"] == encoding
        assert len(body) < 600_000  # 1.2 MB of JavaScript, sent compressed
        response.close()


def test_loopback_and_the_debugger() -> None:
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        assert is_loopback(host)
    for host in ("0.0.0.0", "::", "192.168.1.5", "example.org"):
        assert not is_loopback(host)
    with pytest.raises(FairshareError, match="debugger"):
        serve(host="0.0.0.0", debug=True)
    assert exposure_warning("127.0.0.1", 8050) is None
    text = exposure_warning("0.0.0.0", 8080)
    assert text is not None and "WARNING" in text and "8080" in text and "no sign-in" in text


def test_cli_refuses_the_debugger_on_every_interface() -> None:
    from typer.testing import CliRunner

    from fairshare.cli import app

    result = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0", "--debug"])
    assert result.exit_code == 2
    assert "debugger" in result.output and "Traceback" not in result.output


def test_a_burst_on_a_cold_server_parses_the_boundaries_once() -> None:
    figures._shapes.cache_clear()
    barrier = threading.Barrier(16)

    def visit() -> None:
        barrier.wait()
        figures.shapes("icb")

    threads = [threading.Thread(target=visit) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert figures._shapes.cache_info().misses == 1
    figures.warm()
    assert figures._shapes.cache_info().currsize == len(figures.LEVEL_FILES)


# --- numbers: units, one sign rule, no "+0" ----------------------------------------------------

def test_signs_and_zeros() -> None:
    assert signed(0) == "0" and signed(-0.0) == "0" and signed(3) == "+3"
    assert signed(-1234) == "−1,234"
    assert fmt(0, "signed") == "0" and fmt(-0.04, "one") == "0.0"
    assert fmt(-0.0004, "pct") == "0.0%" and fmt(0.1234, "pct") == "+12.3%"
    assert fmt(-0.6, "pct") == "−60.0%" and fmt(0.25, "share") == "25%"
    assert fmt(None, "int") == "–" and fmt(float("nan"), "one") == "–"


def test_no_signed_zero_anywhere_on_the_plan_and_map(engine: Engine) -> None:
    from dash import html

    from fairshare.webapp.callbacks import report_children

    data = views.report_view(engine, clean_state({"specialty": "Cardiology", "tab": "report"}))
    text = json.dumps([c.to_plotly_json() if isinstance(c, html.Div | html.Table) or
                       hasattr(c, "to_plotly_json") else c for c in report_children(data)
                       if c is not None], default=str)
    for bad in ('"+0"', '"−0"', '"-0"', '"−0.0"', '"-0.0"', '"+0.0%"'):
        assert bad not in text


# --- plan tab: the planner's question in two clicks ----------------------------------------------

def test_running_total_matches_the_cores_cumulative(engine: Engine) -> None:
    state = clean_state({"tab": "plan", "specialty": "Cardiology", "area": "London"})
    view = views.plan_view(engine, state, today=date(2026, 11, 28))
    rows = {r["year"]: r for r in view["years"]["data"]}
    plan, _ = engine.specialty_plan(engine.scenario(state), "Cardiology")
    london = plan[plan["area"] == "London"].set_index("year")
    for year, row in rows.items():
        assert row["running"] == london.loc[year, "cumulative"]
        assert row["when"] == ("to come" if year >= 2027 else "reconstruction (past)")
    given = -sum(r["redistribution"] for r in rows.values())
    assert view["answer"].startswith("London gives up ") or given <= 0
    assert f"{abs(given):,} Cardiology posts by {max(rows)}" in view["answer"]


def test_deanery_tables_honour_the_specialty_and_default_to_a_year_to_come(
        engine: Engine) -> None:
    state = clean_state({"tab": "plan", "specialty": "Cardiology", "area": "London"})
    view = views.deanery_view(engine, state, today=date(2026, 11, 28))
    assert view["year"] == 2027
    specs = {r["Specialty (phase)"] for r in view["pace"]["data"]} - {"Total"}
    assert specs == {"Cardiology (Trailblazer)"}
    assert views.first_year_to_come(date(2026, 3, 1)) == 2026
    assert views.first_year_to_come(date(2026, 8, 1)) == 2027


def test_headline_moves_conserve_posts(engine: Engine) -> None:
    from fairshare.webapp.state import ALL

    for spec in ("Cardiology", ALL):
        h = views.headline(engine, clean_state({"specialty": spec}))
        detail = engine.targets(engine.scenario(clean_state({})), "local_office", spec)
        # what receiving areas are short of equals what giving areas hold over, per specialty
        assert h["to_move"] == int(-detail["gap"].clip(upper=0).sum())
        assert h["giving"] + h["receiving"] <= h["areas"] == 11
        assert 0 <= h["gini_target"] < h["gini_now"]


# --- every callback against hostile values: a clear answer, never a 500 --------------------------

HOSTILE: list[Any] = [None, 1e308, -1, True, "x" * 20_000, [], {}, [1, [2, [3]]],
                      {"tab": "<script>", "specialty": "x" * 10_000, "delta": 1e308,
                       "draws": 300_000, "area": "../../etc/passwd", "horizon": "NaN",
                       "year": -2**63, "compare": {"a": 1}}]


def test_every_callback_answers_hostile_values_without_a_server_error(engine: Any) -> None:
    from dash._utils import split_callback_id

    app = create_app(engine=engine)
    client = app.server.test_client()
    checked = 0
    for output, spec in app.callback_map.items():
        if not callable(spec.get("callback")):
            continue  # runs in the browser (print); the server refuses it with a 400
        for value in HOSTILE:
            body = {"output": output, "outputs": split_callback_id(output),
                    "inputs": [{**i, "value": value} for i in spec["inputs"]],
                    "state": [{**s, "value": value} for s in spec["state"]],
                    "changedPropIds": [f"{spec['inputs'][0]['id']}."
                                       f"{spec['inputs'][0]['property']}"]}
            response = client.post("/_dash-update-component", json=body)
            assert response.status_code in (200, 204), (output, str(value)[:60],
                                                        response.get_data(as_text=True)[:300])
            checked += 1
    assert checked >= 40


def test_the_compressed_file_cache_cannot_be_grown_by_query_strings(engine: Any) -> None:
    app = create_app(engine=engine)
    client = app.server.test_client()
    for i in range(20):
        client.get(f"/assets/style.css?junk={i}", headers={"Accept-Encoding": "br"}).close()
    client.post("/_dash-update-component", data=b"x", content_type="application/json").close()
    stored = app.server.extensions["fairshare_compress"].cache._data
    assert [k for k in stored if "style.css" in k] == ["br;static:/assets/style.css"]
    assert all(";static:" in k for k in stored)  # nothing dynamic is kept


def test_one_background_workbook_at_a_time(engine: Engine, monkeypatch: Any) -> None:
    """Background workbooks run one at a time (the other worker stays free for a click), and
    when one finishes only the newest scenario wanted meanwhile is begun, not every one."""
    import time
    from concurrent.futures import Future

    from fairshare.webapp.state import clean_state

    eager = Engine(engine.bundle, prefetch=True)
    started: list[str] = []
    running: list[Future[bytes]] = []

    def fake_book(scenario: Any) -> Future[bytes]:
        started.append(eager.plan_key(scenario))
        running.append(Future())
        return running[-1]

    monkeypatch.setattr(eager, "_book", fake_book)
    first, second, third = (eager.scenario(clean_state({"delta": d})) for d in (0.1, 0.3, 0.5))

    def wait_for(n: int) -> None:
        for _ in range(200):
            if len(started) >= n:
                return
            time.sleep(0.01)

    eager.prefetch_workbook(first, delay=0)
    wait_for(1)
    eager.prefetch_workbook(second, delay=0)
    eager.prefetch_workbook(third, delay=0)
    time.sleep(0.3)
    assert started == [eager.plan_key(first)]  # still running: nothing else begun
    running[0].set_result(b"")
    wait_for(2)
    time.sleep(0.3)
    assert started == [eager.plan_key(first), eager.plan_key(third)]
