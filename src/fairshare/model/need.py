"""Need: how much of each specialty's work falls in each ICB, as shares of England.

METHOD §2. Every term is a weighted population turned into a share of England:

* core: NHS England core-services weighted population (its share is "Component 1");
* specialty: the specialty's demand driver today (a need component, or population by age and
  sex times a utilisation profile, optionally times a component's need index);
* future: the same driver on the population projected to the specialty's horizon year;
* deprivation: the health-inequalities (avoidable mortality) weighted population.

The result is a set of share matrices (specialty x ICB) that the fair share mixes linearly, so
scenario changes to weights, δ or σ cost a few array operations, not a recomputation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from fairshare.inputs.bundle import Bundle
from fairshare.scenario import Scenario, Weights
from fairshare.vocabulary import AGE_BANDS, COMPONENTS, SEXES

LAST_PROJECTION_YEAR = 2043


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
        return (1 - d) * mix + d * self.deprivation[None, :]


def _shares(x: np.ndarray) -> np.ndarray:
    total = x.sum(axis=-1, keepdims=True)
    return x / total


def _pivot(df: pd.DataFrame, value: str, icbs: list[str]) -> np.ndarray:
    """(icb, sex x age) matrix in a fixed column order."""
    wide = df.pivot_table(index="icb_code", columns=["sex", "age_band"], values=value,
                          aggfunc="sum")
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
    index = {c: (wp[c].to_numpy(float) / registered) / (wp[c].sum() / registered.sum())
             for c in COMPONENTS}

    specs = bundle.specialties
    growth_cache: dict[int, np.ndarray] = {}
    spec_rows, fut_rows, years = [], [], []
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
        g = growth_cache[year]
        if driver.kind == "component":
            now = wp[driver.name].to_numpy(float)
            later = now * (pop * g).sum(axis=1) / pop.sum(axis=1)
        else:
            w = prof.loc[driver.name].to_numpy(float)
            now = pop @ w
            later = (pop * g) @ w
            if driver.index:
                now, later = now * index[driver.index], later * index[driver.index]
        spec_rows.append(now)
        fut_rows.append(later)
        years.append(year)

    return NeedShares(
        specialties=list(specs["specialty"]),
        icbs=icbs,
        population=_shares(pop.sum(axis=1)),
        core=_shares(wp["core"].to_numpy(float)),
        deprivation=_shares(wp["health_inequalities"].to_numpy(float)),
        specialty=_shares(np.vstack(spec_rows)),
        future=_shares(np.vstack(fut_rows)),
        projection_year=np.array(years),
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
