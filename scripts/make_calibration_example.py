"""Write examples/calibration_published_example.csv: SYNTHETIC published gaps (docs/calibrate.md).

The gaps are what the model gives, in whole posts, with the known parameters of
examples/calibration_known_parameters.yaml, for 20 area x specialty rows. They show the format
a real published table takes and let `fairshare calibrate` be checked: it should recover the
parameters. They are not real figures.

Run: .venv/bin/python scripts/make_calibration_example.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from fairshare.analysis.calibrate import NAMES, synthetic_published
from fairshare.inputs.bundle import load_england
from fairshare.publish.outputs import write_csv
from fairshare.scenario import Scenario

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SPECIALTIES = ["Cardiology", "Obstetrics and Gynaecology", "General Psychiatry", "Paediatrics",
               "Neurosurgery", "Clinical Radiology", "Geriatric Medicine",
               "Public Health Medicine", "Renal Medicine", "Histopathology"]
AREAS = ["London", "North West", "South West", "East of England"]


def example_rows() -> pd.DataFrame:
    """Two areas for each of ten specialties, cycling through four local offices."""
    return pd.DataFrame([(AREAS[i % 4], SPECIALTIES[i // 2]) for i in range(20)],
                        columns=["area", "specialty"])


def main() -> None:
    known = yaml.safe_load((EXAMPLES / "calibration_known_parameters.yaml").read_text())
    theta = np.array([known[n] for n in NAMES])
    table = synthetic_published(load_england(), Scenario(), theta, example_rows())
    table["year"] = known["year"]
    print(write_csv(table, EXAMPLES / "calibration_published_example.csv"))


if __name__ == "__main__":
    main()
