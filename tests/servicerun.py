"""The real shared service in a child process, for the end-to-end test and the benchmarks.

Why a child process and not the app in a thread: the point is to run what a deployment runs,
``fairshare service serve`` (waitress) started by the command line, reading its settings from a
file and the environment, on a database the CLI made an admin in. Nothing here reaches outside
loopback: the server listens on 127.0.0.1 on a free port, and the database is the tests'
throwaway PostgreSQL server (tests/pgcluster.py) or a SQLite file.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any

#: A password long enough for the service's rule (12 characters or more); tests only.
PASSWORD = "correct horse battery staple"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(*args: str, stdin: str | None = None, env: dict[str, str] | None = None,
        check: bool = True) -> subprocess.CompletedProcess[str]:
    """``fairshare ARGS`` as a new process (the same interpreter and source tree as the tests)."""
    done = subprocess.run([sys.executable, "-m", "fairshare.cli", *args], input=stdin,
                          capture_output=True, text=True, check=False,
                          env={**os.environ, **(env or {})}, timeout=300)
    if check and done.returncode != 0:
        raise RuntimeError(f"`fairshare {' '.join(args)}` failed ({done.returncode}):\n"
                           f"{done.stdout}\n{done.stderr}")
    return done


def create_admin(database: str, username: str, password: str = PASSWORD) -> str:
    """The first admin, made the way the deployment guide says (password on standard input)."""
    done = cli("service", "create-admin", username, "--database", database, "--password-stdin",
               stdin=password + "\n")
    return done.stdout + done.stderr


def write_settings(folder: Path, **values: Any) -> Path:
    """A settings file (TOML) for a loopback test server: cookies without ``Secure`` (plain
    http on 127.0.0.1), everything else the service's defaults unless given."""
    lines = []
    for key, value in {"secure_cookies": False, **values}.items():
        if isinstance(value, bool):
            lines.append(f"{key} = {'true' if value else 'false'}")
        elif isinstance(value, (int, float)):
            lines.append(f"{key} = {value}")
        else:
            lines.append(f'{key} = "{value}"')
    path = folder / "service.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class Server:
    """``fairshare service serve`` on 127.0.0.1:``port``, started and stopped with ``with``."""

    def __init__(self, database: str, settings: Path, *, port: int | None = None,
                 extra: tuple[str, ...] = (), env: dict[str, str] | None = None) -> None:
        self.database = database
        self.settings = settings
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.extra = extra
        self.env = env or {}
        self.log_path = Path(tempfile.mkstemp(prefix="fairshare-service-", suffix=".log")[1])
        self._log: IO[str] | None = None
        self.proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, timeout: float = 120) -> None:
        self._log = self.log_path.open("w+", encoding="utf-8")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "fairshare.cli", "service", "serve", "--database",
             self.database, "--settings", str(self.settings), "--host", "127.0.0.1",
             "--port", str(self.port), *self.extra],
            stdout=self._log, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env})
        self._wait_healthy(timeout)

    def _wait_healthy(self, timeout: float) -> None:
        import requests

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"`fairshare service serve` exited with {self.proc.returncode}:"
                                   f"\n{self.log()}")
            try:
                if requests.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.25)
        raise RuntimeError(f"`fairshare service serve` did not answer /health within "
                           f"{timeout:.0f} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self._log is not None:
            self._log.close()
            self._log = None


CSRF_FIELD = re.compile(r'name="csrf_token"\s+value="([^"]+)"|value="([^"]+)"\s+name="csrf_token"')


def csrf_from(html: str) -> str:
    """The CSRF token a server-rendered form carries (hidden field ``csrf_token``)."""
    found = CSRF_FIELD.search(html)
    if not found:
        raise AssertionError("the page has no csrf_token field")
    return found.group(1) or found.group(2)


def sign_in(session: Any, base: str, username: str, password: str = PASSWORD) -> Any:
    """Sign ``session`` (a requests.Session) in through the real sign-in form."""
    page = session.get(f"{base}/sign-in", timeout=30)
    page.raise_for_status()
    answer = session.post(f"{base}/sign-in", timeout=60, data={
        "username": username, "password": password, "csrf_token": csrf_from(page.text)})
    answer.raise_for_status()
    if "sign-out" not in answer.text and "Sign out" not in answer.text:
        raise AssertionError(f"signing in as {username} did not reach a signed-in page: "
                             f"{answer.url}")
    return answer
