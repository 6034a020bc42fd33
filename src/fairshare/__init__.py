"""fairshare: a fair, needs-based distribution of medical specialty training posts.

Public API::

    from fairshare import apportion, load_england, Scenario, targets
"""

__version__ = "0.1.0"

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fairshare.apportionment import apportion, controlled_round
    from fairshare.inputs.bundle import Bundle, load_england
    from fairshare.model.targets import targets
    from fairshare.scenario import Scenario, load_scenario

#: Where each public name lives: imported on first use, so `fairshare --help` and any light
#: module (errors, io, names) do not load pandas, numpy and pydantic.
_PUBLIC = {"apportion": "fairshare.apportionment", "controlled_round": "fairshare.apportionment",
           "Bundle": "fairshare.inputs.bundle", "load_england": "fairshare.inputs.bundle",
           "targets": "fairshare.model.targets", "Scenario": "fairshare.scenario",
           "load_scenario": "fairshare.scenario"}


def __getattr__(name: str) -> Any:
    """The public API, imported when first asked for (PEP 562)."""
    if name in _PUBLIC:
        value = getattr(import_module(_PUBLIC[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'fairshare' has no attribute {name!r}")

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
