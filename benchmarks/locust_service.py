"""The locust users of benchmarks/bench_service_load.py (not run on its own).

Each simulated person signs in once through the real sign-in form, with their own viewer
account, and then browses the published plans: the list, the current plan and its tables, and
a CSV download, with a pause between pages as a reader makes. What to browse, which accounts and
which server processes come from the environment the benchmark sets:

- ``FAIRSHARE_LOAD_HOSTS``: the server processes' base URLs, comma-separated (user *i* uses
  process *i* mod *n*, as a round-robin proxy would spread new sessions);
- ``FAIRSHARE_LOAD_USERS``: the viewer accounts' user names, comma-separated;
- ``FAIRSHARE_LOAD_PASSWORD``: their password;
- ``FAIRSHARE_LOAD_PATHS``: the pages to browse, comma-separated, each optionally ``weight:path``;
- ``FAIRSHARE_LOAD_WAIT``: the pause between pages in seconds, ``low-high``.
"""

from __future__ import annotations

import itertools
import os
import re

from locust import HttpUser, between, task

HOSTS = [h for h in os.environ.get("FAIRSHARE_LOAD_HOSTS", "").split(",") if h]
USERS = [u for u in os.environ.get("FAIRSHARE_LOAD_USERS", "").split(",") if u]
PASSWORD = os.environ.get("FAIRSHARE_LOAD_PASSWORD", "")
PATHS: list[str] = []
for item in os.environ.get("FAIRSHARE_LOAD_PATHS", "").split(","):
    if item:
        weight, _, path = item.rpartition(":") if item[0].isdigit() else ("1", "", item)
        PATHS.extend([path] * int(weight or 1))
LOW, HIGH = (float(x) for x in os.environ.get("FAIRSHARE_LOAD_WAIT", "1-3").split("-"))
_NEXT = itertools.count()
CSRF = re.compile(r'name="csrf_token"\s+value="([^"]+)"|value="([^"]+)"\s+name="csrf_token"')


class Reader(HttpUser):
    """One signed-in viewer reading published plans."""

    wait_time = between(LOW, HIGH)
    host = HOSTS[0] if HOSTS else None

    def on_start(self) -> None:
        n = next(_NEXT)
        self.client.base_url = HOSTS[n % len(HOSTS)]
        self.pages = itertools.cycle(PATHS[n % len(PATHS):] + PATHS[:n % len(PATHS)])
        form = self.client.get("/sign-in", name="sign-in (form)")
        found = CSRF.search(form.text)
        token = (found.group(1) or found.group(2)) if found else ""
        with self.client.post("/sign-in", name="sign-in (submit)", catch_response=True, data={
                "username": USERS[n % len(USERS)], "password": PASSWORD,
                "csrf_token": token}) as answer:
            if "Sign out" not in answer.text and "sign-out" not in answer.text:
                answer.failure(f"not signed in (status {answer.status_code})")

    @task
    def browse(self) -> None:
        path = next(self.pages)
        with self.client.get(path, name=path, catch_response=True) as answer:
            if answer.status_code != 200:
                answer.failure(f"status {answer.status_code}")
            elif "/sign-in" in answer.url:
                answer.failure("sent back to the sign-in page")
