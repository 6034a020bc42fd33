"""Fair-share targets: from need shares to whole posts per area and specialty (METHOD §2-3).

Posts are held by local offices, so whole targets are set there: for specialty s with national
total N_s (today's total: redistribution never adds or removes posts),

    fractional target = N_s · ((1 − σ_s) · fair share + σ_s · current share)

made whole by the scenario's apportionment method. Regions are sums of local offices; ICB figures
split each local office's whole target over its ICBs, so every level adds up to the same totals.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from fairshare.apportionment import apportion, controlled_round
from fairshare.errors import FairshareError
from fairshare.inputs.bundle import Bundle
from fairshare.inputs.corrections import corrected
from fairshare.model.convergence import with_aim
from fairshare.model.need import (
    NeedShares,
    driver_labels,
    effective_deprivation_weight,
    need_shares,
    specialised_shares,
    specialty_weights,
)
from fairshare.scenario import Level, Scenario

WATERFALL = [
    ("population_share_posts", "plain population share"),
    ("effect_need", "age and need component"),
    ("effect_projection", "projected demand"),
    ("effect_deprivation", "deprivation (avoidable mortality)"),
    ("effect_rural_coastal", "rural and coastal need"),
    ("effect_specialised", "specialised services kept in place"),
    ("effect_rounding", "whole posts"),
]


@dataclass(frozen=True)
class Geography:
    """ICB pieces ("units") and how they add up to local offices and regions."""

    units: pd.DataFrame  # icb_code, local_office, share (one row per ICB piece)
    icb_index: np.ndarray  # (unit,) index into the sorted ICB list
    lo_index: np.ndarray  # (unit,) index into local_offices
    local_offices: list[str]
    lo_codes: list[str]
    lo_regions: list[tuple[str, str]]

    @classmethod
    def from_bundle(cls, bundle: Bundle, icbs: list[str]) -> Geography:
        los = bundle.local_offices.sort_values("local_office").reset_index(drop=True)
        names = list(los["local_office"])
        units = bundle.icb_local_office.sort_values(["icb_code", "local_office"])
        units = units.reset_index(drop=True)
        unknown = sorted(set(units["local_office"]) - set(names))
        if unknown:
            raise ValueError(f"ICB mapping names unknown local offices: {unknown}")
        return cls(
            units=units,
            icb_index=np.array([icbs.index(c) for c in units["icb_code"]]),
            lo_index=np.array([names.index(lo) for lo in units["local_office"]]),
            local_offices=names,
            lo_codes=list(los["lo_code"]),
            lo_regions=list(zip(los["region_code"], los["region_name"], strict=True)),
        )

    def to_units(self, icb_values: np.ndarray) -> np.ndarray:
        """(..., icb) -> (..., unit): each ICB's value split over its pieces by share."""
        return icb_values[..., self.icb_index] * self.units["share"].to_numpy(float)

    def to_local_offices(self, unit_values: np.ndarray) -> np.ndarray:
        """(..., unit) -> (..., local office) sums."""
        out = np.zeros((*unit_values.shape[:-1], len(self.local_offices)))
        for u, lo in enumerate(self.lo_index):
            out[..., lo] += unit_values[..., u]
        return out


@dataclass(frozen=True)
class Inputs:
    """Everything targets need, as arrays (built once per bundle and scenario)."""

    need: NeedShares
    geo: Geography
    current: np.ndarray  # (spec, local office) whole posts
    weights: np.ndarray  # (spec, 3)
    sigma: np.ndarray  # (spec,)


def prepare(bundle: Bundle, scenario: Scenario) -> Inputs:
    """Arrays for the target calculation; the expensive part, done once."""
    bundle = corrected(bundle, scenario)  # the public baseline's switches (no-op if applied)
    ns = need_shares(bundle, scenario)
    geo = Geography.from_bundle(bundle, ns.icbs)
    posts = bundle.posts.pivot_table(index="specialty", columns="local_office", values="posts",
                                     aggfunc="sum")
    current = posts.reindex(index=ns.specialties, columns=geo.local_offices).fillna(0)
    return Inputs(
        need=ns,
        geo=geo,
        current=current.to_numpy(dtype=np.int64),
        weights=specialty_weights(bundle, scenario),
        sigma=specialised_shares(bundle, scenario),
    )


def fractional_targets(inp: Inputs, delta: float, weights: np.ndarray | None = None,
                       sigma: np.ndarray | None = None) -> np.ndarray:
    """(spec, local office) fractional targets; vectorised so Monte Carlo can call it cheaply."""
    w = inp.weights if weights is None else weights
    s = inp.sigma if sigma is None else sigma
    fair_lo = inp.geo.to_local_offices(inp.geo.to_units(inp.need.fair_share(w, delta)))
    total = inp.current.sum(axis=1, keepdims=True)
    return (1 - s[:, None]) * total * fair_lo + s[:, None] * inp.current


def whole_targets(frac: np.ndarray, totals: np.ndarray, scenario: Scenario,
                  names: list[str] | None = None) -> np.ndarray:
    """Whole posts per specialty x local office preserving each specialty's total exactly."""
    method, minimum = scenario.apportionment, scenario.minimum_posts
    n_areas = frac.shape[1]
    _check_minimum(minimum, n_areas, totals)
    rows = []
    for i in range(frac.shape[0]):
        total = int(totals[i])
        if total == 0:
            rows.append([0] * n_areas)
            continue
        try:
            rows.append(apportion(list(frac[i]), total, method=method,
                                  minimum=minimum if total >= minimum * n_areas else 0))
        except ValueError as exc:
            name = names[i] if names else f"specialty #{i}"
            raise FairshareError(f"{name} ({total} posts): {exc}") from exc
    whole = np.array(rows, dtype=np.int64)
    if scenario.controlled_rounding:
        area_totals = apportion(list(frac.sum(axis=0)), int(totals.sum()), method=method)
        whole = np.array(controlled_round(frac.tolist(), [int(t) for t in totals], area_totals),
                         dtype=np.int64)
    return whole


def _check_minimum(minimum: int, n_areas: int, totals: np.ndarray) -> None:
    """A minimum no specialty can give every area is a mistake, not something to ignore.

    (A specialty too small for the minimum keeps its plain targets, as METHOD says; but when
    that is every specialty, the parameter would silently do nothing.)
    """
    largest = int(totals.max()) if totals.size else 0
    if minimum > 0 and largest < minimum * n_areas:
        raise FairshareError(
            f"scenario 'minimum_posts': {minimum:,} posts in each of {n_areas} areas needs "
            f"{minimum * n_areas:,} posts in a specialty, but the largest has {largest:,}: "
            "no specialty can meet it; lower minimum_posts")


def _waterfall(inp: Inputs, delta: float) -> dict[str, np.ndarray]:
    """Cumulative shares from plain population to the fractional target, per local office."""
    ns, geo, w = inp.need, inp.geo, inp.weights
    total = inp.current.sum(axis=1, keepdims=True).astype(float)
    now = w[:, [0]] * ns.core[None, :] + (w[:, [1]] + w[:, [2]]) * ns.specialty
    mix = w[:, [0]] * ns.core[None, :] + w[:, [1]] * ns.specialty + w[:, [2]] * ns.future
    plain = (1 - delta) * mix + delta * ns.deprivation[None, :]
    fair = ns.fair_share(w, delta)  # with the rural and coastal uplift, when there is one
    pop = np.broadcast_to(ns.population, mix.shape)

    def lo(x: np.ndarray) -> np.ndarray:
        return geo.to_local_offices(geo.to_units(x)) * total

    s0, s1, s2, s3 = lo(pop), lo(now), lo(mix), lo(plain)
    s3r = s3 if ns.uplift is None else lo(fair)
    s4 = (1 - inp.sigma[:, None]) * s3r + inp.sigma[:, None] * inp.current
    return {
        "population_share_posts": s0,
        "effect_need": s1 - s0,
        "effect_projection": s2 - s1,
        "effect_deprivation": s3 - s2,
        "effect_rural_coastal": s3r - s3,
        "effect_specialised": s4 - s3r,
    }


def targets(bundle: Bundle, scenario: Scenario, level: Level | None = None) -> pd.DataFrame:
    """The targets table at a level: current, fair share, target, gap, distance, waterfall,
    the convergence aim, and the deprivation weight each specialty's target really carries."""
    bundle = corrected(bundle, scenario)
    inp = prepare(bundle, scenario)
    effective = dict(zip(inp.need.specialties, effective_deprivation_weight(
        inp.weights, scenario.deprivation_weight), strict=True))
    table = with_aim(local_office_table(bundle, scenario, inp), scenario)
    table["effective_deprivation_weight"] = table["specialty"].map(effective)
    table["core_cost_factor"] = core_cost_label(bundle, scenario)
    drivers = driver_labels(bundle, scenario)
    table["demand_driver"] = table["specialty"].map(drivers)
    level = level or scenario.level
    from fairshare.model.scarcity import scarcity, with_scarcity  # it builds on this module

    scarce = scarcity(bundle, scenario, inp)
    if level == "region":  # region aims are sums of local office aims, like every column
        return with_scarcity(aggregate_regions(table), scarce, "region")
    if level == "icb":
        table = with_aim(icb_table(bundle, scenario, inp, table), scenario)
        table["effective_deprivation_weight"] = table["specialty"].map(effective)
        table["core_cost_factor"] = core_cost_label(bundle, scenario)
        table["demand_driver"] = table["specialty"].map(drivers)
    return with_scarcity(table, scarce, level)


def core_cost_label(bundle: Bundle, scenario: Scenario) -> str:
    """What the core need term did with NHS England's ICB cost factor, for every row."""
    if bundle.core_cost_factor.empty:
        return "none in the data"
    if scenario.core_cost_factor == "kept":
        return "kept (as in NHS England's core need)"
    return "removed (need, not cost)"


def local_office_table(bundle: Bundle, scenario: Scenario, inp: Inputs) -> pd.DataFrame:
    """Tidy targets per specialty x local office."""
    delta = scenario.deprivation_weight
    totals = inp.current.sum(axis=1)
    frac = fractional_targets(inp, delta)
    whole = whole_targets(frac, totals, scenario, inp.need.specialties)
    fair = inp.geo.to_local_offices(inp.geo.to_units(inp.need.fair_share(inp.weights, delta)))
    wf = _waterfall(inp, delta)
    n_s, n_a = frac.shape
    geo = inp.geo
    specs = bundle.specialties.set_index("specialty").loc[inp.need.specialties]
    df = pd.DataFrame(
        {
            "scenario": scenario.name,
            "level": "local_office",
            "area_code": np.tile(geo.lo_codes, n_s),
            "area": np.tile(geo.local_offices, n_s),
            "region_code": np.tile([r[0] for r in geo.lo_regions], n_s),
            "region": np.tile([r[1] for r in geo.lo_regions], n_s),
            "specialty": np.repeat(inp.need.specialties, n_a),
            "school": np.repeat(specs["school"].to_numpy(), n_a),
            "phase": np.repeat(specs["phase"].to_numpy(), n_a),
            "current": inp.current.ravel(),
            "fair_share": (fair * totals[:, None]).ravel(),
            "target_fractional": frac.ravel(),
            "target": whole.ravel(),
            **{k: v.ravel() for k, v in wf.items()},
            "effect_rounding": (whole - frac).ravel(),
        }
    )
    df["specialised_share"] = np.repeat(inp.sigma, n_a)
    df["method"] = scenario.apportionment + (" (controlled)" if scenario.controlled_rounding
                                             else "")
    df["basis"] = [bundle.basis.get(s, bundle.posts_label) for s in df["specialty"]]
    df["other_funded"] = _other_funded(bundle, df)
    return with_gap(df[df["specialty"].isin(_present(bundle))].reset_index(drop=True))


def _other_funded(bundle: Bundle, df: pd.DataFrame) -> np.ndarray:
    """Trust-, research- and defence-funded posts: shown beside the targets, never moved."""
    other = bundle.other_funded
    if other.empty:
        return np.zeros(len(df), dtype=np.int64)
    sums = other.groupby(["local_office", "specialty"])["posts"].sum()
    keys = pd.MultiIndex.from_arrays([df["area"], df["specialty"]])
    return sums.reindex(keys).fillna(0).to_numpy(dtype=np.int64)


def _present(bundle: Bundle) -> set[str]:
    """Specialties the establishment covers (a user's file may hold only some)."""
    return set(bundle.posts["specialty"])


def with_gap(df: pd.DataFrame) -> pd.DataFrame:
    """Gap = target − current; distance = (current − target) / target, as NHS England reports;
    and the gap as a share of the target, gap / target, which keeps the gap's sign (+ receives,
    − gives): the percentage every fairshare page and table shows (docs/outputs.md)."""
    df = df.copy()
    df["gap"] = df["target"] - df["current"]
    target = df["target"].where(df["target"] != 0)
    df["distance"] = (df["current"] - target) / target
    df["gap_share_of_target"] = df["gap"] / target
    return df


_SUMMED = ["current", "fair_share", "target_fractional", "target", "other_funded",
           *[k for k, _ in WATERFALL]]


def aggregate_regions(table: pd.DataFrame) -> pd.DataFrame:
    """Region rows as sums of their local offices (so the two levels always agree)."""
    keys = ["scenario", "region_code", "region", "specialty", "school", "phase",
            "specialised_share", "method", "basis"]
    keys += [c for c in ("convergence", "effective_deprivation_weight", "core_cost_factor",
                         "demand_driver") if c in table.columns]
    summed = _SUMMED + (["aim"] if "aim" in table.columns else [])
    out = table.groupby(keys, as_index=False, sort=False)[summed].sum()
    out = out.rename(columns={"region_code": "area_code", "region": "area"})
    out["region_code"], out["region"] = out["area_code"], out["area"]
    out["level"] = "region"
    if "aim" in out.columns:
        out["aim_gap"] = out["aim"] - out["current"]
    # a local office's own figures that do not add up to a region's (its scarcity designation)
    # are left for the region level to compute afresh
    kept = [c for c in table.columns.drop(["gap", "distance", "gap_share_of_target"])
            if c in out.columns]
    return with_gap(out[kept])


def icb_table(bundle: Bundle, scenario: Scenario, inp: Inputs,
              lo_table: pd.DataFrame) -> pd.DataFrame:
    """ICB rows: each local office's whole target and current split over its ICB pieces.

    Current posts per ICB are not in a local-office establishment file, so they are estimated
    by splitting each local office's posts by population; the ``current_basis`` column says so.
    """
    df = icb_pieces(bundle, scenario, inp, lo_table)
    keys = ["scenario", "level", "area_code", "area", "region_code", "region", "specialty"]
    df = df.groupby(keys, as_index=False, sort=False)[
        ["current", "fair_share", "target_fractional", "target"]].sum()
    meta = lo_table.drop_duplicates("specialty").set_index("specialty")
    for col in ("school", "phase", "specialised_share", "method", "basis"):
        df[col] = meta.loc[df["specialty"], col].to_numpy()
    df["current_basis"] = ("per ICB, as given" if not bundle.piece_posts.empty else
                           "estimated: local office posts split by ICB population")
    return with_gap(df)


def icb_pieces(bundle: Bundle, scenario: Scenario, inp: Inputs,
               lo_table: pd.DataFrame) -> pd.DataFrame:
    """Current and target per ICB piece (an ICB, or its part in one local office) x specialty.

    The pieces add up exactly to the local offices' whole targets and current posts; they are
    what an ICB-level view of targets or of the plan is built from.
    """
    geo, ns = inp.geo, inp.need
    delta = scenario.deprivation_weight
    totals = inp.current.sum(axis=1, keepdims=True)
    fair_u = geo.to_units(ns.fair_share(inp.weights, delta)) * totals
    pop_u = geo.to_units(ns.population)
    lo_target = lo_table.pivot_table(index="specialty", columns="area", values="target",
                                     aggfunc="sum")
    lo_target = lo_target.reindex(index=ns.specialties, columns=geo.local_offices).fillna(0)
    n_s, n_u = fair_u.shape
    cur_u = np.zeros((n_s, n_u), dtype=np.int64)
    tgt_u = np.zeros((n_s, n_u), dtype=np.int64)
    given = _given_piece_posts(bundle, geo, ns.specialties)
    for lo in range(len(geo.local_offices)):
        members = np.flatnonzero(geo.lo_index == lo)
        for s in range(n_s):
            if given is not None:
                cur_u[s, members] = given[s, members]
            else:
                cur_u[s, members] = _split(pop_u[members], int(inp.current[s, lo]))
            frac = (1 - inp.sigma[s]) * fair_u[s, members] + inp.sigma[s] * cur_u[s, members]
            tgt_u[s, members] = _split(frac, int(lo_target.iat[s, lo]), scenario.apportionment)
    icbs = bundle.icbs.set_index("icb_code")
    unit_icb = geo.units["icb_code"].to_numpy()
    df = pd.DataFrame(
        {
            "scenario": scenario.name,
            "level": "icb",
            "area_code": np.tile(unit_icb, n_s),
            "area": np.tile(icbs.loc[unit_icb, "icb_name"].to_numpy(), n_s),
            "region_code": np.tile(icbs.loc[unit_icb, "region_code"].to_numpy(), n_s),
            "region": np.tile(icbs.loc[unit_icb, "region_name"].to_numpy(), n_s),
            "local_office": np.tile(geo.units["local_office"].to_numpy(), n_s),
            "specialty": np.repeat(ns.specialties, n_u),
            "current": cur_u.ravel(),
            "fair_share": fair_u.ravel(),
            "target_fractional": ((1 - inp.sigma[:, None]) * fair_u
                                  + inp.sigma[:, None] * cur_u).ravel(),
            "target": tgt_u.ravel(),
        }
    )
    return df[df["specialty"].isin(_present(bundle))].reset_index(drop=True)


def _given_piece_posts(bundle: Bundle, geo: Geography,
                       specialties: list[str]) -> np.ndarray | None:
    """(spec, unit) posts from a per-ICB establishment file, or None when it was per office."""
    if bundle.piece_posts.empty:
        return None
    table = bundle.piece_posts.set_index(["specialty", "icb_code", "local_office"])["posts"]
    keys = pd.MultiIndex.from_product([specialties, list(zip(geo.units["icb_code"],
                                                             geo.units["local_office"],
                                                             strict=True))])
    flat = [(s, icb, lo) for s, (icb, lo) in keys]
    values = table.reindex(pd.MultiIndex.from_tuples(flat)).fillna(0).to_numpy(dtype=np.int64)
    return values.reshape(len(specialties), len(geo.units))


def pieces(bundle: Bundle, scenario: Scenario) -> pd.DataFrame:
    """ICB pieces with current and whole target (see ``icb_pieces``), from scratch."""
    bundle = corrected(bundle, scenario)
    inp = prepare(bundle, scenario)
    return icb_pieces(bundle, scenario, inp, local_office_table(bundle, scenario, inp))


def _split(weights: np.ndarray, seats: int, method: str = "hamilton") -> list[int]:
    if seats == 0 or len(weights) == 1:
        return [seats] if len(weights) == 1 else [0] * len(weights)
    if weights.sum() <= 0:
        weights = np.ones(len(weights))
    return apportion(list(weights), seats, method=method)
