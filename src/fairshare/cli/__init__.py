"""The fairshare command line: a thin layer over the core functions.

Errors in a user's input are printed as one clear message (file, row, column, what was
expected) with exit code 2; nothing is written when an input is bad.
"""

from fairshare.cli import (  # noqa: F401  (registers the commands)
    analysis,
    basic,
    outcomes,
    planning,
    publish,
    runs,
)
from fairshare.cli.common import app

__all__ = ["app"]
