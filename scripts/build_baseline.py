#!/usr/bin/env python
"""Build the public baseline ``src/fairshare/data/baseline_posts.csv`` and its organisation lookup.

Usage::

    .venv/bin/python scripts/build_baseline.py [--shared ../shared/data]

Inputs (all in the shared raw data, provenance in its SOURCES.md):

* ``workforce/nhsd_medical_staff_2017/``: NHS Digital staff in post, 30 Sept 2017, with the 2017
  HEE local office of every organisation (``nhs_provider.csv``, ``hee_region.csv``);
* ``geography/ods/``: ODS trusts and CCGs (each one's current ICB), successors;
* for the modelled programmes: national entry numbers (``workforce/``), GP-practice registered
  patients (``other/``) and ONS population (the embedded ``population_mid2022.csv``).

Outputs (deterministic, byte-identical on rebuild): ``nhs_org_icb.csv`` (organisation -> ICB
piece), ``baseline_posts.csv`` (icb_code, local_office, specialty, fte, posts, basis), the
inputs of two baseline corrections: ``baseline_trust_moves.csv`` (trusts placed by their sites)
and ``baseline_fill_rates.csv`` (England fill rates for the funded-posts view),
``consultants.csv`` (consultant FTE per ICB piece x specialty, for ``fairshare scarcity``), and for
``fairshare posts`` (docs/posts.md) ``trust_posts.csv`` (each piece's posts shared over its
organisations by FTE, with the 2022 trust code of its catchment) and ``trust_catchment.csv``
(share of each 2022 trust's patients by ICB, geographr, ICB codes moved to 2023). The
specialty x grade -> programme map ``nhsd_programme_map.csv`` is hand-written and only read here.
Hand-written structure (no numbers): the 13 -> 11 local-office names below, and the ICBs of the
three care trusts absent from ODS, copied from SOURCES.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from fairshare.inputs.baseline import (  # noqa: E402
    Modelled,
    build_baseline,
    build_trust_posts,
    consultant_fte,
    half_up,
    map_programmes,
    piece_for,
    place,
    posts_csv,
    read_programme_map,
    read_staff,
)

DATA = REPO / "src" / "fairshare" / "data"
DEFAULT_SHARED = REPO.parent / "shared" / "data"
STAFF = Path("workforce/nhsd_medical_staff_2017")

# 2017 HEE local offices (hee_region.csv) -> today's local offices: London's three become one.
HEE_OFFICES = {
    "Health Education East Midlands": "East Midlands",
    "Health Education East of England": "East of England",
    "Health Education Yorkshire and the Humber": "Yorkshire and the Humber",
    "Health Education Wessex": "Wessex",
    "Health Education Thames Valley": "Thames Valley",
    "Health Education North West London": "London",
    "Health Education South London": "London",
    "Health Education North Central and East London": "London",
    "Health Education Kent, Surrey and Sussex": "Kent Surrey and Sussex",
    "Health Education North East": "North East",
    "Health Education North West": "North West",
    "Health Education West Midlands": "West Midlands",
    "Health Education South West": "South West",
}
# Care trusts of 2017 in neither ODS extract: their ICBs as listed in SOURCES.md (geography/ods).
CARE_TRUSTS = {"TAD": "QWO", "TAF": "QMJ", "TAH": "QF7", "TAJ": "QUA"}

GP_BASIS = ("modelled: England GP ST1 acceptances {years} (mean {mean:,}) x 3 years; "
            "spread by GP-practice list population, NHS England 2025/26")
PH_BASIS = ("modelled: national Public Health entry posts {years} (mean {mean:,}) x 5 years; "
            "spread by ONS mid-2022 population")


def log(msg: str) -> None:
    print(msg, flush=True)


def check(cond: bool, msg: str) -> None:
    if not cond:
        raise SystemExit(f"CHECK FAILED: {msg}")


def write(out: Path, name: str, text: str) -> None:
    path = out / name
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    log(f"wrote {path} ({path.stat().st_size:,} bytes)")


# --------------------------------------------------------------------------------------------
# organisation lookup


def read_ods(shared: Path) -> pd.DataFrame:
    """ODS trusts and CCGs: code, name, ICB ODS code, which extract."""
    parts = []
    for fname in ("etr_2025.csv", "eccg_2025.csv"):
        raw = pd.read_csv(shared / "geography/ods" / fname, header=None, dtype=str,
                          keep_default_na=False)
        parts.append(pd.DataFrame({"org_code": raw[0], "name": raw[1], "icb_ods": raw[3],
                                   "source": f"ODS {fname.removesuffix('.csv')}"}))
    ods = pd.concat(parts)
    check(not ods["org_code"].duplicated().any(), "ODS codes are unique")
    return ods.set_index("org_code")


def read_providers(shared: Path) -> pd.DataFrame:
    """2017 organisations: code, name, type and today's name of their 2017 HEE local office."""
    prov = pd.read_csv(shared / STAFF / "nhs_provider.csv", dtype=str, encoding="utf-8-sig")
    prov = prov.apply(lambda s: s.str.strip())
    hee = pd.read_csv(shared / STAFF / "hee_region.csv", dtype=str, encoding="utf-8-sig")
    names = hee.set_index("HEE_REGION_CODE")["HEE_REGION_NAME"]
    prov["office"] = prov["HEE_REGION_CODE"].map(names).map(HEE_OFFICES)
    check(prov["office"].notna().all(), "every 2017 organisation has a HEE local office")
    return prov.set_index("ORG_CODE")


def successor_icb(code: str, succ: dict[str, str], ods: pd.DataFrame) -> tuple[str, str] | None:
    """The ICB of the first successor of ``code`` that ODS knows, following mergers."""
    seen = code
    for _ in range(6):
        nxt = succ.get(seen)
        if nxt is None:
            return None
        if nxt in ods.index:
            return str(ods.at[nxt, "icb_ods"]), f"ODS successor {nxt}"
        seen = nxt
    return None


def icb_of(code: str, ods: pd.DataFrame, succ: dict[str, str]) -> tuple[str, str]:
    """(ICB ODS code, where it came from): own ODS row, else a successor, else SOURCES.md."""
    if code in ods.index:
        return str(ods.at[code, "icb_ods"]), str(ods.at[code, "source"])
    found = successor_icb(code, succ, ods)
    if found:
        return found
    if code in CARE_TRUSTS:
        return CARE_TRUSTS[code], "care trust ICB as listed in shared SOURCES.md"
    return "", "not found"


def build_org_lookup(shared: Path, icbs: pd.DataFrame, ilo: pd.DataFrame) -> pd.DataFrame:
    """Every 2017 organisation and every ODS trust/CCG -> ICB piece (icb_code, local_office)."""
    ods, prov = read_ods(shared), read_providers(shared)
    raw = pd.read_csv(shared / "geography/ods/succ_2026.csv", header=None, dtype=str)
    raw = raw.sort_values([0, 3])  # the latest successor of each code wins
    succ = dict(zip(raw[0], raw[1], strict=True))
    to_icb = icbs.set_index("icb_ods")["icb_code"]
    rows = []
    for code in sorted(set(ods.index) | set(prov.index)):
        icb_ods, source = icb_of(code, ods, succ)
        office = str(prov.at[code, "office"]) if code in prov.index else ""
        name = str(prov.at[code, "ORG_NAME"]) if code in prov.index else str(ods.at[code, "name"])
        if icb_ods not in to_icb.index:  # kept so a later file's row is reported by name
            check(code not in prov.index, f"2017 organisation {code} has no English ICB")
            rows.append({"org_code": code, "org_name": name, "icb_code": "",
                         "hee_office_2017": office, "local_office": "",
                         "placement": f"not placed: ODS gives no English ICB ({source})"})
            continue
        lo, how = piece_for(str(to_icb[icb_ods]), office, ilo)
        rows.append({"org_code": code, "org_name": name, "icb_code": to_icb[icb_ods],
                     "hee_office_2017": office, "local_office": lo,
                     "placement": f"{how} ({source})"})
    for icb in icbs.itertuples(index=False):  # an ICB itself as employer (later files)
        if icb.icb_ods not in set(ods.index) | set(prov.index):
            lo, _ = piece_for(str(icb.icb_code), "", ilo)
            rows.append({"org_code": icb.icb_ods, "org_name": icb.icb_name,
                         "icb_code": icb.icb_code, "hee_office_2017": "", "local_office": lo,
                         "placement": "an ICB: its main local office (icbs.csv)"})
    out = pd.DataFrame(rows).sort_values("org_code", kind="mergesort")
    check(not out["org_code"].duplicated().any(), "one row per organisation code")
    check(set(prov.index) <= set(out["org_code"]), "every 2017 organisation is placed")
    if "TAF" in ods.index or "TAF" in out["org_code"].to_numpy():
        taf = out.set_index("org_code").at["TAF", "icb_code"]
        check(taf == to_icb[CARE_TRUSTS["TAF"]], "TAF successor agrees with SOURCES.md")
    return out


# --------------------------------------------------------------------------------------------
# trust level (fairshare posts, docs/posts.md)

CATCHMENT = "geography/lookup_nhs_trusts22_icb22_catchment_share.csv"
ICB_CROSSWALK = "geography/lookup_icb_codes_2022_2023_2024_ods_nhser.csv"


def successors(shared: Path) -> dict[str, str]:
    """Predecessor -> latest successor organisation code (ODS succ_2026)."""
    raw = pd.read_csv(shared / "geography/ods/succ_2026.csv", header=None, dtype=str)
    raw = raw.sort_values([0, 3])  # the latest successor of each code wins
    return dict(zip(raw[0], raw[1], strict=True))


def catchment_code(code: str, known: set[str], succ: dict[str, str]) -> str:
    """The 2022 trust code whose catchment a 2017 organisation has: itself, else its first
    successor in the catchment table, else '' (no catchment: the planner uses its own ICB)."""
    seen = code
    for _ in range(8):
        if seen in known:
            return seen
        nxt = succ.get(seen)
        if nxt is None:
            return ""
        seen = nxt
    return ""


def trust_catchment(shared: Path) -> pd.DataFrame:
    """catchment_code, icb_code (2023 codes), share: where each 2022 trust's patients live."""
    raw = pd.read_csv(shared / CATCHMENT, dtype={"nhs_trust22_code": str, "icb22_code": str})
    walk = pd.read_csv(shared / ICB_CROSSWALK, dtype=str)
    to23 = dict(zip(walk.iloc[:, 1], walk.iloc[:, 2], strict=True))
    out = pd.DataFrame({"catchment_code": raw["nhs_trust22_code"],
                        "icb_code": raw["icb22_code"].map(to23).fillna(raw["icb22_code"]),
                        "share": raw["proportion_trust_came_from_icb"].round(6)})
    out = out.groupby(["catchment_code", "icb_code"], as_index=False)["share"].sum()
    return out[out["share"] > 0].sort_values(["catchment_code", "icb_code"])


def trust_table(shared: Path, staff: pd.DataFrame, orgs: pd.DataFrame, posts: pd.DataFrame,
                catchment: pd.DataFrame) -> pd.DataFrame:
    """Trust posts per programme with each organisation's catchment code (its name and ICB
    piece are in nhs_org_icb.csv)."""
    trusts = build_trust_posts(staff, read_programme_map(DATA / "nhsd_programme_map.csv"), orgs,
                               posts)
    counted = posts[posts["fte"].notna()].groupby(["specialty", "icb_code", "local_office"])
    check(trusts.groupby(["specialty", "icb_code", "local_office"])["posts"].sum()
          .equals(counted["posts"].sum()), "trust posts add up to every counted piece")
    known, succ = set(catchment["catchment_code"]), successors(shared)
    trusts = trusts[["org_code", "specialty", "fte", "posts"]].copy()  # name, piece: nhs_org_icb
    trusts["catchment_code"] = [catchment_code(c, known, succ) for c in trusts["org_code"]]
    trusts["fte"] = trusts["fte"].map(lambda v: f"{v:.5f}")
    return trusts


def consultants_csv(consultants: pd.DataFrame) -> str:
    """Consultant FTE per ICB piece x specialty for ``fairshare scarcity`` (deterministic)."""
    out = consultants.copy()
    out["fte"] = out["fte"].map(lambda v: f"{v:.5f}")
    return str(out.to_csv(index=False, lineterminator="\n"))


# --------------------------------------------------------------------------------------------
# modelled programmes


def piece_weights(by_icb: pd.Series, ilo: pd.DataFrame) -> pd.DataFrame:
    """ICB weights spread over ICB pieces by the pieces' shares (icb_local_office.csv)."""
    w = ilo.assign(weight=ilo["icb_code"].map(by_icb) * ilo["share"])
    check(w["weight"].notna().all(), "every ICB has a weight")
    return w[["icb_code", "local_office", "weight"]]


def mean_text(values: list[int]) -> tuple[int, str, float]:
    mean = sum(values) / len(values)
    return len(values), str(mean), mean


def general_practice(shared: Path, icbs: pd.DataFrame, ilo: pd.DataFrame) -> Modelled:
    """GP: England ST1 acceptances of the cohorts in post in Sept 2017, x 3 years."""
    nat = pd.read_csv(shared / "workforce/national_training_posts_by_specialty_year.csv")
    rows = nat[(nat["geography"] == "England") & (nat["specialty"] == "General Practice")
               & nat["accepts"].notna() & nat["year"].between(2015, 2017)]
    check(len(rows) >= 1, "England GP acceptances for 2015-2017")
    mean = float(rows["accepts"].mean())
    years = "-".join(str(y) for y in sorted(rows["year"]))
    prac = pd.read_csv(shared / "other/nhse_allocations_gp_practice_weighted_pop_2025_26.csv",
                       encoding="utf-8-sig")
    patients = prac.groupby("ICB")["Population"].sum()
    by_icb = patients.rename(index=icbs.set_index("icb_ods")["icb_code"])
    return Modelled("General Practice", half_up(mean * 3), piece_weights(by_icb, ilo),
                    GP_BASIS.format(years=years, mean=round(mean, 2)))


def public_health(shared: Path, ilo: pd.DataFrame) -> Modelled:
    """Public health: national entry posts of the cohorts in post in Sept 2017, x 5 years."""
    cr = pd.read_csv(shared / "workforce/competition_ratios_2012_2016/"
                     "CompetitionRatios2013-2016.csv")
    rows = cr[(cr["Specialty"] == "Public Health") & cr["Year"].between(2013, 2017)]
    check(len(rows) >= 1, "Public Health entry posts 2013-2017")
    mean = float(rows["Posts"].mean())
    years = f"{rows['Year'].min()}-{rows['Year'].max()}"
    pop = pd.read_csv(DATA / "population_mid2022.csv").groupby("icb_code")["population"].sum()
    return Modelled("Public Health Medicine", half_up(mean * 5), piece_weights(pop, ilo),
                    PH_BASIS.format(years=years, mean=round(mean, 2)))


# --------------------------------------------------------------------------------------------
# baseline corrections: trusts placed by their sites, and fill rates (docs/baseline.md)

SITES_RULE = ("trust by sites: 2017 HEE office {office} holds no piece of its headquarters ICB "
              "(ODS 2025: {hq}); the 2022 ODS extract placed it in the ICS of {to} "
              "({to_name}), where that office holds a piece")


def ods_2022_icb(shared: Path) -> dict[str, str]:
    """Organisation code -> ICS code in the 2021-22 ODS trust extract (column 4; each ICB kept
    its ICS's code in July 2022, so it names today's ICB)."""
    raw = pd.read_csv(shared / "geography/ods/etr_2022.csv", header=None, dtype=str,
                      keep_default_na=False)
    return dict(zip(raw[0], raw[3], strict=True))


def trust_moves(shared: Path, orgs: pd.DataFrame, placed: pd.DataFrame, icbs: pd.DataFrame,
                ilo: pd.DataFrame) -> pd.DataFrame:
    """FTE per programme of every trust the sites rule moves, with where from and where to.

    Rule: an organisation whose 2017 HEE local office holds no piece of its headquarters ICB
    (ODS 2025) is placed in the ICB of the ICS that the 2022 ODS extract gave it (column 4; its
    own code, else its successor's), when the 2017 office holds a piece of that ICB: two public
    records then agree that its training sits there. Otherwise the headquarters placement stands.
    """
    icb22 = ods_2022_icb(shared)
    raw = pd.read_csv(shared / "geography/ods/succ_2026.csv", header=None, dtype=str)
    succ = dict(zip(raw.sort_values([0, 3])[0], raw.sort_values([0, 3])[1], strict=True))
    to_icb = icbs.set_index("icb_ods")["icb_code"]
    names = icbs.set_index("icb_code")["icb_name"]
    rows = []
    for org in orgs[orgs["hee_office_2017"] != ""].itertuples(index=False):
        pieces = ilo[ilo["icb_code"] == org.icb_code]
        if org.hee_office_2017 in set(pieces["local_office"]):
            continue  # the 2017 office and the headquarters ICB agree
        code = org.org_code
        while code not in icb22 and code in succ:
            code = succ[code]
        target = to_icb.get(icb22.get(code, ""), "")
        offices = set(ilo.loc[ilo["icb_code"] == target, "local_office"])
        if org.hee_office_2017 not in offices:
            continue  # no second record for the 2017 office: the headquarters ICB stands
        fte = placed[placed["ORG_CODE"] == org.org_code].groupby("programme")["FTE"].sum()
        rule = SITES_RULE.format(office=org.hee_office_2017, hq=names[org.icb_code],
                                 to=target, to_name=names[target])
        rows += [{"org_code": org.org_code, "org_name": org.org_name, "specialty": spec,
                  "fte": round(float(f), 5), "from_icb": org.icb_code,
                  "from_office": org.local_office, "to_icb": target,
                  "to_office": org.hee_office_2017, "rule": rule}
                 for spec, f in sorted(fte.items()) if f > 0]
    return pd.DataFrame(rows, columns=["org_code", "org_name", "specialty", "fte", "from_icb",
                                       "from_office", "to_icb", "to_office", "rule"])


# Catalogue programme -> the HEE fill-rate names of its entry rounds (fill_rates_partial/).
FILL_NAMES = {
    "ACCS": ["ACCS Emergency Medicine"],
    "Acute Internal Medicine": ["Acute Internal Medicine"],
    "Anaesthetics (higher)": ["Anaesthetics"],
    "Audiovestibular Medicine": ["Audiovestibular Medicine"],
    "Cardiology": ["Cardiology"],
    "Cardiothoracic Surgery": ["Cardiothoracic Surgery"],
    "Child and Adolescent Psychiatry": ["Child and Adolescent Psychiatry"],
    "Clinical Genetics": ["Clinical Genetics"],
    "Clinical Neurophysiology": ["Clinical Neurophysiology"],
    "Clinical Oncology": ["Clinical Oncology"],
    "Clinical Pharmacology and Therapeutics": ["Clinical Pharmacology and Therapeutics"],
    "Clinical Radiology": ["Clinical Radiology"],
    "Community Sexual and Reproductive Health": ["Community Sexual and Reproductive Health"],
    "Core Anaesthetics": ["ACCS Anaesthetics/Core Anaesthetics"],
    "Infectious Diseases": ["Combined Infection Training"],
    "Internal Medicine Training": ["ACCS Acute Medicine/Core Medical Training"],
    "Medical Microbiology": ["Combined Infection Training"],
    "Medical Virology": ["Combined Infection Training"],
}
FILL_YEARS = (2018, 2013)  # nearest to the Sept 2017 census first


def fill_rates(shared: Path) -> pd.DataFrame:
    """England fill rate (accepts / posts, every entry level of one round) per programme.

    The first year of ``FILL_YEARS`` with posts and accepts for the programme's names wins.
    The source is partial (the stored pages stop at "Combined Infection Training"): a
    programme not listed here has an unknown fill rate, never 100 %.
    """
    fr = pd.read_csv(shared / "workforce/fill_rates_partial/national_posts_fill_rates_tidy.csv")
    fr = fr[(fr["geography"] == "England") & fr["posts"].notna() & fr["accepts"].notna()]
    rows = []
    for spec, names in FILL_NAMES.items():
        for year in FILL_YEARS:
            mine = fr[fr["specialty"].isin(names) & (fr["year"] == year)]
            if mine.empty:
                continue
            posts, accepts = int(mine["posts"].sum()), int(mine["accepts"].sum())
            rows.append({"specialty": spec, "year": year,
                         "levels": "+".join(sorted(set(mine["level"]))), "posts": posts,
                         "accepts": accepts, "fill_rate": round(accepts / posts, 4),
                         "source": f"{mine['source_publisher'].iat[0]} {year} England fill "
                                   f"rates ({', '.join(names)})",
                         "source_url": mine["source_url"].iat[0]})
            break
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# plausibility: stock / programme length against national entry posts (docs/baseline.md)

# Catalogue programme -> the names its national entry posts go by in the shared workforce files.
ENTRY_NAMES = {
    "ACCS": ["ACCS Emergency Medicine", "ACCS EM"],
    "Acute Internal Medicine": ["Acute Internal Medicine"],
    "Allergy and Immunology": ["Allergy", "Immunology"],
    "Anaesthetics (higher)": ["Anaesthetics"],
    "Audiovestibular Medicine": ["Audiovestibular Medicine"],
    "Cardiology": ["Cardiology"],
    "Cardiothoracic Surgery": ["Cardiothoracic Surgery"],
    "Child and Adolescent Psychiatry": ["Child and Adolescent Psychiatry"],
    "Clinical Genetics": ["Clinical Genetics"],
    "Clinical Neurophysiology": ["Clinical Neurophysiology"],
    "Clinical Oncology": ["Clinical Oncology"],
    "Clinical Pharmacology and Therapeutics": ["Clinical Pharmacology and Therapeutics"],
    "Clinical Radiology": ["Clinical Radiology"],
    "Community Sexual and Reproductive Health": ["Community Sexual and Reproductive Health"],
    "Core Anaesthetics": ["ACCS Anaesthetics/Core Anaesthetics"],
    "Core Psychiatry": ["Core Psychiatry Training"],
    "Core Surgery": ["Core Surgical Training"],
    "Dermatology": ["Dermatology"],
    "Endocrinology and Diabetes": ["Endocrinology and Diabetes Mellitus"],
    "Gastroenterology": ["Gastroenterology"],
    "General Practice": ["General Practice"],
    "Genito-urinary Medicine": ["Genitourinary Medicine"],
    "Geriatric Medicine": ["Geriatric Medicine"],
    "Haematology": ["Haematology"],
    "Histopathology": ["Histopathology"],
    "Internal Medicine Training": ["ACCS Acute Medicine/Core Medical Training",
                                   "Core Medical Training (including ACCS Acute Medicine)"],
    "Medical Microbiology": ["Medical Microbiology"],
    "Medical Oncology": ["Medical Oncology"],
    "Medical Ophthalmology": ["Medical Ophthalmology"],
    "Neurosurgery": ["Neurosurgery"],
    "Obstetrics and Gynaecology": ["Obstetrics and Gynaecology"],
    "Ophthalmology": ["Ophthalmology"],
    "Oral and Maxillofacial Surgery": ["Oral and Maxillofacial Surgery"],
    "Paediatrics": ["Paediatrics"],
    "Public Health Medicine": ["Public Health"],
    "Trauma and Orthopaedic Surgery": ["Trauma and Orthopaedic Surgery"],
}


def entry_rows(shared: Path) -> pd.DataFrame:
    """Every national entry-post figure in the shared files: name, year, posts, source, England?"""
    wf = shared / "workforce"
    nat = pd.read_csv(wf / "national_training_posts_by_specialty_year.csv")
    nat = nat[nat["posts"].notna() & ~nat["entry_level"].str.contains("all training years")]
    parts = [pd.DataFrame({"name": nat["specialty"], "year": nat["year"], "posts": nat["posts"],
                           "source": nat["source_id"],
                           "england": nat["geography"].str.startswith("England")
                           & ~nat["geography"].str.contains("Scotland")})]
    for fname in ("CompetitionRatios2012.csv", "CompetitionRatios2013-2016.csv"):
        cr = pd.read_csv(wf / "competition_ratios_2012_2016" / fname)
        parts.append(pd.DataFrame({"name": cr["Specialty"], "year": cr["Year"],
                                   "posts": cr["Posts"], "source": fname.removesuffix(".csv"),
                                   "england": False}))
    lo = pd.read_csv(wf / "training_posts_by_specialty_local_office_england.csv")
    lo = lo[lo["measure"] == "posts_offered"]
    lo = lo.groupby(["specialty", "entry_round_year", "source_id"], as_index=False)["value"].sum()
    parts.append(pd.DataFrame({"name": lo["specialty"], "year": lo["entry_round_year"],
                               "posts": lo["value"], "source": lo["source_id"], "england": True}))
    return pd.concat(parts, ignore_index=True)


def entry_posts(rows: pd.DataFrame, names: list[str]) -> tuple[float, str] | None:
    """The entry posts of one programme: the source-year covering most of its names, England
    first, nearest to 2017; all entry levels of that source-year added (e.g. CTS ST1 + ST3)."""
    mine = rows[rows["name"].isin(names)]
    if mine.empty:
        return None
    groups = mine.groupby(["source", "year"]).agg(posts=("posts", "sum"),
                                                  names=("name", "nunique"),
                                                  england=("england", "all")).reset_index()
    groups["distance"] = (groups["year"] - 2017).abs()
    best = groups.sort_values(["names", "england", "distance", "year"],
                              ascending=[False, False, True, True]).iloc[0]
    where = "England" if best["england"] else "national recruitment"
    return float(best["posts"]), f"{best['source']} {best['year']} ({where})"


def plausibility(shared: Path, posts: pd.DataFrame) -> pd.DataFrame:
    """Stock / programme length against entry posts, per programme in the baseline."""
    specs = pd.read_csv(DATA / "specialties.csv").set_index("specialty")["programme_years"]
    stock = posts.groupby("specialty")["posts"].sum()
    rows, found = [], entry_rows(shared)
    for spec, total in stock.items():
        years = int(specs[spec])
        entry = entry_posts(found, ENTRY_NAMES.get(str(spec), []))
        ratio = total / years / entry[0] if entry else None
        rows.append({"specialty": spec, "stock": int(total), "years": years,
                     "per_year": total / years, "entry": entry[0] if entry else None,
                     "source": entry[1] if entry else "none in shared data", "ratio": ratio})
    return pd.DataFrame(rows)


def plausibility_markdown(table: pd.DataFrame) -> str:
    """The table's rows as markdown, with an empty explanation column to fill in by hand."""
    lines = []
    for r in table.itertuples(index=False):
        entry = "—" if r.entry is None or pd.isna(r.entry) else f"{r.entry:,.0f}"
        ratio = "—" if r.ratio is None or pd.isna(r.ratio) else f"{r.ratio:.2f}"
        flag = "" if ratio != "—" and 0.5 <= float(ratio) <= 2 else " **"
        lines.append(f"| {r.specialty} | {r.stock:,} | {r.years} | {r.per_year:,.1f} | {entry} "
                     f"| {r.source} | {ratio}{flag} | |")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", type=Path, default=DEFAULT_SHARED,
                    help=f"folder holding the shared raw data (default: {DEFAULT_SHARED})")
    ap.add_argument("--out", type=Path, default=DATA,
                    help="folder to write the two files to (default: the package data folder)")
    ap.add_argument("--plausibility", action="store_true",
                    help="also print the plausibility table rows for docs/baseline.md")
    args = ap.parse_args(argv)
    shared, out = args.shared.resolve(), args.out
    if not (shared / "SOURCES.md").is_file():
        raise SystemExit(f"no shared data at {shared} (expected SOURCES.md there)")
    icbs = pd.read_csv(DATA / "icbs.csv", dtype=str)
    ilo = pd.read_csv(DATA / "icb_local_office.csv", dtype={"share": float})
    orgs = build_org_lookup(shared, icbs, ilo)
    write(out, "nhs_org_icb.csv", str(orgs.to_csv(index=False, lineterminator="\n")))

    staff = read_staff(shared / STAFF / "medical_staff_2017-09.csv")
    modelled = [general_practice(shared, icbs, ilo), public_health(shared, ilo)]
    base = build_baseline(staff, read_programme_map(DATA / "nhsd_programme_map.csv"), orgs,
                          modelled)
    check(base.unmapped_orgs.empty, f"unplaced organisations: {base.unmapped_orgs}")
    check(base.unmapped_rows.empty, f"unmapped specialty x grade: {base.unmapped_rows}")
    write(out, "baseline_posts.csv", posts_csv(base.posts))
    placed, _ = place(map_programmes(staff, read_programme_map(DATA / "nhsd_programme_map.csv"))[0],
                      orgs)
    moves = trust_moves(shared, orgs, placed, icbs, ilo)
    write(out, "baseline_trust_moves.csv", str(moves.to_csv(index=False, lineterminator="\n")))
    write(out, "baseline_fill_rates.csv",
          str(fill_rates(shared).to_csv(index=False, lineterminator="\n")))
    catchment = trust_catchment(shared)
    trusts = trust_table(shared, staff, orgs, base.posts, catchment)
    used = catchment[catchment["catchment_code"].isin(set(trusts["catchment_code"]))]
    write(out, "trust_posts.csv", str(trusts.to_csv(index=False, lineterminator="\n")))
    write(out, "trust_catchment.csv", str(used.to_csv(index=False, lineterminator="\n")))
    with_catchment = trusts[trusts["catchment_code"] != ""]["posts"].sum()
    log(f"trust rows {len(trusts):,}; posts with a catchment {with_catchment:,} of "
        f"{trusts['posts'].sum():,}")
    totals = base.posts.groupby(["specialty", "basis"])[["fte", "posts"]].sum()
    log(totals.to_string())
    log(f"label: {base.label()}")
    log(f"total posts {base.posts['posts'].sum():,}; FTE counted {base.posts['fte'].sum():,.1f}")
    consultants, left = consultant_fte(staff, read_programme_map(DATA / "nhsd_programme_map.csv"),
                                       orgs)
    write(out, "consultants.csv", consultants_csv(consultants))
    log(f"consultants placed {consultants['fte'].sum():,.1f} FTE; left out (no catalogue "
        f"specialty) {left['fte'].sum():,.1f} FTE")
    if args.plausibility:
        log(plausibility_markdown(plausibility(shared, base.posts)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
