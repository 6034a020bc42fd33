"""Baseline corrections: switchable fixes of the public baseline's counting artefacts.

The public baseline counts doctors in post by employing trust (docs/baseline.md). Some of what it
shows is how trusts code and where headquarters sit, not where training happens; some of it is
staff in post rather than funded posts. Each correction here is one switch of
``Scenario.baseline_corrections``, changes only the public baseline (a user's own establishment
is used as given) and appends what it did to the ``basis`` of every specialty it touches, so
each output row says so. Every step keeps whole posts; the three artefact corrections keep each
specialty's national total exactly (they move posts between areas), while the funded-posts and
GP-rotation views change a total on purpose and say by how much.

Pure apart from the small shipped tables read at the end (the embedded baseline's FTE, the
trusts placed by their sites and the fill rates, built by ``scripts/build_baseline.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from fairshare.apportionment import apportion
from fairshare.inputs.baseline import NHSD_PREFIX, PIECE, half_up
from fairshare.inputs.bundle import Bundle, data_dir
from fairshare.scenario import BaselineCorrections, Scenario

#: The group-1 medical specialties GIM registrars train dually with, as measured in issue 14
#: (the seven largest: 4,199 posts against GIM's 1,078). Smaller group-1 specialties
#: (rheumatology, GUM, clinical pharmacology, palliative medicine) often trained without GIM in
#: 2017 and are left out: a judgement, written down in docs/baseline.md.
GROUP1 = ("Acute Internal Medicine", "Cardiology", "Endocrinology and Diabetes",
          "Gastroenterology", "Geriatric Medicine", "Renal Medicine", "Respiratory Medicine")
GIM = "General Internal Medicine"
GP = "General Practice"
MODELLED = (GP, "Public Health Medicine")
#: GP trainees already coded as GP in the staff file (registrar and core grades, "General
#: Practice (GP) 6 month Training" and "General Med Practitioner"): 477.1 FTE (docs/baseline.md).
GP_CODED_FTE = 477
GP_PROGRAMME_MONTHS = 36
#: Where GP trainees' hospital posts sit, by the placement's programme: the usual GP-scheme
#: hospital rotations (obstetrics and gynaecology, paediatrics, psychiatry, emergency medicine,
#: medicine for older people) at core level (docs/baseline.md).
GP_ROTATIONS = ("Obstetrics and Gynaecology", "Paediatrics", "Core Psychiatry", "ACCS",
                "Internal Medicine Training")
TRUST_MOVES_FILE = "baseline_trust_moves.csv"
FILL_RATES_FILE = "baseline_fill_rates.csv"
CENSUS_2017 = "2017-09-30"
#: What separates a row's basis from the corrections applied to it.
CORRECTED = "; corrected: "


def is_public_baseline(bundle: Bundle) -> bool:
    """True when the establishment is the public baseline (embedded or rebuilt), per ICB piece."""
    bases = set(bundle.basis.values())
    return (not bundle.piece_posts.empty and bool(bases)
            and all(b.startswith((NHSD_PREFIX, "modelled")) for b in bases))


def corrected(bundle: Bundle, scenario: Scenario) -> Bundle:
    """The bundle with the scenario's baseline corrections applied (idempotent, memoised).

    A bundle already corrected for these settings is returned as it is; one corrected for
    other settings is corrected again from its uncorrected original. Each setting is computed
    once per loaded baseline (a web app or a Monte Carlo run asks for the same few again).
    """
    setting = scenario.baseline_corrections
    key = f"{setting.model_dump_json()}|{scenario.population_base}"
    if bundle.corrections_key == key:
        return bundle
    base = (bundle.uncorrected or bundle) if bundle.corrections_key else bundle
    if not is_public_baseline(base):
        return base
    memo = base.corrected_memo
    if any(hit.uncorrected is not base for hit in memo.values()):
        # a bundle made from another with ``dataclasses.replace`` shares its memo: its own
        # tables (changed by the replace) must be corrected afresh, not the original's
        memo = {}
        object.__setattr__(base, "corrected_memo", memo)
    if key not in memo:
        memo[key] = _correct(base, setting, scenario.population_base, key)
    return memo[key]


def _correct(base: Bundle, setting: BaselineCorrections, population_base: str,
             key: str) -> Bundle:
    grid = Grid.of(base)
    mat = grid.matrix(base.piece_posts)
    notes: dict[str, list[str]] = {}
    if setting.trust_sites and base.posts_date == CENSUS_2017:
        mat = trusts_by_sites(grid, mat, grid.matrix(embedded_fte(), "fte"), trust_moves(),
                              notes)
    if setting.gim == "group1_mix":
        mat = gim_by_group1(grid, mat, notes)
    if setting.modelled_spread == "need_base":
        weights = grid.icb_weights(need_base(base, population_base))
        for spec in MODELLED:
            if base.basis.get(spec, "").startswith("modelled"):
                mat = respread(grid, mat, spec, weights, notes,
                               f"spread again by {_BASE_NAMES[population_base]}, the base need "
                               "is measured on (replaces the spread above)")
    if setting.gp_hospital_months:
        mat = without_gp_rotations(grid, mat, setting.gp_hospital_months, notes)
    if setting.vacancies:
        mat = funded_posts(grid, mat, fill_rates(), notes)
    other = pd.DataFrame(columns=["local_office", "specialty", "posts", "funding"])
    if setting.non_movable_share:
        mat, held = non_movable(mat, setting.non_movable_share, grid, notes)
        other = grid.local_office_table(held).assign(
            funding="other (judgement: non_movable_share)")
    basis = {s: b + (CORRECTED + "; ".join(notes[s]) if notes.get(s) else "")
             for s, b in base.basis.items()}
    applied = setting.switched()
    label = base.posts_label + ("; baseline corrections: " + ", ".join(applied) if applied
                                else "; no baseline corrections")
    return replace(base, posts=grid.local_office_table(mat), piece_posts=grid.piece_table(mat),
                   other_funded=other, basis=basis, posts_label=label, uncorrected=base,
                   corrections_key=key, corrected_memo={})


_BASE_NAMES = {"ons_resident": "ONS mid-2022 residents", "registered": "GP registered lists"}


@dataclass(frozen=True)
class Grid:
    """Specialties x ICB pieces: the corrections work on one whole-post matrix of this shape."""

    specs: list[str]
    units: pd.DataFrame  # icb_code, local_office, share: every piece of the geography, sorted
    offices: list[str]
    office_of: np.ndarray  # (unit,) index into offices

    @classmethod
    def of(cls, bundle: Bundle) -> Grid:
        units = bundle.icb_local_office.sort_values(PIECE).reset_index(drop=True)
        offices = sorted(set(units["local_office"]))
        return cls(sorted(set(bundle.piece_posts["specialty"])), units, offices,
                   np.array([offices.index(o) for o in units["local_office"]]))

    def row(self, spec: str) -> int:
        return self.specs.index(spec)

    def matrix(self, table: pd.DataFrame, value: str = "posts") -> np.ndarray:
        """(spec, unit) values of a long table (icb_code, local_office, specialty, value)."""
        rows = pd.Index(self.specs).get_indexer(table["specialty"])
        keys = self.units["icb_code"] + "|" + self.units["local_office"]
        cols = pd.Index(keys).get_indexer(table["icb_code"] + "|" + table["local_office"])
        ok = (rows >= 0) & (cols >= 0)
        out = np.zeros((len(self.specs), len(self.units)),
                       dtype=np.int64 if value == "posts" else float)
        np.add.at(out, (rows[ok], cols[ok]), table[value].to_numpy()[ok])
        return out

    def icb_weights(self, by_icb: pd.Series) -> np.ndarray:
        """(unit,) an ICB figure split over its pieces by population share."""
        return (self.units["icb_code"].map(by_icb).fillna(0).to_numpy(float)
                * self.units["share"].to_numpy(float))

    def piece_table(self, mat: np.ndarray) -> pd.DataFrame:
        s, u = np.nonzero(mat)
        return pd.DataFrame({"icb_code": self.units["icb_code"].to_numpy()[u],
                             "local_office": self.units["local_office"].to_numpy()[u],
                             "specialty": np.array(self.specs, dtype=object)[s],
                             "posts": mat[s, u].astype(np.int64)})

    def local_office_table(self, mat: np.ndarray) -> pd.DataFrame:
        by_lo = np.zeros((len(self.specs), len(self.offices)), dtype=np.int64)
        np.add.at(by_lo.T, self.office_of, mat.T)
        s, o = np.nonzero(by_lo)
        return pd.DataFrame({"local_office": np.array(self.offices, dtype=object)[o],
                             "specialty": np.array(self.specs, dtype=object)[s],
                             "posts": by_lo[s, o]})


def _share(total: int, weights: np.ndarray) -> np.ndarray:
    """``total`` whole posts over ``weights`` by Hamilton (all zero weights: nothing placed)."""
    if total == 0 or weights.sum() <= 0:
        return np.zeros(len(weights), dtype=np.int64)
    return np.array(apportion(list(weights.astype(float)), int(total), method="hamilton"))


def trusts_by_sites(grid: Grid, mat: np.ndarray, fte: np.ndarray, moves: pd.DataFrame,
                    notes: dict[str, list[str]]) -> np.ndarray:
    """Move each listed trust's FTE from its headquarters piece to its sites' piece, then make
    the specialty whole again (Hamilton on FTE, national total unchanged)."""
    mat = mat.copy()
    index = {(i, lo): k for k, (i, lo) in enumerate(zip(grid.units["icb_code"],
                                                        grid.units["local_office"],
                                                        strict=True))}
    for spec, rows in moves.groupby("specialty", sort=True):
        if spec not in grid.specs:
            continue
        s = grid.row(str(spec))
        weights = fte[s].copy()
        for r in rows.itertuples(index=False):
            weights[index[(r.from_icb, r.from_office)]] -= r.fte
            weights[index[(r.to_icb, r.to_office)]] += r.fte
        mat[s] = _share(int(mat[s].sum()), np.clip(weights, 0, None))
        moved = ", ".join(f"{r.org_name} ({r.org_code}) {r.fte:g} FTE {r.from_office} -> "
                          f"{r.to_office}" for r in rows.itertuples(index=False))
        notes.setdefault(str(spec), []).append(f"trust placed by its sites: {moved}")
    return mat


def gim_by_group1(grid: Grid, mat: np.ndarray, notes: dict[str, list[str]]) -> np.ndarray:
    """GIM's national total shared over pieces in proportion to their group-1 posts."""
    if GIM not in grid.specs:
        return mat
    group1 = mat[[grid.row(s) for s in GROUP1 if s in grid.specs]].sum(axis=0)
    if group1.sum() <= 0:
        return mat  # no group-1 posts to split by: GIM stays as counted
    mat = mat.copy()
    g = grid.row(GIM)
    mat[g] = _share(int(mat[g].sum()), group1.astype(float))
    notes.setdefault(GIM, []).append("national GIM total split over areas by their posts in the "
                                     "seven group-1 specialties (coding habit, not a programme)")
    return mat


def need_base(bundle: Bundle, population_base: str) -> pd.Series:
    """Population per ICB on the base need is measured on (scenario.population_base)."""
    if population_base == "registered":
        wp = bundle.weighted_population
        return wp.set_index("icb_code")["population"].astype(float)
    return bundle.population.groupby("icb_code")["population"].sum().astype(float)


def respread(grid: Grid, mat: np.ndarray, spec: str, weights: np.ndarray,
             notes: dict[str, list[str]], how: str) -> np.ndarray:
    """A modelled specialty's national posts spread again over every ICB piece by ``weights``."""
    if spec not in grid.specs:
        return mat
    s = grid.row(spec)
    if weights.sum() <= 0:
        return mat  # no population to spread by: left as built
    spread = _share(int(mat[s].sum()), weights)
    if np.array_equal(spread, mat[s]):
        return mat  # already on this base (e.g. PH by residents): nothing touched, no note
    mat = mat.copy()
    mat[s] = spread
    notes.setdefault(spec, []).append(how)
    return mat


def without_gp_rotations(grid: Grid, mat: np.ndarray, months: int,
                         notes: dict[str, list[str]]) -> np.ndarray:
    """Take GP trainees in hospital posts out of the hospital specialties they are counted in.

    GP trainees in hospital posts = GP posts x months / 36; less the ones already coded as GP
    (477), they are removed from the usual rotation specialties (``GP_ROTATIONS``): in each
    piece in proportion to its GP posts (trainees rotate within their GP scheme), and within a
    piece over the rotation specialties in proportion to their posts, never below zero.
    """
    if GP not in grid.specs:
        return mat
    gp = mat[grid.row(GP)].astype(float)
    remove = max(0, half_up(gp.sum() * months / GP_PROGRAMME_MONTHS) - GP_CODED_FTE)
    rows = [grid.row(s) for s in GP_ROTATIONS if s in grid.specs]
    rot = mat[rows].astype(float)
    if remove == 0 or rot.sum() == 0:
        return mat
    weights = (gp * rot / np.maximum(rot.sum(axis=0), 1)).ravel()
    cut = np.minimum(_share(remove, weights).reshape(rot.shape), mat[rows])
    mat = mat.copy()
    mat[rows] -= cut
    for k, s in enumerate(rows):
        notes.setdefault(grid.specs[s], []).append(
            f"sensitivity: {int(cut[k].sum()):,} posts taken out as GP trainees on hospital "
            f"rotation ({months} of {GP_PROGRAMME_MONTHS} months in hospital; "
            f"{int(cut.sum()):,} in all)")
    return mat


def funded_posts(grid: Grid, mat: np.ndarray, rates: pd.DataFrame,
                 notes: dict[str, list[str]]) -> np.ndarray:
    """Modelled funded posts: staff in post / England fill rate, where a fill rate is published.

    The rate is national, so every area of a specialty is scaled alike (Hamilton on its posts);
    a specialty without a published rate is left as counted (its fill rate is unknown).
    """
    mat = mat.copy()
    for r in rates.itertuples(index=False):
        if r.specialty not in grid.specs or r.fill_rate >= 1:
            continue
        s = grid.row(str(r.specialty))
        mat[s] = _share(half_up(mat[s].sum() / r.fill_rate), mat[s].astype(float))
        notes.setdefault(str(r.specialty), []).append(
            f"modelled funded posts: staff in post / England fill rate {r.fill_rate:.1%} "
            f"({r.accepts} of {r.posts} {r.levels} posts, {r.year})")
    return mat


def non_movable(mat: np.ndarray, share: float, grid: Grid,
                notes: dict[str, list[str]]) -> tuple[np.ndarray, np.ndarray]:
    """A judgement share of every specialty's posts set aside as funded otherwise (never moved):
    (movable posts, posts held) per specialty x piece."""
    held = np.zeros_like(mat)
    for s, spec in enumerate(grid.specs):
        held[s] = _share(half_up(mat[s].sum() * share), mat[s].astype(float))
        notes.setdefault(spec, []).append(
            f"judgement: {share:.0%} of posts funded otherwise, shown and never moved")
    return mat - held, held


def corrected_trusts(trusts: pd.DataFrame, bundle: Bundle) -> pd.DataFrame:
    """The trust rows of ``fairshare posts`` (inputs/trusts.py) under the bundle's corrections.

    Trust posts must add up to the area posts the plan starts from. A trust placed by its sites
    moves with its rows (area and ICB); GIM's trust rows follow the trusts' group-1 posts, as
    the area figures do; then each area x specialty is made whole again on the corrected area
    total (Hamilton on the trusts' posts). A bundle without corrections is left as it is.
    """
    if not bundle.corrections_key:
        return trusts
    setting = BaselineCorrections.model_validate_json(bundle.corrections_key.split("|")[0])
    out = trusts.copy()
    if setting.trust_sites and bundle.posts_date == CENSUS_2017:
        moves = trust_moves().drop_duplicates("org_code").set_index("org_code")
        hit = out["org_code"].isin(moves.index)
        out.loc[hit, "area"] = out.loc[hit, "org_code"].map(moves["to_office"])
        out.loc[hit, "icb_code"] = out.loc[hit, "org_code"].map(moves["to_icb"])
    if setting.gim == "group1_mix":
        out = _gim_trusts(out)
    total = bundle.posts.set_index(["local_office", "specialty"])["posts"]
    parts = []
    for (area, spec), rows in out.groupby(["area", "specialty"], sort=True):
        rows = rows.sort_values("org_code")
        want = int(total.get((area, spec), 0))
        parts.append(rows.assign(posts=_share(want, rows["posts"].to_numpy(float))
                                 if rows["posts"].sum() > 0 else rows["posts"]))
    return pd.concat(parts, ignore_index=True) if parts else out


def _gim_trusts(trusts: pd.DataFrame) -> pd.DataFrame:
    """GIM rows replaced by one row per trust holding group-1 posts, weighted by them."""
    group1 = trusts[trusts["specialty"].isin(GROUP1)]
    if group1.empty:
        return trusts
    keys = ["area", "org_code"]
    weights = group1.groupby(keys, as_index=False)["posts"].sum()
    about = trusts.drop_duplicates(keys).set_index(keys).drop(columns=["specialty", "posts"])
    rows = weights.join(about, on=keys).assign(specialty=GIM)
    if "fte" in rows.columns:
        rows["fte"] = np.nan  # no counted FTE: a share of the area's pooled GIM posts
    rest = trusts[trusts["specialty"] != GIM]
    return pd.concat([rest, rows[trusts.columns]], ignore_index=True)


# --------------------------------------------------------------------------------------------
# the shipped tables (built by scripts/build_baseline.py)


@cache
def embedded_fte() -> pd.DataFrame:
    """FTE per ICB piece x programme of the embedded baseline (counted rows only)."""
    df = pd.read_csv(data_dir() / "baseline_posts.csv",
                     dtype={"icb_code": str, "local_office": str, "specialty": str})
    return df[df["fte"].notna()][[*PIECE, "specialty", "fte"]]


@cache
def trust_moves(folder: Path | None = None) -> pd.DataFrame:
    """Trusts placed by their sites: FTE per programme, from and to (baseline_trust_moves.csv)."""
    return pd.read_csv((folder or data_dir()) / TRUST_MOVES_FILE, dtype={"org_code": str})


@cache
def fill_rates(folder: Path | None = None) -> pd.DataFrame:
    """England fill rates per programme where published (baseline_fill_rates.csv)."""
    return pd.read_csv((folder or data_dir()) / FILL_RATES_FILE)
