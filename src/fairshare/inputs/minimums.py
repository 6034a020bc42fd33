"""Minimum viable programme size: the per-specialty default and a user's per-area file.

No national minimum is published. The default in ``data/min_programme_size.csv`` is a stated
judgement: one trainee per programme year, so each stage of a programme has a trainee (teaching,
rota, peer support). A specialty the file does not list (another country's catalogue) gets the
same rule from its programme length. ``--min-posts FILE`` overrides it per area.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from fairshare.errors import FairshareError
from fairshare.inputs.bundle import Bundle, data_dir, data_folder, read_area_file
from fairshare.inputs.posts import Field, parse_area_rows, read_table

MIN_FILE = "min_programme_size.csv"


def default_min_posts(bundle: Bundle) -> pd.DataFrame:
    """specialty, min_posts, basis for every specialty of the bundle."""
    own = data_folder() / MIN_FILE
    path = own if own.exists() else data_dir() / MIN_FILE
    table = pd.read_csv(path)
    missing = [c for c in ("specialty", "min_posts") if c not in table.columns]
    if missing:
        raise FairshareError(f"{path}: column(s) {missing} missing; expected specialty, "
                             f"min_posts, basis")
    listed = table.set_index("specialty")
    rows = []
    for spec, years in zip(bundle.specialties["specialty"], bundle.specialties["programme_years"],
                           strict=True):
        if spec in listed.index:
            value = listed.loc[spec, "min_posts"]
            if pd.isna(value) or int(value) != value or value < 0:
                raise FairshareError(f"{path}: min_posts for {spec} must be a whole number "
                                     f">= 0, got {value!r}")
            rows.append((spec, int(value), str(listed.loc[spec].get("basis", ""))))
        else:
            rows.append((spec, int(years), "judgement: one trainee per programme year"))
    return pd.DataFrame(rows, columns=["specialty", "min_posts", "basis"])


def min_posts_table(bundle: Bundle, areas: pd.DataFrame, floor: int,
                    given: pd.DataFrame | None) -> pd.DataFrame:
    """area, specialty, min_posts for every area × specialty of ``areas``: the per-specialty
    default (or ``floor`` where higher), then the user's rows (area, specialty, min_posts)."""
    defaults = default_min_posts(bundle).set_index("specialty")["min_posts"]
    out = areas[["area", "specialty"]].drop_duplicates().copy()
    out["min_posts"] = out["specialty"].map(defaults).fillna(0).clip(lower=floor).astype("int64")
    if given is not None and len(given):
        keyed = given.set_index(["area", "specialty"])["min_posts"]
        keys = pd.MultiIndex.from_frame(out[["area", "specialty"]])
        override = keyed.reindex(keys).to_numpy()
        out["min_posts"] = pd.Series(override, index=out.index).fillna(out["min_posts"]).astype(
            "int64")
    return out.reset_index(drop=True)


def read_min_posts(path: str | Path, bundle: Bundle, level: str) -> pd.DataFrame:
    """A user's minimums: (local_office or icb), specialty, min_posts -> area, specialty,
    min_posts at the plan's level. A per-ICB file sums to local offices for a local-office plan;
    a per-local-office file cannot be split to ICBs."""
    fields = [Field("min_posts")]
    if level == "icb":
        clean, file_level = parse_area_rows(read_table(path), str(path),
                                            list(bundle.specialties["specialty"]),
                                            bundle.local_offices, bundle.icbs, fields)
        if file_level != "icb":
            raise FairshareError(f"{path}: a plan by ICB needs minimums per ICB (an 'icb' "
                                 f"column), not per local office")
        names = bundle.icbs.set_index("icb_code")["icb_name"]
        clean["area"] = clean["area"].map(names).fillna(clean["area"])
        return clean[["area", "specialty", "min_posts"]]
    table = read_area_file(path, bundle, fields)
    return table.rename(columns={"local_office": "area"})[["area", "specialty", "min_posts"]]
