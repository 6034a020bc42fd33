"""Write examples/calibration_published_real.csv: movement implied by REAL entry posts.

No public table of the programme's gaps by local office exists. What is public, by local office,
are the posts offered in a few recruitment rounds (../shared/data/workforce, see its SOURCES.md):

* Trauma and Orthopaedic Surgery ST3, 2023 and 2024 rounds (DHSC written answer to Lord Kamall);
* Paediatrics ST1, 2023 and 2024 rounds (written answer HL7483);
* Core Surgery CT1, August 2023 (Oriel programme preferences extract, England's places only).

If every office's establishment followed its share of today's entry posts, each office would
hold N x (its entry share) posts, N the specialty's national establishment. The difference from
the establishment (September 2017 staff in post, the embedded public baseline) is the movement
the programme's recent rounds imply:

    implied_gap = round(N x entry posts in the office / entry posts in England) - current

It is derived from real figures by this documented rule, not a published gap: it mixes the
programme's redistribution with every other reason an office's intake changed since 2017 (new
medical schools, fill rates, local decisions), and a round or two of entry posts swing from
year to year (London T&O ST3: 20 then 36). Two rounds are summed where published.

Run: .venv/bin/python scripts/make_real_calibration_example.py [--shared ../shared/data]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from fairshare.inputs.bundle import load_england
from fairshare.publish.outputs import write_csv

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SHARED = REPO.parent / "shared" / "data"
OUT = REPO / "examples" / "calibration_published_real.csv"

#: (specialty in the catalogue, entry level in the source, rounds used, source)
PQ_ROWS = [
    ("Trauma and Orthopaedic Surgery", "ST3", (2023, 2024), "DHSC written answer to Lord Kamall"),
    ("Paediatrics", "ST1", (2023, 2024), "written answer HL7483"),
]


def _office(name: str) -> str:
    """Source spellings to the catalogue's ("Kent, Surrey and Sussex" -> without commas)."""
    return name.replace("Health Education England ", "").replace(",", "").strip()


def entry_posts(shared: Path) -> pd.DataFrame:
    """specialty, area, entry_posts, rounds: real entry posts by local office."""
    table = pd.read_csv(shared / "workforce"
                        / "training_posts_by_specialty_local_office_england.csv")
    parts = []
    for specialty, level, years, source in PQ_ROWS:
        rows = table[(table["specialty"] == specialty) & (table["entry_level"] == level)
                     & (table["measure"] == "posts_offered")
                     & table["entry_round_year"].isin(years)]
        if rows["value"].isna().any():
            raise SystemExit(f"{specialty} {level}: a blank value in {years}; pick other rounds")
        sums = rows.groupby("local_office")["value"].sum()
        parts.append(pd.DataFrame({
            "specialty": specialty, "area": [_office(a) for a in sums.index],
            "entry_posts": sums.to_numpy(),
            "rounds": f"{level} {' + '.join(str(y) for y in years)} ({source})"}))
    oriel = pd.read_csv(shared / "workforce" / "oriel_core_surgery_2023" / "CST_updated.csv")
    oriel = oriel[oriel["Region"].str.startswith("Health Education England")]
    sums = oriel.groupby("Region")["Places Available"].sum()
    parts.append(pd.DataFrame({
        "specialty": "Core Surgery", "area": [_office(a) for a in sums.index],
        "entry_posts": sums.to_numpy(),
        "rounds": "CT1 August 2023 (Oriel preferences extract, England)"}))
    return pd.concat(parts, ignore_index=True)


def implied_gaps(entry: pd.DataFrame, posts: pd.DataFrame) -> pd.DataFrame:
    """area, specialty, published_gap (implied movement, whole posts) and how it was made."""
    current = posts.groupby(["specialty", "local_office"])["posts"].sum()
    out = []
    for specialty, rows in entry.groupby("specialty", sort=False):
        total = int(current.loc[specialty].sum())
        share = rows["entry_posts"] / rows["entry_posts"].sum()
        for (_, row), s in zip(rows.iterrows(), share, strict=True):
            now = int(current.get((specialty, row["area"]), 0))
            out.append({"area": row["area"], "specialty": specialty,
                        "published_gap": round(total * s) - now,
                        "entry_posts": int(row["entry_posts"]), "current": now,
                        "basis": f"derived, not published: {total} posts x the office's share "
                                 f"of real entry posts ({row['rounds']}) - current"})
    return pd.DataFrame(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    args = parser.parse_args()
    table = implied_gaps(entry_posts(args.shared), load_england().posts)
    print(write_csv(table, OUT))


if __name__ == "__main__":
    main()
