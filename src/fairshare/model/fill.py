"""Fill likelihood (issue 16 part 3): how likely a post is to be filled, and what that means
for the posts the plan and expansion send each area.

A post sent to an area where it goes unfilled trains nobody. fairshare does not change where
posts go because of it (need decides that), unless the scenario asks expansion to weigh it
(``expansion_allocation: expected_fill``); it reports, per receiving area and year, the posts
each area is expected to fill, and a finding where an area receives posts of a specialty whose
fill rate is below ``fill_warning_below`` (a judgement).

Fill rates are *modelled*: the default (``data/fill_rates.csv``, docs/fill.md) pools England's
published fill rate of a specialty towards the all-specialty rate of its entry level, and each
local office's all-specialty rate towards the national one, with beta-binomial shrinkage of a
stated prior strength (``shrink``). Every rate carries its ``basis``.
"""

from __future__ import annotations

import pandas as pd

from fairshare.model.plan_inputs import Finding

__all__ = ["FILL_COLUMNS", "area_fill", "expected_fill", "fill_findings", "shrink"]

#: The per area × year table of expected fill (docs/fill.md; publish/columns.py).
FILL_COLUMNS = ["scenario", "area", "year", "received", "received_expansion", "expected_filled",
                "expected_unfilled", "expected_unfilled_expansion", "expected_fill", "fill_basis"]
NATIONAL = "England"
UNKNOWN = "no fill rate given: counted as filled"


def shrink(accepts: float, posts: float, prior: float, strength: float) -> float:
    """Beta-binomial posterior mean of a fill rate: (accepts + k·prior) / (posts + k).

    The prior is a Beta(k·prior, k·(1 − prior)): ``strength`` k is worth k posts of evidence,
    so a specialty of 6 posts moves little from ``prior`` and one of 1,400 almost all the way
    to its own rate. No data (posts 0) gives the prior. Capped at 1 (accepts never exceed posts).
    """
    if posts < 0 or accepts < 0 or strength < 0 or not 0 <= prior <= 1:
        raise ValueError("accepts, posts and strength must be >= 0 and prior within 0-1")
    if posts + strength == 0:
        return prior
    return min(1.0, (accepts + strength * prior) / (posts + strength))


def area_fill(rates: pd.DataFrame, keys: pd.DataFrame,
              office_of: dict[str, str] | None = None) -> pd.DataFrame:
    """One fill rate per area × specialty of ``keys`` (area, specialty).

    rates: area, specialty, level, fill_rate, basis (the fill-rate file; area ``England`` is the
    national row). A programme given at several levels gets their mean. An area without a row
    takes the specialty's national row (said so in ``fill_basis``); a specialty without any
    row is counted as filled (rate 1, ``fill_basis`` says so) so an incomplete file never
    invents an empty post. ``office_of`` maps a plan's areas (ICBs) to the local office whose
    rate they take.
    """
    per = rates.rename(columns={"basis": "fill_basis"})
    if per.duplicated(["area", "specialty"]).any():  # several levels: their mean
        per = per.groupby(["area", "specialty"], as_index=False).agg(
            fill_rate=("fill_rate", "mean"), fill_basis=("fill_basis", "first"))
    own = per.set_index(["area", "specialty"])
    national = per[per["area"] == NATIONAL].set_index("specialty")
    out = keys[["area", "specialty"]].drop_duplicates().reset_index(drop=True)
    lookup = out["area"].map(office_of) if office_of else out["area"]
    idx = pd.MultiIndex.from_arrays([lookup.fillna(out["area"]), out["specialty"]])
    rate = own["fill_rate"].reindex(idx).to_numpy()
    basis = own["fill_basis"].reindex(idx).to_numpy(object)
    nat_rate = out["specialty"].map(national["fill_rate"]).to_numpy()
    nat_basis = out["specialty"].map(national["fill_basis"]).to_numpy(object)
    missing = pd.isna(rate)
    out["fill_rate"] = rate
    out["fill_basis"] = basis
    out.loc[missing, "fill_rate"] = nat_rate[missing]
    out.loc[missing, "fill_basis"] = [f"{b} (national rate: no row for this area)"
                                      if isinstance(b, str) else b for b in nat_basis[missing]]
    none = out["fill_rate"].isna()
    out.loc[none, "fill_rate"] = 1.0
    out.loc[none, "fill_basis"] = UNKNOWN
    out["fill_rate"] = out["fill_rate"].astype(float)
    return out


def expected_fill(plan: pd.DataFrame, fill: pd.DataFrame) -> pd.DataFrame:
    """Per receiving area and year: posts received, and how many are expected to be filled.

    plan: area, specialty, year, redistribution, expansion (the plan table; scenario optional).
    fill: area, specialty, fill_rate, fill_basis (``area_fill``).
    ``received`` counts posts an area gains that year (redistribution in, plus expansion);
    ``expected_filled`` = Σ received × fill rate over its specialties; ``expected_fill`` their
    ratio; ``expected_unfilled_expansion`` the expansion posts expected to stay empty. Areas
    that receive nothing in a year have no row.
    """
    gains = plan[(plan["redistribution"] > 0) | (plan["expansion"] > 0)]
    short = fill.assign(fill_basis=_kind(fill["fill_basis"]))  # on the small table: fast
    df = gains.merge(short, on=["area", "specialty"], how="left")
    df["fill_rate"] = df["fill_rate"].fillna(1.0)
    df["received_expansion"] = df["expansion"].clip(lower=0)
    df["received"] = df["redistribution"].clip(lower=0) + df["received_expansion"]
    df["expected_filled"] = df["received"] * df["fill_rate"]
    df["expected_unfilled_expansion"] = df["received_expansion"] * (1 - df["fill_rate"])
    df["fill_basis"] = df["fill_basis"].fillna(UNKNOWN)
    scenario = df["scenario"] if "scenario" in df.columns else pd.Series("", index=df.index)
    df["scenario"] = scenario
    keys = ["scenario", "area", "year"]
    out = df.groupby(keys, as_index=False).agg(
        received=("received", "sum"), received_expansion=("received_expansion", "sum"),
        expected_filled=("expected_filled", "sum"),
        expected_unfilled_expansion=("expected_unfilled_expansion", "sum"))
    kinds = df[[*keys, "fill_basis"]].drop_duplicates().sort_values("fill_basis")
    joined = kinds.groupby(keys)["fill_basis"].agg("; ".join)
    out["fill_basis"] = joined.reindex(pd.MultiIndex.from_frame(out[keys])).to_numpy()
    out["expected_unfilled"] = out["received"] - out["expected_filled"]
    out["expected_fill"] = out["expected_filled"] / out["received"]
    for col in ("expected_filled", "expected_unfilled", "expected_unfilled_expansion",
                "expected_fill"):
        out[col] = out[col].round(3)
    return out[FILL_COLUMNS].sort_values(["area", "year"]).reset_index(drop=True)


def _kind(bases: pd.Series) -> pd.Series:
    """What each rate is, in short ("modelled"; a user's "given in FILE")."""
    return bases.astype(str).str.split(":", n=1).str[0].str.split(" (", n=1, regex=False).str[0]


def fill_findings(plan: pd.DataFrame, fill: pd.DataFrame, below: float) -> list[Finding]:
    """A finding per area × specialty that receives posts where its fill rate is below
    ``below`` (judgement: ``fill_warning_below``): posts likely to be left empty."""
    low = fill[fill["fill_rate"] < below]
    gains = plan[(plan["redistribution"] > 0) | (plan["expansion"] > 0)]
    df = gains.merge(low, on=["area", "specialty"], how="inner")
    df["received"] = df["redistribution"].clip(lower=0) + df["expansion"].clip(lower=0)
    found = []
    for (area, spec), rows in df.groupby(["area", "specialty"], sort=True):
        got = int(rows["received"].sum())
        rate = float(rows["fill_rate"].iloc[0])
        first = int(rows["year"].min())
        found.append(Finding(
            kind="fill", area=str(area), specialty=str(spec), year=first, size=got,
            cause=f"fill rate below {below:.0%}",
            message=(f"{area} receives {got} {spec} post(s) from {first}, where the modelled "
                     f"fill rate is {rate:.0%} (below {below:.0%}): about "
                     f"{got * (1 - rate):.1f} may be left empty ({rows['fill_basis'].iloc[0]})")))
    return found
