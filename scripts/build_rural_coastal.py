#!/usr/bin/env python
"""Build ``src/fairshare/data/rural_coastal.csv``: each ICB's share of rural and coastal LSOAs.

Usage::

    .venv/bin/python scripts/build_rural_coastal.py [--shared ../shared/data]

Inputs (provenance in the shared SOURCES.md):

* ``geography/lookup_lsoa21_sicbl24_icb24.csv``: every England LSOA 2021 -> its ICB (2024 codes,
  the same as the 2023 codes fairshare uses);
* ``geography/ons_ruc21_lsoa21_ew.csv``: ONS Rural Urban Classification 2021 of each LSOA;
* ``geography/coastal_bmjph/coastal_lsoa21_g25_5.csv``: the BMJ Public Health coastal flag
  (``G_25_5``: at least 25% of postcodes within 5 km of the coast, tidal estuaries included);
* ``deprivation/imd2025_lsoa21_scores_ranks_deciles.csv``: IMD 2025 decile of each LSOA.

Rules (docs/method.md, "Rural and coastal need"):

* **rural**: the LSOA's RUC 2021 class is rural (RLN1, RLF1, RSN1, RSF1: larger or smaller rural,
  nearer to or further from a major town or city);
* **coastal (counted)**: the LSOA is flagged coastal, lies outside Greater London (the five
  London ICBs: the flag counts the tidal Thames, so inner and east London's riverside would
  otherwise count as coast), and is in England's more deprived half by IMD 2025 (decile 1-5),
  the coastal communities England's Chief Medical Officer's 2021 report describes.

No LSOA population is in the shared data, so LSOAs are weighted equally: LSOAs 2021 are drawn to
hold 1,000-3,000 residents (400-1,200 households) each, so a share of LSOAs approximates a share
of residents. The raw counts are written too, so any other rule can be recomputed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "src" / "fairshare" / "data"
DEFAULT_SHARED = REPO.parent / "shared" / "data"
RURAL_CLASSES = ("RLN1", "RLF1", "RSN1", "RSF1")
LONDON_REGION = "E40000003"
DEPRIVED_DECILES = 5  # IMD 2025 deciles 1..5: England's more deprived half


def check(cond: bool, msg: str) -> None:
    if not cond:
        raise SystemExit(f"CHECK FAILED: {msg}")


def lsoa_table(shared: Path, icbs: pd.DataFrame) -> pd.DataFrame:
    """One row per England LSOA: ICB, rural?, coastal flag, London?, IMD decile."""
    geo = shared / "geography"
    lsoa = pd.read_csv(geo / "lookup_lsoa21_sicbl24_icb24.csv", dtype=str)
    ruc = pd.read_csv(geo / "ons_ruc21_lsoa21_ew.csv", dtype=str).set_index("lsoa21_code")
    coast = pd.read_csv(geo / "coastal_bmjph/coastal_lsoa21_g25_5.csv",
                        dtype={"LSOA21": str, "G_25_5": int}).set_index("LSOA21")["G_25_5"]
    imd = pd.read_csv(shared / "deprivation/imd2025_lsoa21_scores_ranks_deciles.csv",
                      dtype={"lsoa21_code": str}).set_index("lsoa21_code")["IMD_decile"]
    region = icbs.set_index("icb_code")["region_code"]
    out = pd.DataFrame({"lsoa": lsoa["lsoa21_code"], "icb_code": lsoa["icb24_code"]})
    out["ruc"] = out["lsoa"].map(ruc["ruc21_code"])
    out["coastal_flag"] = out["lsoa"].map(coast)
    out["imd_decile"] = out["lsoa"].map(imd)
    out["london"] = out["icb_code"].map(region) == LONDON_REGION
    for col in ("ruc", "coastal_flag", "imd_decile"):
        check(out[col].notna().all(), f"every LSOA has a {col}")
    check(set(out["icb_code"]) == set(icbs["icb_code"]), "LSOAs cover exactly the 42 ICBs")
    return out


def per_icb(lsoas: pd.DataFrame) -> pd.DataFrame:
    """Counts and shares of LSOAs per ICB under the rules in the module docstring."""
    df = lsoas.assign(
        rural=lsoas["ruc"].isin(RURAL_CLASSES),
        coastal=lsoas["coastal_flag"] == 1,
        coastal_outside_london=(lsoas["coastal_flag"] == 1) & ~lsoas["london"],
    )
    df["coastal_counted"] = df["coastal_outside_london"] & (df["imd_decile"] <= DEPRIVED_DECILES)
    out = df.groupby("icb_code").agg(
        lsoas=("lsoa", "size"), rural_lsoas=("rural", "sum"),
        coastal_lsoas_flagged=("coastal", "sum"),
        coastal_lsoas_outside_london=("coastal_outside_london", "sum"),
        coastal_lsoas_counted=("coastal_counted", "sum")).reset_index()
    out["rural_share"] = (out["rural_lsoas"] / out["lsoas"]).round(6)
    out["coastal_share"] = (out["coastal_lsoas_counted"] / out["lsoas"]).round(6)
    return out.sort_values("icb_code")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    ap.add_argument("--out", type=Path, default=DATA)
    args = ap.parse_args(argv)
    icbs = pd.read_csv(DATA / "icbs.csv", dtype=str)
    table = per_icb(lsoa_table(args.shared.resolve(), icbs))
    path = args.out / "rural_coastal.csv"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(table.to_csv(index=False, lineterminator="\n"), encoding="utf-8")
    tmp.replace(path)
    print(f"wrote {path}: {len(table)} ICBs; rural LSOAs {table['rural_lsoas'].sum():,}, coastal "
          f"flagged {table['coastal_lsoas_flagged'].sum():,}, outside London "
          f"{table['coastal_lsoas_outside_london'].sum():,}, counted "
          f"{table['coastal_lsoas_counted'].sum():,} of {table['lsoas'].sum():,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
