"""Trust-level tables for `fairshare posts`: the public baseline's trusts and their catchments.

``data/trust_posts.csv`` shares each ICB piece's baseline posts over the organisations that
employed its doctors in training on 30 September 2017, by their FTE (Hamilton), so trust posts
add up to the piece's posts exactly; ``data/trust_catchment.csv`` gives the share of each trust's
patients living in each ICB (geographr, from OHID catchments; 2022 trust codes reached through
ODS successors). Both are built by ``scripts/build_baseline.py`` (docs/posts.md).

``--trust-min FILE`` sets trusts' minimum viable units: org_code, min_posts and optionally
specialty (empty: every specialty of that trust). Every problem names the file, row and column.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from fairshare.errors import InputError, Problem
from fairshare.inputs.bundle import Bundle, data_dir
from fairshare.inputs.posts import cell_text, parse_count, read_table
from fairshare.names import did_you_mean

TRUST_FILE = "trust_posts.csv"
CATCHMENT_FILE = "trust_catchment.csv"
ORG_FILE = "nhs_org_icb.csv"
TRUST_BASIS = ("public baseline: NHS Digital staff in post, 30 Sept 2017; trust split modelled "
               "(area plan shared over trusts by catchment need, vacancies and minimum unit)")
OWN_POSTS_BASIS = ("your establishment; trust split modelled in proportion to the public 2017 "
                   "baseline's trust posts (area plan shared over trusts by catchment need, "
                   "vacancies and minimum unit)")


def load_trusts() -> pd.DataFrame:
    """area, specialty, org_code, org_name, icb_code, posts, fte, catchment_code."""
    folder = data_dir()
    trusts = pd.read_csv(folder / TRUST_FILE, dtype={"org_code": str, "specialty": str,
                                                     "catchment_code": str},
                         keep_default_na=False)
    orgs = pd.read_csv(folder / ORG_FILE, dtype=str, keep_default_na=False)
    orgs = orgs.set_index("org_code")
    out = trusts.assign(area=trusts["org_code"].map(orgs["local_office"]),
                        org_name=trusts["org_code"].map(orgs["org_name"]),
                        icb_code=trusts["org_code"].map(orgs["icb_code"]))
    out["fte"] = pd.to_numeric(out["fte"], errors="coerce")
    out["posts"] = out["posts"].astype("int64")
    return out[["area", "specialty", "org_code", "org_name", "icb_code", "posts", "fte",
                "catchment_code"]]


def load_orgs() -> pd.DataFrame:
    """org_code, org_name, icb_code, local_office: the NHS organisations (ODS) a post record's
    Employing body is matched to."""
    orgs = pd.read_csv(data_dir() / ORG_FILE, dtype=str, keep_default_na=False)
    return orgs[["org_code", "org_name", "icb_code", "local_office"]]


def catchment_codes() -> dict[str, str]:
    """org_code -> the code its catchment is filed under (2022 successor), where it has one."""
    trusts = pd.read_csv(data_dir() / TRUST_FILE, dtype=str, keep_default_na=False)
    known = trusts[trusts["catchment_code"] != ""].drop_duplicates("org_code")
    return dict(zip(known["org_code"], known["catchment_code"], strict=True))


def load_catchment() -> pd.DataFrame:
    """catchment_code, icb_code, share."""
    return pd.read_csv(data_dir() / CATCHMENT_FILE, dtype={"catchment_code": str,
                                                           "icb_code": str})


def read_trust_min(path: str | Path, trusts: pd.DataFrame,
                   specialties: list[str]) -> pd.DataFrame:
    """A user's minimum units: org_code, specialty ('' = every specialty), min_posts.

    Unknown trusts and specialties (with "did you mean"), counts that are not whole numbers
    and a trust × specialty given twice are all reported at once, by row and column.
    """
    return trust_min_table(read_table(path), str(path), trusts, specialties)


def trust_min_table(df: pd.DataFrame, name: str, trusts: pd.DataFrame,
                    specialties: list[str]) -> pd.DataFrame:
    """``read_trust_min`` of a table already read (``name`` is how messages call the file:
    the web app's upload reads the same columns with the same messages)."""
    missing = [c for c in ("org_code", "min_posts") if c not in df.columns]
    if missing:
        found = ", ".join(df.columns[:12])
        raise InputError([Problem(name, 1, c, f"required column missing: expected org_code, "
                                  f"min_posts and optionally specialty (found: {found})")
                          for c in missing])
    orgs = sorted(set(trusts["org_code"]))
    known = set(orgs)
    names = trusts.drop_duplicates("org_code").set_index("org_code")["org_name"]
    by_key = {s.lower(): s for s in specialties}
    problems: list[Problem] = []
    rows: list[tuple[str, str, int]] = []
    seen: dict[tuple[str, str], int] = {}
    for i, rec in enumerate(df.to_dict("records"), start=2):
        code = cell_text(rec.get("org_code")).upper()
        spec_raw = cell_text(rec.get("specialty", ""))
        spec = by_key.get(spec_raw.lower(), "") if spec_raw else ""
        count = parse_count(cell_text(rec.get("min_posts")))
        if code not in known:
            what = "empty" if not code else f"'{code}' is not a trust in the public baseline"
            problems.append(Problem(name, i, "org_code", f"{what}: expected an ODS code such as "
                                    f"{orgs[0]}{did_you_mean(code, orgs) if code else ''}"))
        if spec_raw and not spec:
            problems.append(Problem(name, i, "specialty", f"'{spec_raw}' is not a specialty"
                                    f"{did_you_mean(spec_raw, specialties)}; see `fairshare "
                                    "specialties` (leave empty for every specialty)"))
        if isinstance(count, str):
            problems.append(Problem(name, i, "min_posts", count))
        key = (code, spec)
        if key in seen and code in known:
            problems.append(Problem(name, i, "org_code", f"{code} ({names.get(code, '')}) "
                                    f"{spec or 'every specialty'} is given twice (rows "
                                    f"{seen[key]} and {i}): keep one"))
        seen.setdefault(key, i)
        if isinstance(count, int):
            rows.append((code, spec, count))
    if problems:
        raise InputError(problems)
    return pd.DataFrame(rows, columns=["org_code", "specialty", "min_posts"])


def trust_minimums(trusts: pd.DataFrame, default: int,
                   given: pd.DataFrame | None) -> pd.Series:
    """Each trust row's minimum unit: a file's row for that trust and specialty, else its row
    for every specialty, else the scenario default."""
    out = pd.Series(default, index=trusts.index, dtype="int64")
    if given is None or given.empty:
        return out
    every = given[given["specialty"] == ""].set_index("org_code")["min_posts"]
    own = given[given["specialty"] != ""].set_index(["org_code", "specialty"])["min_posts"]
    generic = trusts["org_code"].map(every)
    keys = pd.MultiIndex.from_frame(trusts[["org_code", "specialty"]])
    specific = pd.Series(own.reindex(keys).to_numpy(), index=trusts.index)
    return specific.fillna(generic).fillna(default).astype("int64")


def trust_basis(bundle: Bundle) -> dict[str, str]:
    """The basis of each specialty's trust rows: the baseline (or the user's file), modelled."""
    own = not bundle.posts_label.startswith("Public baseline")
    out = {}
    for spec in bundle.specialties["specialty"]:
        if spec in bundle.modelled:
            out[spec] = f"{bundle.basis.get(spec, '')}; no trust-level figure"
        else:
            out[spec] = OWN_POSTS_BASIS if own else TRUST_BASIS
    return out
