"""Pandera schemas for every table the core accepts.

The core trusts its inputs because they pass these schemas at the edge (loading the embedded
bundle or a user's file). Messages are turned into planner-readable ones by the callers.
"""

from __future__ import annotations

import pandera.pandas as pa

from fairshare.vocabulary import AGE_BANDS, COMPONENTS, SEXES

__all__ = ["AGE_BANDS", "COMPONENTS", "SEXES"]  # re-exported: older imports keep working
# Need areas are ICBs in England (E54…); another country's folder may use its own codes.
ICB_CODE = pa.Check.str_length(min_value=1, error="an area code cannot be empty")

_nonneg = pa.Check.ge(0)


def _icb_sex_age(**extra: pa.Column) -> dict[str, pa.Column]:
    return {
        "icb_code": pa.Column(str, ICB_CODE),
        "sex": pa.Column(str, pa.Check.isin(SEXES)),
        "age_band": pa.Column(str, pa.Check.isin(AGE_BANDS)),
        **extra,
    }


population = pa.DataFrameSchema(
    _icb_sex_age(population=pa.Column(int, _nonneg)),
    unique=["icb_code", "sex", "age_band"],
    strict=True,
)

growth = pa.DataFrameSchema(
    _icb_sex_age(year=pa.Column(int), factor=pa.Column(float, pa.Check.gt(0))),
    unique=["icb_code", "sex", "age_band", "year"],
    strict=True,
)

growth_variants = pa.DataFrameSchema(
    {
        "icb_code": pa.Column(str, ICB_CODE),
        "variant": pa.Column(str),
        "year": pa.Column(int),
        "factor": pa.Column(float, pa.Check.gt(0)),
    },
    unique=["icb_code", "variant", "year"],
)

weighted_population = pa.DataFrameSchema(
    {
        "icb_code": pa.Column(str, ICB_CODE, unique=True),
        "registered": pa.Column(float, _nonneg, nullable=True),
        "population": pa.Column(float, pa.Check.gt(0)),
        **{c: pa.Column(float, _nonneg) for c in COMPONENTS},
    },
)

icbs = pa.DataFrameSchema(
    {
        "icb_code": pa.Column(str, ICB_CODE, unique=True),
        "icb_ods": pa.Column(str),
        "icb_name": pa.Column(str),
        "region_code": pa.Column(str),
        "region_name": pa.Column(str),
    }
)

local_offices = pa.DataFrameSchema(
    {
        "local_office": pa.Column(str, unique=True),
        "lo_code": pa.Column(str, unique=True),
        "region_code": pa.Column(str),
        "region_name": pa.Column(str),
    }
)

icb_local_office = pa.DataFrameSchema(
    {
        "icb_code": pa.Column(str, ICB_CODE),
        "local_office": pa.Column(str),
        "share": pa.Column(float, [pa.Check.gt(0), pa.Check.le(1)]),
    },
    unique=["icb_code", "local_office"],
)

profiles = pa.DataFrameSchema(
    {
        "profile": pa.Column(str),
        "sex": pa.Column(str, pa.Check.isin(SEXES)),
        "age_band": pa.Column(str, pa.Check.isin(AGE_BANDS)),
        "weight": pa.Column(float, _nonneg),
    },
    unique=["profile", "sex", "age_band"],
)

specialties = pa.DataFrameSchema(
    {
        "specialty": pa.Column(str, unique=True),
        "school": pa.Column(str),
        "programme_years": pa.Column(int, pa.Check.gt(0)),
        "entry_level": pa.Column(str, pa.Check.isin(["core", "run-through", "higher"])),
        "phase": pa.Column(str),
        "phase_start": pa.Column(float, nullable=True),
        "driver": pa.Column(str),
        "w_core": pa.Column(float, [pa.Check.ge(0), pa.Check.le(1)]),
        "w_specialty": pa.Column(float, [pa.Check.ge(0), pa.Check.le(1)]),
        "w_future": pa.Column(float, [pa.Check.ge(0), pa.Check.le(1)]),
        "specialised_share": pa.Column(float, [pa.Check.ge(0), pa.Check.le(1)]),
        # whether the rural / coastal need uplifts apply (optional: absent = they apply)
        "rural": pa.Column(None, pa.Check.isin([0, 1]), required=False),
        "coastal": pa.Column(None, pa.Check.isin([0, 1]), required=False),
    },
)

posts = pa.DataFrameSchema(
    {
        "local_office": pa.Column(str),
        "specialty": pa.Column(str),
        "posts": pa.Column(int, _nonneg),
    },
    unique=["local_office", "specialty"],
)
