"""The main job, end to end: targets → pace-of-change plan → expansion → the tidy plan table.

This is the one place that strings the pure core together; the CLI, the web app, the report and
the run store all call it, so every interface shows the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from fairshare.errors import FairshareError
from fairshare.inputs.bundle import Bundle
from fairshare.inputs.corrections import corrected
from fairshare.inputs.minimums import min_posts_table
from fairshare.model.expansion import MODE_COLUMNS
from fairshare.model.fill import area_fill, expected_fill, fill_findings
from fairshare.model.plan import Finding, PlanOptions, PlanProblem, plan
from fairshare.model.plan_findings import LIMIT_NAMES
from fairshare.model.scarcity import SCARCE
from fairshare.model.targets import targets
from fairshare.scenario import Scenario
from fairshare.vocabulary import Level

PLAN_COLUMNS = [
    "scenario", "area", "region", "specialty", "school", "phase", "year", "redistribution",
    "expansion", "expansion_in_post", "net", "cumulative", "posts", "target", "remaining_gap",
    "vacancies", "vacancies_used", "capacity", "capacity_used",
]


FINDING_COLUMNS = ["kind", "cause", "area", "specialty", "year", "size", "message"]
GROUP_COLUMNS = ["rank", "kind", "cause", "findings", "posts", "areas", "specialties",
                 "largest"]


def _cause(finding: Finding) -> str:
    return finding.cause or LIMIT_NAMES.get(finding.kind, finding.kind.replace("_", " "))


def findings_frame(findings: list[Finding]) -> pd.DataFrame:
    """Findings as a tidy table like every other result: one row per finding."""
    df = pd.DataFrame([{c: _cause(f) if c == "cause" else getattr(f, c)
                        for c in FINDING_COLUMNS} for f in findings], columns=FINDING_COLUMNS)
    return df.astype({"year": "Int64", "size": "int64"})


def findings_groups(findings: pd.DataFrame) -> pd.DataFrame:
    """Findings grouped by kind and cause, ranked by the posts involved (largest first).

    A default run has hundreds of findings, one per area, specialty and deadline; a planner
    first needs to know which few causes hold the plan back and how much each weighs. Each group
    counts its findings, the posts they involve, the areas and specialties they touch, and quotes
    its largest finding.
    """
    if findings.empty:
        return pd.DataFrame(columns=GROUP_COLUMNS)
    df = findings.assign(cause=findings["cause"] if "cause" in findings.columns else "")
    df = df.sort_values(["size", "area", "specialty"], ascending=[False, True, True],
                        kind="stable")
    groups = df.groupby(["kind", "cause"], sort=False, dropna=False).agg(
        findings=("message", "size"), posts=("size", "sum"), areas=("area", "nunique"),
        specialties=("specialty", "nunique"), largest=("message", "first")).reset_index()
    groups = groups.sort_values(["posts", "findings", "kind", "cause"],
                                ascending=[False, False, True, True], kind="stable")
    groups.insert(0, "rank", range(1, len(groups) + 1))
    return groups[GROUP_COLUMNS].astype({"findings": "int64", "posts": "int64"}).reset_index(
        drop=True)


@dataclass(frozen=True)
class PlanOutput:
    """Targets, the plan, and everything a planner needs to trust or question it.

    ``findings`` is a tidy table (kind, area, specialty, year, size, message);
    ``finding_list`` holds the same findings as objects.
    """

    targets: pd.DataFrame
    plan: pd.DataFrame
    findings: pd.DataFrame
    status: str
    stats: dict[str, Any] = field(default_factory=dict)
    unplaced: pd.DataFrame = field(default_factory=pd.DataFrame)
    finding_list: list[Finding] = field(default_factory=list)
    fill: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Per receiving area and year: posts received and expected to be filled (model/fill.py)."""


def plan_options(scenario: Scenario) -> PlanOptions:
    """The plan's options from the scenario (one source of truth for every parameter)."""
    return PlanOptions(
        start_year=scenario.plan_start,
        horizon=scenario.horizon,
        pace=scenario.pace,
        glide_until=scenario.glide_until,
        glide_min_years=scenario.glide_min_years,
        cohort_share=scenario.cohort_share,
        intake_growth=scenario.intake_growth,
        pace_cap=scenario.pace_cap,
        discount=scenario.discount,
        capacity_headroom=scenario.capacity_headroom,
        min_viable=scenario.min_viable_posts,
        elastic=scenario.elastic,
        require_target_by=scenario.require_target_by,
    )


def plan_problem(bundle: Bundle, target_table: pd.DataFrame, scenario: Scenario,
                 capacity: pd.DataFrame | None = None,
                 cohorts: pd.DataFrame | None = None,
                 min_posts: pd.DataFrame | None = None) -> PlanProblem:
    """The plan's input tables from a targets table (any level) and the optional user files.

    The plan moves toward the ``aim`` column when the targets table has one (a convergence
    policy's whole-post aim), else toward ``target``. ``min_posts`` (area, specialty,
    min_posts) overrides the per-specialty minimum programme size.
    """
    goal = "aim" if "aim" in target_table.columns else "target"
    posts = target_table[["area", "specialty", "current", goal]].rename(columns={goal: "target"})
    posts = posts.reset_index(drop=True)
    specs = bundle.specialties[["specialty", "programme_years", "phase_start"]]
    specs = specs[specs["specialty"].isin(set(posts["specialty"]))].reset_index(drop=True)
    years = range(scenario.plan_start, scenario.horizon + 1)
    coh = None if cohorts is None else cohorts.rename(columns={"local_office": "area"})
    cap = None if capacity is None else _capacity_by_year(capacity, years)
    minimums = min_posts
    if scenario.min_programme_size:
        minimums = min_posts_table(bundle, posts, scenario.min_viable_posts, min_posts)
    return PlanProblem(posts=posts, specialties=specs, capacity=cap, cohorts=coh,
                       min_posts=minimums)


def _capacity_by_year(capacity: pd.DataFrame, years: range) -> pd.DataFrame:
    """Capacity per area, specialty and year: a row without a year holds for every year, and a
    row for one year overrides it."""
    cap = capacity.rename(columns={"local_office": "area"})
    if "year" not in cap.columns:
        cap = cap.assign(year=pd.NA)
    every = cap[cap["year"].isna()].drop(columns="year")
    every = every.merge(pd.DataFrame({"year": list(years)}), how="cross")
    given = cap[cap["year"].notna()].astype({"year": "int64"})
    both = pd.concat([given, every], ignore_index=True)
    both = both.drop_duplicates(["area", "specialty", "year"], keep="first")
    return both[["area", "specialty", "year", "capacity"]].reset_index(drop=True)


def run_plan(bundle: Bundle, scenario: Scenario, *, capacity: pd.DataFrame | None = None,
             cohorts: pd.DataFrame | None = None, min_posts: pd.DataFrame | None = None,
             level: Level = "local_office") -> PlanOutput:
    """Targets at a level (local offices, or ICBs directly), then the plan and expansion."""
    if level == "region":
        raise FairshareError("a plan is made by local office or by ICB; a region's plan is the "
                             "sum of its local offices' (--level region in `fairshare plan`)")
    if level == "icb" and cohorts is not None:
        raise FairshareError("--cohorts files are by local office; a plan by ICB uses the "
                             "default rule for vacancies")
    bundle = corrected(bundle, scenario)  # the public baseline's switches, once for all steps
    tgt = targets(bundle, scenario, level=level)
    problem = plan_problem(bundle, tgt, scenario, capacity, cohorts, min_posts)
    result = plan(problem, plan_options(scenario))
    table = result.table.copy()
    rates = _fill_rates(bundle, table, level)
    table, unplaced = _with_expansion(bundle, scenario, table, rates, scarce_pairs(tgt))
    meta = tgt.drop_duplicates("area").set_index("area")["region"]
    spec = bundle.specialties.set_index("specialty")
    table["scenario"] = scenario.name
    table["region"] = table["area"].map(meta)
    table["school"] = table["specialty"].map(spec["school"])
    table["phase"] = table["specialty"].map(spec["phase"])
    table["net"] = table["redistribution"] + table["expansion"]
    modes = [c for c in MODE_COLUMNS.values() if c in table.columns]  # both expansion modes
    table = table[PLAN_COLUMNS + modes].sort_values(["specialty", "area", "year"])
    table = with_scarcity_designation(table.reset_index(drop=True), tgt)
    found = list(result.findings) + fill_findings(table, rates, scenario.fill_warning_below)
    return PlanOutput(targets=tgt, plan=table, findings=findings_frame(found),
                      status=result.status, stats=dict(result.stats), unplaced=unplaced,
                      finding_list=found, fill=expected_fill(table, rates))


def _fill_rates(bundle: Bundle, table: pd.DataFrame, level: Level) -> pd.DataFrame:
    """One modelled fill rate per area × specialty of the plan (a plan by ICB takes the rate
    of the local office holding most of each ICB)."""
    from fairshare.inputs.fill import default_fill_rates

    given = bundle.fill_rates if not bundle.fill_rates.empty else default_fill_rates()
    office_of = None
    if level == "icb":
        main = bundle.icb_local_office.sort_values("share").drop_duplicates("icb_code",
                                                                            keep="last")
        names = bundle.icbs.set_index("icb_code")["icb_name"]
        office_of = dict(zip(main["icb_code"].map(names), main["local_office"], strict=True))
    return area_fill(given, table[["area", "specialty"]], office_of)


def scarce_pairs(tgt: pd.DataFrame) -> set[tuple[str, str]]:
    """(area, specialty) pairs the targets designate scarce (docs/scarcity.md): the areas
    ``expansion_allocation: scarce_first`` serves first. Empty when nothing is designated."""
    if "scarcity_designation" not in tgt.columns:
        return set()
    rows = tgt[tgt["scarcity_designation"] == SCARCE]
    return set(zip(rows["area"], rows["specialty"], strict=True))


def _with_expansion(bundle: Bundle, scenario: Scenario, table: pd.DataFrame,
                    rates: pd.DataFrame, scarce: set[tuple[str, str]],
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Add time-limited expansion posts (zero when the scenario funds none)."""
    table["expansion"] = 0
    table["expansion_in_post"] = 0
    if not scenario.expansion:
        return table, pd.DataFrame()
    from fairshare.inputs.bundle import load_priorities
    from fairshare.model.expansion import compare_modes

    national = pd.DataFrame([t.model_dump() for t in scenario.expansion])
    # Expansion fills what supervision capacity redistribution left unused that year; both
    # modes are computed so the tables can show them side by side.
    alloc = compare_modes(
        table[["area", "specialty", "year", "remaining_gap", "posts", "capacity",
               "capacity_used", "redistribution"]],
        national,
        load_priorities(),
        bundle.specialties[["specialty", "programme_years"]],
        mode=scenario.expansion_mode,
        offset_share=scenario.expansion_offset_share,
        minimum_per_area=scenario.expansion_minimum_per_area,
        below_target_only=not scenario.expansion_beyond_target,
        fill=(dict(zip(zip(rates["area"], rates["specialty"], strict=True),
                       rates["fill_rate"], strict=True))
              if scenario.expansion_allocation == "expected_fill" else None),
        scarce=scarce if scenario.expansion_allocation == "scarce_first" else None,
    )
    unplaced = alloc.attrs.get("unplaced", pd.DataFrame())
    merged = table.drop(columns=["expansion", "expansion_in_post"]).merge(
        alloc[["area", "specialty", "year", "expansion", "expansion_in_post",
               *MODE_COLUMNS.values()]],
        on=["area", "specialty", "year"], how="left")
    for col in ("expansion", "expansion_in_post", *MODE_COLUMNS.values()):
        merged[col] = merged[col].fillna(0).astype("int64")
    return merged, unplaced


def with_scarcity_designation(table: pd.DataFrame, tgt: pd.DataFrame) -> pd.DataFrame:
    """The plan table with each area's scarcity designation (docs/scarcity.md), where the
    targets carry one: every plan, whole or one specialty's, shows the same column."""
    if "scarcity_designation" not in tgt.columns:
        return table
    scarce = tgt.set_index(["area", "specialty"])["scarcity_designation"]
    keys = pd.MultiIndex.from_arrays([table["area"], table["specialty"]])
    return table.assign(scarcity_designation=scarce.reindex(keys).fillna("").to_numpy())
