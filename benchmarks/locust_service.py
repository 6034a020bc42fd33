"""The locust users of benchmarks/bench_service_load.py (not run on its own).

Each simulated person is one viewer account already signed in through the real sign-in form
(the benchmark signs them in first and hands over their session cookies, so the sign-ins'
password hashing is timed on its own and not mixed into the browsing figures) and browses the
published plans: the list, the current plan, its tables and their CSV downloads, with a pause
between pages as a reader makes. What to browse, which sessions and which server processes come
from the environment the benchmark sets:

- ``FAIRSHARE_LOAD_HOSTS``: the server processes' base URLs, comma-separated (user *i* uses
  process *i* mod *n*, as a round-robin proxy spreads requests: sessions live in the database,
  so any process serves any session);
- ``FAIRSHARE_LOAD_COOKIES``: a JSON file, one {cookie name: value} per signed-in person;
- ``FAIRSHARE_LOAD_PATHS``: the pages to browse, comma-separated, each optionally ``weight:path``;
- ``FAIRSHARE_LOAD_WAIT``: the pause between pages in seconds, ``low-high``.
"""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path

from locust import HttpUser, between, task

HOSTS = [h for h in os.environ.get("FAIRSHARE_LOAD_HOSTS", "").split(",") if h]
_COOKIES = os.environ.get("FAIRSHARE_LOAD_COOKIES")
SESSIONS: list[dict[str, str]] = json.loads(Path(_COOKIES).read_text()) if _COOKIES else []
PATHS: list[str] = []
for item in os.environ.get("FAIRSHARE_LOAD_PATHS", "").split(","):
    if item:
        weight, _, path = item.rpartition(":") if item[0].isdigit() else ("1", "", item)
        PATHS.extend([path] * int(weight or 1))
LOW, HIGH = (float(x) for x in os.environ.get("FAIRSHARE_LOAD_WAIT", "1-3").split("-"))
_NEXT = itertools.count()


class Reader(HttpUser):
    """One signed-in viewer reading published plans."""

    wait_time = between(LOW, HIGH)
    host = HOSTS[0] if HOSTS else None

    def on_start(self) -> None:
        n = next(_NEXT)
        self.client.base_url = HOSTS[n % len(HOSTS)]
        self.pages = itertools.cycle(PATHS[n % len(PATHS):] + PATHS[:n % len(PATHS)])
        for name, value in SESSIONS[n % len(SESSIONS)].items():
            self.client.cookies.set(name, value)

    @task
    def browse(self) -> None:
        path = next(self.pages)
        with self.client.get(path, name=path, catch_response=True) as answer:
            if answer.status_code != 200:
                answer.failure(f"status {answer.status_code}")
            elif "/sign-in" in answer.url:
                answer.failure("sent back to the sign-in page")
