"""Scarcity of specialists (issue 16, part 1): designation by hand, and consultants per need
recomputed from NHS Digital's raw 2017 file with plain pandas, not with the code under test."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fairshare import Scenario, load_england, targets
from fairshare.inputs.bundle import Bundle
from fairshare.model.scarcity import MIDDLE, SCARCE, TOO_FEW, WELL, designate, scarcity

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "src" / "fairshare" / "data"
RAW = ROOT.parent / "shared" / "data" / "workforce" / "nhsd_medical_staff_2017"


@pytest.fixture(scope="module")
def england() -> Bundle:
    return load_england()


@pytest.fixture(scope="module")
def table(england: Bundle) -> pd.DataFrame:
    return scarcity(england, Scenario())


def test_terciles_of_eleven_areas_by_hand() -> None:
    index = np.array([0.5, 1.2, 0.9, 1.0, 0.7, 1.5, 0.8, 1.1, 0.95, 1.3, 0.6])
    names = [f"area {c}" for c in "abcdefghijk"]
    got = designate(index, np.ones(11, bool), names, (1 / 3, 2 / 3))
    # sorted: a .5, k .6, e .7 | g .8, c .9, i .95, d 1.0, h 1.1 | b 1.2, j 1.3, f 1.5
    assert [names[i] for i, d in enumerate(got) if d == SCARCE] == ["area a", "area e", "area k"]
    assert [names[i] for i, d in enumerate(got) if d == WELL] == ["area b", "area f", "area j"]
    assert got.count(MIDDLE) == 5


def test_small_areas_are_not_designated_and_ties_go_by_name() -> None:
    got = designate(np.array([1.0, 1.0, 1.0, 0.1]), np.array([True, True, True, False]),
                    ["c", "a", "b", "z"], (1 / 3, 2 / 3))
    assert got == [WELL, SCARCE, MIDDLE, TOO_FEW]  # z, lowest of all, has too few to rank


def test_cutoffs_are_a_setting() -> None:
    got = designate(np.arange(10.0), np.ones(10, bool), list("abcdefghij"), (0.2, 0.9))
    assert got.count(SCARCE) == 2 and got.count(WELL) == 1 and got.count(MIDDLE) == 7


def _raw_consultants_by_local_office() -> pd.Series:
    """Consultant FTE per local office x catalogue specialty straight from the raw file."""
    staff = pd.read_csv(RAW / "medical_staff_2017-09.csv")
    staff = staff[staff["GRADE"].str.strip().str.startswith("Consultant")]
    pmap = pd.read_csv(DATA / "nhsd_programme_map.csv", keep_default_na=False)
    pmap = pmap[(pmap["grade"] == "Specialty Registrar") & (pmap["programme"] != "")]
    staff = staff.merge(pmap[["specialty", "programme"]], left_on=staff["SPECIALTY"].str.strip(),
                        right_on="specialty")
    orgs = pd.read_csv(DATA / "nhs_org_icb.csv", dtype=str, keep_default_na=False)
    staff = staff.merge(orgs, left_on=staff["ORG_CODE"].str.strip(), right_on="org_code")
    return staff.groupby(["local_office", "programme"])["FTE"].sum()


def test_consultants_recomputed_from_the_raw_file(table: pd.DataFrame) -> None:
    raw = _raw_consultants_by_local_office()
    lo = table[table["level"] == "local_office"].set_index(["area", "specialty"])["consultants"]
    assert len(raw.reindex(lo.index).dropna()) == len(raw) > 500  # every raw figure has a row
    assert np.allclose(lo.to_numpy(), raw.reindex(lo.index).fillna(0).to_numpy(), atol=1e-4)
    # every consultant of a catalogue specialty is placed: 45,825 FTE in all (NHS Digital
    # published 45,800), less 827 FTE in dental, "Other", general pathology and the like
    assert lo.sum() == pytest.approx(raw.sum(), abs=0.01)
    assert 44_900 < lo.sum() < 45_100
    for level in ("icb", "region"):
        assert table.loc[table["level"] == level, "consultants"].sum() == pytest.approx(lo.sum())


def test_index_is_share_of_consultants_over_share_of_need(england: Bundle,
                                                          table: pd.DataFrame) -> None:
    """Recomputed from the targets table's fair share (the need it uses), not from scarcity."""
    t = targets(england, Scenario())
    need = t.set_index(["area", "specialty"])["fair_share"]
    need = need / need.groupby(level="specialty").transform("sum")
    raw = _raw_consultants_by_local_office()
    share = raw / raw.groupby(level="programme").transform("sum")
    lo = table[table["level"] == "local_office"].set_index(["area", "specialty"])
    keys = lo.index
    expected = share.reindex(keys).fillna(0).to_numpy() / need.reindex(keys).to_numpy()
    assert np.allclose(lo["scarcity_index"].to_numpy(), expected, rtol=1e-9)
    people = england.population["population"].sum()
    cardio = lo.xs("Cardiology", level="specialty")
    total = raw.xs("Cardiology", level="programme").sum()
    assert cardio["national_per_100k"].iat[0] == pytest.approx(total / people * 1e5)


def test_designations_are_terciles_of_designatable_areas(table: pd.DataFrame) -> None:
    for (_, _), rows in table.groupby(["level", "specialty"]):
        ok = rows[~rows["too_few_to_designate"]]
        n = len(ok)
        assert (ok["designation"] == SCARCE).sum() == n // 3
        assert (ok["designation"] == WELL).sum() == n // 3
        if n:  # every scarce area is below every well-provided one
            low = ok.loc[ok["designation"] == SCARCE, "scarcity_index"]
            high = ok.loc[ok["designation"] == WELL, "scarcity_index"]
            assert low.max() <= high.min() if len(low) and len(high) else True
        small = rows["consultants_expected"] < 10
        assert (rows["designation"][small] == TOO_FEW).all()


def test_targets_carry_the_designation(england: Bundle, table: pd.DataFrame) -> None:
    for level in ("local_office", "region", "icb"):
        t = targets(england, Scenario(), level=level)  # type: ignore[arg-type]
        got = t.set_index(["area_code", "specialty"])["scarcity_designation"]
        want = table[table["level"] == level].set_index(["area_code", "specialty"])["designation"]
        assert (got.reindex(want.index) == want).all()
        assert (got[got.index.get_level_values("specialty") == "General Practice"] == "").all()


def test_coastal_areas_have_fewer_consultants_as_the_cmo_reported(england: Bundle,
                                                                  table: pd.DataFrame) -> None:
    """England's Chief Medical Officer (2021): coastal areas have about 15% fewer consultants
    per patient than the national average. The third of ICBs with most deprived coastal LSOAs
    (rural_coastal.csv) should sit clearly below England on consultants per need."""
    icb = table[table["level"] == "icb"].groupby("area_code")[
        ["consultants", "consultants_expected"]].sum()
    coastal = england.rural_coastal.set_index("icb_code")["coastal_share"].reindex(icb.index)
    top = icb[coastal >= coastal.quantile(2 / 3)]
    ratio = top["consultants"].sum() / top["consultants_expected"].sum()
    assert 0.80 < ratio < 0.95  # 0.875 in the 2017 file: 12.5% below England


def test_command_writes_the_table_and_refuses_a_bad_level(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from fairshare.cli import app, load_commands

    load_commands("scarcity")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    res = runner.invoke(app, ["scarcity", "--level", "county", "--out", str(tmp_path / "bad")])
    assert res.exit_code == 2 and "local_office, region or icb" in res.output
    assert not (tmp_path / "bad").exists()  # nothing half-written
    res = runner.invoke(app, ["scarcity", "--specialty", "Cardiology", "--out",
                              str(tmp_path / "ok")])
    assert res.exit_code == 0, res.output
    out = pd.read_csv(tmp_path / "ok" / "scarcity.csv")
    assert {"level", "area", "specialty", "consultants", "scarcity_index", "designation",
            "consultants_expected", "too_few_to_designate", "basis"} <= set(out.columns)
    assert set(out["level"]) == {"icb", "local_office", "region"}
    described = set(pd.read_csv(tmp_path / "ok" / "columns.csv")["column"])
    assert set(out.columns) <= described  # every column in the data dictionary


def test_plan_rows_carry_the_designation_of_their_area(england: Bundle,
                                                       table: pd.DataFrame) -> None:
    from fairshare.model.pipeline import run_plan

    plan = run_plan(england, Scenario()).plan
    want = table[table["level"] == "local_office"].set_index(["area", "specialty"])["designation"]
    got = plan.drop_duplicates(["area", "specialty"]).set_index(["area", "specialty"])[
        "scarcity_designation"]
    assert (got.reindex(want.index) == want).all()


def test_cutoffs_out_of_order_are_refused() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="scarcity_cutoffs"):
        Scenario(scarcity_cutoffs=(0.7, 0.2))
