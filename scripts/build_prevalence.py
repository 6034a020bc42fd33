"""Build src/fairshare/data/qof_prevalence.csv: QOF disease registers and list sizes per ICB.

Input: NHS Digital's *Quality and Outcomes Framework 2019-20* raw prevalence file
(``PREVALENCE_1920.csv``: PRACTICE_CODE, GROUP_CODE, REGISTER, PATIENT_LIST_TYPE,
PATIENT_LIST_SIZE; one row per practice and register), as published in
https://files.digital.nhs.uk/E2/BF16AA/QOF_1920.zip (Open Government Licence v3). The copy used
is in the public GitHub repository dielleuompg/Project1 at commit
95a0196f5ff73f3feed10d6732dff5cd36436191 (path ``PREVALENCE_1920.csv``).

Each practice is placed in its ICB by NHS England's 2025/26 allocation file (the practice file
``weighted_population.csv`` is built from, in ../shared/data), whose ICB ODS codes become 2023
ICB codes through the crosswalk scripts/build_data.py uses. Practices that have since closed or
merged are not in it and are left out (the log gives the share of list size kept, about 96%).
Registers and list sizes are summed per ICB and register; only the registers a specialty
declares (data/prevalence_drivers.csv) are kept. No value is changed otherwise.

Run: PYTHONPATH=src .venv/bin/python scripts/build_prevalence.py PATH/TO/PREVALENCE_1920.csv
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
OUT = REPO / "src" / "fairshare" / "data" / "qof_prevalence.csv"
GROUPS = ["AF", "AST", "CHD", "COPD", "DM", "HF"]


def build(raw: Path) -> pd.DataFrame:
    """ICB x register sums of the practice file (see the module docstring)."""
    qof = pd.read_csv(raw, dtype={"PRACTICE_CODE": str, "GROUP_CODE": str})
    allocations = SHARED / "other" / "nhse_allocations_gp_practice_weighted_pop_2025_26.csv"
    practices = pd.read_csv(allocations, encoding="utf-8-sig", usecols=["Practice_Code", "ICB"])
    lookup = SHARED / "geography" / "lookup_icb_codes_2022_2023_2024_ods_nhser.csv"
    crosswalk = pd.read_csv(lookup, dtype=str)
    ods_to_code = crosswalk.drop_duplicates("icb_ods").set_index("icb_ods")["icb23_icb24_code"]
    icb = practices.set_index("Practice_Code")["ICB"].map(ods_to_code)
    qof = qof[qof["GROUP_CODE"].isin(GROUPS)].assign(icb_code=qof["PRACTICE_CODE"].map(icb))
    kept = qof["icb_code"].notna()
    for group, rows in qof.groupby("GROUP_CODE"):
        share = rows.loc[kept, "PATIENT_LIST_SIZE"].sum() / rows["PATIENT_LIST_SIZE"].sum()
        types = ", ".join(rows["PATIENT_LIST_TYPE"].unique())
        print(f"{group}: {kept[rows.index].sum():,} of {len(rows):,} practices placed in an ICB "
              f"({share:.1%} of list size); list type {types}")
    out = (qof[kept].groupby(["icb_code", "GROUP_CODE"], as_index=False)
           .agg(register=("REGISTER", "sum"), list_size=("PATIENT_LIST_SIZE", "sum"),
                practices=("PRACTICE_CODE", "nunique"))
           .rename(columns={"GROUP_CODE": "condition"}))
    if out["icb_code"].nunique() != 42 or len(out) != 42 * len(GROUPS):
        raise SystemExit(f"expected 42 ICBs x {len(GROUPS)} registers, got {len(out)} rows")
    return out.sort_values(["icb_code", "condition"]).reset_index(drop=True)


def main(argv: list[str]) -> None:
    if len(argv) != 1:
        raise SystemExit(__doc__)
    table = build(Path(argv[0]))
    tmp = OUT.with_suffix(".csv.tmp")
    table.to_csv(tmp, index=False, lineterminator="\n")
    tmp.replace(OUT)
    print(f"wrote {OUT.relative_to(REPO)}: {len(table)} rows")


if __name__ == "__main__":
    main(sys.argv[1:])
