"""What an interval covers: the sentence every output that shows an interval carries, and the
notes on a scenario that lies outside what was drawn (uncertainty analysis)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from fairshare.analysis.uncertainty_counts import PERCENTILES

if TYPE_CHECKING:
    from fairshare.scenario import Scenario, UncertaintySpec

def _option_text(option: Any) -> str:
    if isinstance(option, dict):
        return " ".join(str(v) for v in option.values())
    return str(option)


def _notes(scenario: Scenario, spec: UncertaintySpec) -> list[str]:
    d, r = scenario.deprivation_weight, spec.deprivation_weight
    notes = []
    if not r.low <= d <= r.high:
        notes.append(f"the scenario's δ = {d:g} lies outside the drawn range "
                     f"[{r.low:g}, {r.high:g}]: intervals describe the drawn range")
    if scenario.projection_variant not in spec.projection_variants:
        notes.append(f"the scenario's projection variant '{scenario.projection_variant}' is not "
                     f"among the variants drawn")
    for choice in spec.structural:
        own = scenario.value_at(choice.parameter)
        drawn = [scenario.with_structure({choice.parameter: o}) for o in choice.options]
        if all(d.value_at(choice.parameter) != own for d in drawn):
            own = own.model_dump() if isinstance(own, BaseModel) else own
            notes.append(f"the scenario's {choice.name()} ({_option_text(own)}) is not among "
                         "the options drawn")
    return notes


def _level(percentiles: Sequence[float]) -> str:
    low, high = min(percentiles), max(percentiles)
    return f"{high - low:g}% interval ({low:g}th to {high:g}th percentile)"


def coverage(spec: UncertaintySpec, draws: int,
             percentiles: Sequence[float] = PERCENTILES) -> str:
    """What an interval covers and what it does not, in one sentence for every output."""
    drawn: list[str] = []
    fixed: list[str] = []
    d = spec.deprivation_weight
    (drawn if d.high > d.low else fixed).append(
        f"δ {d.distribution} on [{d.low:g}, {d.high:g}]" if d.high > d.low else f"δ = {d.low:g}")
    if spec.weight_concentration is None:
        fixed.append("component weights")
    else:
        drawn.append(f"component weights (Dirichlet, concentration {spec.weight_concentration:g})")
    m = spec.specialised_share_multiplier
    if m.high > m.low:
        drawn.append(f"σ × {m.distribution} [{m.low:g}, {m.high:g}]")
    p = spec.specialised_share_tier_shift
    if p > 0:
        drawn.append(f"each specialty's σ tier one lower or higher ({p:.0%} each)")
    if m.high == m.low and p == 0:
        fixed.append("σ")
    v = spec.projection_variants
    (drawn if len(v) > 1 else fixed).append(f"ONS projection variant ({len(v)})" if len(v) > 1
                                            else f"projection variant {v[0]}")
    for choice in spec.structural:
        parts = ", ".join(f"{_option_text(o)} {w:.0%}"
                          for o, w in zip(choice.options, choice.weights(), strict=True))
        drawn.append(f"{choice.name()} ({parts})")
    text = f"{_level(percentiles)} of {draws:,} draws over: " + "; ".join(drawn)
    if fixed:
        text += ". Held fixed: " + ", ".join(fixed)
    return text + (". Not covered: the establishment's own counting error beyond any "
                   "correction drawn (staff in post is not funded posts), error in the need and "
                   "population data, and the form of the model.")
