"""Where specialists are scarce: consultants per need-weighted population, and a designation.

Japan designates physician-scarce areas by ranking them on doctors per need and calling the
lowest third scarce and the highest third abundant. fairshare does the same for each specialty,
at each level (ICB, local office, region), from NHS Digital's consultants in post (FTE, 30
September 2017, placed on ICB pieces by the baseline's organisation lookup; data README):

* need-weighted population of an area = its fair share of the specialty's need (the very need
  the targets use: core, driver, projection, deprivation, rural and coastal terms, on the
  scenario's weights) x England's population;
* national value = England's consultants per 100,000 population; the area's rate the same per
  100,000 need-weighted population; the **index** = area rate / national rate
  = (area's share of England's consultants) / (area's share of need);
* **designation**: among the areas whose expected consultants (national rate x need-weighted
  population) reach ``scarcity_min_consultants``, the lowest ⌊n·c₁⌋ by index are *scarce*, the
  highest ⌊n·(1 − c₂)⌋ *well provided*, the rest *middle* (ties broken by area name); smaller
  areas are *too few to designate*: one consultant more or less would move their index a lot.

Specialties with no consultants in the file (core programmes, general practice, public health)
get no rows: there is nothing to designate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fairshare.inputs.bundle import Bundle
from fairshare.model.targets import Inputs, prepare
from fairshare.scenario import Scenario

PER = 100_000
SCARCE, MIDDLE, WELL, TOO_FEW = "scarce", "middle", "well provided", "too few to designate"
BASIS = "NHS Digital consultants in post (FTE), 30 Sept 2017, by trust, placed on ICB pieces"


def designate(index: np.ndarray, eligible: np.ndarray, names: list[str],
              cutoffs: tuple[float, float]) -> list[str]:
    """Scarce / middle / well provided by rank among eligible areas; the rest too few.

    With n eligible areas, the ⌊n·low⌋ lowest indices are scarce and the ⌊n·(1 − high)⌋ highest
    well provided (terciles of 11 local offices: 3, 5, 3); ties are broken by area name so the
    answer never depends on row order.
    """
    out = [TOO_FEW] * len(index)
    idx = [i for i in range(len(index)) if eligible[i]]
    order = sorted(idx, key=lambda i: (index[i], names[i]))
    n = len(order)
    n_low = int(np.floor(n * cutoffs[0] + 1e-9))
    n_high = int(np.floor(n * (1 - cutoffs[1]) + 1e-9))
    for rank, i in enumerate(order):
        out[i] = SCARCE if rank < n_low else WELL if rank >= n - n_high else MIDDLE
    return out


def _units_matrix(bundle: Bundle, inp: Inputs) -> np.ndarray:
    """(spec, unit) consultant FTE per ICB piece, in the targets' specialty and unit order.

    Rows naming a specialty or piece the targets do not have are left out (no area to hold
    them); index look-ups, not a pivot, keep this within the targets' speed budget.
    """
    table = bundle.consultants
    units = inp.geo.units
    out = np.zeros((len(inp.need.specialties), len(units)))
    if table.empty:
        return out
    rows = pd.Index(inp.need.specialties).get_indexer(table["specialty"])
    cols = pd.MultiIndex.from_arrays([units["icb_code"], units["local_office"]]).get_indexer(
        pd.MultiIndex.from_arrays([table["icb_code"], table["local_office"]]))
    ok = (rows >= 0) & (cols >= 0)
    np.add.at(out, (rows[ok], cols[ok]), table["fte"].to_numpy(float)[ok])
    return out


def _levels(inp: Inputs, x: np.ndarray) -> dict[str, tuple[list[str], list[str], np.ndarray]]:
    """(spec, unit) values summed to ICBs, local offices and regions: codes, names, values."""
    geo, icbs = inp.geo, inp.need.icbs
    icb = np.zeros((x.shape[0], len(icbs)))
    np.add.at(icb.T, geo.icb_index, x.T)
    lo = geo.to_local_offices(x)
    regions = sorted(set(geo.lo_regions))
    reg = np.zeros((x.shape[0], len(regions)))
    for j, r in enumerate(geo.lo_regions):
        reg[:, regions.index(r)] += lo[:, j]
    return {"icb": (icbs, icbs, icb),
            "local_office": (geo.lo_codes, geo.local_offices, lo),
            "region": ([r[0] for r in regions], [r[1] for r in regions], reg)}


def scarcity(bundle: Bundle, scenario: Scenario, inp: Inputs | None = None,
             icb_names: dict[str, str] | None = None) -> pd.DataFrame:
    """The scarcity table: one row per level x area x specialty with consultants in England."""
    inp = inp or prepare(bundle, scenario)
    cons_u = _units_matrix(bundle, inp)
    need_u = inp.geo.to_units(inp.need.fair_share(inp.weights, scenario.deprivation_weight))
    england = float(bundle.population["population"].sum())
    total = cons_u.sum(axis=1)
    keep = total > 0
    names = icb_names or dict(zip(bundle.icbs["icb_code"], bundle.icbs["icb_name"], strict=True))
    cons_l, need_l = _levels(inp, cons_u[keep]), _levels(inp, need_u[keep])
    specs = [s for s, k in zip(inp.need.specialties, keep, strict=True) if k]
    parts = [_level_rows(level, codes, labels, cons, need_l[level][2], total[keep], england,
                         specs, scenario, names)
             for level, (codes, labels, cons) in cons_l.items()]
    out = pd.DataFrame({k: np.concatenate([p[k] for p in parts]) for k in parts[0]})
    out.insert(0, "scenario", scenario.name)
    out["basis"] = BASIS
    return out


def _level_rows(level: str, codes: list[str], labels: list[str], cons: np.ndarray,
                need: np.ndarray, total: np.ndarray, england: float, specs: list[str],
                scenario: Scenario, icb_names: dict[str, str]) -> dict[str, np.ndarray]:
    """Columns of one level: rates, index, expected count and designation per specialty."""
    weighted = need * england
    expected = need * total[:, None]
    national = total / england * PER
    index = np.divide(cons, expected, out=np.full_like(cons, np.nan), where=expected > 0)
    names = [icb_names.get(c, c) for c in codes] if level == "icb" else labels
    eligible = expected >= scenario.scarcity_min_consultants
    designation = [designate(index[s], eligible[s], names, scenario.scarcity_cutoffs)
                   for s in range(len(specs))]
    n_s, n_a = cons.shape
    return {
        "level": np.full(n_s * n_a, level, dtype=object),
        "area_code": np.tile(np.asarray(codes, dtype=object), n_s),
        "area": np.tile(np.asarray(names, dtype=object), n_s),
        "specialty": np.repeat(np.asarray(specs, dtype=object), n_a),
        "consultants": cons.ravel(),
        "need_weighted_population": weighted.ravel(),
        "consultants_per_100k_need": (cons / weighted * PER).ravel(),
        "national_per_100k": np.repeat(national, n_a),
        "consultants_expected": expected.ravel(),
        "scarcity_index": index.ravel(),
        "designation": np.concatenate(designation) if designation else np.array([], object),
        "too_few_to_designate": ~eligible.ravel(),
    }


def with_scarcity(table: pd.DataFrame, scarce: pd.DataFrame, level: str) -> pd.DataFrame:
    """``table`` (one level's rows) with the area's scarcity index and designation joined on.

    Specialties without consultants in the file (and another geography without the file) get
    blank cells: no designation is made where nothing was counted.
    """
    rows = scarce[scarce["level"] == level].set_index(["area_code", "specialty"])
    keys = pd.MultiIndex.from_arrays([table["area_code"], table["specialty"]])
    found = rows.reindex(keys)
    return table.assign(scarcity_index=found["scarcity_index"].to_numpy(),
                        scarcity_designation=found["designation"].fillna("").to_numpy())
