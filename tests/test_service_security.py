"""Security of the service's web layer: CSRF, session fixation, cookies, hostile text and
file names, upload limits, lockout through the form, and nothing secret in the logs.

Each check is against what an attacker would send and what the database holds afterwards, not
against the code's own messages alone.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import inspect, select

from fairshare.service.settings import SettingsError, load_settings
from fairshare.store import returns
from fairshare.store.schema import accounts as accounts_table
from tests.servicecase import (
    LONDON_CAPACITY,
    PASSWORD,
    Case,
    csrf_of,
    make_case,
    page_csrf,
    sign_in,
)

HOSTILE = ["'; DROP TABLE returns; --", "\" OR 1=1 --", "../../../../etc/passwd",
           "..\\..\\windows\\win.ini", "<script>alert(1)</script>", "=HYPERLINK(\"x\")"]


@pytest.fixture
def case(tmp_path: object) -> Iterator[Case]:
    made = make_case(f"sqlite:///{tmp_path}/s.sqlite", lockout_failures=3)
    yield made
    made.engine.dispose()


def test_state_changing_requests_need_the_sessions_csrf_token(case: Case) -> None:
    lead = case.client("lead_ldn")
    path = f"/returns/{case.ids['lead_ldn_draft']}/submit"
    other = case.client("lead_ldn")  # the same person's other session has another token
    for form, headers in [({}, {}), ({"csrf_token": "forged"}, {}),
                          ({"csrf_token": page_csrf(other)}, {})]:
        assert lead.post(path, data=form, headers=headers).status_code == 403
    with case.engine.connect() as conn:  # nothing was submitted
        assert len(returns.list_returns(conn, office="London")) == 2
    good = lead.post(path, headers={"X-CSRFToken": page_csrf(lead)})  # the header form works
    assert good.status_code == 303
    assert lead.post("/sign-out", data={}).status_code == 403  # even signing out


def test_sign_in_itself_needs_the_forms_token(case: Case) -> None:
    client = case.client()
    answer = client.post("/sign-in", data={"username": "admin", "password": PASSWORD})
    assert answer.status_code == 403


def test_signing_in_gives_a_new_session_id(case: Case) -> None:
    client = case.client()
    client.set_cookie("fairshare_session", "planted-by-an-attacker")
    sign_in(client, "analyst")
    first = client.get_cookie("fairshare_session")
    assert first is not None and first.value != "planted-by-an-attacker"
    sign_in_again = client.get("/sign-in")  # signed in: sent home, no new form
    assert sign_in_again.status_code == 302
    client.post("/sign-out", data={"csrf_token": page_csrf(client)})
    sign_in(client, "analyst")
    second = client.get_cookie("fairshare_session")
    assert second is not None and second.value != first.value
    stale = case.client()
    stale.set_cookie("fairshare_session", first.value)  # the old id no longer works
    assert stale.get("/").status_code == 302


def test_cookies_are_httponly_strict_and_secure(tmp_path: object) -> None:
    case = make_case(f"sqlite:///{tmp_path}/c.sqlite", secure_cookies=True)
    client = case.client()
    page = client.get("/sign-in", base_url="https://localhost")
    answer = client.post("/sign-in", base_url="https://localhost", data={
        "username": "viewer", "password": PASSWORD, "csrf_token": csrf_of(page.text)})
    cookie = next(c for c in answer.headers.getlist("Set-Cookie") if c.startswith("__Host-"))
    for flag in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/"):
        assert flag in cookie
    assert "Domain" not in cookie
    case.engine.dispose()


def test_security_headers_on_every_page(case: Case) -> None:
    client = case.client("admin")
    for path in ("/", "/sign-in", "/publications/1", "/admin/audit.csv", "/nowhere"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("style-src")[0]
        assert headers["Cache-Control"] == "no-store"
        assert headers["X-Content-Type-Options"] == "nosniff"
    css = client.get("/static/service.css")
    assert "no-store" not in css.headers.get("Cache-Control", "")
    css.close()


def test_health_says_the_revision_and_nothing_secret(case: Case) -> None:
    from fairshare.store import db

    answer = case.client().get("/health")
    assert answer.status_code == 200
    assert answer.json == {"status": "ok", "database": "reachable",
                           "revision": db.head_revision(), "expected_revision": db.head_revision()}


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_is_stored_as_text_or_refused(case: Case, text: str) -> None:
    lead = case.client("lead_ldn")
    token = page_csrf(lead)
    answer = lead.post("/returns/new/capacity", data={
        "csrf_token": token, "status": "draft", "note": text,
        "capacity": (__import__("io").BytesIO(LONDON_CAPACITY), text + ".csv")},
        content_type="multipart/form-data")
    with case.engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) >= {"returns", "accounts", "audit_log"}
    if answer.status_code == 200:  # refused, with a message, and nothing stored
        assert "There is a problem" in answer.get_data(as_text=True)
        with case.engine.connect() as conn:
            assert len(returns.list_returns(conn, office="London")) == 2
        return
    assert answer.status_code == 303
    new_id = int(answer.headers["Location"].split("/returns/")[1].split("?")[0])
    with case.engine.connect() as conn:
        record = returns.get_return(conn, new_id)
        files = returns.return_files(conn, new_id)
    assert record is not None and record.note == text  # kept exactly, as text
    shown = files["capacity"][0]
    assert "/" not in shown and "\\" not in shown  # only the name's last part is kept
    page = lead.get(f"/returns/{new_id}").get_data(as_text=True)
    assert "<script>alert" not in page  # escaped on the page
    download = lead.get(f"/returns/{new_id}/files/capacity")
    assert download.data == LONDON_CAPACITY
    disposition = download.headers["Content-Disposition"]
    assert ".." not in disposition and "/" not in disposition.split("filename=")[1]
    admin = case.client("admin")
    made = admin.post("/admin/accounts", data={"csrf_token": page_csrf(admin), "username": text,
                                               "role": "viewer", "password": PASSWORD})
    assert made.status_code == 200 and "not allowed" in made.get_data(as_text=True)
    signed = case.client().post("/sign-in", data={
        "csrf_token": csrf_of(case.client().get("/sign-in").text), "username": text,
        "password": text})
    assert signed.status_code in (401, 403)
    with case.engine.connect() as conn:
        assert len(conn.execute(select(accounts_table.c.id)).all()) == 6  # none added


@pytest.mark.parametrize(("name", "data", "expected"), [
    ("capacity.exe", LONDON_CAPACITY, "must end .csv or .xlsx"),
    ("capacity.xls", LONDON_CAPACITY, "must end .csv or .xlsx"),
    ("capacity.csv", b"local_office,specialty,year,capacity\n" + b"London,Cardiology,,3\n" * 200,
     "too large"),
    ("capacity.xlsx", LONDON_CAPACITY, "not an Excel workbook"),
    ("capacity.csv", b"local_office,specialty,year,capacity\nLondon,Cardiologgy,,3\n",
     "row 2, column 'specialty'"),
    ("capacity.csv", LONDON_CAPACITY.replace(b"London", b"North East"), "only your own office"),
])
def test_uploads_are_limited_and_checked_like_validate(tmp_path: object, name: str, data: bytes,
                                                       expected: str) -> None:
    case = make_case(f"sqlite:///{tmp_path}/u.sqlite", upload_max_bytes=2048)
    lead = case.client("lead_ldn")
    answer = lead.post("/returns/new/capacity", data={
        "csrf_token": page_csrf(lead), "status": "submitted",
        "capacity": (__import__("io").BytesIO(data), name)},
        content_type="multipart/form-data")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "There is a problem" in page
    assert expected in page.replace("&#39;", "'")
    with case.engine.connect() as conn:
        assert len(returns.list_returns(conn, office="London")) == 2  # nothing stored
    case.engine.dispose()


def test_a_large_upload_within_the_limit_is_read_not_refused(case: Case) -> None:
    """werkzeug's multipart decoder buffers an upload while it looks for the boundary: a 1 MB
    file within the 10 MB limit must reach the checks (here: its problems), not a 413."""
    lead = case.client("lead_ldn")
    rows = b"".join(b"London,Cardiology,%d,3\n" % (2000 + i % 50) for i in range(50_000))
    data = b"local_office,specialty,year,capacity\n" + rows
    assert len(data) > 1_000_000
    from werkzeug.datastructures import FileStorage, MultiDict
    from werkzeug.test import encode_multipart

    # encoded in memory: the test client would spool a large body to an unclosed temp file
    boundary, body = encode_multipart(MultiDict({
        "csrf_token": page_csrf(lead),
        "capacity": FileStorage(__import__("io").BytesIO(data), "big.csv")}))
    answer = lead.post("/returns/new/capacity", data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "There are 21 problems" in page  # 20 and a count
    assert "more problems" in page


def test_validation_messages_are_those_of_fairshare_validate(case: Case, tmp_path: object) -> None:
    """The same file through `fairshare validate` and the upload page: the same problem text."""
    from pathlib import Path

    from typer.testing import CliRunner

    from fairshare.cli import app

    bad = b"local_office,specialty,year,capacity\nLondon,Cardiology,,-3\n"
    path = Path(str(tmp_path)) / "mine.csv"
    path.write_bytes(bad)
    cli = CliRunner().invoke(app, ["validate", str(path), "--kind", "capacity"])
    problem = next(line for line in cli.output.splitlines() if "row 2" in line)
    problem = problem.strip(" -").replace(str(path), "mine.csv")
    lead = case.client("lead_ldn")
    page = lead.post("/returns/new/capacity", data={
        "csrf_token": page_csrf(lead), "capacity": (__import__("io").BytesIO(bad), "mine.csv")},
        content_type="multipart/form-data").get_data(as_text=True)
    assert problem in page.replace("&#39;", "'")


def test_lockout_through_the_form(case: Case) -> None:
    client = case.client()
    for _ in range(3):
        token = csrf_of(client.get("/sign-in").text)
        answer = client.post("/sign-in", data={"username": "viewer", "password": "wrong one!",
                                                "csrf_token": token})
        assert answer.status_code == 401
    assert "locked" in answer.get_data(as_text=True)
    token = csrf_of(client.get("/sign-in").text)
    right = client.post("/sign-in", data={"username": "viewer", "password": PASSWORD,
                                          "csrf_token": token})
    assert right.status_code == 401 and "locked" in right.get_data(as_text=True)


def test_nothing_secret_reaches_the_log(case: Case, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client = case.client()
    sign_in(client, "admin")
    session = client.get_cookie("fairshare_session")
    assert session is not None
    token = page_csrf(client)
    client.get("/publications?token=query-secret-123")
    client.post("/admin/accounts", data={"csrf_token": token, "username": "newbie",
                                         "role": "viewer", "password": "another long secret"})
    client.post("/sign-in", data={"username": "x", "password": "typo-secret-456"})
    text = caplog.text + "\n".join(str(r.__dict__) for r in caplog.records)
    for secret in (PASSWORD, session.value, token, "query-secret-123", "another long secret",
                   "typo-secret-456"):
        assert secret not in text
    lines = [r.getMessage() for r in caplog.records if r.name == "fairshare.service.access"]
    assert any('"path": "/publications"' in line and '"status": 200' in line for line in lines)
    from fairshare.store import audit

    with case.engine.connect() as conn:  # nor the audit log
        log = audit.entries(conn).astype(str).to_csv()
    for secret in (PASSWORD, session.value, token, "another long secret"):
        assert secret not in log


def test_settings_explain_what_is_wrong(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "service.toml"
    path.write_text("lockout_failures = 0\nsecure_cookie = false\n")
    with pytest.raises(SettingsError) as err:
        load_settings(path, env={})
    assert "key 'lockout_failures'" in str(err.value) and "secure_cookie" in str(err.value)
    with pytest.raises(SettingsError, match="FAIRSHARE_SESSION_HOURS"):
        load_settings(None, env={"FAIRSHARE_SESSION_HOURS": "forever"})
    loaded = load_settings(None, env={"FAIRSHARE_UPLOAD_TYPES": ".csv"})
    assert loaded.upload_types == (".csv",)
    with pytest.raises(SettingsError, match="oidc_issuer, oidc_client_id and oidc_client_secret"):
        load_settings(None, env={"FAIRSHARE_OIDC_ISSUER": "https://id.example"})


def test_oidc_is_configured_by_settings_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The configuration path (no identity provider runs here): the authorisation request
    carries the client id, PKCE S256, a state and a nonce, and goes to the provider's
    endpoint; the state kept for the return is in an HttpOnly, SameSite=Lax cookie."""
    from urllib.parse import parse_qs, urlparse

    from fairshare.service import oidc

    settings = load_settings(None, env={"FAIRSHARE_OIDC_ISSUER": "https://id.example.nhs.uk",
                                        "FAIRSHARE_OIDC_CLIENT_ID": "fairshare",
                                        "FAIRSHARE_OIDC_CLIENT_SECRET": "s3cret-value"})
    assert settings.oidc_enabled and "s3cret-value" not in repr(settings)
    monkeypatch.setattr(oidc, "metadata", lambda s: {
        "issuer": "https://id.example.nhs.uk", "jwks_uri": "https://id.example.nhs.uk/jwks",
        "authorization_endpoint": "https://id.example.nhs.uk/authorize",
        "token_endpoint": "https://id.example.nhs.uk/token"})
    url, state = oidc.authorisation_url(settings, "https://plan.nhs.uk/sign-in/oidc/callback")
    query = parse_qs(urlparse(url).query)
    assert url.startswith("https://id.example.nhs.uk/authorize?")
    assert query["client_id"] == ["fairshare"] and query["response_type"] == ["code"]
    assert query["code_challenge_method"] == ["S256"] and query["state"] == [state["state"]]
    assert query["nonce"] == [state["nonce"]] and "s3cret-value" not in url


def test_the_simple_form_is_checked_as_the_template(case: Case) -> None:
    """Rows typed in the form: a wrong specialty is told by the form's own row number; right
    rows are stored as the template's CSV for the lead's own office."""
    lead = case.client("lead_ldn")
    form = {"csrf_token": page_csrf(lead), "status": "submitted",
            "specialty_0": "Cardiology", "year_0": "", "count_0": "3",
            "specialty_1": "Cardiology", "year_1": "2027", "count_1": "-2"}
    page = lead.post("/returns/new/capacity", data=form).get_data(as_text=True)
    assert "form row 2, column &#39;capacity&#39;" in page
    form["count_1"] = "2"
    answer = lead.post("/returns/new/capacity", data=form)
    assert answer.status_code == 303
    new_id = int(answer.headers["Location"].split("/returns/")[1].split("?")[0])
    with case.engine.connect() as conn:
        stored = returns.return_files(conn, new_id)["capacity"][1]
        record = returns.get_return(conn, new_id)
    assert stored == (b"local_office,specialty,year,capacity\nLondon,Cardiology,,3\n"
                      b"London,Cardiology,2027,2\n")
    assert record is not None and (record.office, record.rows, record.status) == (
        "London", 2, "submitted")


def test_the_audit_export_is_complete_and_described(case: Case) -> None:
    """The CSV export holds every entry the database holds, and each column is in the data
    dictionary (publish/columns.py)."""
    import io

    import pandas as pd

    from fairshare.publish.columns import dictionary
    from fairshare.store import audit

    admin = case.client("admin")
    exported = pd.read_csv(io.BytesIO(admin.get("/admin/audit.csv").data))
    with case.engine.connect() as conn:
        stored = audit.entries(conn)
    assert len(exported) == len(stored) - 1  # all but the export's own entry, written after
    assert list(exported["action"]) == list(stored["action"])[:-1]
    assert stored["action"].iloc[-1] == "audit_exported"
    described = dictionary(list(exported.columns), "audit_log")
    assert described["meaning"].str.len().gt(0).all()


def test_post_records_are_read_as_posts_import_reads_them(case: Case, tmp_path: object) -> None:
    """SYNTHETIC TIS post and placement records (scripts/make_synthetic_tis.py) for North East:
    North East's lead stores them with one row per post in the file; London's lead is refused
    them (not their office)."""
    import io
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    from make_synthetic_tis import synthetic_records, write_set

    folder = Path(str(tmp_path)) / "tis"
    posts, placements = synthetic_records(seed=5, areas=["North East"])
    write_set(folder, posts, placements)
    files = {role: (folder / f"SYNTHETIC_tis_{role}.csv").read_bytes()
             for role in ("posts", "placements")}

    def upload(who: str) -> Any:
        from werkzeug.datastructures import FileStorage, MultiDict
        from werkzeug.test import encode_multipart

        lead = case.client(who)
        boundary, body = encode_multipart(MultiDict({  # in memory: see the 1 MB test
            "csrf_token": page_csrf(lead), "status": "submitted",
            **{role: FileStorage(io.BytesIO(data), f"{role}.csv")
               for role, data in files.items()}}))
        return lead.post("/returns/new/post_records", data=body,
                         content_type=f"multipart/form-data; boundary={boundary}")

    refused = upload("lead_ldn")
    assert refused.status_code == 200 and "only your own office" in refused.get_data(
        as_text=True)
    stored = upload("lead_ne")
    assert stored.status_code == 303
    with case.engine.connect() as conn:
        record = returns.list_returns(conn, office="North East", kind="post_records")[0]
        kept = returns.return_files(conn, record.id)
    assert record.rows == len(posts) and record.status == "submitted"
    assert kept["posts"][1] == files["posts"]
    # Data minimisation: of the placements only the four columns the plan reads are stored,
    # every row's values as uploaded (read back with the csv module, not fairshare's reader).
    import csv

    raw = list(csv.DictReader(io.StringIO(files["placements"].decode("utf-8-sig"))))
    stored = list(csv.DictReader(io.StringIO(kept["placements"][1].decode("utf-8"))))
    four = ["National Post Number", "Date From", "Date To", "WTE"]
    assert list(stored[0]) == four and len(stored) == len(raw)
    assert [[r[c] for c in four] for r in stored] == [
        [r.get(c, r.get(c + "*", "")) for c in four] for r in raw]
    extra = set(raw[0]) - {c + s for c in four for s in ("", "*")}
    assert extra, "the SYNTHETIC placements should carry columns beyond the four"

    # Placement records name trainees: another office's lead may not read them even submitted;
    # the analyst who runs with them may (ids typed by hand, as an attacker would).
    page = f"/returns/{record.id}"
    assert case.client("lead_ldn").get(page).status_code in (403, 404)
    assert f'href="{page}"' not in case.client("lead_ldn").get("/returns").get_data(as_text=True)
    assert case.client("analyst").get(page).status_code == 200


def test_an_admin_sets_a_password_that_ends_the_old_sessions(case: Case) -> None:
    viewer = case.client("viewer")
    admin = case.client("admin")
    path = f"/admin/accounts/{case.ids['viewer']}"
    short = admin.post(path, data={"csrf_token": page_csrf(admin), "action": "password",
                                   "password": "short"})
    assert "at+least+12+characters" in short.headers["Location"]
    assert viewer.get("/").status_code == 200  # nothing changed yet
    admin.post(path, data={"csrf_token": page_csrf(admin), "action": "password",
                           "password": "a brand new passphrase"})
    assert viewer.get("/").status_code == 302  # the viewer's session has ended
    sign_in(case.client(), "viewer", "a brand new passphrase")


def test_a_reviewer_decides_only_within_their_specialty_and_office(case: Case) -> None:
    from fairshare.store import accounts

    with case.engine.begin() as conn:
        accounts.create_account(conn, username="rev_ldn", role="reviewer", password=PASSWORD,
                                office="London", specialty="Cardiology", actor="test")
    reviewer = case.client("rev_ldn")
    token = page_csrf(reviewer)
    for recommendation in ("North East|Cardiology|2027|RTD",  # another office
                           "London|Geriatric Medicine|2027|RJ1",  # another specialty
                           "London|Cardiology|2027"):  # not a recommendation's name
        answer = reviewer.post("/reviews/decide?area=North+East", data={
            "csrf_token": token, "recommendation": recommendation, "decision": "accept"})
        assert answer.status_code == 403, recommendation
    ok = reviewer.post("/reviews/decide", data={
        "csrf_token": token, "recommendation": "London|Cardiology|2027|RJ1",
        "decision": "accept"})
    assert ok.status_code == 303
    from fairshare.store import decisions
    from tests.servicecase import RUN_ID

    with case.engine.connect() as conn:
        stored = decisions.decisions_for(conn, RUN_ID)
    assert list(stored["recommendation"]) == ["London|Cardiology|2027|RJ1"]
