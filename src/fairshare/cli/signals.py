"""Stopping a command cleanly when it is told to stop (Ctrl-C, ``kill``, a closed terminal).

Python ends a process on SIGTERM or SIGHUP without unwinding it, so the temporary file of an
output being written (``fairshare.io.atomic_path``) would stay behind. Inside ``stop_cleanly``
those signals, and SIGINT, raise an exception instead: every ``finally`` runs, temporary files
are removed, a Chromium printing the PDF is ended, and the command exits with the usual code
(128 + signal number) after one line saying that nothing was written. SIGKILL cannot be caught;
the workbook is built in memory so that even then no half-written file is left.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from fairshare.cli.common import err_console

STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


class Stopped(BaseException):
    """A stop signal arrived (a BaseException, so no ``except Exception`` swallows it)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise(signum: int, frame: FrameType | None) -> None:
    for s in STOP_SIGNALS:  # a second signal must not interrupt the clean-up
        signal.signal(s, signal.SIG_IGN)
    raise Stopped(signum)


@contextmanager
def stop_cleanly(what: str) -> Iterator[None]:
    """Run the block with stop signals turned into a clean exit; ``what`` names the output."""
    previous = {s: signal.signal(s, _raise) for s in STOP_SIGNALS}
    try:
        yield
    except Stopped as stop:
        for s, handler in previous.items():
            signal.signal(s, handler)
        name = signal.Signals(stop.signum).name
        err_console.print(f"[bold red]Stopped[/] by {name}: {what} was not written "
                          "(any earlier file is unchanged).", highlight=False)
        raise SystemExit(128 + stop.signum) from None
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
