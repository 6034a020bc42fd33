"""A run says what it was made from: the command's options and input files are in its
scenario, its digest and its name (issue 18: `plan --level icb` said `local_office`)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fairshare.cli import app
from fairshare.scenario import load_scenario_and_file

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def _run(args: list[str]) -> dict:
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    folder = Path("results") / "latest"
    return json.loads((folder / "run.json").read_text())


@pytest.fixture()
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_options_and_files_go_into_scenario_digest_and_folder_name(here: Path) -> None:
    default = _run(["plan", "--horizon", "2023"])
    icb = _run(["plan", "--horizon", "2023", "--level", "icb"])
    assert icb["scenario"]["level"] == "icb"
    assert icb["scenario_digest"] != default["scenario_digest"]
    assert icb["scenario"]["name"] == "level icb, horizon 2023"
    fastest = _run(["plan", "--horizon", "2023", "--pace", "fastest"])
    assert fastest["scenario"]["pace"] == "fastest"
    assert fastest["scenario_digest"] not in (default["scenario_digest"],
                                              icb["scenario_digest"])
    cohorts = ROOT / "examples" / "trainees_example.csv"
    with_file = _run(["plan", "--horizon", "2023", "--cohorts", str(cohorts)])
    digest = hashlib.sha256(cohorts.read_bytes()).hexdigest()
    assert with_file["scenario"]["inputs"] == {"cohorts": digest}
    assert with_file["scenario"]["name"] == "horizon 2023, own cohorts file"
    assert with_file["scenario_digest"] != default["scenario_digest"]
    folders = sorted(p.name for p in (here / "results").iterdir() if p.name != "latest")
    assert {f.split("-", 2)[2] for f in folders} == {
        "plan-horizon-2023", "plan-level-icb-horizon-2023", "plan-horizon-2023-pace-fastest",
        "plan-horizon-2023-own-cohorts-file"}
    # the same options again: the same digest
    assert _run(["plan", "--horizon", "2023", "--level", "icb"])["scenario_digest"] == \
        icb["scenario_digest"]


def test_only_an_all_default_run_is_called_default(here: Path) -> None:
    meta = _run(["targets"])
    assert meta["scenario"]["name"] == "default"
    assert _run(["targets", "--level", "icb"])["scenario"]["name"] == "level icb"


def test_a_scenario_file_keeps_its_name_and_adds_the_options(tmp_path: Path) -> None:
    path = tmp_path / "delta.yaml"
    path.write_text("name: delta 30\ndeprivation_weight: 0.3\n")
    sc, base = load_scenario_and_file(path, level="icb")
    assert (base.name, base.level, sc.level) == ("delta 30", "local_office", "icb")
