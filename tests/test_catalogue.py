"""The specialty catalogue and the expansion priorities (docs/specialties.md)."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd
import pytest

from fairshare.inputs import schemas
from fairshare.model.need import Driver

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "src" / "fairshare" / "data"
PHASING = REPO.parent / "shared" / "data" / "programme" / "phasing.csv"

COLUMNS = ["specialty", "school", "programme_years", "entry_level", "phase", "phase_start",
           "driver", "w_core", "w_specialty", "w_future", "specialised_share", "notes",
           "rural", "coastal"]
# The vocabulary as documented in docs/specialties.md.
COMPONENTS = ["core", "general_acute", "community", "mental_health", "maternity",
              "health_inequalities", "prescribing", "primary_care"]
PROFILES = ["all", "children", "adults", "older_adults", "women_15_44", "medical", "surgical"]
DRIVER_RE = re.compile(
    rf"^(component:({'|'.join(COMPONENTS)})"
    rf"|age:({'|'.join(PROFILES)})(\*({'|'.join(COMPONENTS)}))?)$"
)
PRIORITIES = {"cancer and diagnostics", "elective recovery", "maternity", "mental health",
              "acute and urgent care", "general practice", "public health"}
#: Specialties the programme expanded that the priority map must cover (issue 14): medicine's
#: group-1 specialties (dual training with internal medicine), clinical genetics, public health.
EXPANDED = {"Acute Internal Medicine", "Cardiology", "Clinical Pharmacology and Therapeutics",
            "Endocrinology and Diabetes", "Gastroenterology", "Genito-urinary Medicine",
            "Geriatric Medicine", "Infectious Diseases", "Palliative Medicine", "Renal Medicine",
            "Respiratory Medicine", "Rheumatology", "Clinical Genetics", "Public Health Medicine"}


@pytest.fixture(scope="module")
def catalogue() -> pd.DataFrame:
    return pd.read_csv(DATA / "specialties.csv", keep_default_na=False, na_values=[""])


@pytest.fixture(scope="module")
def phasing() -> pd.DataFrame:
    if not PHASING.exists():
        pytest.skip(f"shared phasing file not found at {PHASING}")
    return pd.read_csv(PHASING)


def test_columns_exact(catalogue: pd.DataFrame) -> None:
    assert list(catalogue.columns) == COLUMNS


def test_names_unique_and_clean(catalogue: pd.DataFrame) -> None:
    names = catalogue["specialty"]
    assert names.is_unique
    assert (names == names.str.strip()).all()
    assert names.str.lower().is_unique  # posts files match names case-insensitively


def test_every_phased_specialty_present_with_same_phase(
    catalogue: pd.DataFrame, phasing: pd.DataFrame
) -> None:
    cat = catalogue.set_index("specialty")
    missing = sorted(set(phasing["specialty"]) - set(cat.index))
    assert not missing, f"phasing specialties missing from the catalogue: {missing}"
    for rec in phasing.itertuples(index=False):
        row = cat.loc[rec.specialty]
        assert row["phase"] == rec.phase, rec.specialty
        assert not pd.isna(row["phase_start"]), rec.specialty
        assert int(row["phase_start"]) == int(rec.phase_start), rec.specialty


def test_unphased_specialties_are_tbc(catalogue: pd.DataFrame, phasing: pd.DataFrame) -> None:
    extra = catalogue[~catalogue["specialty"].isin(phasing["specialty"])]
    assert len(extra) > 0
    assert (extra["phase"] == "TBC").all()
    assert extra["phase_start"].isna().all()


def test_weights_sum_to_one(catalogue: pd.DataFrame) -> None:
    w = catalogue[["w_core", "w_specialty", "w_future"]].astype(float)
    assert ((w >= 0) & (w <= 1)).all().all()
    for name, total in zip(catalogue["specialty"], w.sum(axis=1), strict=True):
        assert math.isclose(total, 1.0, abs_tol=1e-9), name


def test_specialised_share_in_unit_interval(catalogue: pd.DataFrame) -> None:
    sigma = catalogue["specialised_share"].astype(float)
    assert sigma.between(0, 1).all()
    assert not sigma.isna().any()


def test_drivers_parse_against_vocabulary(catalogue: pd.DataFrame) -> None:
    bad = [d for d in catalogue["driver"] if not DRIVER_RE.match(d)]
    assert not bad, f"drivers outside the vocabulary: {bad}"


def test_drivers_accepted_by_need_module(catalogue: pd.DataFrame) -> None:
    profiles = set(pd.read_csv(DATA / "utilisation_profiles.csv")["profile"])
    for d in catalogue["driver"]:
        Driver.parse(d, profiles)  # raises ValueError if not accepted


def test_programme_years_positive_integers(catalogue: pd.DataFrame) -> None:
    years = catalogue["programme_years"]
    assert pd.api.types.is_integer_dtype(years)
    assert (years > 0).all()
    core = catalogue[catalogue["entry_level"] == "core"]
    assert (core["programme_years"].between(2, 3)).all()


def test_entry_level_and_school(catalogue: pd.DataFrame) -> None:
    assert set(catalogue["entry_level"]) <= {"core", "run-through", "higher"}
    assert (catalogue["school"].str.len() > 0).all()
    assert (catalogue["notes"].str.len() > 0).all()


def test_matches_package_schema(catalogue: pd.DataFrame) -> None:
    df = catalogue.copy()
    df["phase_start"] = df["phase_start"].astype("float64")
    for col in ("w_core", "w_specialty", "w_future", "specialised_share"):
        df[col] = df[col].astype("float64")
    df["programme_years"] = df["programme_years"].astype("int64")
    schemas.specialties.validate(df)


def test_priorities_reference_catalogue(catalogue: pd.DataFrame) -> None:
    pr = pd.read_csv(DATA / "priorities.csv")
    assert list(pr.columns) == ["priority", "specialty", "basis"]
    assert pr["basis"].notna().all() and (pr["basis"].str.len() > 20).all()
    # a row without a public source says it is a judgement
    unsourced = pr[~pr["basis"].str.contains("FAQ|README")]
    assert unsourced["basis"].str.contains("judgement").all(), unsourced
    missing = EXPANDED - set(pr["specialty"])
    assert not missing, f"priority map does not cover expanded specialties: {missing}"
    unknown = sorted(set(pr["specialty"]) - set(catalogue["specialty"]))
    assert not unknown, f"priorities name specialties not in the catalogue: {unknown}"
    assert set(pr["priority"]) == PRIORITIES
    assert not pr.duplicated().any()
    assert pr["specialty"].is_unique  # each specialty in at most one priority


def test_rural_and_coastal_declared_by_the_documented_rule(catalogue: pd.DataFrame) -> None:
    """The rural and coastal need terms apply to services delivered locally (σ <= 0.10), not to
    regional and tertiary ones (docs/method.md, "Rural and coastal need")."""
    local = (catalogue["specialised_share"] <= 0.10).astype(int)
    assert (catalogue["rural"] == local).all() and (catalogue["coastal"] == local).all()
    assert set(catalogue.loc[catalogue["rural"] == 0, "specialty"]) >= {
        "Neurosurgery", "Cardiothoracic Surgery", "Clinical Genetics"}
