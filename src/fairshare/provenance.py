"""What every input of a run is: a judgement, public data, a modelled figure or a run option.

One source of truth for labelling inputs (issue 14, item 7). ``run.json``, the workbook's "About
this run" sheet and the HTML/PDF report all read this registry, so a judgement is marked as one
everywhere, with the reason it is one, and no output can say more about an input than this file.

* ``SCENARIO`` maps every scenario parameter (dotted for the parts of a nested one, such as
  ``convergence.policy``) to its kind and basis. ``tests/test_provenance.py`` fails when a
  ``Scenario`` field has no entry, so **a developer who adds a parameter labels it here by
  adding one line**.
* ``DATA_FILES`` does the same for the embedded data files whose contents are judgements or
  modelled (weights, σ tiers, minimum programme sizes, the priority map, trust placements) as
  well as the public ones; the test also fails when a file in ``data/`` has no entry.

A parameter whose default is public data becomes a judgement once a scenario changes it: the
value is then the scenario author's, not the source's (``kind_of``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from fairshare.scenario import Scenario

Kind = Literal["judgement", "public data", "modelled", "run option"]

#: What each kind means, written beside the labels in every output.
KIND_MEANING: dict[Kind, str] = {
    "judgement": "a value chosen by a person (the project or the scenario's author), not "
    "taken from a public source; change it and the numbers change",
    "public data": "a figure or rule taken from a named public source",
    "modelled": "built from public inputs by a documented method (docs/), not observed",
    "run option": "how the run is computed or shown; it asserts nothing about need or posts",
}


@dataclass(frozen=True)
class Provenance:
    """An input's kind and what its value rests on."""

    kind: Kind
    basis: str


def _j(basis: str) -> Provenance:
    return Provenance("judgement", basis)


def _p(basis: str) -> Provenance:
    return Provenance("public data", basis)


def _o(basis: str) -> Provenance:
    return Provenance("run option", basis)


def _m(basis: str) -> Provenance:
    return Provenance("modelled", basis)


#: Every scenario parameter. Nested parameters are listed part by part (``convergence.share``).
SCENARIO: dict[str, Provenance] = {
    "name": _o("a label for the run"),
    "description": _o("free text about the run"),
    # need and fair share
    "deprivation_weight": _p("the programme's published 20% weighting for deprivation "
                             "(programme README); fairshare measures it with avoidable "
                             "mortality, not the programme's SMR<75"),
    "weights": _j("component weights for every specialty; none published (docs/specialties.md)"),
    "specialty_weights": _j("component weights for named specialties; none published"),
    "specialised_share": _j("σ for every specialty; no published share of specialised posts"),
    "specialty_specialised_share": _j("σ for named specialties; the catalogue's tiers "
                                      "(0, 0.05, 0.1, 0.3, 0.5) are judgements"),
    "core_cost_factor": _j("NHS England's core need carries an ICB cost factor (about 1.06-1.07 "
                           "in London); removing it (default) so that need, not the price of "
                           "care, sets a fair share is a judgement; kept is the term as "
                           "published"),
    "prevalence_driver": _j("drive the specialties in data/prevalence_drivers.csv by QOF "
                            "disease prevalence (public data, NHS Digital 2019-20); which "
                            "specialties and registers is a judgement"),
    "rural_weight": _j("rural need uplift (0 = the programme's method); no published weight"),
    "coastal_weight": _j("coastal need uplift (0 = the programme's method); no published "
                         "weight, and which LSOAs count as coastal is a rule of fairshare's"),
    "base_year": _p("ONS mid-2022 population estimates, the latest in the data"),
    "projection_year": _j("year future demand is evaluated at; default base year + programme "
                          "length is the project's rule"),
    "projection_variant": _p("ONS 2018-based subnational projections (principal variant)"),
    "population_base": _j("which population every need term is counted on (ONS residents by "
                          "default); both are public, choosing one is a judgement"),
    # whole posts
    "apportionment": _o("named whole-post method (largest remainder by default), written "
                        "into every output"),
    "controlled_rounding": _o("also fix each area's total across specialties"),
    "minimum_posts": _j("smallest whole target per local office; none published"),
    "level": _o("geography the targets are reported at"),
    "convergence.policy": _j("how close to target the programme aims; the programme publishes "
                             "no convergence rule"),
    "convergence.share": _j("share of each gap closed (policy share)"),
    "convergence.over": _j("band above target left alone (policy band)"),
    "convergence.under": _j("band below target left alone (policy band)"),
    # corrections to the public baseline (docs/baseline.md)
    "baseline_corrections.gim": _j("General Internal Medicine pooled with the group-1 "
                                   "specialties and split by each office's group-1 mix (default)"
                                   " or as each trust coded it: a correction rule"),
    "baseline_corrections.modelled_spread": _j("the base the modelled GP and Public Health rows "
                                               "are spread on (need's own base by default)"),
    "baseline_corrections.trust_sites": _j("trust placements: a trust whose headquarters lie "
                                           "outside its training office placed by two public "
                                           "records of its sites (moves Oxleas to London), a "
                                           "rule of fairshare's"),
    "baseline_corrections.vacancies": _j("funded-posts view: staff in post divided by HEE's "
                                         "published fill rates (a modelled view); whether to "
                                         "use it is a judgement"),
    "baseline_corrections.non_movable_share": _j("share of posts funded otherwise and never "
                                                 "moved; no public figure exists"),
    "baseline_corrections.gp_hospital_months": _j("months of GP training counted in hospital "
                                                  "posts (a sensitivity); the double count is "
                                                  "not published"),
    # scarcity of specialists
    "scarcity_cutoffs": _j("shares of areas designated scarce / well provided (terciles, as "
                           "Japan's scheme); none published for England"),
    "scarcity_min_consultants": _j("smallest area designated, in consultants at the national "
                                   "rate; none published"),
    # pace of change
    "plan_start": _o("first plan year"),
    "horizon": _o("last plan year"),
    "pace_cap": _j("most of a gap moved a year; none published"),
    "discount": _j("weight of later years' distance in the fastest pace; a modelling choice "
                   "with no published value"),
    "capacity_headroom": _j("default supervision capacity a year (10% of posts); no public "
                            "figure for trainers' capacity by area"),
    "min_viable_posts": _j("floor on a giving area's posts; none published"),
    "pace": _j("glide path or fastest; the programme publishes a 15+ year lifespan, not a rule"),
    "glide_until": _j("end of the glide window; default 2037 from the programme's stated "
                      "lifespan of 15+ years from 2022, no year-by-year schedule is published"),
    "glide_min_years": _j("shortest glide window; none published"),
    "cohort_share": _j("most of a completing cohort a giving area releases a year (half); "
                       "none published"),
    "intake_growth": _j("most extra intake a receiving area takes a year (half); none "
                        "published"),
    "trust_min_posts": _j("smallest number of a specialty's posts `fairshare posts` leaves a "
                          "trust (two trainees share rota, teaching and peer support); no "
                          "national figure is published (docs/posts.md)"),
    "min_programme_size": _j("applies data/min_programme_size.csv (one trainee per programme "
                             "year), a judgement: no national minimum is published"),
    "inputs": _o("digests of the input files the run was given (set by the command line): a "
                 "record, not a choice"),
    "elastic": _o("relax constraints and report each relaxation instead of failing"),
    "require_target_by": _j("year every area must be at target; none published"),
    "expansion": _j("national expansion posts by year and priority: the 1,000 over three "
                    "years is public (HEE FAQ), the split by year and priority is not"),
    "expansion_mode": _j("where expansion posts go; cushion_then_need follows the programme's "
                         "described practice, the rule itself is fairshare's"),
    "expansion_offset_share": _j("share of a giving area's loss cushioned (1/3 from one "
                                 "published pair: London 2023 Cardiology gave 6 posts and "
                                 "got 2 back)"),
    "expansion_allocation": _j("order of the need-based placing: need (the programme's rule), "
                               "need times the modelled fill rate (docs/fill.md), or areas "
                               "designated scarce first (scarce_first, fairshare's rule on the "
                               "tercile designation of docs/scarcity.md)"),
    "fill_warning_below": _j("fill rate below which receiving posts are flagged as likely to "
                             "stay empty; none published"),
    "expansion_minimum_per_area": _j("expansion posts each area gets first; none published"),
    "expansion_beyond_target": _j("place expansion posts past target; none published"),
    # uncertainty ranges
    "uncertainty.deprivation_weight": _j("range drawn for δ (0.10-0.30 around the published "
                                         "0.20)"),
    "uncertainty.weight_concentration": _j("how far component weights are drawn from the "
                                           "catalogue's"),
    "uncertainty.specialised_share_multiplier": _j("range of the factor on every σ"),
    "uncertainty.projection_variants": _p("ONS projection variants (Strategy Unit custom "
                                          "sub-national variants for all but the principal)"),
    "uncertainty.structural": _j("structural choices drawn (population base, convergence, "
                                 "baseline corrections) and their probabilities, 50/50 by "
                                 "default; none published (docs/uncertainty.md)"),
    "uncertainty.specialised_share_tier_shift": _j("chance each specialty's σ is drawn one "
                                                   "tier lower or higher; none published"),
}

#: Embedded data files (``src/fairshare/data``): what each holds and on what it rests. Files
#: holding judgements name the columns that are judgements.
DATA_FILES: dict[str, Provenance] = {
    "specialties.csv": _j("the catalogue: programme lengths and phases are public (curricula, "
                          "programme phasing); each specialty's need driver, component weights "
                          "(w_core, w_specialty, w_future) and σ tier (specialised_share) are "
                          "judgements (docs/specialties.md)"),
    "min_programme_size.csv": _j("minimum viable programme size, one trainee per programme "
                                 "year; no national minimum is published"),
    "priorities.csv": _j("which specialties each expansion priority covers: the priorities "
                         "are public (HEE FAQ, programme README), most mappings are judgements "
                         "and each row's basis says which"),
    "nhsd_programme_map.csv": _j("NHS Digital specialty and grade to training programme, "
                                 "written by hand (docs/baseline.md)"),
    "nhs_org_icb.csv": _j("trust placements: each 2017 organisation in the ICB and local "
                          "office of its ODS record (headquarters), a rule that misplaces "
                          "trusts whose training sites lie elsewhere (docs/baseline.md)"),
    "baseline_posts.csv": _m("public baseline: NHS Digital staff in post, 30 Sept 2017 (public "
                             "data) turned into whole posts; General Practice and Public Health "
                             "Medicine rows modelled from national entry numbers (docs/"
                             "baseline.md)"),
    "trust_posts.csv": _m("each ICB piece's counted posts shared over the organisations whose "
                          "staff in post (NHS Digital, Sept 2017) make it up, by Hamilton's "
                          "method on their FTE (docs/posts.md)"),
    "trust_catchment.csv": _p("share of each trust's patients living in each ICB (geographr, "
                              "from OHID trust catchment populations)"),
    "core_cost_factor.csv": _m("the ICB cost factor inside NHS England's core weighted "
                               "population, fitted from the 2025/26 practice file"),
    "prevalence_drivers.csv": _j("which QOF disease registers drive which specialty's need "
                                 "(each row's basis says why)"),
    "qof_prevalence.csv": _p("NHS Digital QOF 2019-20 disease registers and list sizes, "
                             "summed from practices to ICBs"),
    "SOURCES.md": _o("documentation: publisher, address, licence and vintage of each file"),
    "baseline_fill_rates.csv": _p("HEE England recruitment fill rates (2018, else 2013) "
                                  "used by the funded-posts view"),
    "baseline_trust_moves.csv": _j("trust placements by sites: which trusts' training the "
                                   "sites rule moves, and where (docs/baseline.md)"),
    "consultants.csv": _p("consultants in post (FTE), NHS Digital medical staff, 30 Sept 2017, "
                          "per ICB piece and programme"),
    "rural_coastal.csv": _m("each ICB's rural and coastal shares of LSOAs from ONS RUC 2021 and "
                            "the BMJ Public Health coastal flag"),
    "fill_rates.csv": _m("modelled fill rates by area and specialty, built from public "
                         "HEE/NHS England fill figures; each row says its basis (docs/fill.md)"),
    "icb_local_office.csv": _j("ICB to local office, with population shares for the ICBs that "
                               "straddle two or three; built here, not a published lookup"),
    "local_offices.csv": _p("the 11 local offices and their NHS England regions"),
    "icbs.csv": _p("ONS ICB codes (April 2023) with ODS codes and regions"),
    "population_mid2022.csv": _p("ONS mid-2022 population estimates by ICB, sex and age"),
    "growth_factors.csv": _m("ONS 2018-based projections as growth on the mid-2022 base"),
    "growth_variants.csv": _m("all-age growth by projection variant (Strategy Unit custom "
                              "sub-national variants of ONS national assumptions)"),
    "weighted_population.csv": _p("NHS England ICB allocations 2025/26, GP-practice weighted "
                                  "populations summed to ICB"),
    "utilisation_profiles.csv": _m("relative use by age and sex from The Strategy Unit's SUS "
                                   "activity rates; which profile a specialty uses is a "
                                   "judgement (specialties.csv driver)"),
    "need_checks.csv": _p("reference figures for tests only; not used by the model"),
    "icb_boundaries.geojson": _p("ONS ICB boundaries (April 2023), for maps only"),
    "region_boundaries.geojson": _p("ONS NHS England region boundaries (July 2022), for maps "
                                    "only"),
    "local_office_boundaries.geojson": _m("approximate local-office outlines from whole ICBs, "
                                          "for maps only"),
    "README.md": _o("documentation of the data files"),
}


def entry(key: str) -> Provenance | None:
    """The registry entry of a parameter (dotted for a nested part), or None."""
    return SCENARIO.get(key)


def kind_of(key: str, value: Any, default: Any = None) -> Provenance | None:
    """The entry of ``key`` for this value: public data changed from its default is the
    scenario author's judgement."""
    found = SCENARIO.get(key)
    if found is None or found.kind != "public data" or value == default:
        return found
    return Provenance("judgement", f"changed from the public default {default!r}: "
                      f"{found.basis}")


def _defaults() -> dict[str, Any]:
    return Scenario().resolved()


def _flat(resolved: Mapping[str, Any]) -> dict[str, Any]:
    """The scenario's values by registry key: nested parts dotted where the registry lists
    them part by part."""
    out: dict[str, Any] = {}
    for key, value in resolved.items():
        if isinstance(value, Mapping) and any(k.startswith(f"{key}.") for k in SCENARIO):
            for part, inner in value.items():
                out[f"{key}.{part}"] = inner
        else:
            out[key] = value
    return out


def scenario_provenance(resolved: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Every parameter of a resolved scenario with its value, kind and basis (for run.json).

    A parameter the registry does not know (a newer scenario read by an older fairshare) is
    labelled "unclassified" rather than left out.
    """
    defaults = _flat(_defaults())
    out: dict[str, dict[str, Any]] = {}
    for key, value in _flat(resolved).items():
        found = kind_of(key, value, defaults.get(key))
        out[key] = {"value": value,
                    "kind": found.kind if found else "unclassified",
                    "basis": found.basis if found else "not in fairshare's input registry"}
    return out


def data_provenance() -> dict[str, dict[str, str]]:
    """The embedded data files that hold judgements or modelled figures, with their basis."""
    return {name: {"kind": p.kind, "basis": p.basis} for name, p in DATA_FILES.items()
            if p.kind in ("judgement", "modelled")}


def run_provenance(resolved: Mapping[str, Any]) -> dict[str, Any]:
    """What goes into ``run.json`` under ``provenance``: kinds explained, every scenario
    parameter, and the data files that are judgements or modelled."""
    return {"kinds": dict(KIND_MEANING), "scenario": scenario_provenance(resolved),
            "data_files": data_provenance()}


def lookup(key: str, table: Mapping[str, Any]) -> Any:
    """The entry of ``table`` for ``key`` or for the nearest parameter containing it
    (``specialty_weights.Cardiology.core`` -> ``specialty_weights``), else None."""
    parts = key.split(".")
    for n in range(len(parts), 0, -1):
        found = table.get(".".join(parts[:n]))
        if found is not None:
            return found
    return None


def kinds_of(key: str, provenance: Mapping[str, Any]) -> str:
    """The kind(s) of a parameter in a run's provenance: its own, or its parts' (a nested
    parameter listed part by part); "unclassified" when the registry does not know it."""
    params = provenance.get("scenario") or {}
    own = lookup(key, params)
    if isinstance(own, Mapping):
        return str(own.get("kind", "unclassified"))
    parts = sorted({str(v.get("kind")) for k, v in params.items()
                    if k.startswith(f"{key}.") and isinstance(v, Mapping)})
    return " / ".join(parts) if parts else "unclassified"


def judgements(provenance: Mapping[str, Any]) -> list[tuple[str, Any, str]]:
    """(input, value, basis) of every judgement in a run's provenance, parameters first (a
    data file's value is its name)."""
    params = provenance.get("scenario") or {}
    files = provenance.get("data_files") or {}
    rows = [(k, v.get("value"), str(v.get("basis", ""))) for k, v in params.items()
            if isinstance(v, Mapping) and v.get("kind") == "judgement"]
    rows += [(f"data/{k}", k, str(v.get("basis", ""))) for k, v in files.items()
             if isinstance(v, Mapping) and v.get("kind") == "judgement"]
    return rows
