"""Test-wide settings.

Hypothesis: no per-example deadline (a loaded 2-core CI machine is slow, and speed is measured
in benchmarks/, not asserted in tests); on CI (``CI`` set) the examples are derandomised so a
run is reproducible and a red build always means a change, never a newly drawn example.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("fairshare", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "fairshare")
