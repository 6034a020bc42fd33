"""A service over a fresh database with one account per role and known records, for tests.

The run stored here is a hand-made, three-row targets table (not the model's output): the
pages only have to show and serve what is stored, so the tests check them against these rows.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from werkzeug.serving import WSGIRequestHandler, make_server

from fairshare.service.app import create_app
from fairshare.service.settings import load_settings
from fairshare.store import accounts, db, jobs, publications, returns
from fairshare.store.runs import table_bytes
from fairshare.store.schema import run_tables, runs

PASSWORD = "correct horse battery staple"
ROLES = {"admin": ("admin", None, None), "analyst": ("analyst", None, None),
         "lead_ldn": ("office_lead", "London", None),
         "lead_ne": ("office_lead", "North East", None),
         "reviewer": ("reviewer", None, "Cardiology"), "viewer": ("viewer", None, None)}
#: A capacity return of London's in the layout `fairshare template capacity` writes.
LONDON_CAPACITY = b"local_office,specialty,year,capacity\nLondon,Cardiology,,3\n"
TARGETS = pd.DataFrame({"level": ["local_office"] * 3, "area": ["London", "London", "North East"],
                        "specialty": ["Cardiology", "Geriatric Medicine", "Cardiology"],
                        "current": [100, 50, 40], "target": [96, 55, 44], "gap": [-4, 5, 4]})
RUN_ID = "20260101000000-abcdef"


@dataclass
class Case:
    app: Flask
    engine: Engine
    ids: dict[str, int] = field(default_factory=dict)

    def client(self, who: str | None = None) -> FlaskClient:
        client = self.app.test_client()
        if who is not None:
            sign_in(client, who)
        return client


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no csrf_token field on the page"
    return found.group(1)


def sign_in(client: FlaskClient, who: str, password: str = PASSWORD) -> Any:
    token = csrf_of(client.get("/sign-in").get_data(as_text=True))
    answer = client.post("/sign-in", data={"username": who, "password": password,
                                           "csrf_token": token})
    assert answer.status_code == 303, answer.get_data(as_text=True)[:500]
    return answer


def page_csrf(client: FlaskClient) -> str:
    """The signed-in session's CSRF token, as every form of the home page carries it."""
    return csrf_of(client.get("/").get_data(as_text=True))


def make_case(url: str, **settings: Any) -> Case:
    engine = db.open_database(url)
    options = {"secure_cookies": False, "explorer": False, **settings}
    app = create_app(load_settings(None, env={}, **options), engine)
    app.config["TESTING"] = True
    case = Case(app, engine)
    with engine.begin() as conn:
        for name, (role, office, specialty) in ROLES.items():
            made = accounts.create_account(conn, username=name, role=role, password=PASSWORD,
                                           office=office, specialty=specialty, actor="test")
            case.ids[name] = made.id
        conn.execute(runs.insert().values(
            id=RUN_ID, name="test run", created="2026-01-01T00:00:00", saved="2026-01-01",
            tables={"targets": "x"}, metadata={}))
        conn.execute(run_tables.insert().values(run_id=RUN_ID, name="targets", sha256="x",
                                                data=table_bytes(TARGETS, "targets")))
        publications.publish(conn, run_id=RUN_ID, title="Plan one", note="first",
                             account_id=case.ids["analyst"])
        for office, lead in (("London", "lead_ldn"), ("North East", "lead_ne")):
            data = LONDON_CAPACITY.replace(b"London", office.encode())
            for status in ("draft", "submitted"):
                made_return = returns.submit(
                    conn, office=office, kind="capacity", status=status, rows=1,
                    files={"capacity": ("capacity.csv", data)}, account_id=case.ids[lead])
                case.ids[f"{lead}_{status}"] = made_return.id
        case.ids["job"] = jobs.enqueue(conn, "run", {"scenario": {"horizon": 2030}},
                                       case.ids["analyst"])
    return case


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


@contextlib.contextmanager
def served(case: Case) -> Iterator[str]:
    """The case's app on a free loopback port in a thread, for the browser tests: its URL."""
    srv = make_server("127.0.0.1", 0, case.app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=srv.serve_forever, name="fairshare-service", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.server_port}"
    finally:
        srv.shutdown()
        thread.join(timeout=10)
        srv.server_close()
        case.engine.dispose()
