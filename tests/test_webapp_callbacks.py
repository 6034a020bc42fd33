"""The web app's views as plain functions: no browser, no server.

Each view is ``view(engine, state) -> dict``; these tests drive them with control values the
way the page does and check what a planner would see.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("dash", reason="the web app needs dash (pip install dash plotly)")
pytest.importorskip("plotly", reason="the web app needs plotly")

from fairshare.webapp import callbacks, figures
from fairshare.webapp import views as cb
from fairshare.webapp.engine import Engine
from fairshare.webapp.state import (
    ALL,
    DEFAULTS,
    clean_state,
    query_to_state,
    state_to_query,
)

SPEC = "General Psychiatry"


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine()


def state(**changes: object) -> dict[str, object]:
    return clean_state({"specialty": SPEC, **changes})


def area_targets(view: dict) -> dict[str, int]:
    return {row["area"]: row["target"] for row in view["table"]["data"]}


# --- targets and the map ------------------------------------------------------------------

def test_delta_changes_a_named_areas_target(engine: Engine) -> None:
    low = cb.targets_view(engine, state(delta=0.0, area="London"))
    high = cb.targets_view(engine, state(delta=0.8, area="London"))
    assert low["summary"]["area"] == "London"
    assert low["summary"]["target"] != high["summary"]["target"]
    # the table and the summary agree, and the map's colours moved with them
    assert area_targets(low)["London"] == low["summary"]["target"]
    assert area_targets(high)["London"] == high["summary"]["target"]
    colours = [[t.get("fillcolor") for t in v["figure"]["data"]] for v in (low, high)]
    assert colours[0] != colours[1]
    # the national total never changes: redistribution moves posts, it never adds any
    assert sum(area_targets(low).values()) == sum(area_targets(high).values())


@pytest.mark.parametrize(("level", "n"), [("icb", 42), ("local_office", 11), ("region", 7)])
def test_level_switch_draws_one_shape_per_area(engine: Engine, level: str, n: int) -> None:
    view = cb.targets_view(engine, state(level=level))
    areas = [t for t in view["figure"]["data"] if t.get("meta", {}).get("role") == "area"]
    assert view["shapes"] == n == len(areas)
    assert view["figure"]["layout"]["meta"]["shapes"] == n
    assert len(view["table"]["data"]) == n
    # every shape is an area of the table, coloured and with the hover a planner needs
    codes = {row["area_code"] for row in view["table"]["data"]}
    assert {t["meta"]["area_code"] for t in areas} == codes
    for trace in areas:
        assert trace["fill"] == "toself" and trace["hoveron"] == "fills"
        for word in ("Current", "Fair share", "Target", "Gap", "posts", "% of target"):
            assert word in trace["text"]
        assert trace["fillcolor"] != figures.NO_DATA


def test_map_legend_lists_the_classes_with_their_counts(engine: Engine) -> None:
    fig = cb.targets_view(engine, state(level="icb"))["figure"]
    legend = [t for t in fig["data"] if t.get("meta", {}).get("role") == "legend"]
    assert len(legend) == len(figures.GAP_CLASSES)
    # no colour bar stretched by an outlier: every area takes one of the seven class colours
    assert not [t for t in fig["data"] if t.get("marker", {}).get("showscale")]
    areas = [t for t in fig["data"] if t.get("meta", {}).get("role") == "area"]
    colours = {c for _, c, _ in figures.GAP_CLASSES}
    assert {t["fillcolor"] for t in areas} <= colours
    # each entry's count is the number of areas of its colour
    for entry in legend:
        n = int(entry["name"].rsplit("(", 1)[1].rstrip(")"))
        assert n == sum(t["fillcolor"] == entry["marker"]["color"] for t in areas)
    title = legend[0]["legendgrouptitle"]["text"]
    assert "gives" in title and "receives" in title
    # colour-blind safe diverging classes: ColorBrewer PuOr ends, orange at − (gives)
    assert figures.GAP_CLASSES[0][1] == "rgb(179, 88, 6)"  # #b35806
    assert figures.GAP_CLASSES[-1][1] == "rgb(84, 39, 136)"  # #542788


@pytest.mark.parametrize(("pct", "k"), [
    (-2.65, 0), (-0.5001, 0), (-0.5, 1), (-0.2001, 1), (-0.2, 2), (-0.0501, 2), (-0.05, 3),
    (0.0, 3), (0.0499, 3), (0.05, 4), (0.1999, 4), (0.2, 5), (0.4999, 5), (0.5, 6), (2.65, 6)])
def test_gap_classes_by_hand(pct: float, k: int) -> None:
    """Each class runs from the bound before it (included) to its own (excluded)."""
    assert figures.gap_class(pct) == k
    assert figures.gap_class(float("nan")) is None


def _inside(shape: dict, x: float, y: float) -> bool:
    """Ray casting over each ring of a shape (rings are separated by None)."""
    rings: list[list[tuple[float, float]]] = [[]]
    for a, b in zip(shape["x"], shape["y"], strict=True):
        if a is None:
            rings.append([])
        else:
            rings[-1].append((a, b))
    hit = False
    for ring in rings:
        for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True):
            if (y0 > y) != (y1 > y) and x < (x1 - x0) * (y - y0) / (y1 - y0) + x0:
                hit = not hit
    return hit


def test_moved_labels_sit_inside_their_areas_or_off_their_own_coast() -> None:
    """Every label moved from its furthest-inside point lies inside its own area (and no
    other) or, set in the Channel, inside none and nearest its own coast."""
    for level in ("local_office", "region"):
        every = figures.shapes(level)
        for shape in every:
            if shape["code"] not in figures.LABEL_AT:
                continue
            x, y = figures.label_point(shape)
            holders = [s["code"] for s in every if _inside(s, x, y)]
            if holders:
                assert holders == [shape["code"]], (shape["code"], holders)
                continue

            def distance(s: dict, x: float = x, y: float = y) -> float:
                return min((a - x) ** 2 + (b - y) ** 2
                           for a, b in zip(s["x"], s["y"], strict=True) if a is not None)

            assert min(every, key=distance)["code"] == shape["code"], shape["code"]


def test_modelled_current_posts_are_marked_in_the_table(engine: Engine) -> None:
    gp = cb.targets_view(engine, state(specialty="General Practice"))["table"]["data"]
    assert all("modelled" in r["current_note"] for r in gp)
    psych = cb.targets_view(engine, state(specialty="General Psychiatry"))["table"]["data"]
    assert all("modelled" not in r["current_note"] for r in psych)
    everything = cb.targets_view(engine, state(specialty=ALL, level="icb"))["table"]["data"]
    assert all("General Practice" in r["current_note"] and "Public Health Medicine"
               in r["current_note"] for r in everything)


def test_colour_and_sign_follow_the_gap(engine: Engine) -> None:
    view = cb.targets_view(engine, state(level="local_office"))
    by_code = {t["meta"]["area_code"]: t["fillcolor"] for t in view["figure"]["data"]
               if t.get("meta", {}).get("role") == "area"}
    for row in view["table"]["data"]:
        # one sign convention: the % has the sign of the gap (+ receives, − gives)
        assert row["gap_pct"] == pytest.approx(row["gap"] / row["target"])
        assert row["side"] == {1: "receives", -1: "gives", 0: "at target"}[
            (row["gap"] > 0) - (row["gap"] < 0)]
        r, g, b = (int(x) for x in by_code[row["area_code"]][4:-1].split(","))
        if row["gap_pct"] < -0.05:
            assert r > b, f"{row['area']} is above target (gives): should be orange"
        elif row["gap_pct"] > 0.05:
            assert b > g, f"{row['area']} is below target (receives): should be purple"


def test_all_specialties_adds_areas_up(engine: Engine) -> None:
    view = cb.targets_view(engine, state(specialty=ALL, level="region"))
    total_current = sum(r["current"] for r in view["table"]["data"])
    assert total_current == int(engine.bundle.posts["posts"].sum())
    assert view["shapes"] == 7


def test_icb_level_matches_the_core(engine: Engine) -> None:
    from fairshare import targets

    scenario = engine.scenario(state(delta=0.35))
    core = targets(engine.bundle, scenario, level="icb")
    core = core[core["specialty"] == SPEC].set_index("area_code")["target"]
    view = cb.targets_view(engine, state(delta=0.35, level="icb"))
    mine = {r["area_code"]: r["target"] for r in view["table"]["data"]}
    assert mine == core.to_dict()


def test_every_control_reaches_the_targets(engine: Engine) -> None:
    base = area_targets(cb.targets_view(engine, state(specialty=ALL)))
    changed = {
        "weights": state(specialty=ALL, weights_mode="custom", w_core=1, w_specialty=0,
                         w_future=0),
        "sigma": state(specialty=ALL, sigma_mode="custom", sigma=0.5),
        "projection": state(specialty=ALL, projection_year=2043, variant="high_migration"),
        "method": state(specialty=ALL, method="webster", level="icb"),
    }
    for name, st in changed.items():
        other = area_targets(cb.targets_view(engine, st))
        if name == "method":
            continue  # compared below at the same level
        assert other != base, f"{name} did not change any target"
    icb_h = area_targets(cb.targets_view(engine, state(level="icb", specialty=ALL)))
    icb_w = area_targets(cb.targets_view(engine, changed["method"]))
    assert sum(icb_h.values()) == sum(icb_w.values())


def test_bad_parameters_give_a_message_not_a_crash(engine: Engine) -> None:
    with pytest.raises(cb.ViewError, match="weights"):
        cb.targets_view(engine, state(weights_mode="custom", w_core=0, w_specialty=0,
                                      w_future=0))
    with pytest.raises(cb.ViewError, match="Adams"):
        cb.targets_view(engine, state(specialty=ALL, method="adams"))


def test_click_on_map_picks_the_area(engine: Engine) -> None:
    geo = figures.shapes("local_office")
    i = next(k for k, s in enumerate(geo) if s["name"] == "Wessex")
    assert cb.area_from_click(engine, "local_office", {"points": [{"curveNumber": i}]}) \
        == "Wessex"
    j = next(k for k, s in enumerate(figures.shapes("icb")) if "Sussex" in s["name"])
    assert cb.area_from_click(engine, "icb", {"points": [{"curveNumber": j}]}) \
        == "Kent Surrey and Sussex"
    # a region picks its local office with the most posts (London region: London)
    k = next(k for k, s in enumerate(figures.shapes("region")) if s["name"] == "London")
    assert cb.area_from_click(engine, "region", {"points": [{"curveNumber": k}]}) == "London"
    # the London inset's areas come after the main map's areas and their labels
    inset = figures.inset_codes("local_office")
    n = len(geo) + 1 + inset.index("LDN")
    assert cb.area_from_click(engine, "local_office", {"points": [{"curveNumber": n}]}) \
        == "London"
    # labels, legend and junk pick nothing
    for junk in ({"points": [{"curveNumber": len(geo)}]}, {"points": [1]}, {"points": []},
                 "x", None, {"points": [{"curveNumber": True}]}):
        assert cb.area_from_click(engine, "local_office", junk) is None


def test_boundaries_are_bundled_and_small() -> None:
    from fairshare.inputs.bundle import data_dir

    for level, n in (("icb", 42), ("local_office", 11), ("region", 7)):
        path = data_dir() / figures.LEVEL_FILES[level]
        assert path.stat().st_size < 1_000_000
        assert len(figures.shapes(level)) == n


def _contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two colours (#rrggbb or rgb(r, g, b)), by its definition."""
    def lum(c: str) -> float:
        rgb = [int(c[i:i + 2], 16) for i in (1, 3, 5)] if c.startswith("#") else \
            [int(float(v)) for v in c[c.index("(") + 1:-1].split(",")]
        lin = [v / 255 / 12.92 if v / 255 <= 0.03928 else ((v / 255 + 0.055) / 1.055) ** 2.4
               for v in rgb]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    hi, lo = sorted([lum(a), lum(b)], reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_scarcity_map_classes_match_an_independent_recomputation(engine: Engine) -> None:
    """Colour by scarcity, local offices, Cardiology: each office's consultants summed again
    from the raw NHS Digital rows, its index (share of consultants / share of need) and its
    third ranked here by hand; the figure's classes, legend counts, London's colour and the
    words beside the map must all agree with that."""
    from fairshare.model.scarcity import scarcity

    spec = "Cardiology"
    v = cb.targets_view(engine, state(specialty=spec, map_colour="scarcity"))
    fig = v["figure"]
    assert fig["layout"]["meta"]["colour_by"] == "scarcity"
    raw = engine.bundle.consultants
    cons = raw[raw["specialty"] == spec].groupby("local_office")["fte"].sum()
    model = scarcity(engine.bundle, engine.scenario(state(specialty=spec)))
    rows = model[(model["level"] == "local_office") & (model["specialty"] == spec)]
    need = rows.set_index("area")["need_weighted_population"]
    assert set(need.index) == set(cons.index) and len(need) == 11
    index = (cons / cons.sum()) / (need / need.sum())
    # every office holds dozens of cardiologists: all 11 are designated, thirds 3 / 5 / 3
    ranked = index.sort_values().index.tolist()
    expected = {a: "scarce" if k < 3 else "well provided" if k >= 8 else "middle"
                for k, a in enumerate(ranked)}
    codes = {name: code for code, name in engine.area_codes.items()}
    shown = fig["layout"]["meta"]["designations"]
    assert {a: shown[codes[a]] for a in expected} == expected
    legend = [t["name"] for t in fig["data"] if t.get("showlegend")]
    assert legend == ["scarce (lowest third) (3)", "middle third (5)",
                      "well provided (highest third) (3)"]
    colour = dict(zip([d for d, _, _ in figures.SCARCITY_CLASSES],
                      [c for _, c, _ in figures.SCARCITY_CLASSES], strict=True))
    london = next(t for t in fig["data"] if t.get("meta", {}).get("area_code") == "LDN")
    assert london["fillcolor"] == colour[expected["London"]]
    assert all(a in v["alt"] for a in ranked[:3]) and "scarce: 3" in v["alt"]
    assert all(a not in v["alt"] for a in ranked[3:])
    # the map's labels are readable on every class's colour (WCAG AA, 4.5:1)
    for _, fill, _ in figures.SCARCITY_CLASSES:
        assert _contrast(figures._ink(fill), fill) >= 4.5, fill


def test_scarcity_colouring_says_why_when_it_cannot_be_shown(engine: Engine) -> None:
    """All specialties together (and a specialty without consultants) keep the gap map and
    say why; the choice is kept in the link."""
    v = cb.targets_view(engine, state(specialty=ALL, map_colour="scarcity"))
    assert "one specialty at a time" in v["alt"]
    assert "colour_by" not in v["figure"]["layout"]["meta"]
    gp = cb.targets_view(engine, state(specialty="General Practice", map_colour="scarcity"))
    assert "no consultants" in gp["alt"] and "colour_by" not in gp["figure"]["layout"]["meta"]
    assert "col=scarcity" in state_to_query(state(map_colour="scarcity"))
    assert query_to_state("?col=scarcity")["map_colour"] == "scarcity"
    assert query_to_state("?col=nonsense")["map_colour"] == "gap"


# --- URL state ------------------------------------------------------------------------------

def test_url_state_round_trips(engine: Engine) -> None:
    custom = clean_state({
        "tab": "compare", "specialty": "Paediatrics", "level": "icb", "delta": 0.35,
        "weights_mode": "custom", "w_core": 0.4, "w_specialty": 0.35, "w_future": 0.25,
        "sigma_mode": "custom", "sigma": 0.12, "projection_year": 2035,
        "variant": "low_migration", "method": "webster", "horizon": 2036, "pace_cap": 0.25,
        "expansion": "file:expansion-1000", "area": "Wessex", "year": 2027,
        "compare": "file:webster", "draws": 1000})
    for st in (dict(DEFAULTS), custom):
        query = state_to_query(st)
        assert query_to_state(query) == st
        # through the page: controls -> query string -> (new visit) -> controls
        values = cb.state_to_controls(st)
        q, synced, _, _ = cb.sync(engine, "delta", "", values)
        assert synced == st
        back_query, back, controls, notes = cb.sync(engine, None, q or "",
                                                    [None] * len(values))
        assert back == st and controls == values and notes == []
        assert back_query is None  # already canonical
    assert state_to_query(DEFAULTS) == ""
    assert "d=0.35" in state_to_query(custom) and "spec=Paediatrics" in state_to_query(custom)


def test_bad_links_fall_back_to_defaults(engine: Engine) -> None:
    q = "?d=7&level=county&spec=Nonsense&h=1999&cap=-1&area=Atlantis&n=abc&m=webster"
    st = query_to_state(q, specialties=engine.specialties, areas=engine.local_offices)
    assert st["delta"] == DEFAULTS["delta"] and st["level"] == DEFAULTS["level"]
    assert st["specialty"] == DEFAULTS["specialty"] and st["horizon"] == DEFAULTS["horizon"]
    assert st["area"] == DEFAULTS["area"] and st["draws"] == DEFAULTS["draws"]
    assert st["method"] == "webster"
    # the page then rewrites the address to the state it really shows
    new_query, _, _, notes = cb.sync(engine, "url", q, [None] * len(cb.KEYS))
    assert new_query == "?m=webster"
    assert len(notes) == 7  # every value but m=webster was ignored, and each is said


def test_control_fixes_are_pushed_back(engine: Engine) -> None:
    values = cb.state_to_controls(clean_state({"horizon": 2026, "year": 2030}))
    values[cb.KEYS.index("year")] = 2030  # a year after the horizon
    _, st, fixes, _ = cb.sync(engine, "year", "", values)
    assert st["year"] == 0
    assert fixes[cb.KEYS.index("year")] == 0
    assert all(f is None for k, f in zip(cb.KEYS, fixes, strict=True) if k != "year")


# --- plan, comparison, uncertainty, equity ----------------------------------------------------

def test_plan_view_chart_and_deanery_tables(engine: Engine) -> None:
    st = state(tab="plan", area="London")
    view = cb.plan_view(engine, st)
    names = [t["name"] for t in view["figure"]["data"]]
    assert any("Redistribution" in n for n in names) and any("Remaining gap" in n for n in names)
    assert any("expansion" in n.lower() for n in names) and any("Net" in n for n in names)
    assert view["start_gap"] == view["moved"] + view["remaining"]
    # the one-specialty plan is exactly the whole plan's rows for that specialty
    scenario = engine.scenario(st)
    one, _ = engine.specialty_plan(scenario, SPEC)
    deanery = cb.deanery_view(engine, st)
    full = engine.full_plan(scenario).plan
    pd.testing.assert_frame_equal(one, full[full["specialty"] == SPEC].reset_index(drop=True),
                                  check_dtype=False)
    heads = [c["name"] for c in deanery["one_year"]["columns"]]
    assert heads == ["School", "Specialty", "Phase", "Redistribution", "Time-limited expansion",
                     "Net gain/loss"]
    assert deanery["one_year"]["data"][-1]["School"] == "Total"
    assert deanery["pace"]["data"][-1]["Specialty (phase)"] == "Total"


def test_pace_cap_and_horizon_reach_the_plan(engine: Engine) -> None:
    free = cb.plan_view(engine, state(tab="plan", specialty="Paediatrics", area="London"))
    capped = cb.plan_view(engine, state(tab="plan", specialty="Paediatrics", area="London",
                                        pace_cap=0.1, horizon=2035))
    assert [int(y) for y in capped["by_year"]["year"]][-1] == 2035
    assert free["by_year"]["redistribution"].tolist() != \
        capped["by_year"]["redistribution"].tolist()


def test_compare_with_a_scenario(engine: Engine) -> None:
    view = cb.compare_view(engine, state(tab="compare", delta=0.5, compare="default"))
    assert "Deprivation weight δ: 0.2 → 0.5" in view["explanation"]
    changes = [r["target_change"] for r in view["table"]["data"]]
    assert any(changes) and sum(changes) == 0
    assert view["shapes"] == 11
    same = cb.compare_view(engine, state(tab="compare", compare="default"))
    assert not any(r["target_change"] for r in same["table"]["data"])


def test_compare_with_a_stored_run(tmp_path: Path) -> None:
    from fairshare import Scenario, load_england, targets
    from fairshare.publish.outputs import run_metadata
    from fairshare.store.runs import RunStore

    bundle = load_england()
    sc = Scenario(name="stored", deprivation_weight=0.0)
    RunStore(tmp_path).save("stored", run_metadata(bundle, sc),
                            {"targets": targets(bundle, sc, level="local_office")})
    engine = Engine(bundle, store_root=tmp_path)
    refs = [r for r in engine.references() if r.run_id]
    assert len(refs) == 1
    view = cb.compare_view(engine, state(compare=refs[0].key))
    assert "Deprivation weight δ: 0.0 → 0.2" in view["explanation"]
    region = cb.compare_view(engine, state(compare=refs[0].key, level="region"))
    assert region["shapes"] == 7
    with pytest.raises(cb.ViewError, match="level"):
        cb.compare_view(engine, state(compare=refs[0].key, level="icb"))


def test_uncertainty_intervals_hold_the_target(engine: Engine) -> None:
    view = cb.uncertainty_view(engine, state(tab="uncertainty", draws=100))
    rows = view["table"]["data"]
    assert len(rows) == 11
    for r in rows:
        assert r["target_p5"] <= r["target_p50"] <= r["target_p95"]
        assert 0 <= r["p_gives"] <= 1 and 0 <= r["p_receives"] <= 1
    # the page says what the intervals cover, with the draw count and what is left out
    cover = view["notes"][0]
    assert cover.startswith("What the intervals cover: 90% interval") and "100 draws" in cover
    assert "population base" in cover and "Not covered" in cover


def test_equity_view(engine: Engine) -> None:
    view = cb.equity_view(engine, state(tab="equity"))
    stages = [r["stage"] for r in view["table"]["data"]]
    assert stages[0] == "before" and stages[-1] == "after"
    assert len(view["figure"]["data"]) == 3


# --- downloads --------------------------------------------------------------------------------

def test_excel_download_is_a_workbook(engine: Engine) -> None:
    import openpyxl

    name, content = cb.excel_download(engine, state())
    assert name.endswith(".xlsx") and isinstance(content, bytes)
    wb = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    assert wb.sheetnames[:3] == ["About this run", "Targets", "Plan"]
    wb.close()


def test_csv_downloads(engine: Engine) -> None:
    name, text = cb.targets_csv(engine, state(level="region"))
    df = pd.read_csv(io.StringIO(text))
    assert name.endswith(".csv") and set(df["level"]) == {"region"}
    assert df["area"].nunique() == 7 and df["specialty"].nunique() == len(engine.specialties)
    _, plan_text = cb.plan_csv(engine, state())
    plan = pd.read_csv(io.StringIO(plan_text))
    assert {"area", "specialty", "year", "redistribution", "remaining_gap"} <= set(plan.columns)


def test_html_report_download_is_self_contained(engine: Engine) -> None:
    from fairshare.publish.report import external_references

    name, text = cb.report_html(engine, state())
    assert name.endswith(".html") and "<html" in text.lower()
    assert external_references(text) == []


def test_report_view(engine: Engine) -> None:
    data = cb.report_view(engine, state(tab="report"))
    assert data["targets"]["shapes"] == 11
    assert data["establishment"].startswith("Public baseline: NHS Digital staff in post")
    children = callbacks.report_children(data)
    text = json.dumps([c.to_plotly_json() if hasattr(c, "to_plotly_json") else c
                       for c in children], default=str)
    assert "Public baseline" in text and "Targets by area" in text


# --- the app itself ---------------------------------------------------------------------------

def test_app_serves_everything_itself(engine: Engine) -> None:
    from fairshare.webapp.app import create_app

    app = create_app(engine=engine)
    assert app.config.serve_locally is True
    assert not app.config.external_stylesheets and not app.config.external_scripts
    client = app.server.test_client()
    page = client.get("/").get_data(as_text=True)
    for ref in re.findall(r'(?:src|href)="([^"]+)"', page):
        assert ref.startswith(("/", "#")), f"page refers to {ref}"
    css = client.get("/assets/style.css")
    assert css.status_code == 200 and b"@media print" in css.get_data()
    css.close()
    layout = client.get("/_dash-layout")
    assert layout.status_code == 200
    assert "https://" not in json.dumps(layout.get_json())


def test_own_establishment_with_some_specialties(tmp_path: Path) -> None:
    from fairshare import load_england
    from fairshare.webapp.layout import page

    england = load_england()
    posts = england.posts[england.posts["specialty"].isin(["Cardiology", "Urology"])]
    path = tmp_path / "establishment.csv"
    posts.to_csv(path, index=False)
    engine = Engine(load_england(path))
    st = query_to_state("", specialties=engine.specialties, areas=engine.local_offices)
    assert st["specialty"] == "Cardiology"  # the default specialty is not in the file
    for level, n in (("icb", 42), ("local_office", 11), ("region", 7)):
        assert cb.targets_view(engine, dict(st, specialty=ALL, level=level))["shapes"] == n
    assert cb.plan_view(engine, dict(st, tab="plan"))["status"]
    text = json.dumps(page(engine).to_plotly_json(), default=str)
    assert "basis-banner" in text and "establishment.csv" in text


def test_expansion_programme_reaches_the_plan(engine: Engine) -> None:
    options = dict(engine.expansion_options())
    if "file:expansion-1000" not in options:
        pytest.skip("no scenarios/expansion-1000.yaml in this checkout")
    st = state(tab="plan", specialty=ALL, area="North West", expansion="file:expansion-1000")
    view = cb.plan_view(engine, st)
    assert view["by_year"]["expansion"].sum() > 0
    assert (view["by_year"]["net"] == view["by_year"]["redistribution"]
            + view["by_year"]["expansion"]).all()
    assert "exp=file%3Aexpansion-1000" in state_to_query(st)
    # targets never depend on expansion: the map's figures are the same with or without it
    assert cb.targets_view(engine, st)["summary"] == \
        cb.targets_view(engine, state(specialty=ALL, area="North West"))["summary"]


def test_the_icb_plan_answers_which_icbs_gain_most(engine: Engine) -> None:
    """The Plan tab's ICB plan (level ICB): one row per ICB, its current posts those of the
    ICB targets table, the moves adding up to zero in every year (redistribution moves posts,
    it adds none), each ICB closing no more than its own gap, and the answer naming the
    ICBs with the largest gains by the horizon, in order."""
    st = state(level="icb", tab="plan", specialty="Cardiology", horizon=2030)
    v = cb.icb_plan_view(engine, st)
    frame = v["frame"]
    assert len(frame) == 42 and v["years"][-1] == 2030
    targets = cb.targets_view(engine, st)["table"]["data"]
    current = {r["area"]: r["current"] for r in targets}
    assert dict(zip(frame["area"], frame["current"], strict=True)) == current
    for y in v["years"]:
        assert frame[f"by_{y}"].sum() == 0, y
    gap = frame["target"] - frame["current"]
    moved = frame["by_2030"]
    assert ((moved == 0) | (moved * gap > 0)).all()  # every move is toward the target
    assert (moved.abs() <= gap.abs()).all()
    top = frame.sort_values("by_2030", ascending=False).head(3)
    text = v["answer"]
    assert text.startswith("By 2030, the ICBs that gain most Cardiology posts: ")
    positions = [text.index(f"{a} (+{n})") for a, n in zip(top["area"], top["by_2030"],
                                                           strict=True)]
    assert positions == sorted(positions)


def test_the_icb_plan_is_solved_only_at_icb_level(engine: Engine) -> None:
    html = str(callbacks.icb_plan_children(engine, state(level="local_office", tab="plan")))
    assert "ICB (42)" in html and "icb-plan-table" not in html


# --- the Posts tab (trust-level recommendations, docs/posts.md) ----------------------------

def test_posts_tab_rows_add_up_to_the_area_plan(engine: Engine) -> None:
    """London x Cardiology: the tab's trust rows add up, year by year, to the area plan's
    redistribution + expansion for London, recomputed from the engine's own plan table; every
    row says its basis, and the answer names what the rows add up to."""
    st = state(specialty="Cardiology", area="London", tab="posts")
    v = cb.posts_view(engine, st)
    data = v["table"]["data"]
    assert data and all(row["basis"] for row in data)
    assert all("modelled" in row["basis"] for row in data if row["org_code"])
    shown: dict[int, int] = {}
    for row in data:
        shown[row["year"]] = shown.get(row["year"], 0) + row["change"]
    plan, _ = engine.specialty_plan(engine.scenario(st), "Cardiology")
    rows = plan[plan["area"] == "London"]
    expected = {int(y): int(r + e) for y, r, e in
                zip(rows["year"], rows["redistribution"], rows["expansion"], strict=True)
                if r + e != 0}
    assert {y: c for y, c in shown.items() if c} == expected
    gives = -sum(min(c, 0) for c in (row["change"] for row in data))
    assert gives > 0 and f"London gives {gives:,} Cardiology posts from " in v["answer"]
    # drawn as an accessible table with a caption, through the callback's renderer
    html = str(callbacks.html_table(v["table"], "caption", table_id="posts-table"))
    assert "Caption" in html and "scope='col'" in html.replace('"', "'")


def test_posts_tab_asks_for_one_specialty(engine: Engine) -> None:
    with pytest.raises(cb.ViewError, match="one specialty"):
        cb.posts_view(engine, state(specialty=ALL, area="London", tab="posts"))


# --- the Posts tab's minimum-unit file and CSV download (docs/webapp.md) -------------------

def _upload(text: str | bytes, mime: str = "text/csv") -> str:
    import base64

    data = text.encode() if isinstance(text, str) else text
    return f"data:{mime};base64," + base64.b64encode(data).decode()


#: R1K (Imperial College Healthcare, 10 Cardiology posts in the baseline) and RF4 (Barking,
#: Havering and Redbridge, 5) give Cardiology posts under the default minimum of 2; a minimum
#: equal to all their posts means they can give none.
MINIMUMS = "org_code,specialty,min_posts\nR1K,Cardiology,10\nRF4,,5\n"


def test_a_minimum_unit_file_keeps_the_trusts_it_names(engine: Engine) -> None:
    from fairshare.webapp import posts_tab

    st = state(specialty="Cardiology", area="London", tab="posts")
    before = cb.posts_view(engine, st)["rows"]
    assert (before.loc[before["org_code"].isin(["R1K", "RF4"]), "change"] < 0).any()
    entry = posts_tab.read_upload(engine, _upload(MINIMUMS), "minimums.csv")
    assert entry["name"] == "minimums.csv" and entry["rows"] == 2
    assert "minimums.csv (2 rows" in posts_tab.status_text(entry)
    v = cb.posts_view(engine, st, posts_tab.held_file(engine, entry))
    rows = v["rows"]
    # the named trusts give nothing now; every giving row keeps at least its minimum
    assert not (rows.loc[rows["org_code"].isin(["R1K", "RF4"]), "change"] < 0).any()
    giving = rows[(rows["change"] < 0) & (rows["org_code"] != "")]
    assert (giving["posts_after"] >= giving["min_unit"]).all()
    assert set(rows.loc[rows["org_code"] == "R1K", "min_unit"]) <= {10}
    # and the rows still add up, year by year, to the area plan (recomputed from the plan)
    plan, _ = engine.specialty_plan(engine.scenario(st), "Cardiology")
    london = plan[plan["area"] == "London"]
    expected = {int(y): int(r + e) for y, r, e in zip(london["year"], london["redistribution"],
                                                       london["expansion"], strict=True)
                if r + e}
    shown = rows.groupby("year")["change"].sum()
    assert {int(y): int(c) for y, c in shown.items() if c} == expected
    # "Use the default" is no file: the first table again
    assert cb.posts_view(engine, st, posts_tab.held_file(engine, None))["rows"].equals(before)


def test_an_uploaded_file_gets_the_clis_messages(engine: Engine, tmp_path: Path) -> None:
    """The same bad file, given to `fairshare posts --trust-min` and uploaded: the same
    problems, by row and column; shown in the page as a list, never a traceback."""
    from fairshare.errors import InputError
    from fairshare.inputs.trusts import read_trust_min
    from fairshare.webapp import posts_tab

    bad = "org_code,specialty,min_posts\nR1Z,,2\nRF4,Cardiolgy,two\nRF4,Cardiolgy,3\n"
    path = tmp_path / "bad.csv"
    path.write_text(bad)
    with pytest.raises(InputError) as cli:
        read_trust_min(path, engine._trusts(), engine._catalogue)
    with pytest.raises(InputError) as web:
        posts_tab.read_upload(engine, _upload(bad), "bad.csv")
    where = [(p.row, p.column, p.message) for p in web.value.problems]
    assert where == [(p.row, p.column, p.message) for p in cli.value.problems]
    assert (2, "org_code") in [(r, c) for r, c, _ in where]
    assert any(c == "specialty" and "did you mean 'Cardiology'" in m for _, c, m in where)
    shown = str(callbacks.problems_children(web.value, None))
    assert "bad.csv, row 3, column 'min_posts'" in shown and "Traceback" not in shown
    assert "still uses the default" in shown


@pytest.mark.parametrize(("contents", "words"), [
    ("data:text/csv;base64,", "empty or damaged"),
    ("data:text/csv;base64,@@@", "damaged"),
    (_upload("x" * 800_000), "the page takes a file up to"),
    (_upload(b"\xd0\xcf\x11\xe0 old workbook"), "old-style .xls"),
])
def test_an_unusable_upload_is_said(engine: Engine, contents: str, words: str) -> None:
    from fairshare.errors import InputError
    from fairshare.webapp import posts_tab

    with pytest.raises(InputError) as err:
        posts_tab.read_upload(engine, contents, "mins.xlsx")
    assert words in str(err.value) and err.value.problems[0].file == "mins.xlsx"


def test_a_minimum_unit_workbook_is_read_too(engine: Engine) -> None:
    from fairshare.webapp import posts_tab

    buf = io.BytesIO()
    pd.DataFrame({"org_code": ["R1K"], "min_posts": [10]}).to_excel(buf, index=False)
    entry = posts_tab.read_upload(engine, _upload(buf.getvalue(), "application/vnd.ms-excel"),
                                  "mins.xlsx")
    table = posts_tab.held_file(engine, entry)
    assert table is not None
    assert table.table.to_dict("records") == [
        {"org_code": "R1K", "specialty": "", "min_posts": 10}]


@pytest.mark.parametrize("digest", ["0" * 64, "../../etc/passwd", 7])
def test_a_file_the_server_does_not_hold_is_said_not_used(engine: Engine, digest: object
                                                           ) -> None:
    from fairshare.webapp import posts_tab

    with pytest.raises(cb.ViewError, match="choose it again"):
        posts_tab.held_file(engine, {"name": "mins.csv", "digest": digest})


def test_the_posts_csv_is_the_table_on_screen(engine: Engine) -> None:
    """The download holds exactly the rows shown (year, trust, change), every row's basis,
    year status and minimum-unit source; every column is in the data dictionary."""
    from datetime import date

    from fairshare.publish.columns import describe
    from fairshare.webapp import posts_tab

    st = state(specialty="Cardiology", area="London", tab="posts")
    entry = posts_tab.read_upload(engine, _upload(MINIMUMS), "minimums.csv")
    v = cb.posts_view(engine, st, posts_tab.held_file(engine, entry))
    name, text = posts_tab.posts_csv(engine, st, entry, today=date(2026, 12, 6))
    assert name.startswith("fairshare-trust-posts-London-Cardiology-") and name.endswith(".csv")
    got = pd.read_csv(io.StringIO(text), keep_default_na=False)
    shown = [(r["year"], r["org_code"], r["change"]) for r in v["table"]["data"]]
    assert list(zip(got["year"], got["org_code"], got["change"], strict=True)) == shown
    assert set(got["area"]) == {"London"} and set(got["specialty"]) == {"Cardiology"}
    # rounds up to August 2026 are past on 6 December 2026
    assert set(got.loc[got["year"] <= 2026, "year_status"]) == {"reconstruction"}
    assert set(got.loc[got["year"] >= 2027, "year_status"]) == {"to come"}
    assert got["min_unit_source"].str.contains(f"minimums.csv (SHA-256 {entry['digest']})",
                                               regex=False).all()
    assert got["basis"].str.len().gt(0).all()
    assert [c for c in got.columns if describe(c) is None] == []
    # no file: the default, labelled a judgement
    _, plain = posts_tab.posts_csv(engine, st, None)
    assert "scenario default trust_min_posts (2 posts; a judgement)" in plain
