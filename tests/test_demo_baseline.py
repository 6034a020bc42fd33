"""The DEMONSTRATION baseline (docs/demo_baseline.md) and its build script."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "src" / "fairshare" / "data"
SCRIPT = REPO / "scripts" / "build_demo_baseline.py"
SHARED = REPO.parent / "shared" / "data"
FRAGMENTS = SHARED / "workforce" / "training_posts_by_specialty_local_office_england.csv"
DOC = REPO / "docs" / "demo_baseline.md"
COMMITTED = DATA / "demo_posts.csv"
TO = "Trauma and Orthopaedic Surgery"
GP = "General Practice"

needs_shared = pytest.mark.skipif(not SHARED.exists(), reason=f"shared data not at {SHARED}")


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                          check=True, cwd=REPO)


@pytest.fixture(scope="module")
def committed() -> pd.DataFrame:
    return pd.read_csv(COMMITTED)


@pytest.fixture(scope="module")
def catalogue() -> pd.DataFrame:
    return pd.read_csv(DATA / "specialties.csv")


@pytest.fixture(scope="module")
def offices() -> list[str]:
    return sorted(pd.read_csv(DATA / "local_offices.csv")["local_office"])


@pytest.fixture(scope="module")
def default_rebuild(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    if not SHARED.exists():
        pytest.skip(f"shared data not at {SHARED}")
    out = tmp_path_factory.mktemp("demo") / "demo_posts.csv"
    proc = run_script("--out", str(out), "--report")
    return out, proc.stdout


def test_default_seed_reproduces_committed_file(default_rebuild: tuple[Path, str]) -> None:
    out, _ = default_rebuild
    assert out.read_bytes() == COMMITTED.read_bytes()


def test_docs_generated_block_is_current(default_rebuild: tuple[Path, str]) -> None:
    _, report = default_rebuild
    body = DOC.read_text(encoding="utf-8")
    block = body.split("<!-- BEGIN GENERATED", 1)[1].split("\n", 1)[1]
    block = block.split("<!-- END GENERATED -->", 1)[0]
    assert block == report, "run scripts/build_demo_baseline.py --update-doc"


def test_doc_is_labelled_demonstration() -> None:
    first = DOC.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# DEMONSTRATION")


def test_every_specialty_and_local_office_once(
    committed: pd.DataFrame, catalogue: pd.DataFrame, offices: list[str]
) -> None:
    assert list(committed.columns) == ["local_office", "specialty", "posts"]
    assert len(offices) == 11
    assert set(committed["specialty"]) == set(catalogue["specialty"])
    assert set(committed["local_office"]) == set(offices)
    assert len(committed) == len(catalogue) * len(offices)
    assert not committed.duplicated(["local_office", "specialty"]).any()


def test_posts_are_non_negative_integers(committed: pd.DataFrame) -> None:
    assert pd.api.types.is_integer_dtype(committed["posts"])
    assert (committed["posts"] >= 0).all()
    assert (committed.groupby("specialty")["posts"].sum() > 0).all()


@needs_shared
def test_trauma_orthopaedics_follows_real_fragments(
    committed: pd.DataFrame, catalogue: pd.DataFrame
) -> None:
    f = pd.read_csv(FRAGMENTS)
    f = f[(f["specialty"] == TO) & (f["measure"] == "posts_offered")]
    f = f.assign(local_office=f["local_office"].str.replace(",", "").str.strip())
    per_office = f.groupby("local_office")["value"].sum()
    years = int(catalogue.set_index("specialty").loc[TO, "programme_years"])
    annual = f.groupby("entry_round_year")["value"].sum().mean()
    to = committed[committed["specialty"] == TO].set_index("local_office")["posts"]
    n = int(to.sum())
    # national total = mean annual England intake x programme years (rounded)
    assert abs(n - annual * years) <= 0.5
    # every office, London included, holds its real share within rounding
    share = per_office / per_office.sum()
    for office, s in share.items():
        assert abs(to[office] - n * s) < 1, office
    assert abs(to["London"] / n - share["London"]) < 1 / n


def gp_fte_by_local_office() -> pd.Series:
    """GP FTE (March 2024, LAD 2024) -> ICB by practice population -> local office by shares."""
    gp = pd.read_csv(SHARED / "workforce" / "gp_fte_patients_lad24_mar2024.csv")
    pr = pd.read_csv(SHARED / "other" / "nhse_allocations_gp_practice_weighted_pop_2025_26.csv",
                     encoding="utf-8-sig")
    lad = pd.read_csv(SHARED / "geography" / "lookup_lad22_lad23.csv")
    icb = pd.read_csv(SHARED / "geography" / "lookup_icb_codes_2022_2023_2024_ods_nhser.csv")
    pr["lad24"] = pr["LAD"].map(dict(zip(lad["ltla22_code"], lad["ltla23_code"], strict=True)))
    pr["icb_code"] = pr["ICB"].map(dict(zip(icb["icb_ods"], icb["icb23_icb24_code"],
                                            strict=True)))
    assert pr[["lad24", "icb_code"]].notna().all().all()
    w = pr.groupby(["lad24", "icb_code"])["Population"].sum()
    w = (w / w.groupby(level="lad24").transform("sum")).rename("frac").reset_index()
    m = gp.merge(w, left_on="ltla24_code", right_on="lad24", how="left")
    assert m["icb_code"].notna().all(), "every GP LAD maps to an ICB"
    m = m.merge(pd.read_csv(DATA / "icb_local_office.csv"), on="icb_code", how="left")
    assert m["local_office"].notna().all(), "every ICB maps to a local office"
    fte = (m["total_gp_fte"] * m["frac"] * m["share"]).groupby(m["local_office"]).sum()
    # nothing unmapped: the local offices hold all of England's GP FTE
    assert abs(fte.sum() - gp["total_gp_fte"].sum()) < 1e-6
    return fte


@needs_shared
def test_general_practice_follows_gp_fte(committed: pd.DataFrame, offices: list[str]) -> None:
    fte = gp_fte_by_local_office()
    share = fte / fte.sum()
    gp = committed[committed["specialty"] == GP].set_index("local_office")["posts"]
    n = int(gp.sum())
    assert set(share.index) == set(offices) == set(gp.index)
    # every office holds its GP FTE share of the national GP total within rounding
    for office, s in share.items():
        assert abs(gp[office] - n * s) < 1, office
    # London no longer gets the hospital concentration factor
    assert gp["London"] / n < 0.16


@needs_shared
def test_other_seed_changes_split_not_totals(tmp_path: Path, committed: pd.DataFrame) -> None:
    out = tmp_path / "other.csv"
    run_script("--seed", "7", "--out", str(out))
    assert out.read_bytes() != COMMITTED.read_bytes()
    other = pd.read_csv(out)
    a = committed.groupby("specialty")["posts"].sum()
    b = other.groupby("specialty")["posts"].sum()
    pd.testing.assert_series_equal(a, b)
    changed = (committed.set_index(["specialty", "local_office"])["posts"]
               != other.set_index(["specialty", "local_office"])["posts"])
    assert changed.any()
    # real splits (T&O, Paediatrics, General Practice) do not depend on the seed
    assert not changed.loc[[TO, "Paediatrics", GP]].any()


def test_loads_as_package_posts(committed: pd.DataFrame) -> None:
    bundle = pytest.importorskip("fairshare.inputs.bundle")
    b = bundle.load_england()
    assert int(b.posts["posts"].sum()) == int(committed["posts"].sum())
    assert set(b.posts["specialty"]) <= set(b.specialties["specialty"])
