"""What every control does, as plain functions of the page's state (no Dash, no browser).

Each view is ``view(engine, state) -> dict`` (figures as plotly dicts, tables as ``{"columns",
"data"}`` payloads), so tests and benchmarks call them directly. ``callbacks.register`` wires
them to the page and renders their payloads.

One sign rule on every number: **+ receives, − gives**. The gap is target − current, and its
percentage is the gap divided by the target ("% of target"), with the same sign. (The core's
``distance`` column is (current − target) / target, as NHS England reports it: the page shows
its negative, so the two never disagree in sign.)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd

from fairshare import training_year
from fairshare.analysis import equity
from fairshare.errors import FairshareError
from fairshare.publish.outputs import defuse_formulas  # text a spreadsheet would run
from fairshare.webapp import figures
from fairshare.webapp.engine import Engine, TrustMinFile
from fairshare.webapp.state import (
    ALL,
    clean_state,
    normalised_weights,
    read_link,
    state_to_query,
)
from fairshare.webapp.tables import Spec, plain_table, signed, table
from fairshare.webapp.words import in_words

#: (state key, component id, property): every control whose value is part of the page's state.
CONTROLS: list[tuple[str, str, str]] = [
    ("tab", "tabs", "value"),
    ("specialty", "specialty", "value"),
    ("level", "level", "value"),
    ("map_colour", "map-colour", "value"),
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
    ("compare_a", "compare-a", "value"),
    ("compare", "compare", "value"),
    ("draws", "draws", "value"),
]
KEYS = [k for k, _, _ in CONTROLS]

PLAN_NOTE = ("Redistribution moves posts only when they fall vacant at recruitment, within each "
             "receiving area's supervision capacity; it never moves a current trainee.")


class ViewError(Exception):
    """A message for the planner instead of a figure (bad parameters, nothing to show)."""


def first_year_to_come(today: date | None = None) -> int:
    """The first recruitment round still to come: this year's until August, else next year's
    (one rule with every output: ``fairshare.training_year``)."""
    return training_year.first_year_to_come(today or date.today())


# --------------------------------------------------------------------------------------------
# State <-> URL <-> controls
# --------------------------------------------------------------------------------------------

def _same(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return abs(float(a) - float(b)) < 1e-9
    return bool(a == b)


def controls_to_state(engine: Engine, values: dict[str, Any]) -> dict[str, Any]:
    """The state the controls describe (unusable values replaced by defaults)."""
    return clean_state(values, **engine.known())


def state_to_controls(state: dict[str, Any]) -> list[Any]:
    """Control values, in ``CONTROLS`` order."""
    return [state[k] for k in KEYS]


def _check_references(engine: Engine, state: dict[str, Any], notes: list[str]) -> None:
    """A comparison side naming no scenario or saved run is said so and set to its default."""
    keys = {r.key for r in engine.references()}
    for key, default, shown in (("compare", "default", "the default scenario"),
                                ("compare_a", "view", "this view")):
        allowed = keys | ({"view"} if key == "compare_a" else set())
        if state[key] not in allowed:
            short = "cmp" if key == "compare" else "a"
            notes.append(f"Ignored {short}={state[key][:40]}: no scenario or saved run has that "
                         f"name (the Compare tab lists them). Showing {shown} instead.")
            state[key] = default


def sync(engine: Engine, trigger: str | None, search: str | None,
         values: Sequence[Any], click: dict[str, Any] | None = None
         ) -> tuple[str | None, dict[str, Any], list[Any], list[str] | None]:
    """(new query string or None, state, control values or None each, link notes or None).

    ``trigger`` is the id of what changed: None (first load) or "url" read the query string
    into the controls and explain any value it ignored; a control id writes the controls into
    the query string; "map" (a click on an area) picks that area for the plan and tables.
    """
    if trigger in (None, "url"):
        state, notes = read_link(search, **engine.known())
        _check_references(engine, state, notes)
        canonical = state_to_query(state)
        return (canonical if canonical != (search or "") else None), state, \
            state_to_controls(state), notes
    raw = dict(zip(KEYS, values, strict=True))
    if trigger == "map":
        area = area_from_click(engine, raw.get("level"), click)
        if area:
            raw["area"] = area
    state = clean_state(raw, **engine.known())
    fixes = [state[k] if (trigger == "map" and k == "area") or not _same(state[k], raw[k])
             else None for k in KEYS]
    query = state_to_query(state)
    return (query if query != (search or "") else None), state, fixes, None


def area_from_click(engine: Engine, level: Any, click: Any) -> str | None:
    """The local office of a clicked map area, in the main map or the London inset (an ICB's
    or a region's local office holding most of it)."""
    try:
        curve = click["points"][0]["curveNumber"]
    except (TypeError, KeyError, IndexError):
        return None
    if level not in figures.LEVEL_FILES or not isinstance(curve, int) or isinstance(curve, bool):
        return None
    codes = figures.trace_codes(level)
    code = codes[curve] if 0 <= curve < len(codes) else None
    if code is None:
        return None
    if level == "local_office":
        return next(str(s["name"]) for s in figures.shapes(level) if s["code"] == code)
    if level == "region":
        offices = engine.bundle.local_offices
        return _largest(engine, offices.loc[offices["region_code"] == code,
                                            "local_office"].tolist())
    pieces = engine.bundle.icb_local_office
    pieces = pieces[pieces["icb_code"] == code].sort_values("share", ascending=False)
    return str(pieces["local_office"].iloc[0]) if len(pieces) else None


def _largest(engine: Engine, names: list[str]) -> str | None:
    """Of a region's local offices, the one holding the most posts (a click picks it)."""
    if not names:
        return None
    posts = engine.bundle.posts.groupby("local_office")["posts"].sum()
    return str(max(names, key=lambda n: posts.get(n, 0)))


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------

def _scenario(engine: Engine, state: dict[str, Any]) -> Any:
    try:
        return engine.scenario(state)
    except (ValueError, FairshareError) as exc:
        raise ViewError(f"These parameters cannot be used: {short_error(exc)}") from exc


def short_error(exc: BaseException) -> str:
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
    """Area names as shown on screen, the gap as % of target and which side the area is on."""
    df = df.copy()
    if "area" in df.columns and df["area"].astype(str).str.endswith(" Board").any():
        df["area"] = df["area"].map(short_area)
    if "distance" in df.columns:
        df["gap_pct"] = -df["distance"]
    if "gap" in df.columns:
        df["side"] = [figures.side(g) for g in df["gap"]]
    if "basis" in df.columns:
        df["current_note"] = [current_note(b, df.get("current_basis", pd.Series(
            [""] * len(df), index=df.index)).loc[i]) for i, b in df["basis"].items()]
    return df


def current_note(basis: Any, level_basis: Any = "") -> str:
    """What the Current column of a row is, in a few words: staff in post, or modelled (General
    Practice and Public Health Medicine in the public baseline), and whether an ICB's figure is
    estimated from its local offices."""
    text = str(basis)
    if text.startswith("modelled"):
        note = "modelled from national entry numbers (not staff in post)"
    elif text.startswith("includes modelled"):
        note = text.split(";")[0]
    elif text.startswith("NHS Digital staff in post"):
        note = "staff in post" + (f" ({m[1]})" if (m := re.search(r"(\d+ \w+ \d{4})", text))
                                  else "")
    else:
        note = text or "as given"
    if str(level_basis).startswith("estimated"):
        note += "; estimated for the ICB from local-office posts by population"
    return note


TARGET_COLUMNS: list[tuple[str, str, str | None]] = [
    ("area", "Area", None),
    ("area_code", "Code", None),
    ("region", "Region", None),
    ("current", "Current (posts)", "int"),
    ("current_note", "Current posts are", None),
    ("fair_share", "Fair share (posts)", "one"),
    ("target", "Target (posts)", "int"),
    ("gap", "Gap (posts; + receives, − gives)", "signed"),
    ("gap_pct", "Gap (% of target)", "pct"),
    ("side", "Gives or receives", None),
    ("population_share_posts", "Plain population share (posts)", "one"),
    ("effect_need", "+ age and need (posts)", "one"),
    ("effect_projection", "+ projected demand (posts)", "one"),
    ("effect_deprivation", "+ deprivation (posts)", "one"),
    ("effect_specialised", "+ specialised kept (posts)", "one"),
    ("effect_rounding", "+ whole posts (posts)", "one"),
]


# --------------------------------------------------------------------------------------------
# Map tab
# --------------------------------------------------------------------------------------------

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
            "gap_pct": None if pd.isna(r["distance"]) else -float(r["distance"]),
            "side": figures.side(int(r["gap"]))}


def headline(engine: Engine, state: dict[str, Any]) -> dict[str, Any]:
    """England's headline figures for the chosen specialty (or all): what the report leads with.

    Posts to move adds up, specialty by specialty, what each area below its target is short
    (a post given by one area is received by another, so it is counted once). Areas giving and
    receiving are local offices, net over the specialties shown. Equity is the Gini coefficient
    of posts per fair-share post across local offices (``analysis.equity.gini``, weighted by the
    fair share): with today's posts, and with every target met.
    """
    scenario = _scenario(engine, state)
    spec = state["specialty"]
    try:
        detail = engine.targets(scenario, "local_office", spec)
        areas = engine.area_view(scenario, "local_office", spec)
    except (ValueError, FairshareError) as exc:
        raise ViewError(short_error(exc)) from exc
    fair = areas["fair_share"].to_numpy(float)
    keep = fair > 0
    return {
        "specialty": spec,
        "posts": int(detail["current"].sum()),
        "to_move": int(detail["gap"].clip(lower=0).sum()),
        "giving": int((areas["gap"] < 0).sum()),
        "receiving": int((areas["gap"] > 0).sum()),
        "areas": len(areas),
        "gini_now": equity.gini(areas["current"].to_numpy(float)[keep] / fair[keep], fair[keep]),
        "gini_target": equity.gini(areas["target"].to_numpy(float)[keep] / fair[keep],
                                   fair[keep]),
    }


def map_alt_text(rows: pd.DataFrame, level: str, spec: str) -> str:
    """The map in words, for anyone who cannot see it (the table below has every figure)."""
    plural = figures.LEVEL_PLURALS[level]
    ordered = rows.dropna(subset=["gap_pct"]).sort_values("gap_pct")
    if ordered.empty:
        return f"Map of {len(rows)} {plural}: no figures to colour."
    give, get = ordered.iloc[0], ordered.iloc[-1]
    giving = int((rows["gap"] < 0).sum())
    receiving = int((rows["gap"] > 0).sum())
    return (f"Map of {len(rows)} {plural}, {spec}: each coloured by its gap as % of target "
            f"(purple receives, orange gives). {receiving} receive and {giving} give posts. "
            f"Furthest above target: {give['area']} ({signed(100 * give['gap_pct'], 1, '%')}, "
            f"{signed(give['gap'])} posts); furthest below: {get['area']} "
            f"({signed(100 * get['gap_pct'], 1, '%')}, {signed(get['gap'])} posts). Every "
            f"area's figures are in the table below the map.")


def scarcity_rows(engine: Engine, scenario: Any, level: str, spec: str) -> pd.DataFrame | str:
    """The scarcity table's rows of one level and specialty, or why the gap is shown instead
    (a designation is made per specialty, and only where the file counts consultants)."""
    if spec == ALL:
        return ("Scarcity is designated one specialty at a time: choose a specialty to colour "
                "the map by it; showing the gap instead.")
    table = engine.scarcity(scenario)
    rows = table[(table["level"] == level) & (table["specialty"] == spec)]
    if rows.empty:
        return (f"{spec} has no consultants in NHS Digital's September 2017 file (training "
                "programmes that lead to no consultant specialty have none), so no area is "
                "designated scarce; showing the gap instead.")
    return rows.reset_index(drop=True)


def scarcity_alt_text(rows: pd.DataFrame, level: str, spec: str,
                      designation: dict[str, str]) -> str:
    """The scarcity map in words: the count of each class and which areas are scarce."""
    plural = figures.LEVEL_PLURALS[level]
    counts = [(label.split(" (")[0], sum(d == name for d in designation.values()))
              for name, _, label in figures.SCARCITY_CLASSES]
    scarce = rows[rows["designation"] == "scarce"].sort_values("scarcity_index")
    named = ", ".join(f"{r.area} ({r.scarcity_index:.2f})"
                      for r in scarce.itertuples(index=False))
    return (f"Map of {len(designation)} {plural}, {spec}: each coloured by consultants in post "
            "(NHS Digital, September 2017) per need-weighted population, ranked into thirds. "
            + "; ".join(f"{name}: {n}" for name, n in counts if n) + ". "
            + (f"Scarce (index, 1 = England's rate): {named}." if named else
               "No area is designated scarce.")
            + " The index of each area is on its label and when you hover it.")


def targets_view(engine: Engine, state: dict[str, Any]) -> dict[str, Any]:
    """The map tab: map of the gap as % of target, the targets table, the area summary."""
    scenario = _scenario(engine, state)
    level, spec = state["level"], state["specialty"]
    try:
        rows = _display(engine.area_view(scenario, level, spec))
        summary = area_summary(engine, scenario, state)
    except (ValueError, FairshareError) as exc:
        raise ViewError(short_error(exc)) from exc
    selected = state["area"] if level == "local_office" else None
    scarce = scarcity_rows(engine, scenario, level, spec) \
        if state.get("map_colour") == "scarcity" else None
    if isinstance(scarce, pd.DataFrame):
        title = f"{spec}: where consultants are scarce, by {figures.LEVEL_NAMES[level]}"
        fig = figures.scarcity_map(scarce, level, title, selected)
        alt = scarcity_alt_text(scarce, level, spec, fig["layout"]["meta"]["designations"])
    else:
        title = f"{spec}: gap as % of target, by {figures.LEVEL_NAMES[level]}"
        fig = figures.gap_map(rows, level, title, selected)
        alt = (scarce + " " if scarce else "") + map_alt_text(rows, level, spec)
    ordered = rows.sort_values("gap_pct", na_position="last")
    return {"figure": fig, "shapes": fig["layout"]["meta"]["shapes"], "level": level,
            "table": table(ordered, TARGET_COLUMNS), "summary": summary,
            "alt": alt,
            "weights": normalised_weights(state), "scenario": scenario.resolved(),
            "estimated_current": "current_basis" in rows.columns
            and str(rows["current_basis"].iloc[0]).startswith("estimated")}


# --------------------------------------------------------------------------------------------
# Plan tab
# --------------------------------------------------------------------------------------------

YEAR_COLUMNS: Spec = [
    ("year", "Recruitment year", None),
    ("when", "When", None),
    ("redistribution", "Moved that year (posts; + received, − given)", "signed"),
    ("expansion", "Expansion posts that year", "signed"),
    ("running", "Running total (posts)", "signed"),
    ("remaining_gap", "Gap still open (posts)", "signed"),
]


def plan_view(engine: Engine, state: dict[str, Any], today: date | None = None
              ) -> dict[str, Any]:
    """The chosen area's plan for the chosen specialty (or all): chart, year by year, answer.

    Only the specialty on screen is solved (each specialty's plan is its own problem); "All
    specialties" needs the whole plan.
    """
    scenario = _scenario(engine, state)
    spec, area = state["specialty"], state["area"]
    try:
        plan, result = engine.specialty_plan(scenario, spec)
    except (ValueError, FairshareError) as exc:
        raise ViewError(f"The plan could not be made: {short_error(exc)}") from exc
    rows = plan[plan["area"] == area]
    if rows.empty:
        raise ViewError(f"{area} has no plan rows for {spec}")
    by_year = rows.groupby("year", as_index=False)[
        ["redistribution", "expansion", "net", "remaining_gap", "posts", "target"]].sum()
    by_year["running"] = by_year["net"].cumsum()
    coming = first_year_to_come(today)
    by_year["when"] = ["reconstruction (past)" if y < coming else "to come"
                       for y in by_year["year"]]
    first = rows[rows["year"] == rows["year"].min()]
    start_gap = int((first["target"] - first["posts"] + first["net"]).sum())
    moved = int(by_year["redistribution"].sum())
    what = "all specialties added up" if spec == ALL else spec
    findings = [f for f in getattr(result, "finding_list", getattr(result, "findings", []))
                if f.area in (area, "England") and (spec == ALL or f.specialty == spec)]
    return {"figure": figures.plan_chart(by_year, f"{area}: {what}, moves per year and the gap "
                                                  "still open"),
            "status": str(getattr(result, "status", "")), "start_gap": start_gap,
            "moved": moved, "remaining": int(by_year["remaining_gap"].iloc[-1]),
            "horizon": int(scenario.horizon), "answer": plan_answer(area, what, by_year, coming),
            "years": table(by_year, YEAR_COLUMNS), "first_to_come": coming,
            "findings": [str(f) for f in findings[:50]], "by_year": by_year}


def plan_answer(area: str, what: str, by_year: pd.DataFrame, coming: int) -> str:
    """"London gives up 112 Cardiology posts by 2031: 62 in 2022-2026, already past (a
    reconstruction: ...), and 50 still to make from 2027 (...)." in one sentence: years whose
    recruitment is past (before ``coming``) are never mixed with moves still to make."""
    last = int(by_year["year"].max())
    total = int(by_year["redistribution"].sum())
    moves = by_year[by_year["redistribution"] != 0]
    if moves.empty:
        return f"{area} gives and receives no {what} posts by {last} in this plan."
    verb = "gives up" if total < 0 else "receives"
    past, ahead = moves[moves["year"] < coming], moves[moves["year"] >= coming]
    parts = []
    if not past.empty:
        span = by_year[by_year["year"] < coming]["year"]
        years = f"{int(span.min())}–{int(span.max())}" if span.nunique() > 1 else str(
            int(span.min()))
        parts.append(f"{_moved(past)} in {years}, already past (a reconstruction: "
                     f"{_per_year(past)})")
    if not ahead.empty:
        parts.append(f"{_moved(ahead)} still to make from {coming} ({_per_year(ahead)})")
    elif coming <= last:
        parts.append(f"none still to make from {coming}")
    return f"{area} {verb} {abs(total):,} {what} posts by {last}: {', and '.join(parts)}."


def _moved(moves: pd.DataFrame) -> str:
    return f"{abs(int(moves['redistribution'].sum())):,}"


def _per_year(moves: pd.DataFrame) -> str:
    return ", ".join(f"{abs(int(r.redistribution)):,} in {int(r.year)}"
                     for r in moves.itertuples(index=False))


TRUST_COLUMNS: Spec = [
    ("year", "Recruitment year", None),
    ("when", "When", None),
    ("org_code", "Trust (ODS code)", None),
    ("org_name", "Trust", None),
    ("change", "Change (posts; + receives, − gives)", "signed"),
    ("min_unit", "Minimum unit (posts)", None),
    ("kind", "Kind", None),
    ("reason", "Reason", None),
    ("basis", "Basis", None),
]


def posts_view(engine: Engine, state: dict[str, Any],
               minimums: TrustMinFile | None = None) -> dict[str, Any]:
    """The chosen area's trust-level recommendations (``fairshare posts``) for one specialty:
    one row per trust, round and move, and a one-sentence answer. ``minimums``: a checked
    minimum-unit file (the CLI's ``--trust-min``; else the scenario's default)."""
    scenario, rows = posts_rows(engine, state, minimums)
    return {"answer": posts_answer(state["area"], state["specialty"], rows,
                                   int(scenario.horizon)),
            "table": table(rows, TRUST_COLUMNS), "rows": rows}


def posts_rows(engine: Engine, state: dict[str, Any], minimums: TrustMinFile | None = None
               ) -> tuple[Any, pd.DataFrame]:
    """(scenario, the chosen area's trust rows for one specialty, in the order shown, with
    ``when`` each round is: to come or a reconstruction)."""
    spec, area = state["specialty"], state["area"]
    if spec == ALL:
        raise ViewError("Choose one specialty: trusts give and receive posts specialty by "
                        "specialty.")
    scenario = _scenario(engine, state)
    try:
        rows = engine.trust_posts(scenario, spec, minimums)
    except (ValueError, FairshareError) as exc:
        raise ViewError(f"The trust split could not be made: {short_error(exc)}") from exc
    rows = rows[rows["area"] == area].sort_values(["year", "change", "org_code"])
    coming = first_year_to_come()
    return scenario, rows.assign(when=["reconstruction (past)" if y < coming else "to come"
                                       for y in rows["year"]])


def posts_answer(area: str, spec: str, rows: pd.DataFrame, horizon: int) -> str:
    """"London gives 12 Cardiology posts from 4 trusts by 2037; ..." in one sentence."""
    if rows.empty:
        return f"{area} gives and receives no {spec} posts by {horizon} in this plan."
    placed = rows[rows["org_code"] != ""]
    parts = []
    for label, side in (("gives", rows["change"] < 0), ("receives", rows["change"] > 0)):
        total = int(rows.loc[side, "change"].abs().sum())
        if total:
            trusts = placed.loc[placed["change"] < 0 if label == "gives" else
                                placed["change"] > 0, "org_code"].nunique()
            word = "from" if label == "gives" else "at"
            parts.append(f"{label} {total:,} {spec} posts {word} {trusts} "
                         f"trust{'s' if trusts != 1 else ''}")
    open_ = int(rows.loc[rows["org_code"] == "", "change"].abs().sum())
    tail = (f"; {open_} post{'s' if open_ != 1 else ''} not placed at a trust (the local "
            "office places them)") if open_ else ""
    return f"{area} {' and '.join(parts)} by {horizon}{tail}."


def icb_plan_view(engine: Engine, state: dict[str, Any]) -> dict[str, Any]:
    """Every ICB's plan for the chosen specialty (or all), planned directly over the 42 ICBs as
    ``fairshare plan --level icb`` does: posts each receives (+) or gives (−) by each year,
    largest gain first, so "which ICBs gain most by 2030" is read off one column."""
    scenario = _scenario(engine, state)
    spec = state["specialty"]
    try:
        plan, result = engine.icb_plan(scenario, spec)
    except (ValueError, FairshareError) as exc:
        raise ViewError(f"The ICB plan could not be made: {short_error(exc)}") from exc
    if plan.empty:
        raise ViewError(f"no ICB plan rows for {spec}")
    per = plan.groupby(["area", "year"], as_index=False)[["net", "posts", "target"]].sum()
    per = per.sort_values(["area", "year"])
    per["moved"] = per.groupby("area")["net"].cumsum()
    years = sorted(int(y) for y in per["year"].unique())
    wide = per.pivot(index="area", columns="year", values="moved")
    first = per[per["year"] == years[0]].set_index("area")
    last = per[per["year"] == years[-1]].set_index("area")
    frame = pd.DataFrame({
        "area": [short_area(a) for a in wide.index],
        "current": (first["posts"] - first["net"]).reindex(wide.index).astype(int).to_numpy(),
        "target": last["target"].reindex(wide.index).astype(int).to_numpy()})
    spec_cols: list[tuple[str, str, str | None]] = [
        ("area", "ICB", None), ("current", "Current (posts)", "int"),
                       ("target", "Target (posts)", "int")]
    for y in years:
        frame[f"by_{y}"] = wide[y].astype(int).to_numpy()
        spec_cols.append((f"by_{y}", f"By {y}", "signed"))
    frame["open"] = (frame["target"] - frame["current"] - frame[f"by_{years[-1]}"]).astype(int)
    spec_cols.append(("open", f"Gap still open after {years[-1]} (posts)", "signed"))
    frame = frame.sort_values([f"by_{years[-1]}", "area"], ascending=[False, True])
    estimated = engine.bundle.piece_posts.empty
    what = "all specialties" if spec == ALL else spec
    return {"table": table(frame, spec_cols), "frame": frame, "years": years,
            "answer": icb_answer(frame, what, years[-1]), "estimated": estimated,
            "status": str(getattr(result, "status", ""))}


def icb_answer(frame: pd.DataFrame, what: str, year: int, n: int = 3) -> str:
    """"By 2031 the ICBs that gain most General Psychiatry posts: A (+9), …; that give up
    most: X (−40), …" from the ICB plan (one row per ICB, ``by_<year>`` cumulative)."""
    col = f"by_{year}"
    gain = frame[frame[col] > 0].nlargest(n, col)
    give = frame[frame[col] < 0].nsmallest(n, col)
    parts = []
    if len(gain):
        parts.append("the ICBs that gain most " + what + " posts: " + ", ".join(
            f"{r.area} ({signed(getattr(r, col))})" for r in gain.itertuples(index=False)))
    if len(give):
        parts.append("that give up most: " + ", ".join(
            f"{r.area} ({signed(getattr(r, col))})" for r in give.itertuples(index=False)))
    if not parts:
        return f"By {year} no ICB gains or gives {what} posts in this plan."
    return f"By {year}, " + "; ".join(parts) + "."


def deanery_view(engine: Engine, state: dict[str, Any], today: date | None = None
                 ) -> dict[str, Any]:
    """The deanery tables for the area: one year's changes and the pace of change.

    They honour the chosen specialty (only its plan is solved); "All specialties" uses the
    whole plan. The year defaults to the first recruitment round still to come.
    """
    from fairshare.publish.tables import one_year, pace_of_change

    scenario = _scenario(engine, state)
    area, spec = state["area"], state["specialty"]
    try:
        if spec == ALL:
            out = engine.full_plan(scenario)
            plan, targets, status, found = (out.plan, out.targets, out.status,
                                             out.finding_list)
        else:
            plan, result = engine.specialty_plan(scenario, spec)
            targets = engine.targets(scenario, "local_office", spec)
            status = str(getattr(result, "status", ""))
            found = getattr(result, "finding_list", getattr(result, "findings", []))
        years = sorted(int(y) for y in plan["year"].unique())
        year = int(state["year"]) or next((y for y in years if y >= first_year_to_come(today)),
                                          years[-1])
        one = one_year(plan, area, year)
        pace = pace_of_change(plan, targets, area)
    except (ValueError, FairshareError) as exc:
        raise ViewError(f"The plan tables could not be made: {short_error(exc)}") from exc
    findings = [str(f) for f in found if f.area == area][:50]
    return {"year": year, "one_year": plain_table(one), "pace": plain_table(pace),
            "status": status, "findings": findings, "one_year_frame": one,
            "pace_frame": pace}


# --------------------------------------------------------------------------------------------
# Compare, uncertainty, equity
# --------------------------------------------------------------------------------------------

def _side_targets(engine: Engine, key: str, scenario: Any, level: str, spec: str
                  ) -> tuple[pd.DataFrame, dict[str, Any], str]:
    if key == "view":
        return (engine.targets(scenario, level, spec), engine.metadata(scenario),
                "this view (the controls)")
    return engine.reference_targets(key, level, spec)


def compare_view(engine: Engine, state: dict[str, Any]) -> dict[str, Any]:
    """A against B (each this view, a scenario or a saved run): change map, tables, what
    differs. Change = A − B."""
    from fairshare.store.compare import compare_tables, explain, school_table

    scenario = _scenario(engine, state)
    level, spec = state["level"], state["specialty"]
    try:
        a, a_meta, a_label = _side_targets(engine, state["compare_a"], scenario, level, spec)
        b, b_meta, b_label = _side_targets(engine, state["compare"], scenario, level, spec)
        keys = ("area_code", "area", "specialty")
        frame = compare_tables(b, a, keys=keys, values=("current", "target", "gap"))
    except (ValueError, FairshareError) as exc:
        raise ViewError(f"The comparison could not be made: {short_error(exc)}") from exc
    per_area = _display(frame).groupby(["area_code", "area"], as_index=False, sort=False)[
        ["target_previous", "target_current", "target_change", "gap_previous",
         "gap_current"]].sum()
    fig = figures.change_map(per_area, level, f"{spec}: change in target, A − B", "A", "B")
    lines = [in_words(line) for line in explain(b_meta, a_meta)
             if not line.startswith(("name:", "description:"))]
    per_area = per_area.sort_values("target_change")
    cols: Spec = [
        ("area", "Area", None), ("area_code", "Code", None),
        ("target_current", "Target A (posts)", "int"),
        ("target_previous", "Target B (posts)", "int"),
        ("target_change", "Change A − B (posts)", "signed"),
        ("gap_current", "Gap A (posts)", "signed"), ("gap_previous", "Gap B (posts)", "signed")]
    school = school_table(frame, "target").rename(columns={"Previous": "B (posts)",
                                                          "Current": "A (posts)",
                                                          "Change": "Change A − B (posts)"})
    school_payload = plain_table(school)
    for col in school_payload["columns"]:
        if col["id"] in ("A (posts)", "B (posts)"):
            col["format"] = "int"
    return {"figure": fig, "shapes": fig["layout"]["meta"]["shapes"],
            "table": table(per_area, cols), "school": school_payload,
            "explanation": lines, "label": b_label, "labels": (a_label, b_label),
            "frame": frame}


def uncertainty_view(engine: Engine, state: dict[str, Any]) -> dict[str, Any]:
    """Monte Carlo intervals on each local office's target for the chosen specialty."""
    scenario = _scenario(engine, state)
    spec, draws = state["specialty"], int(state["draws"])
    try:
        mc = engine.intervals(scenario, draws)
    except (ValueError, FairshareError) as exc:
        raise ViewError(f"The intervals could not be made: {short_error(exc)}") from exc
    notes = [f"What the intervals cover: {mc.attrs['coverage']}",
             *mc.attrs.get("notes", [])]
    cols: Spec = [
        ("specialty", "Specialty", None), ("area", "Local office", None),
        ("current", "Current (posts)", "int"), ("target", "Target (posts)", "int"),
        ("target_p5", "Target, 5th percentile (posts)", "one"),
        ("target_p50", "Target, median (posts)", "one"),
        ("target_p95", "Target, 95th percentile (posts)", "one"),
        ("gap_p5", "Gap, 5th percentile (posts)", "signed"),
        ("gap_p95", "Gap, 95th percentile (posts)", "signed"),
        ("p_gives", "Chance it gives", "share"), ("p_receives", "Chance it receives", "share")]
    if spec == ALL:
        unsure = mc[(mc["p_gives"] > 0.05) & (mc["p_receives"] > 0.05)]
        figure = figures.empty_figure(
            f"{len(unsure)} specialty × local office pairs could give or receive (both "
            f"more than 5% likely). Choose one specialty to see its intervals.")
        return {"figure": figure, "table": table(unsure, cols), "notes": notes,
                "draws": draws}
    rows = mc[mc["specialty"] == spec]
    if rows.empty:
        raise ViewError(f"no intervals for {spec}")
    figure = figures.interval_chart(
        rows, f"{spec}: 5–95% interval of each local office's target ({draws:,} draws)")
    return {"figure": figure, "table": table(rows.sort_values("area"), cols[1:]),
            "notes": notes, "draws": draws}


EQUITY_COLUMNS: Spec = [
    ("stage", "Stage", None), ("year", "Year", None), ("gini", "Gini (0 = fair)", "three"),
    ("cv", "Coefficient of variation", "three"),
    ("gap_furthest_above", "Furthest above target: gap (% of target, − gives)", "pct"),
    ("gap_furthest_below", "Furthest below target: gap (% of target, + receives)", "pct"),
    ("share_within_5pct", "Areas within ±5% of target", "share"),
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
        frame = engine.equity(scenario)
        label = equity.ALL if spec == ALL else spec
        checks = [m for m in engine.equity_checks(scenario) if f" for {label} rises " in m]
    except (ValueError, FairshareError) as exc:
        raise ViewError(f"The equity metrics could not be made: {short_error(exc)}") from exc
    rows = frame[frame["specialty"] == label].reset_index(drop=True)
    if rows.empty:
        raise ViewError(f"no equity figures for {spec}")
    rows["year"] = rows["year"].map(lambda y: "" if pd.isna(y) else str(int(y)))
    title = (f"Equity of posts per weighted need across local offices: "
             f"{'all specialties' if spec == ALL else spec}")
    figure = figures.equity_chart(rows, title)
    # the gap's sign, as on the map: distance (posts − target) / target is its opposite
    rows = rows.assign(gap_furthest_above=-rows["max_distance"],
                       gap_furthest_below=-rows["min_distance"])
    return {"figure": figure, "table": table(rows, EQUITY_COLUMNS), "checks": checks[:20],
            "status": out.status, "frame": rows}


def report_view(engine: Engine, state: dict[str, Any]) -> dict[str, Any]:
    """Everything the on-screen report shows, as data (the layout is in ``callbacks``)."""
    scenario = _scenario(engine, state)
    targets = targets_view(engine, state)
    plan: dict[str, Any]
    deanery: dict[str, Any]
    try:
        plan = plan_view(engine, state)
    except ViewError as exc:
        plan = {"error": str(exc)}
    try:
        deanery = deanery_view(engine, state)
    except ViewError as exc:
        deanery = {"error": str(exc)}
    return {"scenario": scenario.resolved(), "targets": targets, "plan": plan,
            "deanery": deanery, "headline": headline(engine, state),
            "created": datetime.now(UTC).strftime("%d %B %Y %H:%M UTC"),
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
    frame = engine.targets(scenario, state["level"], ALL)
    return (f"fairshare-targets-{state['level']}-{scenario.digest()}.csv",
            defuse_formulas(frame).to_csv(index=False, float_format="%.6f"))


def plan_csv(engine: Engine, state: dict[str, Any]) -> tuple[str, str]:
    """(file name, text) of the whole plan (every local office, specialty and year)."""
    scenario = _scenario(engine, state)
    out = engine.full_plan(scenario)
    return (f"fairshare-plan-{scenario.digest()}.csv",
            defuse_formulas(out.plan).to_csv(index=False))


def report_html(engine: Engine, state: dict[str, Any]) -> tuple[str, str]:
    """(file name, text) of the self-contained HTML report (``fairshare.publish.report``)."""
    from fairshare.publish.report import build_report

    scenario = _scenario(engine, state)
    out = engine.full_plan(scenario)
    meta = engine.metadata(scenario, plan_status=out.status)
    text = build_report(out.targets, out.plan, meta, findings=out.findings, status=out.status)
    return f"fairshare-report-{scenario.digest()}.html", text
