"""The job pages: who sees them, what the status JSON says, what a failed job's page shows.

The app here is a bare Flask app with the blueprint and a request account set the way
service/context.py sets it (``g.session.account``), so these tests check the blueprint alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from flask import Flask, g
from flask.testing import FlaskClient
from sqlalchemy import Engine

from fairshare.service import jobs_views
from fairshare.store import db
from fairshare.store import jobs as q
from tests.test_jobs_queue import make_account


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = db.open_database(database_url)
    yield engine
    engine.dispose()


def client_as(engine: Engine, role: str | None) -> FlaskClient:
    app = Flask("test")
    app.extensions["fairshare_db"] = engine
    app.register_blueprint(jobs_views.bp)

    @app.before_request
    def _who() -> None:
        g.session = None if role is None else SimpleNamespace(
            account=SimpleNamespace(role=role, username=role))

    return app.test_client()


def queued(engine: Engine, n: int = 1) -> list[int]:
    ana = make_account(engine)
    with engine.begin() as conn:
        return [q.enqueue(conn, "run", {"scenario": {"horizon": 2030}}, ana) for _ in range(n)]


def test_only_admins_and_analysts_see_jobs(engine: Engine) -> None:
    [job_id] = queued(engine)
    pages = ["/jobs", f"/jobs/{job_id}", f"/jobs/{job_id}.json"]
    expected = {None: 401, "viewer": 403, "office_lead": 403, "reviewer": 403,
                "analyst": 200, "admin": 200}
    for role, code in expected.items():
        client = client_as(engine, role)
        assert [client.get(p).status_code for p in pages] == [code] * 3, role
    assert client_as(engine, "analyst").get("/jobs/999999.json").status_code == 404


def test_the_status_json_follows_the_job(engine: Engine) -> None:
    [job_id] = queued(engine)
    client = client_as(engine, "analyst")
    first = client.get(f"/jobs/{job_id}.json").get_json()
    assert (first["status"], first["finished"], first["percent"]) == ("queued", False, 0)
    assert first["status_line"] == "Waiting for a worker"
    assert "params" not in first and "worker" not in first  # nothing internal
    q.claim(engine, "w")
    q.progress(engine, job_id, 0.456, "computing the plan", worker="w")
    running = client.get(f"/jobs/{job_id}.json").get_json()
    assert running["status_line"] == "Running: computing the plan (46% done)"
    assert (running["percent"], running["run_id"]) == (46, None)
    q.finish(engine, job_id, {"run_id": "20261206-abc"}, worker="w")
    done = client.get(f"/jobs/{job_id}.json")
    assert done.headers["Cache-Control"] == "no-store"
    assert (done.get_json()["run_id"], done.get_json()["finished"]) == ("20261206-abc", True)


def test_the_page_is_accessible_and_polls_with_its_own_script(engine: Engine) -> None:
    [job_id] = queued(engine)
    q.claim(engine, "w")
    q.progress(engine, job_id, 0.25, "reading the returns", worker="w")
    client = client_as(engine, "analyst")
    html = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert re.search(r'<p id="job-status-line" role="status" aria-live="polite">Running: '
                     r'reading the returns \(25% done\)</p>', html)
    assert '<progress id="job-progress" max="100" value="25"' in html
    assert f'data-status-url="/jobs/{job_id}.json"' in html
    scripts = re.findall(r'<script[^>]*src="([^"]+)"', html)
    assert scripts == ["/jobs/assets/job.js"]  # served here: no CDN
    assert "<script>" not in html  # no inline script (the service's CSP forbids it)
    with client.get(scripts[0]) as js:
        assert js.status_code == 200 and "job-status-line" in js.get_data(as_text=True)


def test_a_failed_jobs_page_shows_its_message_escaped(engine: Engine) -> None:
    [job_id] = queued(engine)
    q.claim(engine, "w")
    q.fail(engine, job_id, "capacity.csv, row 3, column 'capacity': expected a whole number "
           "of posts, got '<b>x</b>'", worker="w")
    client = client_as(engine, "analyst")
    html = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "row 3, column &#39;capacity&#39;: expected a whole number of posts, got " \
           "&#39;&lt;b&gt;x&lt;/b&gt;&#39;" in html
    assert "<b>x</b>" not in html
    assert '<p id="job-status-line" role="status" aria-live="polite">Failed</p>' in html
    listing = client.get("/jobs").get_data(as_text=True)
    assert f'href="/jobs/{job_id}"' in listing and "expected a whole number" in listing


def test_the_list_is_newest_first(engine: Engine) -> None:
    ids = queued(engine, 3)
    html = client_as(engine, "admin").get("/jobs").get_data(as_text=True)
    shown = [int(i) for i in re.findall(r'href="/jobs/(\d+)"', html)]
    assert shown == sorted(ids, reverse=True)
    assert "3 waiting, 0 running" in html
