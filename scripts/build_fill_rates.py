#!/usr/bin/env python
"""Build the default fill rates ``src/fairshare/data/fill_rates.csv`` (issue 16, docs/fill.md).

Usage::

    .venv/bin/python scripts/build_fill_rates.py [--shared ../shared/data]

Inputs (the shared raw data; provenance and caveats in its SOURCES.md):

* ``workforce/fill_rates_partial/national_posts_fill_rates_tidy.csv``: Health Education
  England's England fill rates, recruitment rounds 1 and 2, 2013 and 2018 (posts and accepts per
  specialty and entry level). The stored pages are truncated alphabetically: specialties after
  "Community Sexual and Reproductive Health" are unknown, never zero.
* ``workforce/fill_rates_partial/regional_posts_fill_rates_tidy.csv``: all-specialty posts and
  fill % by entry level for London, West Midlands and Yorkshire and the Humber, 2023 and 2024
  (NHS England, via DHSC written answers); UK all-specialty fill % by level, 2024.

Model (modelled, labelled on every row; the prior strength is a judgement):

1. level prior m_L: the UK all-specialty fill rate of the entry level in 2024 (CT1/ST1, ST3,
   ST4; UK, not England: the only by-level national figure published);
2. specialty rate p_s = (accepts + k·m_L) / (posts + k) over the HEE England years available
   (beta-binomial shrinkage, ``fairshare.model.fill.shrink``); a specialty with no published
   figure takes m_L and says so;
3. local office factor f = shrink(accepts_r, posts_r, m_L, k) / m_L from its all-specialty
   figures 2023-24 at that level (1 where none is published: national rate, said so);
4. rate = min(1, p_s · f). Row ``England`` holds p_s.

Not used, and why (docs/fill.md): round-1-only accepts (2015/16; understate final fill), single
secondary-source figures, and the Oriel core surgery 2023 list (places offered per region, not
applicants' preferences: it cannot give a fill rate).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from fairshare.model.fill import NATIONAL, shrink  # noqa: E402

DEFAULT_SHARED = REPO.parent / "shared" / "data"
OUT = REPO / "src" / "fairshare" / "data" / "fill_rates.csv"
#: Judgement: the prior is worth this many posts of evidence (docs/fill.md shows 20 and 200).
PRIOR_STRENGTH = 50
PRIOR_SOURCE = "specialty-applications.co.uk, from NHS England fill-rate data"
LEVELS = {"CT1": "CT1/ST1", "ST1": "CT1/ST1", "ST1/CT1": "CT1/ST1", "CT1/ST1": "CT1/ST1",
          "ST3": "ST3", "ST4": "ST4"}
#: Structure, not numbers: catalogue programme -> HEE table name where they differ.
HEE_NAME = {
    "Internal Medicine Training": "ACCS Acute Medicine/Core Medical Training",
    "Core Anaesthetics": "ACCS Anaesthetics/Core Anaesthetics",
    "ACCS": "ACCS Emergency Medicine",
    "Allergy and Immunology": "Allergy",
    "Anaesthetics (higher)": "Anaesthetics",
    "Infectious Diseases": "Combined Infection Training",
    "Medical Microbiology": "Combined Infection Training",
    "Medical Virology": "Combined Infection Training",
}
#: Higher training entered at ST4 after a three-year core programme (structure, docs/fill.md).
ST4_SCHOOLS = {"Psychiatry", "Anaesthetics", "Emergency Medicine", "Medicine"}


def national_counts(shared: Path) -> pd.DataFrame:
    """HEE England rounds 1+2 posts and accepts, summed over years: name, level, posts,
    accepts, years."""
    df = pd.read_csv(shared / "workforce/fill_rates_partial/national_posts_fill_rates_tidy.csv")
    keep = ((df["geography"] == "England") & df["posts"].notna() & df["accepts"].notna()
            & df["measure"].str.contains("rounds 1 and 2", na=False))
    df = df[keep].assign(level=lambda d: d["level"].map(LEVELS))
    return df.groupby(["specialty", "level"], as_index=False).agg(
        posts=("posts", "sum"), accepts=("accepts", "sum"),
        years=("year", lambda y: "+".join(str(int(v)) for v in sorted(set(y)))))


def level_priors(regional: pd.DataFrame) -> dict[str, float]:
    """UK all-specialty fill rate by level, 2024."""
    uk = regional[(regional["region"] == "UK") & (regional["specialty"] == "All specialties")
                  & regional["level"].isin(["CT1/ST1", "ST3", "ST4"])
                  & regional["fill_rate_pct"].notna()
                  & (regional["year"].astype(str) == "2024")]
    return {str(lv): float(p) / 100 for lv, p in zip(uk["level"], uk["fill_rate_pct"],
                                                     strict=True)}


def office_counts(regional: pd.DataFrame) -> pd.DataFrame:
    """Local office all-specialty posts and accepts by level, 2023-24 (accepts = posts × fill %
    where only the % is published)."""
    df = regional[(regional["region_type"] == "HEE/NHSE local office")
                  & (regional["specialty"] == "All specialties")
                  & regional["level"].isin(["CT1/ST1", "ST3", "ST4"])
                  & regional["posts"].notna() & regional["fill_rate_pct"].notna()].copy()
    df["accepts"] = df["accepts"].fillna(df["posts"] * df["fill_rate_pct"] / 100)
    return df.groupby(["region", "level"], as_index=False).agg(
        posts=("posts", "sum"), accepts=("accepts", "sum"),
        years=("year", lambda y: "+".join(sorted({str(v) for v in y}))))


def entry_level(spec: pd.Series, published: pd.DataFrame) -> str:
    """The recruitment level of a programme: the published one where there is one, else by
    the catalogue's entry level (core, run-through: CT1/ST1; higher: ST4 or ST3 by school)."""
    levels = set(published["level"])
    if spec["entry_level"] in ("core", "run-through"):
        wanted = "CT1/ST1"
    else:
        wanted = "ST4" if spec["school"] in ST4_SCHOOLS else "ST3"
    if wanted in levels or not levels:
        return wanted
    higher = sorted(levels - {"CT1/ST1"})
    return higher[0] if higher and wanted != "CT1/ST1" else sorted(levels)[0]


def build(shared: Path, strength: float = PRIOR_STRENGTH) -> pd.DataFrame:
    regional = pd.read_csv(shared / "workforce/fill_rates_partial/"
                           "regional_posts_fill_rates_tidy.csv")
    priors = level_priors(regional)
    nat = national_counts(shared)
    offices = office_counts(regional)
    catalogue = pd.read_csv(REPO / "src/fairshare/data/specialties.csv")
    names = list(pd.read_csv(REPO / "src/fairshare/data/local_offices.csv")["local_office"])
    rows = []
    for _, spec in catalogue.iterrows():
        name = HEE_NAME.get(spec["specialty"], spec["specialty"])
        published = nat[nat["specialty"] == name]
        level = entry_level(spec, published)
        prior = priors[level]
        hit = published[published["level"] == level]
        if len(hit):
            p, n = float(hit["accepts"].iloc[0]), float(hit["posts"].iloc[0])
            rate = shrink(p, n, prior, strength)
            basis = (f"modelled: {name} {level} HEE England {hit['years'].iloc[0]} "
                     f"({int(n)} posts) pooled to UK 2024 {level} (k={strength:g})")
        else:
            rate = prior
            basis = f"modelled: no published figure; UK 2024 all-specialty {level} rate"
        rows.append((NATIONAL, spec["specialty"], level, rate, basis))
        for office in names:
            got = offices[(offices["region"] == office) & (offices["level"] == level)]
            if len(got):
                a, n = float(got["accepts"].iloc[0]), float(got["posts"].iloc[0])
                factor = shrink(a, n, prior, strength) / prior
                where = (f"{office} all-specialty {level} {got['years'].iloc[0]} "
                         f"({int(n)} posts, k={strength:g})")
            else:
                factor, where = 1.0, "no regional figure: national"
            rows.append((office, spec["specialty"], level, min(1.0, rate * factor),
                         f"{basis}; {where}"))
    out = pd.DataFrame(rows, columns=["area", "specialty", "level", "fill_rate", "basis"])
    return out.sort_values(["specialty", "area"], kind="stable").reset_index(drop=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    args = parser.parse_args()
    table = build(args.shared)
    assert table["fill_rate"].between(0, 1).all(), "fill rates must be within 0-1"
    assert table["basis"].str.startswith("modelled").all(), "every row is labelled modelled"
    table.to_csv(OUT, index=False, float_format="%.4f", lineterminator="\n")
    print(f"wrote {OUT} ({len(table)} rows)")


if __name__ == "__main__":
    main()
