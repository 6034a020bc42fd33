"""The scenario: every parameter of a fairshare run in one validated object.

Defaults follow ../shared/METHOD.md; a named scenario is a small YAML file that overrides only
what it changes (see ``scenarios/``). Every run stores the fully resolved scenario beside its
results, so a result can always be traced to the exact parameters that made it.
"""

from __future__ import annotations

import hashlib
import json
import math
import unicodedata
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from fairshare.errors import InputError, ScenarioError, quote
from fairshare.io import read_bytes
from fairshare.vocabulary import DEFAULT_VARIANTS, ApportionmentMethod, Level, ProjectionVariant

#: Sane limits: no count of posts in a scenario exceeds all of England's training posts; a
#: name fits on a line; a pace cap below 0.1% a year would take over a thousand years.
MAX_COUNT = 100_000
MAX_NAME = 200
MAX_DESCRIPTION = 10_000
MIN_PACE_CAP = 0.001
#: Lists and tables in a scenario (expansion tranches, per-specialty values) hold at most this
#: many entries: 65 specialties, or 39 years x a few priorities, need far fewer.
MAX_ITEMS = 1000
#: Combinations of structural options a Monte Carlo prepares (each costs a need calculation).
MAX_STRUCTURES = 256


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Range(_Strict):
    """A parameter range ``[low, high]`` and the distribution drawn on it.

    Written in a scenario file either as a mapping (``{low: 0.1, high: 0.3, distribution:
    triangular}``) or as a list (``[0.1, 0.3]`` or ``[0.1, 0.3, triangular]``). A range of zero
    width (``low == high``) is a fixed value: that family is then not uncertain at all.
    """

    low: float = Field(description="Smallest value drawn.")
    high: float = Field(description="Largest value drawn.")
    distribution: Literal["uniform", "triangular"] = Field(
        "uniform", description="uniform, or triangular peaking at ``mode``."
    )
    mode: float | None = Field(None, description="Peak of a triangular range (None: midpoint).")

    @model_validator(mode="before")
    @classmethod
    def _from_list(cls, data: Any) -> Any:
        if isinstance(data, list | tuple):
            if len(data) not in (2, 3):
                raise ValueError("a range is [low, high] or [low, high, distribution]")
            out: dict[str, Any] = {"low": data[0], "high": data[1]}
            if len(data) == 3:
                out["distribution"] = data[2]
            return out
        return data

    @model_validator(mode="after")
    def _check(self) -> Range:
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            raise ValueError("range bounds must be finite")
        if self.low > self.high:
            raise ValueError(f"range low {self.low:g} is above high {self.high:g}")
        if self.mode is not None and not self.low <= self.mode <= self.high:
            raise ValueError(f"mode {self.mode:g} is outside [{self.low:g}, {self.high:g}]")
        return self

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Values at quantiles ``u`` in [0, 1): draws made by inverse CDF keep CRN coupling."""
        u = np.asarray(u, dtype=float)
        lo, hi = self.low, self.high
        if hi == lo:
            return np.full(u.shape, lo)
        if self.distribution == "uniform":
            return lo + u * (hi - lo)
        mode = (lo + hi) / 2 if self.mode is None else self.mode
        c = (mode - lo) / (hi - lo)
        left = lo + np.sqrt(u * (hi - lo) * (mode - lo))
        right = hi - np.sqrt((1 - u) * (hi - lo) * (hi - mode))
        return np.where(u < c, left, right)


#: The coarse tiers σ is set in (docs/specialties.md): a tier judgement off by one moves a
#: specialty's σ to the neighbouring tier.
SIGMA_TIERS: tuple[float, ...] = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5)

#: Scenario parameters that have their own drawn family: a structural choice may not draw them.
_DRAWN_FAMILIES = frozenset({"deprivation_weight", "weights", "specialty_weights",
                             "specialised_share", "specialty_specialised_share",
                             "projection_variant", "uncertainty", "name", "description"})


class StructuralChoice(_Strict):
    """A modelling choice drawn as a whole: one scenario parameter and the options it may take.

    Any scenario switch can be drawn this way (``population_base``, ``convergence``, a baseline
    correction): each draw takes one option, with the given probabilities, and the draw's
    targets are computed on the scenario with that parameter set to the option.
    """

    parameter: str = Field(min_length=1, max_length=MAX_NAME,
                           description="A scenario parameter: a top-level name, or a dotted "
                           "path into a group (convergence.share, baseline_corrections.gim).")
    options: tuple[Any, ...] = Field(min_length=1, max_length=MAX_ITEMS,
                                     description="Values the parameter may take.")
    probabilities: tuple[float, ...] | None = Field(
        None, description="Probability of each option (sum 1; None: equally likely). "
        "A judgement: how plausible each modelling choice is.")
    label: str = Field("", max_length=MAX_NAME,
                       description="Short name in coverage statements (default: the parameter).")

    @model_validator(mode="after")
    def _check(self) -> StructuralChoice:
        if self.parameter.split(".")[0] in _DRAWN_FAMILIES:
            raise ValueError(f"'{self.parameter}' is drawn by its own family; a structural "
                             "choice draws a switch such as population_base or convergence")
        if self.probabilities is not None:
            p = self.probabilities
            if len(p) != len(self.options):
                raise ValueError(f"{len(p)} probabilities for {len(self.options)} options")
            if any(not math.isfinite(x) or x < 0 for x in p) or abs(sum(p) - 1) > 1e-9:
                raise ValueError("probabilities must be >= 0 and sum to 1")
        return self

    def weights(self) -> np.ndarray:
        """Probability of each option."""
        if self.probabilities is None:
            return np.full(len(self.options), 1 / len(self.options))
        return np.asarray(self.probabilities, dtype=float)

    def name(self) -> str:
        return self.label or self.parameter


def _default_structure() -> tuple[StructuralChoice, ...]:
    return (
        StructuralChoice(parameter="population_base", options=("ons_resident", "registered"),
                         label="population base"),
        StructuralChoice(parameter="convergence",
                         options=({"policy": "full"}, {"policy": "share", "share": 0.5}),
                         label="convergence"),
        # the baseline corrections whose rule is a judgement (docs/baseline.md): corrected or
        # as counted, equally likely. GP/PH spread on need's base is kept as set (as built
        # counts the population-base difference as a gap); the numeric views (non-movable
        # share, GP rotation months) have no public figure to draw around.
        StructuralChoice(parameter="baseline_corrections.gim",
                         options=("group1_mix", "as_counted"), label="GIM registrars"),
        StructuralChoice(parameter="baseline_corrections.trust_sites", options=(True, False),
                         label="trusts placed by their sites"),
        StructuralChoice(parameter="baseline_corrections.vacancies", options=(False, True),
                         label="funded-posts view (vacancies)"),
    )


class UncertaintySpec(_Strict):
    """What is uncertain and how it is drawn (kept apart from ``Scenario`` until wired in).

    Defaults: δ uniform on [0.10, 0.30]; each specialty's component weights drawn from a
    Dirichlet centred on the scenario's weights with concentration 50 (a weight of 0.5 then has a
    standard deviation of 0.07); σ multiplied by a uniform [0.5, 1.5] factor, one per draw for all
    specialties, clipped to [0, 1]; the projection variant drawn uniformly from principal and the
    high/low population and migration variants.
    """

    deprivation_weight: Range = Field(
        default_factory=lambda: Range(low=0.10, high=0.30),
        description="δ range (absolute values in [0, 1]).",
    )
    weight_concentration: float | None = Field(
        50.0, gt=0,
        description="Dirichlet concentration around each specialty's weights; None: fixed weights.",
    )
    specialised_share_multiplier: Range = Field(
        default_factory=lambda: Range(low=0.5, high=1.5),
        description="Factor on every specialty's σ (one per draw); σ is clipped to [0, 1].",
    )
    projection_variants: tuple[ProjectionVariant, ...] = Field(
        DEFAULT_VARIANTS, min_length=1,
        description="ONS projection variants drawn with equal probability.",
    )
    specialised_share_tier_shift: float = Field(
        0.25, ge=0, le=0.5,
        description="Probability that a specialty's σ sits one tier lower, and equally one "
        "tier higher, than set (tiers 0, 0.05, 0.1, 0.2, 0.3, 0.5; each specialty drawn on "
        "its own); 0: tiers as set.",
    )
    structural: tuple[StructuralChoice, ...] = Field(
        default_factory=_default_structure, max_length=8,
        description="Modelling choices drawn as a whole (population base, convergence, "
        "baseline corrections, ...): each draw takes one option of each.",
    )

    @model_validator(mode="after")
    def _check(self) -> UncertaintySpec:
        d = self.deprivation_weight
        if d.low < 0 or d.high > 1:
            raise ValueError(f"deprivation_weight range [{d.low:g}, {d.high:g}] is outside [0, 1]")
        if self.specialised_share_multiplier.low < 0:
            raise ValueError("specialised_share_multiplier must be >= 0")
        if len(set(self.projection_variants)) != len(self.projection_variants):
            raise ValueError("projection_variants lists a variant twice")
        names = [c.parameter for c in self.structural]
        if len(set(names)) != len(names):
            raise ValueError("structural lists a parameter twice")
        combos = math.prod(len(c.options) for c in self.structural)
        if combos > MAX_STRUCTURES:
            raise ValueError(f"structural choices make {combos:,} combinations of options; at "
                             f"most {MAX_STRUCTURES} (each is prepared once): draw fewer")
        return self

    @classmethod
    def fixed(cls, scenario: Scenario) -> UncertaintySpec:
        """No uncertainty at all: every draw is the scenario itself (a check of the machinery)."""
        d = scenario.deprivation_weight
        return cls(deprivation_weight=Range(low=d, high=d), weight_concentration=None,
                   specialised_share_multiplier=Range(low=1.0, high=1.0),
                   projection_variants=(scenario.projection_variant,),
                   specialised_share_tier_shift=0.0, structural=())



class Weights(_Strict):
    """How the fair share mixes today's core need, the specialty's own driver and future demand.

    The three weights sum to 1; deprivation is applied on top with the scenario's δ.
    """

    core: float = Field(ge=0, le=1, description="Weight on the NHS England core-services share.")
    specialty: float = Field(ge=0, le=1, description="Weight on the specialty's driver today.")
    future: float = Field(ge=0, le=1, description="Weight on the driver at the projection year.")

    @model_validator(mode="after")
    def _sum_to_one(self) -> Weights:
        total = self.core + self.specialty + self.future
        if abs(total - 1) > 1e-9:
            raise ValueError(f"core + specialty + future must sum to 1, not {total:g}")
        return self


class Convergence(_Strict):
    """How close to target the programme aims to bring each area (docs/method.md).

    ``full`` closes every gap (aim = target). ``share`` closes a share of each gap. ``band``
    brings every area to within ``under`` below and ``over`` above its target (shares of
    target), leaving areas already inside the band alone. Each specialty's total never changes.
    """

    policy: Literal["full", "share", "band"] = Field(
        "full", description="full: aim = target; share: close a share of each gap; band: bring "
        "every area within a band around target."
    )
    share: float = Field(1.0, ge=0, le=1, description="Share of each gap closed (policy share).")
    over: float = Field(0.0, ge=0, le=1, description="Most an area may stay above target, as a "
                        "share of target (policy band).")
    under: float = Field(0.0, ge=0, le=1, description="Most an area may stay below target, as "
                         "a share of target (policy band).")

    def label(self) -> str:
        """Short text written beside every aim."""
        if self.policy == "share":
            return f"close {self.share:.0%} of each gap"
        if self.policy == "band":
            return f"within \u2212{self.under:.0%}/+{self.over:.0%} of target"
        return "full convergence"

    def unused(self) -> list[str]:
        """Settings given that the chosen policy never reads (said, not silently ignored)."""
        used = {"full": set(), "share": {"share"}, "band": {"over", "under"}}[self.policy]
        return [f"convergence.{k}" for k in ("share", "over", "under")
                if k in self.model_fields_set and k not in used]


class BaselineCorrections(_Strict):
    """Corrections to the public baseline (NHS Digital staff in post, docs/baseline.md).

    Each one is a switch, and each row it changes says so in ``basis``. They apply only to the
    public baseline (embedded, or rebuilt by ``fairshare baseline build``); a user's own
    establishment file is used as given. The defaults switch on the three corrections of
    counting artefacts (GIM coding, modelled rows on another population base, a trust placed
    by its headquarters) and leave off the views that need a judgement the public data cannot
    settle (vacancies from partial fill rates, a non-movable share, the GP-rotation double
    count); docs/baseline.md gives the reasons and docs/validation.md what each one does.
    """

    gim: Literal["as_counted", "group1_mix"] = Field(
        "group1_mix",
        description="General Internal Medicine registrars: as_counted (each trust's coding) or "
        "group1_mix (the national GIM total split over areas by their posts in the seven "
        "group-1 medical specialties it is trained dually with).")
    modelled_spread: Literal["as_built", "need_base"] = Field(
        "need_base",
        description="Modelled General Practice and Public Health rows: as_built (GP by "
        "registered lists, PH by ONS residents) or need_base (both on the scenario's "
        "population_base, the base need is measured on).")
    trust_sites: bool = Field(
        True,
        description="Place a trust whose headquarters ICB lies outside its training office "
        "where two public records put its services (2017 HEE office and ODS 2022 ICS), not "
        "by its headquarters (moves Oxleas to London).")
    vacancies: bool = Field(
        False,
        description="Funded-posts view (modelled): staff in post divided by the England "
        "recruitment fill rate where HEE published one (2018, else 2013); other specialties "
        "unchanged (fill rate unknown).")
    non_movable_share: float = Field(
        0.0, ge=0, lt=1,
        description="Judgement: share of every area's baseline posts funded otherwise (trust, "
        "research), shown but never moved. No public figure exists; 0 treats all as movable.")
    gp_hospital_months: int = Field(
        0, ge=0, le=24,
        description="Sensitivity: months of the 36-month GP programme spent in hospital posts "
        "and counted there under the placement's specialty; those trainees (less the 477 FTE "
        "coded as GP) are taken out of the hospital specialties. 0: as counted.")

    def switched(self) -> list[str]:
        """The corrections this setting applies, as short names (for labels)."""
        out = []
        if self.gim == "group1_mix":
            out.append("GIM by group-1 mix")
        if self.modelled_spread == "need_base":
            out.append("GP/PH on the population base of need")
        if self.trust_sites:
            out.append("trusts by sites")
        if self.vacancies:
            out.append("vacancies (fill rates)")
        if self.non_movable_share:
            out.append(f"{self.non_movable_share:.0%} non-movable")
        if self.gp_hospital_months:
            out.append(f"GP rotation {self.gp_hospital_months} months out")
        return out

    @classmethod
    def none(cls) -> BaselineCorrections:
        """The baseline exactly as counted and built (every correction off)."""
        return cls(gim="as_counted", modelled_spread="as_built", trust_sites=False)


class ExpansionTranche(_Strict):
    """New time-limited posts funded nationally for one priority in one recruitment year."""

    year: int = Field(ge=2022, le=2060)
    priority: str = Field(min_length=1)
    posts: int = Field(ge=0, le=MAX_COUNT)


class Scenario(_Strict):
    """Every parameter of a run, with the defaults of METHOD.md."""

    name: str = Field("default", min_length=1, max_length=MAX_NAME,
                      description="Short name shown in outputs.")
    description: str = Field("", max_length=MAX_DESCRIPTION,
                             description="Free-text description of the scenario.")

    # Need and fair share (METHOD §2)
    deprivation_weight: float = Field(
        0.20, ge=0, le=1, description="δ: weight on the health-inequalities (avoidable mortality)."
    )
    weights: Weights | None = Field(
        None, description="Replace the catalogue's component weights for every specialty."
    )
    specialty_weights: dict[str, Weights] = Field(
        default_factory=dict, max_length=MAX_ITEMS,
        description="Component weights for named specialties."
    )
    specialised_share: float | None = Field(
        None, ge=0, le=1, description="σ for every specialty (None: the catalogue's σ)."
    )
    specialty_specialised_share: dict[str, float] = Field(
        default_factory=dict, max_length=MAX_ITEMS, description="σ for named specialties."
    )
    base_year: Literal[2022] = Field(2022, description="Population base year (ONS mid-2022).")
    projection_year: int | None = Field(
        None,
        ge=2022,
        le=2043,
        description="Year future demand is evaluated at; None: base year + programme length.",
    )
    projection_variant: ProjectionVariant = Field(
        "principal", description="ONS subnational projection variant used for future demand."
    )
    population_base: Literal["ons_resident", "registered"] = Field(
        "ons_resident",
        description="One population base for every need term: ONS residents (NHS England need "
        "index x ONS mid-2022 population) or GP registered lists (age drivers rescaled to them).",
    )
    baseline_corrections: BaselineCorrections = Field(
        default_factory=BaselineCorrections,
        description="Corrections to the public baseline establishment, each a switch "
        "(docs/baseline.md); ignored for a user's own posts file.",
    )
    core_cost_factor: Literal["removed", "kept"] = Field(
        "removed",
        description="NHS England's core need carries an ICB-level cost factor (about 1.06-1.07 "
        "on London's ICBs, consistent with the market forces factor; fitted from the practice "
        "file, data/core_cost_factor.csv). removed (default): need, not the price of care, "
        "sets a fair share of posts (a judgement); kept: the core term as published.",
    )
    prevalence_driver: bool = Field(
        True,
        description="Drive the specialties declared in data/prevalence_drivers.csv "
        "(cardiology, endocrinology and diabetes, respiratory medicine) by recorded disease "
        "prevalence (QOF registers per ICB, NHS Digital 2019-20) instead of their age profile "
        "today; growth to the projection year still follows the age profile. false: the age "
        "profile, as before. Needs qof_prevalence.csv in the data (England's is embedded).",
    )
    rural_weight: float = Field(
        0.0, ge=0, le=2,
        description="Rural need uplift (a judgement; 0 = the programme's method): a resident of a "
        "rural LSOA (ONS RUC 2021) counts 1 + rural_weight times in the need of the specialties "
        "the catalogue declares rural (column rural); each ICB's need is scaled by 1 + "
        "rural_weight x its rural share (data/rural_coastal.csv), national totals kept.",
    )
    coastal_weight: float = Field(
        0.0, ge=0, le=2,
        description="Coastal need uplift (a judgement; 0 = the programme's method), as "
        "rural_weight, on the share of an ICB's LSOAs that are coastal (BMJ Public Health flag "
        "G_25_5), outside Greater London's tidal Thames and in England's more deprived half by "
        "IMD 2025, for the specialties the catalogue declares coastal (column coastal).",
    )
    scarcity_cutoffs: tuple[float, float] = Field(
        (1 / 3, 2 / 3),
        description="Designation of `fairshare scarcity`: per level and specialty, the lowest "
        "share (first value) of designatable areas by consultants per need are 'scarce', the "
        "highest (1 - second value) 'well provided' (terciles by default, as Japan's scheme).",
    )
    scarcity_min_consultants: float = Field(
        10.0, ge=0, le=MAX_COUNT,
        description="An area is designated only if it would have at least this many consultants "
        "(FTE) at the national rate for its need (a judgement: below it one or two consultants "
        "swing the index by 10-20%); smaller areas are 'too few to designate'.",
    )

    @field_validator("scarcity_cutoffs")
    @classmethod
    def _cutoffs_ordered(cls, value: tuple[float, float]) -> tuple[float, float]:
        low, high = value
        if not 0 <= low <= high <= 1:
            raise ValueError(f"scarcity_cutoffs [{low:g}, {high:g}] must be two shares "
                             "0 <= low <= high <= 1 (terciles: [0.333, 0.667])")
        return value

    # Whole posts (METHOD §3)
    apportionment: ApportionmentMethod = Field(
        "hamilton", description="Method that makes fractional targets whole posts."
    )
    controlled_rounding: bool = Field(
        False, description="Also fix each area's total across specialties (controlled rounding)."
    )
    minimum_posts: int = Field(0, ge=0, le=MAX_COUNT,
                               description="Smallest whole target per local office.")
    level: Level = Field("local_office", description="Geography the targets are reported at.")
    convergence: Convergence = Field(
        default_factory=Convergence,
        description="Convergence policy: the whole-post aim the plan moves toward (default: "
        "full convergence, aim = target).",
    )

    # Pace of change (METHOD §4)
    plan_start: int = Field(2022, ge=2022, le=2060, description="First year of the plan.")
    horizon: int = Field(
        2037, ge=2022, le=2060, description="Last plan year (inclusive): by default the end of "
        "the glide window, so the plan shows the whole glide path.")
    pace_cap: float | None = Field(
        None, ge=MIN_PACE_CAP, le=1,
        description="Max share of gap moved a year (at least 0.001: 0.1% a year).")
    discount: float = Field(0.9, gt=0, le=1, description="Weight of each later year's distance.")
    capacity_headroom: float = Field(
        0.10, ge=0, le=10, description="Default receiving capacity a year, as a share of posts."
    )
    min_viable_posts: int = Field(
        0, ge=0, le=MAX_COUNT, description="A giving area never falls below this (raises the "
        "per-specialty minimum programme size where higher).")
    pace: Literal["glide", "fastest"] = Field(
        "glide", description="glide: each gap spread evenly from its phase start to "
        "glide_until; fastest: as fast as vacancies, capacity and minimums allow.")
    glide_until: int = Field(
        2037, ge=2022, le=2060, description="Last year of the glide window. Default 2037: the "
        "programme's stated lifespan of 15+ years from its first recruitment (Trailblazers, "
        "2022), a judgement (no year-by-year schedule is published). 2030 closes every gap by "
        "2030 (scenarios/full-convergence.yaml).")
    glide_min_years: int = Field(
        3, ge=1, le=40, description="Shortest glide window, so a late phase does not close "
        "in one year.")
    cohort_share: float = Field(
        0.5, gt=0, le=1, description="Glide: a giving area keeps at least (1 - share) of its "
        "intake, so no year takes more than this share of its completing cohort.")
    intake_growth: float = Field(
        0.5, gt=0, le=1, description="Glide: most extra intake a receiving area takes a year, "
        "as a share of its usual intake (at least one post).")
    trust_min_posts: int = Field(
        2, ge=0, le=MAX_COUNT, description="Judgement: `fairshare posts` never takes a trust "
        "below this many posts of a specialty (its minimum viable unit: two trainees share "
        "rota, teaching and peer support); no national figure is published. --trust-min FILE "
        "overrides it per trust (docs/posts.md).")
    min_programme_size: bool = Field(
        True, description="Apply the per-specialty minimum programme size "
        "(data/min_programme_size.csv; --min-posts FILE overrides per area).")
    elastic: bool = Field(
        False, description="Always return a plan, relaxing constraints and reporting each."
    )
    require_target_by: int | None = Field(
        None, ge=2022, le=2060,
        description="Every phased area must be at target by this year (can be infeasible).",
    )
    expansion: list[ExpansionTranche] = Field(
        default_factory=list, max_length=MAX_ITEMS,
        description="Time-limited expansion posts funded nationally (year, priority, posts).",
    )
    expansion_mode: Literal["under_served", "offset_losses", "cushion_then_need"] = Field(
        "under_served",
        description="Where expansion posts go: under_served (areas furthest below their share "
        "of the enlarged total, never an area giving the specialty away), offset_losses "
        "(areas giving posts away that year, up to expansion_offset_share of what they give) "
        "or cushion_then_need (the programme's practice: first cushion each giving area as "
        "offset_losses does, then place the rest as under_served). Tables show every mode.",
    )
    expansion_offset_share: float = Field(
        1 / 3, gt=0, le=1,
        description="offset_losses and cushion_then_need: most of a giving area's loss in a "
        "year that expansion posts may offset (default 1/3: London 2023 Cardiology gave 6 "
        "posts by redistribution and got 2 back by expansion).",
    )
    expansion_minimum_per_area: int = Field(
        0, ge=0, le=MAX_COUNT,
        description="Expansion posts each eligible area gets first, before need order."
    )
    expansion_beyond_target: bool = Field(
        False, description="Keep placing expansion posts (by need) once areas reach target."
    )
    expansion_allocation: Literal["need", "expected_fill", "scarce_first"] = Field(
        "need",
        description="under_served mode: which area gets the next expansion post. need (the "
        "programme's rule): furthest below target relative to target; expected_fill: that "
        "need priority times the area's modelled fill rate for the specialty (expected filled "
        "posts x need priority; docs/fill.md); scarce_first: areas designated scarce in the "
        "specialty (fewest consultants per need, scarcity_cutoffs) first, then by need, within "
        "capacity and target as need does (docs/scarcity.md).",
    )
    fill_warning_below: float = Field(
        0.8, ge=0, le=1,
        description="Judgement: a finding names every area that receives posts of a specialty "
        "whose modelled fill rate is below this share (posts likely to be left empty; "
        "docs/fill.md).",
    )

    # Uncertainty (METHOD §5): ranges drawn by `fairshare uncertainty` and `sensitivity`
    uncertainty: UncertaintySpec = Field(default_factory=UncertaintySpec)

    @field_validator("name", "description")
    @classmethod
    def _printable_text(cls, text: str, info: ValidationInfo) -> str:
        """A NUL or other control character in the name would reach every output row and file
        name; the description may hold line breaks and tabs, nothing else invisible."""
        allowed = "\n\r\t" if info.field_name == "description" else ""
        bad = next((c for c in text if c not in allowed and unicodedata.category(c)
                    in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn")), None)
        if bad is not None:
            kind = unicodedata.name(bad, "a control character")
            raise ValueError(f"holds the invisible character U+{ord(bad):04X} ({kind}) at "
                             f"position {text.index(bad) + 1}: use visible text only")
        return text

    def unused_settings(self) -> list[str]:
        """Settings given in this scenario that can never take effect (to warn about)."""
        return self.convergence.unused()

    # What the run was given beyond the embedded data (set by the command line)
    inputs: dict[str, str] = Field(
        default_factory=dict, max_length=MAX_ITEMS,
        description="Digest of each input file the run was given (posts, capacity, cohorts, "
        "min_posts): set by the command line, so that equal scenario digests mean equal "
        "parameters and equal input files.")

    @model_validator(mode="after")
    def _check_years(self) -> Scenario:
        if self.horizon < self.plan_start:
            raise ValueError(f"horizon {self.horizon} is before plan_start {self.plan_start}")
        for key, value in self.specialty_specialised_share.items():
            if not 0 <= value <= 1:
                raise ValueError(f"specialty_specialised_share[{key!r}] must be in [0, 1]")
        self._check_structural()
        return self

    def _check_structural(self) -> None:
        """Every drawn structural option must make a valid scenario (checked once, here)."""
        for choice in self.uncertainty.structural:
            if choice.parameter.split(".")[0] not in Scenario.model_fields:
                raise ValueError(f"uncertainty.structural: '{choice.parameter}' is not a "
                                 "scenario parameter (see `fairshare scenario --schema`)")
            for option in choice.options:
                try:
                    self.with_structure({choice.parameter: option})
                except ValidationError as err:
                    first = err.errors()[0]
                    raise ValueError(f"uncertainty.structural: {choice.parameter} = {option!r} "
                                     f"is not a valid value: {first['msg']}") from None
                except ValueError as err:
                    raise ValueError(f"uncertainty.structural: {err}") from None

    def with_structure(self, options: dict[str, Any]) -> Scenario:
        """This scenario with structural options set (and no structural draws of its own).

        A key may be a dotted path into a group (``baseline_corrections.gim``)."""
        data = self.model_dump()
        for path, value in options.items():
            *groups, last = path.split(".")
            node = data
            for name in groups:
                if not isinstance(node.get(name), dict):
                    raise ValueError(f"'{path}': '{name}' is not a group of parameters")
                node = node[name]
            if groups and last not in node:
                raise ValueError(f"'{path}': '{last}' is not a parameter of '{groups[-1]}'")
            node[last] = value
        data["uncertainty"] = self.uncertainty.model_copy(update={"structural": ()}).model_dump()
        return Scenario.model_validate(data)

    def value_at(self, path: str) -> Any:
        """A parameter's value by top-level name or dotted path."""
        value: Any = self
        for name in path.split("."):
            value = getattr(value, name)
        return value

    def resolved(self) -> dict[str, Any]:
        """Every parameter, defaults included, as plain JSON-able data."""
        return self.model_dump(mode="json")

    def digest(self) -> str:
        """Short stable hash of the resolved scenario: equal digests mean equal parameters."""
        text = json.dumps(self.resolved(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def with_overrides(self, **changes: Any) -> Scenario:
        """A copy with some parameters changed, validated like a file."""
        return Scenario.model_validate({**self.model_dump(), **changes})


def scenario_schema() -> dict[str, Any]:
    """The published JSON schema of a scenario file."""
    return Scenario.model_json_schema()


def _explain(err: ValidationError, source: str) -> ScenarioError:
    lines = []
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"]) or "(top level)"
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown parameter (see `fairshare scenario --schema` for the valid ones)"
        lines.append(f"  - {source}: '{key}': {msg}")
    return ScenarioError("invalid scenario:\n" + "\n".join(lines))


#: A scenario is a few hundred bytes of YAML (1,000 expansion tranches are 50 KB); these limits
#: stop a wrong or hostile file (a 100 MB string, an endless stream, 100,000-deep nesting) early
#: with a clear message.
MAX_SCENARIO_BYTES = 128 * 1024  # pure-Python YAML reads this in well under a second
MAX_DEPTH = 20


class _ScenarioLoader(yaml.SafeLoader):
    """Safe YAML that refuses what a scenario never needs and a typo often causes: a key given
    twice (YAML keeps the last silently), aliases (``*x``, the "billion laughs" expansion) and
    nesting deeper than ``MAX_DEPTH``."""

    depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise _YamlRefusal(self.peek_event().start_mark, "YAML aliases (*name) are not "
                               "allowed in a scenario: write the value out")
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _YamlRefusal(self.peek_event().start_mark, f"nested more than {MAX_DEPTH} "
                               "levels deep")
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if isinstance(key, list | dict):
                raise _YamlRefusal(key_node.start_mark, "a key must be a plain name")
            if key in seen:
                raise _YamlRefusal(key_node.start_mark, f"'{key}' is given twice (first on "
                                   f"line {seen[key]}): keep one")
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


class _YamlRefusal(Exception):
    def __init__(self, mark: Any, message: str) -> None:
        super().__init__(f"line {mark.line + 1}: {message}")


#: Parameters that are true/false; anywhere else a YAML true/false is a mistake, not 1.0 or 0.
_BOOL_KEYS = frozenset(
    name for model in (Scenario, UncertaintySpec, Weights, ExpansionTranche, Range,
                  BaselineCorrections)
    for name, field in model.model_fields.items() if field.annotation is bool
)


def _bools_as_numbers(data: Any, source: str, where: str = "") -> None:
    """Refuse true/false given for a number (pydantic would read ``true`` as 1.0)."""
    items = (data.items() if isinstance(data, dict)
             else enumerate(data) if isinstance(data, list) else ())
    for key, value in items:
        path = f"{where}.{key}" if where else str(key)
        if isinstance(value, bool) and key not in _BOOL_KEYS:
            raise ScenarioError(f"invalid scenario:\n  - {source}: '{path}': "
                                f"{str(value).lower()} is not a number or a name; give a value "
                                "(see `fairshare scenario --schema`)")
        _bools_as_numbers(value, source, path)


def _read_yaml(path: Path) -> Any:
    """The YAML in ``path`` (or standard input for ``-``), read within the limits above."""
    source = str(path)
    try:
        raw = read_bytes(path, source, MAX_SCENARIO_BYTES, empty_ok=True)
    except InputError as exc:
        raise ScenarioError(f"scenario {exc.problems[0]}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ScenarioError(f"{source}, line {line}: not UTF-8 text; save the scenario as "
                            "UTF-8") from None
    try:
        return yaml.load(text, Loader=_ScenarioLoader)  # a SafeLoader subclass: no objects
    except _YamlRefusal as exc:
        raise ScenarioError(f"{source}, {exc}") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{source}: not valid YAML: {quote(exc, 400)}") from None
    except RecursionError:
        raise ScenarioError(f"{source}: nested too deeply to be a scenario") from None


def load_scenario(path: str | Path | None = None, **overrides: Any) -> Scenario:
    """Read a YAML (or JSON) override file onto the defaults; None gives the default scenario."""
    return load_scenario_and_file(path, **overrides)[0]


def load_scenario_and_file(path: str | Path | None = None,
                           **overrides: Any) -> tuple[Scenario, Scenario]:
    """The scenario with ``overrides``, and the scenario as the file alone says (the file is
    read once, so standard input works): what the overrides changed can then be named."""
    data: dict[str, Any] = {}
    source = "scenario"
    if path is not None:
        p = Path(path)
        source = str(p)
        if str(path) != "-" and not p.exists():
            raise ScenarioError(f"scenario file not found: {p}")
        loaded = _read_yaml(p if str(path) != "-" else Path("-"))
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            kind = type(loaded).__name__
            raise ScenarioError(f"{p}: expected a mapping of parameter: value, got {kind}")
        _bools_as_numbers(loaded, source)
        data.update(loaded)
        data.setdefault("name", p.stem if str(path) != "-" else "stdin")
    changes = {k: v for k, v in overrides.items() if v is not None}
    try:
        scenario = Scenario.model_validate(data | changes)
    except ValidationError as err:
        raise _explain(err, source) from err
    try:
        return scenario, Scenario.model_validate(data) if changes else scenario
    except ValidationError:  # the file alone is invalid, the options mend it
        return scenario, scenario.with_overrides(name=data.get("name", "default"))
