"""`fairshare serve` stops whole on SIGTERM: no worker process outlives it (issue 18)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import pytest

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc (Linux)")


def _children(pid: int) -> set[int]:
    """Every descendant of ``pid`` (from /proc: parent id is field 4 of /proc/N/stat)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {c for c, p in parents.items() if p in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_sigterm_stops_the_server_and_every_worker(tmp_path: Path) -> None:
    with (tmp_path / "serve.log").open("w+") as log:
        _sigterm_stops_whole(tmp_path, log)


def _sigterm_stops_whole(tmp_path: Path, log: IO[str]) -> None:
    server = subprocess.Popen([sys.executable, "-m", "fairshare.cli", "serve", "--port",
                               str(_free_port())], stdout=log, stderr=subprocess.STDOUT,
                              cwd=tmp_path, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    children: set[int] = set()
    try:
        deadline = time.monotonic() + 120  # a hang guard on a busy machine, not a timing test
        while time.monotonic() < deadline and server.poll() is None:
            log.seek(0)
            children = _children(server.pid)
            if "ready on" in log.read() and children:
                break
            time.sleep(0.5)
        assert server.poll() is None, (tmp_path / "serve.log").read_text()
        assert children, "the server started no worker process"
        time.sleep(1)
        children |= _children(server.pid)
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(_alive(p) for p in children):
            time.sleep(0.5)
        assert [p for p in children if _alive(p)] == [], "worker processes outlived serve"
        assert "stopped" in (tmp_path / "serve.log").read_text()
    finally:
        if server.poll() is None:
            server.kill()
        for pid in children | _children(server.pid):  # a failed run leaves no orphans
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
