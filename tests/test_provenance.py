"""Judgement labelled (issue 14, item 7): one registry says what every input is, and run.json,
the workbook's About sheet and the report all show it."""

from __future__ import annotations

import json
import typing
from pathlib import Path
from typing import Any, get_args, get_origin

import openpyxl
import pydantic
import pytest

from fairshare import provenance as pv
from fairshare.scenario import Scenario

DATA = Path(pv.__file__).parent / "data"

#: The inputs issue 14 names as judgements: each must be labelled one, whatever else changes.
MUST_BE_JUDGEMENT = [
    "weights", "specialty_weights", "specialised_share", "specialty_specialised_share",
    "cohort_share", "capacity_headroom", "min_programme_size", "min_viable_posts",
    "convergence.policy", "convergence.share", "pace", "glide_until", "intake_growth",
    "expansion", "expansion_offset_share",
]
MUST_BE_JUDGEMENT_FILES = ["specialties.csv", "min_programme_size.csv", "priorities.csv",
                           "nhs_org_icb.csv", "nhsd_programme_map.csv"]


def _nested_model(annotation: Any) -> type[pydantic.BaseModel] | None:
    """The model a field holds when it always holds one (not Optional, not a list or dict)."""
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        return annotation
    return None


def scenario_keys() -> list[str]:
    """Every parameter a scenario file can set, nested models part by part (independently of
    the registry: read from the pydantic model itself)."""
    keys = []
    for name, field in Scenario.model_fields.items():
        inner = _nested_model(field.annotation)
        if inner is None:
            keys.append(name)
        else:
            keys += [f"{name}.{part}" for part in inner.model_fields]
    return keys


def test_every_scenario_parameter_is_classified() -> None:
    """A new parameter without an entry in fairshare/provenance.py fails here: add one line."""
    missing = [k for k in scenario_keys() if k not in pv.SCENARIO]
    assert not missing, ("scenario parameters with no kind in fairshare.provenance.SCENARIO "
                         f"(add 'judgement', 'public data', 'modelled' or 'run option' with "
                         f"its basis): {missing}")
    stale = sorted(set(pv.SCENARIO) - set(scenario_keys()))
    assert not stale, f"registry entries for parameters that no longer exist: {stale}"


def test_every_entry_has_a_known_kind_and_a_basis() -> None:
    kinds = set(get_args(pv.Kind))
    assert kinds == set(pv.KIND_MEANING)
    for key, entry in {**pv.SCENARIO, **pv.DATA_FILES}.items():
        assert entry.kind in kinds, key
        assert len(entry.basis) >= 10, f"{key}: say what it rests on"


def test_every_embedded_data_file_is_classified() -> None:
    files = sorted(p.name for p in DATA.iterdir() if p.is_file())
    missing = [f for f in files if f not in pv.DATA_FILES]
    assert not missing, f"data files with no kind in fairshare.provenance.DATA_FILES: {missing}"


def test_the_issue_s_judgements_are_labelled_judgement() -> None:
    for key in MUST_BE_JUDGEMENT:
        assert pv.SCENARIO[key].kind == "judgement", key
    for name in MUST_BE_JUDGEMENT_FILES:
        assert pv.DATA_FILES[name].kind == "judgement", name


def test_a_public_default_changed_by_a_scenario_becomes_a_judgement() -> None:
    default = pv.scenario_provenance(Scenario().resolved())
    assert default["deprivation_weight"]["kind"] == "public data"
    changed = pv.scenario_provenance(Scenario(deprivation_weight=0.3).resolved())
    assert changed["deprivation_weight"]["kind"] == "judgement"
    assert "0.2" in changed["deprivation_weight"]["basis"]
    assert changed["deprivation_weight"]["value"] == 0.3


def test_provenance_covers_the_resolved_scenario_and_flags_unknown_keys() -> None:
    resolved = Scenario().resolved()
    prov = pv.scenario_provenance(resolved)
    assert set(prov) == set(scenario_keys())
    assert prov["convergence.policy"]["value"] == "full"
    unknown = pv.scenario_provenance({**resolved, "a_newer_parameter": 1})
    assert unknown["a_newer_parameter"]["kind"] == "unclassified"


def test_kinds_of_finds_nested_and_part_by_part_parameters() -> None:
    prov = pv.run_provenance(Scenario().resolved())
    assert pv.kinds_of("specialty_weights.Cardiology.core", prov) == "judgement"
    assert pv.kinds_of("convergence", prov) == "judgement"
    assert pv.kinds_of("uncertainty", prov) == "judgement / public data"
    assert pv.kinds_of("name", prov) == "run option"
    assert pv.kinds_of("no_such_thing", prov) == "unclassified"


def test_registry_module_type_is_a_literal() -> None:
    assert get_origin(pv.Kind) is typing.Literal


# ------------------------------------------------------------------ the three outputs


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real run written as a folder, a workbook and an HTML report."""
    from typer.testing import CliRunner

    from fairshare.cli import app

    here = tmp_path_factory.mktemp("prov")
    scen = here / "s.yaml"
    scen.write_text("name: prov\ncohort_share: 0.4\nhorizon: 2025\n")
    runner = CliRunner(env={"FAIRSHARE_HOME": str(here / "store")})
    for args in (["plan", "--scenario", str(scen), "--out", str(here / "run")],
                 ["export", "--scenario", str(scen), "--xlsx", str(here / "plan.xlsx")],
                 ["report", "--scenario", str(scen), "--html", str(here / "r.html")]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
    return here


def test_run_json_marks_every_judgement(outputs: Path) -> None:
    meta = json.loads((outputs / "run" / "run.json").read_text())
    prov = meta["provenance"]
    assert set(prov["kinds"]) == set(pv.KIND_MEANING)
    assert prov["scenario"]["cohort_share"] == {
        "value": 0.4, "kind": "judgement", "basis": pv.SCENARIO["cohort_share"].basis}
    for key in MUST_BE_JUDGEMENT:
        assert prov["scenario"][key]["kind"] == "judgement", key
    for name in MUST_BE_JUDGEMENT_FILES:
        assert prov["data_files"][name]["kind"] == "judgement", name


def test_workbook_about_sheet_marks_every_judgement(outputs: Path) -> None:
    ws = openpyxl.load_workbook(outputs / "plan.xlsx")["About this run"]
    rows = [tuple(c.value for c in row[:3]) for row in ws.iter_rows()]
    kinds = {r[0]: r[2] for r in rows if r[0] and r[2]}
    for key in ("cohort_share", "capacity_headroom", "min_programme_size", "pace"):
        assert kinds[key] == "judgement", key
    assert kinds["deprivation_weight"] == "public data"
    assert kinds["name"] == "run option"
    headings = [r[0] for r in rows]
    start = headings.index("Judgements in this run (inputs chosen by a person, not a public "
                           "source)")
    listed = {r[0] for r in rows[start:]}
    assert {"cohort_share", "data/priorities.csv", "data/nhs_org_icb.csv"} <= listed


def test_report_marks_every_judgement(outputs: Path) -> None:
    import re

    html = (outputs / "r.html").read_text()
    table = re.search(r'<caption id="t-judgements">(.*?)</table>', html, re.S)
    assert table, "the report has no judgements table"
    for key in ("cohort_share", "data/priorities.csv", "data/min_programme_size.csv"):
        assert f">{key}<" in table.group(1), key
    params = re.search(r'<caption id="t-params">(.*?)</table>', html, re.S).group(1)
    row = re.search(r'<th scope="row">cohort_share</th>(.*?)</tr>', params, re.S).group(1)
    assert 'class="judgement">judgement<' in row


def test_cli_lists_what_each_input_is(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from fairshare.cli import app

    result = CliRunner(env={"COLUMNS": "200"}).invoke(app, ["scenario", "--judgements"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    row = next(line for line in lines if "│ cohort_share " in line)
    assert "judgement" in row and "0.5" in row
    assert any("data/priorities.csv" in line and "judgement" in line for line in lines)
    assert any(line.startswith("judgement: ") for line in lines)
