"""The scenario: defaults, validation, overrides, schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fairshare.errors import ScenarioError
from fairshare.scenario import Scenario, load_scenario, scenario_schema

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_follow_method() -> None:
    s = Scenario()
    assert s.deprivation_weight == 0.20
    assert s.apportionment == "hamilton"
    assert s.horizon == 2037 and s.glide_until == 2037  # the programme's 15-year lifespan
    assert s.level == "local_office"


def test_override_file_changes_only_what_it_names(tmp_path: Path) -> None:
    p = tmp_path / "d30.yaml"
    p.write_text("deprivation_weight: 0.3\n")
    s = load_scenario(p)
    assert s.deprivation_weight == 0.3
    assert s.name == "d30"
    assert s.resolved() | {"deprivation_weight": 0.2, "name": "default"} == Scenario().resolved()


def test_unknown_key_is_a_clear_error(tmp_path: Path) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text("deprivation_wieght: 0.3\n")
    with pytest.raises(ScenarioError, match=r"bad.yaml: 'deprivation_wieght': unknown parameter"):
        load_scenario(p)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("deprivation_weight: 1.5", "deprivation_weight"),
        ("apportionment: banzhaf", "apportionment"),
        ("weights: {core: 0.5, specialty: 0.5, future: 0.5}", "sum to 1"),
        ("horizon: 2020\nplan_start: 2025", "horizon"),
        ("- just a list", "expected a mapping"),
        ("a: [unclosed", "not valid YAML"),
    ],
)
def test_bad_values_are_explained(tmp_path: Path, text: str, match: str) -> None:
    p = tmp_path / "s.yaml"
    p.write_text(text)
    with pytest.raises(ScenarioError, match=match):
        load_scenario(p)


def test_digest_changes_with_any_parameter() -> None:
    assert Scenario().digest() == Scenario().digest()
    assert Scenario().digest() != Scenario(deprivation_weight=0.21).digest()


def test_shipped_scenarios_are_valid() -> None:
    files = sorted((ROOT / "scenarios").glob("*.yaml"))
    assert files
    for f in files:
        load_scenario(f)


def test_schema_lists_every_parameter() -> None:
    schema = scenario_schema()
    assert set(schema["properties"]) == set(Scenario.model_fields)
    json.dumps(schema)


def test_published_schema_is_current() -> None:
    """docs/scenario.schema.json is what `fairshare scenario --schema` prints today."""
    published = json.loads((ROOT / "docs" / "scenario.schema.json").read_text())
    assert published == scenario_schema(), "regenerate: fairshare scenario --schema > docs/..."


def test_uncertainty_ranges_in_a_scenario_file(tmp_path: Path) -> None:
    p = tmp_path / "u.yaml"
    p.write_text("uncertainty:\n  deprivation_weight: [0.15, 0.25]\n")
    s = load_scenario(p)
    assert (s.uncertainty.deprivation_weight.low, s.uncertainty.deprivation_weight.high) == (
        0.15, 0.25)
    p.write_text("uncertainty:\n  deprivation_weight: [0.3, 0.1]\n")
    with pytest.raises(ScenarioError, match=r"uncertainty\.deprivation_weight"):
        load_scenario(p)
