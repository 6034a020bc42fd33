"""Write a SYNTHETIC set of post and placement records for all England, in the TIS layouts.

No real post or trainee record is public, so tests, docs and the web app show the named-post
plan (`fairshare posts plan`, docs/posts.md) on records made here from the public baseline.
They are not real and say so everywhere: every file name starts with ``SYNTHETIC_``, every row
has a ``SYNTHETIC`` column, National Post Numbers carry ``SYN``, surnames read ``SYNTHETIC``.
There is no personal data: no names, GMC numbers or person ids.

How the set is built (deterministic for a seed and an "as of" date):

* **Posts.** One post per post of the embedded public baseline (NHS Digital staff in post, 30
  Sept 2017, docs/baseline.md): each trust's posts of a specialty (``data/trust_posts.csv``) are
  that many posts with the trust as Employing and Training body and its local office's owner.
  Modelled specialties (General Practice, Public Health Medicine: no trust figures) are placed
  at their local office's largest employer of doctors in training (a synthetic choice).
* **Placements.** A post is vacant with probability ``vacant_share``; otherwise its trainee is
  in programme year k, drawn uniformly from 1..L (L the specialty's programme length), and
  completes in the August round k − 1 years after the next one. The trainee's current
  placement runs from the last August rotation to the next one; a trainee with more years to go
  has a next placement, in the same post, to the August of completion (two placement rows).
* **Time-limited posts.** With probability ``limited_share`` a post has a Funding End Date: 31
  July of the year its current trainee completes (funded for that trainee only).

The shares are settings of the generator (judgements for a synthetic set, not estimates).

Run: .venv/bin/python scripts/make_synthetic_tis.py [--out DIR] [--seed N] [--as-of YYYY-MM-DD]
     [--area "North East" --area Wessex] [--xlsx]
"""

from __future__ import annotations

import argparse
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from fairshare.inputs.bundle import data_dir, load_england
from fairshare.inputs.tis import OFFICE_OWNER
from fairshare.inputs.trusts import load_trusts
from fairshare.io import write_with
from fairshare.publish.outputs import write_csv
from fairshare.training_year import next_round

MARK = "SYNTHETIC"
NOTE = "SYNTHETIC record made by scripts/make_synthetic_tis.py: not a real post or trainee"
OWNER = {office: owner for office, (owner, _) in OFFICE_OWNER.items()}
OWNER_CODE = {office: code for office, (_, code) in OFFICE_OWNER.items()}
AS_OF = date(2026, 9, 30)


def rotation_day(year: int) -> date:
    """The first Wednesday of August: the day a rotation starts (the previous one ends the day
    before)."""
    first = date(year, 8, 1)
    return first + timedelta(days=(2 - first.weekday()) % 7)


def _dmy(days: list[date]) -> list[str]:
    return [d.strftime("%d/%m/%Y") for d in days]


def post_holders(areas: list[str] | None = None) -> pd.DataFrame:
    """local_office, specialty, org_code, org_name, posts: the baseline's posts by employer."""
    bundle = load_england()
    trusts = load_trusts()
    counted = trusts[trusts["posts"] > 0][["area", "specialty", "org_code", "org_name", "posts"]]
    largest = (trusts.groupby(["area", "org_code", "org_name"], as_index=False)["posts"].sum()
               .sort_values(["area", "posts", "org_code"], ascending=[True, False, True])
               .drop_duplicates("area").set_index("area"))
    modelled = bundle.posts[bundle.posts["specialty"].isin(bundle.modelled)
                            & (bundle.posts["posts"] > 0)]
    extra = modelled.assign(area=modelled["local_office"],
                            org_code=modelled["local_office"].map(largest["org_code"]),
                            org_name=modelled["local_office"].map(largest["org_name"]))
    out = pd.concat([counted, extra[counted.columns]], ignore_index=True)
    out = out.rename(columns={"area": "local_office"})
    if areas:
        out = out[out["local_office"].isin(areas)]
    return out.sort_values(["local_office", "specialty", "org_code"]).reset_index(drop=True)


def synthetic_records(seed: int = 15, as_of: date = AS_OF, areas: list[str] | None = None,
                      vacant_share: float = 0.05, limited_share: float = 0.02,
                      ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """SYNTHETIC posts (posts (create) layout) and placements (placements layout)."""
    rng = np.random.default_rng(seed)
    holders = post_holders(areas)
    specs = pd.read_csv(data_dir() / "specialties.csv")
    lengths = specs.set_index("specialty")["programme_years"].astype(int)
    spec_code = {s: f"{i + 1:03d}" for i, s in enumerate(specs["specialty"])}
    posts = holders.loc[holders.index.repeat(holders["posts"])].reset_index(drop=True)
    n = len(posts)
    serial = posts.groupby(["local_office", "org_code", "specialty"]).cumcount() + 1
    npn = [f"{OWNER_CODE[a]}/{o}/{spec_code[s]}/SYN/{k:03d}" for a, o, s, k in zip(
        posts["local_office"], posts["org_code"], posts["specialty"], serial, strict=True)]
    first = next_round(as_of)
    length = posts["specialty"].map(lengths).to_numpy(np.int64)
    year_in = 1 + np.floor(rng.random(n) * length).astype(np.int64)  # programme year 1..L
    completes = first + (length - year_in)
    vacant = rng.random(n) < vacant_share
    limited = (rng.random(n) < limited_share) & ~vacant
    table = pd.DataFrame({
        "National Post Number*": npn, "Approved grade*": MARK,
        "Specialty*": posts["specialty"].to_numpy(),
        "Training description": NOTE,
        "Main site (Known as)*": [f"{MARK} site of {o}" for o in posts["org_code"]],
        "Training body*": posts["org_name"].to_numpy(),
        "Employing body*": posts["org_name"].to_numpy(),
        "TIS_Programme_ID*": MARK, "Owner*": posts["local_office"].map(OWNER).to_numpy(),
        "Funding Type*": "Tariff", "Funding Start Date*": "01/08/2017",
        "Funding End Date": np.where(limited, [f"31/07/{y}" for y in completes], ""),
        MARK: MARK})
    held = ~vacant
    rotation = {y: rotation_day(y) for y in range(first - 1, int(completes.max()) + 2)}
    now = pd.DataFrame({
        "Surname*": MARK, "National Post Number*": np.array(npn, dtype=object)[held],
        "Date From*": _dmy([rotation[first - 1]] * int(held.sum())),
        "Date To*": _dmy([rotation[first] - timedelta(days=1)] * int(held.sum())),
        "Placement Type*": "In Post", "Placement Status*": "Current",
        "Site*": table["Main site (Known as)*"].to_numpy()[held], "WTE*": "1",
        "Grade*": MARK, "Specialty1*": posts["specialty"].to_numpy()[held], MARK: MARK})
    later = held & (completes > first)
    nxt = pd.DataFrame({
        "Surname*": MARK, "National Post Number*": np.array(npn, dtype=object)[later],
        "Date From*": _dmy([rotation[first]] * int(later.sum())),
        "Date To*": _dmy([rotation[int(y)] - timedelta(days=1) for y in completes[later]]),
        "Placement Type*": "In Post", "Placement Status*": "Future",
        "Site*": table["Main site (Known as)*"].to_numpy()[later], "WTE*": "1",
        "Grade*": MARK, "Specialty1*": posts["specialty"].to_numpy()[later], MARK: MARK})
    placements = pd.concat([now, nxt], ignore_index=True)
    return table, placements


def write_set(folder: Path, posts: pd.DataFrame, placements: pd.DataFrame,
              xlsx: bool = False) -> list[Path]:
    """SYNTHETIC_tis_posts and SYNTHETIC_tis_placements, as CSV (and .xlsx), each atomically."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, table in (("SYNTHETIC_tis_posts", posts), ("SYNTHETIC_tis_placements",
                                                         placements)):
        written.append(write_csv(table, folder / f"{name}.csv"))
        if xlsx:
            written.append(write_with(folder / f"{name}.xlsx", lambda p, t=table: t.to_excel(
                p, index=False, sheet_name=MARK, engine="xlsxwriter")))
    return written


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("synthetic_tis"))
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--as-of", default=AS_OF.isoformat(),
                    help="the records' date (YYYY-MM-DD): placements run from the last August "
                    "rotation before it")
    ap.add_argument("--area", action="append", help="only this local office's posts (e.g. "
                    "'North East'; repeat for more)")
    ap.add_argument("--xlsx", action="store_true", help="also write Excel workbooks")
    args = ap.parse_args()
    for area in args.area or []:
        if area not in OWNER:
            ap.error(f"--area {area!r}: expected one of {', '.join(OWNER)}")
    posts, placements = synthetic_records(args.seed, date.fromisoformat(args.as_of), args.area)
    for path in write_set(args.out, posts, placements, args.xlsx):
        print(f"wrote {path}")
    print(f"{len(posts):,} SYNTHETIC posts, {len(placements):,} SYNTHETIC placements "
          f"(seed {args.seed}, as of {args.as_of}): not real records")


if __name__ == "__main__":
    main()
