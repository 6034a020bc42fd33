"""Convergence policy: how close to target the programme aims to bring each area (issue 9).

NHS allocations do not close every gap: they converge to within a tolerance of target at a
stated pace. The policy turns each area's whole target into a whole-post *aim*:

* ``full`` (default): aim = target;
* ``share``: close a share s of each gap, aim = current + s · (target − current);
* ``band``: bring every area within a band around target, no more than ``over`` above it and
  no more than ``under`` below it (shares of target); areas already inside stay where they are.
  Posts freed by areas brought down to the top of the band go to areas below target, and
  posts needed to lift areas to the bottom of the band come from areas above target, in
  proportion to their distance from target, so each specialty's total is unchanged.

Fractional aims are made whole with the scenario's apportionment method, so every specialty's
aims add up exactly to its national total (today's posts). Pure: arrays in, arrays out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fairshare.apportionment import apportion
from fairshare.scenario import Convergence, Scenario

__all__ = ["aim_fractional", "whole_aims", "with_aim"]


def aim_fractional(current: np.ndarray, target: np.ndarray, policy: Convergence) -> np.ndarray:
    """(area,) fractional aims of one specialty; they add up to ``target.sum()``."""
    cur, tgt = current.astype(float), target.astype(float)
    if policy.policy == "full":
        return tgt
    if policy.policy == "share":
        return cur + policy.share * (tgt - cur)
    aim = np.clip(cur, tgt * (1 - policy.under), tgt * (1 + policy.over))
    left = tgt.sum() - aim.sum()  # > 0: posts freed to place; < 0: posts still to find
    room = np.clip(tgt - aim, 0, None) if left > 0 else np.clip(aim - tgt, 0, None)
    if left and room.sum() > 0:
        aim = aim + np.sign(left) * room * min(abs(left) / room.sum(), 1.0)
    return aim


def whole_aims(current: np.ndarray, target: np.ndarray, policy: Convergence,
               method: str = "hamilton") -> np.ndarray:
    """(area,) whole aims adding up exactly to the specialty's total."""
    total = int(target.sum())
    if policy.policy == "full" or total == 0:
        return target.astype(np.int64)
    frac = aim_fractional(current, target, policy)
    return np.array(apportion(list(np.clip(frac, 0, None)), total, method=method),
                    dtype=np.int64)


def with_aim(table: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """The targets table with ``aim`` (whole posts), ``aim_gap`` (aim − current), ``convergence``.

    Applied per specialty over the table's areas (whatever its level).
    """
    df = table.copy()
    aim = np.zeros(len(df), dtype=np.int64)
    for _, rows in df.groupby("specialty", sort=False).indices.items():
        aim[rows] = whole_aims(df["current"].to_numpy()[rows], df["target"].to_numpy()[rows],
                               scenario.convergence, scenario.apportionment)
    df["aim"] = aim
    df["aim_gap"] = df["aim"] - df["current"]
    df["convergence"] = scenario.convergence.label()
    return df
