"""The job pages in the real service app (real sign-in, CSRF, security headers).

What the status JSON says as a job moves; the page's accessible status line and progress bar
and its own polling script; a failed job's message, escaped; queuing a run with the offices'
submitted returns (drafts are not offered), and cancelling it. Who may see and do what is in
the authorisation matrix (tests/test_service_authz.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from fairshare.store import jobs as q
from tests.servicecase import Case, make_case, page_csrf


@pytest.fixture
def case(database_url: str) -> Iterator[Case]:
    made = make_case(database_url)
    yield made
    made.engine.dispose()


def test_the_status_json_follows_the_job(case: Case) -> None:
    job_id = case.ids["job"]
    client = case.client("analyst")
    first = client.get(f"/jobs/{job_id}.json").get_json()
    assert (first["status"], first["finished"], first["percent"]) == ("queued", False, 0)
    assert first["status_line"] == "Waiting for a worker"
    assert "params" not in first and "worker" not in first  # nothing internal
    q.claim(case.engine, "w")
    q.progress(case.engine, job_id, 0.456, "computing the plan", worker="w")
    running = client.get(f"/jobs/{job_id}.json").get_json()
    assert running["status_line"] == "Running: computing the plan (46% done)"
    assert (running["percent"], running["run_id"]) == (46, None)
    q.finish(case.engine, job_id, {"run_id": "20261206-abc"}, worker="w")
    done = client.get(f"/jobs/{job_id}.json")
    assert done.headers["Cache-Control"] == "no-store"
    assert (done.get_json()["run_id"], done.get_json()["finished"]) == ("20261206-abc", True)


def test_the_page_is_accessible_and_polls_with_its_own_script(case: Case) -> None:
    job_id = case.ids["job"]
    q.claim(case.engine, "w")
    q.progress(case.engine, job_id, 0.25, "reading the returns", worker="w")
    client = case.client("analyst")
    page = client.get(f"/jobs/{job_id}")
    html = page.get_data(as_text=True)
    assert re.search(r'<p id="job-status-line" role="status" aria-live="polite">Running: '
                     r'reading the returns \(25% done\)</p>', html)
    assert '<progress id="job-progress" max="100" value="25"' in html
    assert f'data-status-url="/jobs/{job_id}.json"' in html
    scripts = re.findall(r'<script[^>]*src="([^"]+)"', html)
    assert "/jobs/assets/job.js" in scripts
    assert all(src.startswith("/") and not src.startswith("//") for src in scripts)  # no CDN
    assert "<script>" not in html  # no inline script: the service's policy forbids it
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    with client.get("/jobs/assets/job.js") as js:
        assert js.status_code == 200 and "job-status-line" in js.get_data(as_text=True)


def test_a_failed_jobs_page_shows_its_message_escaped(case: Case) -> None:
    job_id = case.ids["job"]
    q.claim(case.engine, "w")
    q.fail(case.engine, job_id, "capacity.csv, row 3, column 'capacity': expected a whole "
           "number of posts, got '<b>x</b>'", worker="w")
    client = case.client("analyst")
    html = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "row 3, column &#39;capacity&#39;: expected a whole number of posts, got " \
           "&#39;&lt;b&gt;x&lt;/b&gt;&#39;" in html
    assert "<b>x</b>" not in html
    assert '<p id="job-status-line" role="status" aria-live="polite">Failed</p>' in html
    assert "Cancel this job" not in html  # it has finished
    listing = client.get("/jobs").get_data(as_text=True)
    assert f'href="/jobs/{job_id}"' in listing and "expected a whole number" in listing


def test_an_analyst_queues_a_run_with_submitted_returns_only(case: Case) -> None:
    client = case.client("analyst")
    html = client.get("/jobs").get_data(as_text=True)
    offered = sorted(int(i) for i in re.findall(r'name="returns" value="(\d+)" checked', html))
    assert offered == sorted([case.ids["lead_ldn_submitted"], case.ids["lead_ne_submitted"]])
    token = page_csrf(client)
    draft = case.ids["lead_ldn_draft"]
    refused = client.post("/jobs", data={"csrf_token": token, "returns": [str(draft)]})
    assert refused.status_code == 200
    assert "not an office&#39;s newest submitted" in refused.get_data(as_text=True)
    bad_year = client.post("/jobs", data={"csrf_token": token, "horizon": "1999"})
    assert "horizon" in bad_year.get_data(as_text=True)
    queued = client.post("/jobs", data={"csrf_token": token, "name": "with London",
                                        "horizon": "2031",
                                        "returns": [str(case.ids["lead_ldn_submitted"])]})
    assert queued.status_code == 303
    job_id = int(queued.headers["Location"].rsplit("/", 1)[1])
    with case.engine.connect() as conn:
        job = q.get(conn, job_id)
    assert job is not None and job.params == {
        "name": "with London", "scenario": {"horizon": 2031},
        "returns": [case.ids["lead_ldn_submitted"]]}
    assert job.created_by == case.ids["analyst"]
    assert client.post(f"/jobs/{job_id}/cancel", data={}).status_code == 403  # no CSRF token
    cancelled = client.post(f"/jobs/{job_id}/cancel", data={"csrf_token": token})
    assert cancelled.status_code == 303
    assert client.get(f"/jobs/{job_id}.json").get_json()["status_line"] == \
        "Cancelled (cancelled by analyst)"


def test_the_list_is_newest_first(case: Case) -> None:
    ana = case.ids["analyst"]
    with case.engine.begin() as conn:
        more = [q.enqueue(conn, "uncertainty", {"draws": 100}, ana) for _ in range(2)]
    html = case.client("admin").get("/jobs").get_data(as_text=True)
    shown = [int(i) for i in re.findall(r'href="/jobs/(\d+)"', html)]
    assert shown == sorted([case.ids["job"], *more], reverse=True)
    assert "3 waiting, 0 running" in html


def test_an_analyst_queues_uncertainty_draws(case: Case) -> None:
    client = case.client("analyst")
    token = page_csrf(client)
    refused = client.post("/jobs", data={"csrf_token": token, "kind": "uncertainty",
                                         "draws": "0", "seed": "x"})
    text = refused.get_data(as_text=True)
    assert "job parameter &#39;draws&#39; must be a whole number from 1 to 1,000,000" in text
    assert "job parameter &#39;seed&#39; must be a whole number" in text
    queued = client.post("/jobs", data={"csrf_token": token, "kind": "uncertainty",
                                        "draws": "5,000", "seed": "7"})
    assert queued.status_code == 303
    job_id = int(queued.headers["Location"].rsplit("/", 1)[1])
    with case.engine.connect() as conn:
        job = q.get(conn, job_id)
    assert job is not None and (job.kind, job.params) == (
        "uncertainty", {"scenario": {}, "draws": 5000, "seed": 7})
    assert client.post("/jobs", data={"csrf_token": token, "kind": "rm -rf"}).status_code == 400
