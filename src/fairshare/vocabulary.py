"""Names shared by the scenario and the modules it configures (kept here to avoid cycles)."""

from __future__ import annotations

from typing import Literal

Level = Literal["local_office", "region", "icb"]
ApportionmentMethod = Literal["hamilton", "webster", "huntington-hill", "dhondt", "adams"]

#: ONS 2018-based projection variants (data/growth_variants.csv); only principal is by age.
ProjectionVariant = Literal[
    "principal",
    "high_fertility",
    "low_fertility",
    "high_life_expectancy",
    "low_life_expectancy",
    "high_migration",
    "low_migration",
    "high_population",
    "low_population",
    "young_age_structure",
    "old_age_structure",
]

#: The ONS variants drawn by default: principal, high/low population, high/low migration.
DEFAULT_VARIANTS: tuple[ProjectionVariant, ...] = (
    "principal", "high_population", "low_population", "high_migration", "low_migration",
)

#: The 5-year age bands and sexes of every population table (90+ is open-ended).
AGE_BANDS = [f"{a}-{a + 4}" for a in range(0, 90, 5)] + ["90+"]
SEXES = ["F", "M"]

#: Need components of NHS England's weighted populations (data/weighted_population.csv).
COMPONENTS = [
    "core",
    "general_acute",
    "community",
    "mental_health",
    "maternity",
    "health_inequalities",
    "prescribing",
    "primary_care",
]
