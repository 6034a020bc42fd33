"""The scenario: every parameter of a fairshare run in one validated object.

Defaults follow ../shared/METHOD.md; a named scenario is a small YAML file that overrides only
what it changes (see ``scenarios/``). Every run stores the fully resolved scenario beside its
results, so a result can always be traced to the exact parameters that made it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from fairshare.errors import ScenarioError
from fairshare.uncertainty import UncertaintySpec
from fairshare.vocabulary import ApportionmentMethod, Level, ProjectionVariant


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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


class ExpansionTranche(_Strict):
    """New time-limited posts funded nationally for one priority in one recruitment year."""

    year: int = Field(ge=2022, le=2060)
    priority: str = Field(min_length=1)
    posts: int = Field(ge=0)


class Scenario(_Strict):
    """Every parameter of a run, with the defaults of METHOD.md."""

    name: str = Field("default", min_length=1, description="Short name shown in outputs.")
    description: str = Field("", description="Free-text description of the scenario.")

    # Need and fair share (METHOD §2)
    deprivation_weight: float = Field(
        0.20, ge=0, le=1, description="δ: weight on the health-inequalities (avoidable mortality)."
    )
    weights: Weights | None = Field(
        None, description="Replace the catalogue's component weights for every specialty."
    )
    specialty_weights: dict[str, Weights] = Field(
        default_factory=dict, description="Component weights for named specialties."
    )
    specialised_share: float | None = Field(
        None, ge=0, le=1, description="σ for every specialty (None: the catalogue's σ)."
    )
    specialty_specialised_share: dict[str, float] = Field(
        default_factory=dict, description="σ for named specialties."
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

    # Whole posts (METHOD §3)
    apportionment: ApportionmentMethod = Field(
        "hamilton", description="Method that makes fractional targets whole posts."
    )
    controlled_rounding: bool = Field(
        False, description="Also fix each area's total across specialties (controlled rounding)."
    )
    minimum_posts: int = Field(0, ge=0, description="Smallest whole target per local office.")
    level: Level = Field("local_office", description="Geography the targets are reported at.")

    # Pace of change (METHOD §4)
    plan_start: int = Field(2022, ge=2022, le=2060, description="First year of the plan.")
    horizon: int = Field(2031, ge=2022, le=2060, description="Last plan year (inclusive).")
    pace_cap: float | None = Field(None, gt=0, le=1, description="Max share of gap moved a year.")
    discount: float = Field(0.9, gt=0, le=1, description="Weight of each later year's distance.")
    capacity_headroom: float = Field(
        0.10, ge=0, le=10, description="Default receiving capacity a year, as a share of posts."
    )
    min_viable_posts: int = Field(0, ge=0, description="A giving area never falls below this.")
    elastic: bool = Field(
        False, description="Always return a plan, relaxing constraints and reporting each."
    )
    require_target_by: int | None = Field(
        None, ge=2022, le=2060,
        description="Every phased area must be at target by this year (can be infeasible).",
    )
    expansion: list[ExpansionTranche] = Field(
        default_factory=list,
        description="Time-limited expansion posts funded nationally (year, priority, posts).",
    )
    expansion_minimum_per_area: int = Field(
        0, ge=0, description="Expansion posts each eligible area gets first, before need order."
    )
    expansion_beyond_target: bool = Field(
        False, description="Keep placing expansion posts (by need) once areas reach target."
    )

    # Uncertainty (METHOD §5): ranges drawn by `fairshare uncertainty` and `sensitivity`
    uncertainty: UncertaintySpec = Field(default_factory=UncertaintySpec)

    @model_validator(mode="after")
    def _check_years(self) -> Scenario:
        if self.horizon < self.plan_start:
            raise ValueError(f"horizon {self.horizon} is before plan_start {self.plan_start}")
        for key, value in self.specialty_specialised_share.items():
            if not 0 <= value <= 1:
                raise ValueError(f"specialty_specialised_share[{key!r}] must be in [0, 1]")
        return self

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


def load_scenario(path: str | Path | None = None, **overrides: Any) -> Scenario:
    """Read a YAML (or JSON) override file onto the defaults; None gives the default scenario."""
    data: dict[str, Any] = {}
    source = "scenario"
    if path is not None:
        p = Path(path)
        source = str(p)
        if not p.exists():
            raise ScenarioError(f"scenario file not found: {p}")
        try:
            loaded = yaml.safe_load(p.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise ScenarioError(f"{p}: not valid YAML: {exc}") from exc
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            kind = type(loaded).__name__
            raise ScenarioError(f"{p}: expected a mapping of parameter: value, got {kind}")
        data.update(loaded)
        data.setdefault("name", p.stem)
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return Scenario.model_validate(data)
    except ValidationError as err:
        raise _explain(err, source) from err
