"""fairshare: a fair, needs-based distribution of medical specialty training posts.

Public API::

    from fairshare import apportion, load_england, Scenario, targets
"""

__version__ = "0.1.0"

from fairshare.apportionment import apportion, controlled_round
from fairshare.inputs.bundle import Bundle, load_england
from fairshare.model.targets import targets
from fairshare.scenario import Scenario, load_scenario

__all__ = [
    "Bundle",
    "Scenario",
    "__version__",
    "apportion",
    "controlled_round",
    "load_england",
    "load_scenario",
    "targets",
]
