"""The fairshare command line: a thin layer over the core functions.

Errors in a user's input are printed as one clear message (file, row, column, what was
expected) with exit code 2; nothing is written when an input is bad.
"""

from importlib import import_module

from fairshare.cli.common import app

# Registering order is the order of the help panels: the main job first.
for _module in ("runs", "planning", "basic", "analysis", "calibrate", "outcomes", "publish",
                "baseline"):
    import_module(f"fairshare.cli.{_module}")

__all__ = ["app"]
