"""A three-area toy bundle small enough to compute fair shares by hand."""

from __future__ import annotations

import pandas as pd

from fairshare.inputs.bundle import Bundle
from fairshare.inputs.schemas import AGE_BANDS, COMPONENTS, SEXES

ICBS = ["E54000001", "E54000002", "E54000003"]
LOS = ["North East", "London", "Wessex"]


def toy_bundle(current: tuple[int, int, int] = (50, 30, 20), sigma: float = 0.0,
               driver: str = "component:maternity") -> Bundle:
    """ICB i is local office i; only women aged 30-34 live there (100, 200, 700)."""
    pop_rows, growth_rows = [], []
    for icb, people, grow in zip(ICBS, (100, 200, 700), (1.0, 1.5, 1.0), strict=True):
        for sex in SEXES:
            for band in AGE_BANDS:
                n = people if (sex, band) == ("F", "30-34") else 0
                pop_rows.append({"icb_code": icb, "sex": sex, "age_band": band, "population": n})
                for year in (2022, 2030):
                    growth_rows.append({"icb_code": icb, "sex": sex, "age_band": band,
                                        "year": year, "factor": 1.0 if year == 2022 else grow})
    wp = pd.DataFrame({"icb_code": ICBS, "registered": [100.0, 200.0, 700.0],
                       "population": [100.0, 200.0, 700.0]})
    for c in COMPONENTS:
        wp[c] = [100.0, 200.0, 700.0]
    wp["core"] = [300.0, 300.0, 400.0]
    wp["maternity"] = [100.0, 100.0, 800.0]
    wp["health_inequalities"] = [500.0, 250.0, 250.0]
    profiles = pd.DataFrame([{"profile": "all", "sex": s, "age_band": b, "weight": 1.0}
                             for s in SEXES for b in AGE_BANDS])
    specialties = pd.DataFrame([{
        "specialty": "Toy Medicine", "school": "Medicine", "programme_years": 8,
        "entry_level": "higher", "phase": "A", "phase_start": 2023.0, "driver": driver,
        "w_core": 0.5, "w_specialty": 0.25, "w_future": 0.25, "specialised_share": sigma,
    }])
    return Bundle(
        population=pd.DataFrame(pop_rows),
        growth=pd.DataFrame(growth_rows),
        growth_variants=pd.DataFrame(columns=["icb_code", "variant", "year", "factor"]),
        weighted_population=wp,
        icbs=pd.DataFrame({"icb_code": ICBS, "icb_ods": ["QA", "QB", "QC"],
                           "icb_name": ["ICB A", "ICB B", "ICB C"],
                           "region_code": ["E40000012", "E40000003", "E40000005"],
                           "region_name": ["North East and Yorkshire", "London", "South East"]}),
        local_offices=pd.DataFrame({"local_office": LOS, "lo_code": ["NE", "LDN", "WX"],
                                    "region_code": ["E40000012", "E40000003", "E40000005"],
                                    "region_name": ["North East and Yorkshire", "London",
                                                    "South East"]}),
        icb_local_office=pd.DataFrame({"icb_code": ICBS, "local_office": LOS,
                                       "share": [1.0, 1.0, 1.0]}),
        profiles=profiles,
        specialties=specialties,
        posts=pd.DataFrame({"local_office": LOS, "specialty": "Toy Medicine",
                            "posts": list(current)}),
        posts_label="toy",
    )
