"""Need: how much of each specialty's work falls in each ICB, as shares of England.

METHOD §2. Every term is a weighted population turned into a share of England:

* core: NHS England core-services weighted population (its share is "Component 1");
* specialty: the specialty's demand driver today (a need component, or population by age and
  sex times a utilisation profile, optionally times a component's need index);
* future: the same driver on the population projected to the specialty's horizon year;
* deprivation: the health-inequalities (avoidable mortality) weighted population.

Two corrections keep need counted once (docs/method.md, "Need counted once"):

* **one population base**: NHS England's weighted populations are built on registered GP lists,
  the age drivers on ONS residents (London is 17.4% of one and 15.5% of the other). By default
  (``population_base: ons_resident``) every NHS England term becomes its need index times the
  ONS resident population; ``registered`` puts the age drivers on registered lists instead.
* **age counted once**: an ``age:<profile>*<component>`` driver multiplies an age-profile
  population by the component's need index *with its age effect removed*: the index is divided
  by the profile's age index raised to the index's elasticity with it across ICBs (population
  weighted least squares on logs, kept within [0, 1]). The driver's elasticity to the age index
  is then never above the larger of its two parts', instead of their sum.
  The health-inequalities index (SMR<75) is age-standardised by construction and is used as is.

The result is a set of share matrices (specialty x ICB) that the fair share mixes linearly, so
scenario changes to weights, δ or σ cost a few array operations, not a recomputation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from fairshare.errors import FairshareError
from fairshare.inputs.bundle import Bundle
from fairshare.scenario import Scenario, Weights
from fairshare.vocabulary import AGE_BANDS, COMPONENTS, SEXES

LAST_PROJECTION_YEAR = 2043

#: Components whose need index is already age-standardised (avoidable mortality is SMR<75).
AGE_STANDARDISED = frozenset({"health_inequalities"})

#: Share of NHS England's core weighted population ("Final WP") that is the health-inequalities
#: adjustment. Not published in the file; estimated from it (docs/method.md): regressing each
#: practice's Final WP on its component weighted populations with an ICB cost factor, the
#: health-inequalities weight is 0.10 and the fit's error falls from 2.8% to 0.7% with it.
CORE_HEALTH_INEQUALITIES_SHARE = 0.10


@dataclass(frozen=True)
class Driver:
    """A parsed demand driver: ``component:<c>`` or ``age:<profile>[*<c>]``."""

    kind: str  # "component" or "age"
    name: str  # component or profile name
    index: str | None = None  # need-index component multiplying an age driver

    @classmethod
    def parse(cls, text: str, profiles: set[str]) -> Driver:
        kind, _, rest = text.strip().partition(":")
        name, _, raw_index = rest.partition("*")
        name, index = name.strip(), raw_index.strip() or None
        if kind == "component" and name in COMPONENTS and index is None:
            return cls("component", name)
        if kind == "age" and name in profiles and (index is None or index in COMPONENTS):
            return cls("age", name, index)
        raise ValueError(
            f"demand driver '{text}' is not 'component:<c>' or 'age:<profile>[*<c>]' with "
            f"c in {', '.join(COMPONENTS)} and profile in {', '.join(sorted(profiles))}"
        )


@dataclass(frozen=True)
class NeedShares:
    """Shares of England (each row sums to 1), specialties x ICBs, plus per-ICB shares."""

    specialties: list[str]
    icbs: list[str]
    population: np.ndarray  # (icb,) plain population share
    core: np.ndarray  # (icb,)
    deprivation: np.ndarray  # (icb,)
    specialty: np.ndarray  # (spec, icb) driver today
    future: np.ndarray  # (spec, icb) driver at the projection year
    projection_year: np.ndarray  # (spec,)
    age_elasticity_removed: np.ndarray | None = None  # (spec,) β taken out of a need index
    uplift: np.ndarray | None = None  # (spec, icb) rural and coastal need uplift; None: none

    def fair_share(self, weights: np.ndarray, delta: float | np.ndarray) -> np.ndarray:
        """(spec, icb) fair shares: (1-δ)(w_core core + w_spec spec + w_fut future) + δ dep.

        ``weights`` is (spec, 3) with columns core, specialty, future.
        """
        mix = (
            weights[:, [0]] * self.core[None, :]
            + weights[:, [1]] * self.specialty
            + weights[:, [2]] * self.future
        )
        d = np.asarray(delta, dtype=float)
        d = d[:, None] if d.ndim == 1 else d
        fair = (1 - d) * mix + d * self.deprivation[None, :]
        if self.uplift is None:
            return fair
        lifted = fair * self.uplift
        return lifted / lifted.sum(axis=-1, keepdims=True)


def rural_coastal_uplift(bundle: Bundle, scenario: Scenario, icbs: list[str]) -> np.ndarray | None:
    """(spec, icb) need multiplier 1 + ρ·rural share + κ·coastal share, or None when ρ = κ = 0.

    A resident of a rural (coastal) LSOA counts 1 + ρ (1 + κ) times in the need of a specialty
    the catalogue declares rural (coastal); the fair share renormalises, so national totals are
    kept and only the split between areas moves (docs/method.md, "Rural and coastal need").
    """
    rho, kappa = scenario.rural_weight, scenario.coastal_weight
    if rho == 0 and kappa == 0:
        return None
    table = bundle.rural_coastal
    if table.empty:
        raise FairshareError("rural_weight / coastal_weight need rural_coastal.csv (icb_code, "
                             "rural_share, coastal_share) in the data; this data has none")
    shares = table.set_index("icb_code").reindex(icbs)
    lacking = [c for c, ok in zip(icbs, shares["rural_share"].notna(), strict=True) if not ok]
    if lacking:
        raise FairshareError(f"rural_coastal.csv lacks areas {lacking[:5]}: give every area")
    specs = bundle.specialties
    declared = {c: (specs[c].to_numpy(float) if c in specs.columns else np.ones(len(specs)))
                for c in ("rural", "coastal")}
    return (1 + rho * declared["rural"][:, None] * shares["rural_share"].to_numpy(float)[None, :]
            + kappa * declared["coastal"][:, None]
            * shares["coastal_share"].to_numpy(float)[None, :])


def effective_deprivation_weight(weights: np.ndarray, delta: float | np.ndarray) -> np.ndarray:
    """(spec,) weight deprivation really has: δ plus what the core term already carries.

    NHS England's core weighted population includes its own health-inequalities adjustment
    (``CORE_HEALTH_INEQUALITIES_SHARE``), so δ is added on top of it, not instead of it.
    """
    d = np.asarray(delta, dtype=float)
    return d + (1 - d) * weights[:, 0] * CORE_HEALTH_INEQUALITIES_SHARE


def age_standardised(index: np.ndarray, age_index: np.ndarray,
                     people: np.ndarray) -> tuple[np.ndarray, float]:
    """A need index with the part explained by an age index removed, and the elasticity removed.

    β is the population-weighted least-squares slope of log(index) on log(age index) across
    areas, kept within [0, 1]: an index built on an age-cost curve contains age once, so at most
    one full age effect is taken out; variation beyond that, even if it runs with age, is kept
    as morbidity. The result is index / age_index**β. With no spread in the age index, β = 0.
    """
    w = people / people.sum()
    x, y = np.log(age_index), np.log(index)
    xc = x - w @ x
    var = float(w @ (xc * xc))
    if var < 1e-12:
        return index, 0.0
    beta = min(max(float(w @ (xc * (y - w @ y))) / var, 0.0), 1.0)
    return index / age_index**beta, beta


def cost_factors(bundle: Bundle, icbs: list[str]) -> np.ndarray:
    """(icb,) the ICB cost factor in NHS England's core need (ones when the data has none)."""
    table = bundle.core_cost_factor
    if table.empty:
        return np.ones(len(icbs))
    return table.set_index("icb_code")["cost_factor"].reindex(icbs).to_numpy(float)


def without_cost_factor(core_index: np.ndarray, factor: np.ndarray,
                        registered: np.ndarray) -> np.ndarray:
    """The core need index with an ICB cost factor divided out, relative to England again.

    NHS England's "Final WP" is, to 0.7% per practice, an ICB factor times a weighted sum of its
    need components (docs/method.md); the factor is highest in London, as the market forces
    factor is. It prices care; it does not measure how many doctors a population needs.
    """
    index = core_index / factor
    return index / ((index * registered).sum() / registered.sum())


def prevalence_conditions(bundle: Bundle, scenario: Scenario) -> dict[str, list[str]]:
    """Specialty -> QOF register codes driving it (data/prevalence_drivers.csv).

    Data without a prevalence table (another geography's folder, or a toy) keeps every
    specialty on its catalogue driver; the targets table's ``demand_driver`` column says, on
    every row, which driver was used, so the switch is never without a visible trace.
    """
    if not scenario.prevalence_driver or bundle.qof_prevalence.empty:
        return {}
    rows = bundle.prevalence_drivers
    declared = {str(s): str(c).split("+") for s, c in zip(rows["specialty"], rows["conditions"],
                                                          strict=True)}
    unknown = sorted(set(declared) - set(bundle.specialties["specialty"]))
    if unknown:
        raise FairshareError(f"prevalence_drivers.csv names unknown specialties: {unknown}")
    return declared


def driver_labels(bundle: Bundle, scenario: Scenario) -> dict[str, str]:
    """Specialty -> the demand driver its need used today, in words for every targets row."""
    declared = prevalence_conditions(bundle, scenario)
    return {str(s): (f"QOF prevalence {'+'.join(declared[s])} (NHS Digital 2019-20); growth: "
                     f"{d}" if s in declared else str(d))
            for s, d in zip(bundle.specialties["specialty"], bundle.specialties["driver"],
                            strict=True)}


def prevalence_index(table: pd.DataFrame, conditions: list[str], icbs: list[str]) -> np.ndarray:
    """(icb,) recorded prevalence of some QOF registers relative to England.

    Rate per ICB = Σ over conditions of register ÷ list size (a patient on two registers counts
    on each: both are work); England's rate the same from England's totals.
    """
    rows = table[table["condition"].isin(conditions)]
    missing = sorted(set(conditions) - set(rows["condition"]))
    lacking = sorted(set(icbs) - set(rows["icb_code"]))
    if missing or lacking:
        raise FairshareError(f"qof_prevalence.csv lacks condition(s) {missing} or areas "
                             f"{lacking[:5]}: every declared register is needed for every area")
    by = rows.groupby(["condition", "icb_code"])[["register", "list_size"]].sum()
    rate = np.zeros(len(icbs))
    england = 0.0
    for condition in conditions:
        part = by.loc[condition].reindex(icbs)
        rate += (part["register"] / part["list_size"]).to_numpy(float)
        england += float(part["register"].sum() / part["list_size"].sum())
    return rate / england


def _with_prevalence(bundle: Bundle, conditions: list[str], icbs: list[str], now: np.ndarray,
                     later: np.ndarray, base: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """A specialty's need from disease prevalence on the population base; its growth to the
    projection year is still its own driver's (later ÷ now), which carries the age profile."""
    need = prevalence_index(bundle.qof_prevalence, conditions, icbs) * base
    growth = np.divide(later, now, out=np.ones_like(now), where=now > 0)
    return need, need * growth, 0.0


def _shares(x: np.ndarray) -> np.ndarray:
    total = x.sum(axis=-1, keepdims=True)
    return x / total


def _pivot(df: pd.DataFrame, value: str, icbs: list[str]) -> np.ndarray:
    """(icb, sex x age) matrix in a fixed column order."""
    wide = df.pivot_table(index="icb_code", columns=["sex", "age_band"], values=value,
                          aggfunc="sum", observed=True)  # codes may be categories (own data)
    cols = pd.MultiIndex.from_product([SEXES, AGE_BANDS])
    return wide.reindex(index=icbs, columns=cols).to_numpy(dtype=float)


def _variant_scale(bundle: Bundle, variant: str, year: int, icbs: list[str],
                   principal_total: np.ndarray) -> np.ndarray:
    """Per-ICB multiplier turning principal growth into a variant's (all-age totals only)."""
    if variant == "principal":
        return np.ones(len(icbs))
    gv = bundle.growth_variants
    sel = gv[(gv["variant"] == variant) & (gv["year"] == year)].set_index("icb_code")["factor"]
    if sel.empty:
        raise ValueError(f"projection variant '{variant}' has no figures for {year}")
    return sel.reindex(icbs).to_numpy(dtype=float) / principal_total


def _check_components(wp: pd.DataFrame) -> None:
    """Every need component must be positive somewhere: a component that is 0 (or blank) in
    every area has no shares to give, and dividing by its total would turn every fair share
    that uses it into NaN."""
    empty = [c for c in COMPONENTS if not np.nansum(wp[c].to_numpy(dtype=float)) > 0]
    if empty:
        raise FairshareError(f"weighted_population.csv: the need component(s) "
                             f"{', '.join(repr(c) for c in empty)} are 0 in every area, so no "
                             "area has a share of that need: give the weighted population "
                             "of each component (docs/own_data.md)")


def need_shares(bundle: Bundle, scenario: Scenario) -> NeedShares:
    """Compute every need share for every catalogue specialty (METHOD §2)."""
    icbs = sorted(bundle.icbs["icb_code"])
    wp = bundle.weighted_population.set_index("icb_code").reindex(icbs)
    pop = _pivot(bundle.population, "population", icbs)  # (icb, 38)
    prof = bundle.profiles.pivot_table(index="profile", columns=["sex", "age_band"],
                                       values="weight", aggfunc="sum")
    prof = prof.reindex(columns=pd.MultiIndex.from_product([SEXES, AGE_BANDS])).fillna(0.0)
    profiles = set(prof.index)
    registered = wp["population"].to_numpy(dtype=float)
    resident = pop.sum(axis=1)
    _check_components(wp)
    index = {c: (wp[c].to_numpy(float) / registered) / (wp[c].sum() / registered.sum())
             for c in COMPONENTS}
    if scenario.core_cost_factor == "removed":
        index["core"] = without_cost_factor(index["core"], cost_factors(bundle, icbs), registered)
    # One base for every term: NHS England terms are index x base, age drivers profile x base.
    on_ons = scenario.population_base == "ons_resident"
    nhs_base = resident if on_ons else registered
    age_rebase = np.ones_like(resident) if on_ons else registered / resident

    specs = bundle.specialties
    declared = prevalence_conditions(bundle, scenario)
    growth_cache: dict[int, np.ndarray] = {}
    spec_rows, fut_rows, years, betas = [], [], [], []
    for rec in specs.itertuples():
        driver = Driver.parse(str(rec.driver), profiles)
        year = scenario.projection_year or min(
            scenario.base_year + int(rec.programme_years), LAST_PROJECTION_YEAR
        )
        if year not in growth_cache:
            g = _pivot(bundle.growth[bundle.growth["year"] == year], "factor", icbs)
            total = (pop * g).sum(axis=1) / pop.sum(axis=1)
            g = g * _variant_scale(bundle, scenario.projection_variant, year, icbs, total)[:, None]
            growth_cache[year] = g
        weights = None if driver.kind == "component" else prof.loc[driver.name].to_numpy(float)
        now, later, beta = _driver_need(driver, weights, pop, growth_cache[year], index,
                                        nhs_base, age_rebase)
        if rec.specialty in declared:
            now, later, beta = _with_prevalence(bundle, declared[rec.specialty], icbs, now,
                                                later, resident if on_ons else registered)
        spec_rows.append(now)
        fut_rows.append(later)
        years.append(year)
        betas.append(beta)

    return NeedShares(
        specialties=list(specs["specialty"]),
        icbs=icbs,
        population=_shares(pop.sum(axis=1)),
        core=_shares(index["core"] * nhs_base),
        deprivation=_shares(index["health_inequalities"] * nhs_base),
        specialty=_shares(np.vstack(spec_rows)),
        future=_shares(np.vstack(fut_rows)),
        projection_year=np.array(years),
        age_elasticity_removed=np.array(betas),
        uplift=rural_coastal_uplift(bundle, scenario, icbs),
    )


def specialty_weights(bundle: Bundle, scenario: Scenario) -> np.ndarray:
    """(spec, 3) component weights: catalogue, then scenario-wide, then per-specialty overrides."""
    specs = bundle.specialties
    unknown = sorted(set(scenario.specialty_weights) - set(specs["specialty"]))
    if unknown:
        raise ValueError(f"scenario names unknown specialties in specialty_weights: {unknown}")
    out = specs[["w_core", "w_specialty", "w_future"]].to_numpy(dtype=float).copy()
    if scenario.weights is not None:
        out[:] = _row(scenario.weights)
    for i, name in enumerate(specs["specialty"]):
        if name in scenario.specialty_weights:
            out[i] = _row(scenario.specialty_weights[name])
    return out


def specialised_shares(bundle: Bundle, scenario: Scenario) -> np.ndarray:
    """(spec,) σ: catalogue, then scenario-wide, then per-specialty overrides."""
    specs = bundle.specialties
    unknown = sorted(set(scenario.specialty_specialised_share) - set(specs["specialty"]))
    if unknown:
        raise ValueError(f"scenario names unknown specialties in specialty_specialised_share: "
                         f"{unknown}")
    sigma = specs["specialised_share"].to_numpy(dtype=float).copy()
    if scenario.specialised_share is not None:
        sigma[:] = scenario.specialised_share
    for i, name in enumerate(specs["specialty"]):
        if name in scenario.specialty_specialised_share:
            sigma[i] = scenario.specialty_specialised_share[name]
    return sigma


def _row(w: Weights) -> list[float]:
    return [w.core, w.specialty, w.future]


def _driver_need(driver: Driver, weights: np.ndarray | None, pop: np.ndarray,
                 growth: np.ndarray, index: dict[str, np.ndarray], nhs_base: np.ndarray,
                 age_rebase: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """(need today, need at the projection year, β removed) of one driver, per ICB.

    A component is its need index on the chosen base; an age driver is the profile-weighted
    population on that base, times the component's index with its age effect removed.
    """
    resident = pop.sum(axis=1)
    if weights is None:
        now = index[driver.name] * nhs_base
        return now, now * (pop * growth).sum(axis=1) / resident, 0.0
    now, later = pop @ weights * age_rebase, (pop * growth) @ weights * age_rebase
    if not driver.index:
        return now, later, 0.0
    need, beta = index[driver.index], 0.0
    if driver.index not in AGE_STANDARDISED:
        age_index = (pop @ weights / resident) / ((pop @ weights).sum() / resident.sum())
        need, beta = age_standardised(need, age_index, resident)
    return now * need, later * need, beta


def need_table(bundle: Bundle, scenario: Scenario) -> pd.DataFrame:
    """Tidy need shares per specialty x ICB (for inspection, export and the waterfall)."""
    ns = need_shares(bundle, scenario)
    w = specialty_weights(bundle, scenario)
    fair = ns.fair_share(w, scenario.deprivation_weight)
    n_s, n_i = len(ns.specialties), len(ns.icbs)
    return pd.DataFrame(
        {
            "scenario": scenario.name,
            "specialty": np.repeat(ns.specialties, n_i),
            "icb_code": np.tile(ns.icbs, n_s),
            "population_share": np.tile(ns.population, n_s),
            "core_share": np.tile(ns.core, n_s),
            "specialty_share": ns.specialty.ravel(),
            "future_share": ns.future.ravel(),
            "deprivation_share": np.tile(ns.deprivation, n_s),
            "fair_share": fair.ravel(),
            "projection_year": np.repeat(ns.projection_year, n_i),
        }
    )
