"""The authorisation matrix: every role (and no one) x every page, download and action.

The expected answers are written out by hand from the design (docs/service.md, "Sign-in,
roles and pages"), not derived from the code's own role lists. "allowed" means the page or
action answered (200, or 303 after a change); anything else (to sign-in, 401, 403, 404) is
refused. Office leads cannot reach another office's drafts by editing ids in the address.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.servicecase import PASSWORD, ROLES, Case, make_case, page_csrf

EVERYONE = set(ROLES)
NONE: set[str] = set()


@pytest.fixture
def case(database_url: str) -> Iterator[Case]:
    made = make_case(database_url)
    yield made
    made.engine.dispose()


def gets(c: Case) -> list[tuple[str, set[str]]]:
    i = c.ids
    return [
        ("/", EVERYONE),
        ("/publications", EVERYONE),
        ("/publications/1", EVERYONE),
        ("/publications/1/tables/targets", EVERYONE),
        ("/publications/1/tables/targets.csv", EVERYONE),
        ("/publications/new", {"admin", "analyst"}),
        ("/returns", {"admin", "analyst", "lead_ldn", "lead_ne"}),
        ("/returns/new/capacity", {"lead_ldn", "lead_ne"}),
        (f"/returns/{i['lead_ldn_submitted']}", {"admin", "analyst", "lead_ldn", "lead_ne"}),
        (f"/returns/{i['lead_ldn_submitted']}/files/capacity",
         {"admin", "analyst", "lead_ldn", "lead_ne"}),
        (f"/returns/{i['lead_ldn_draft']}", {"admin", "lead_ldn"}),
        (f"/returns/{i['lead_ldn_draft']}/files/capacity", {"admin", "lead_ldn"}),
        (f"/returns/{i['lead_ne_draft']}", {"admin", "lead_ne"}),
        (f"/returns/{i['lead_ne_draft']}/files/capacity", {"admin", "lead_ne"}),
        ("/reviews", {"admin", "analyst", "reviewer"}),
        ("/admin/accounts", {"admin"}),
        ("/admin/audit", {"admin"}),
        ("/admin/audit.csv", {"admin"}),
        ("/jobs", {"admin", "analyst"}),
        (f"/jobs/{i['job']}", {"admin", "analyst"}),
        (f"/jobs/{i['job']}.json", {"admin", "analyst"}),
    ]


def posts(c: Case) -> list[tuple[str, dict[str, str], set[str]]]:
    i = c.ids
    return [
        (f"/returns/{i['lead_ldn_draft']}/submit", {}, {"lead_ldn"}),
        (f"/returns/{i['lead_ne_draft']}/submit", {}, {"lead_ne"}),
        ("/returns/new/capacity", {"status": "draft"}, {"lead_ldn", "lead_ne"}),
        ("/publications/new", {"run_id": "nope", "title": "t"}, {"admin", "analyst"}),
        ("/reviews/decide", {"recommendation": "London|Cardiology|2027|RJ1",
                             "decision": "accept"}, {"reviewer"}),
        (f"/admin/accounts/{i['viewer']}", {"action": "unlock"}, {"admin"}),
        (f"/admin/accounts/{i['viewer']}", {"action": "password", "password": PASSWORD},
         {"admin"}),
        ("/jobs", {"horizon": "2030"}, {"admin", "analyst"}),
        (f"/jobs/{i['job']}/cancel", {}, {"admin", "analyst"}),
    ]


def _allowed(status: int) -> bool:
    return status in (200, 303)


def test_every_role_gets_exactly_the_pages_the_design_gives_it(case: Case) -> None:
    wrong = []
    for who in [None, *ROLES]:
        client = case.client(who)
        for path, allowed in gets(case):
            status = client.get(path).status_code
            if _allowed(status) != (who in allowed):
                wrong.append(f"{who} GET {path}: {status}")
    assert not wrong, "\n".join(wrong)


def test_every_role_may_do_exactly_the_actions_the_design_gives_it(case: Case) -> None:
    wrong = []
    for who in [None, *ROLES]:
        for path, form, allowed in posts(case):
            client = case.client(who)  # a fresh session: one action must not enable the next
            token = page_csrf(client) if who else ""
            status = client.post(path, data={**form, "csrf_token": token}).status_code
            if _allowed(status) != (who in allowed):
                wrong.append(f"{who} POST {path}: {status}")
    assert not wrong, "\n".join(wrong)


def test_a_lead_cannot_reach_another_offices_draft_by_editing_ids(case: Case) -> None:
    client = case.client("lead_ldn")
    theirs = case.ids["lead_ne_draft"]
    for path in (f"/returns/{theirs}", f"/returns/{theirs}/files/capacity"):
        assert client.get(path).status_code == 404  # as if it did not exist
    token = page_csrf(client)
    assert client.post(f"/returns/{theirs}/submit",
                       data={"csrf_token": token}).status_code in (403, 404)
    listing = client.get("/returns").get_data(as_text=True)
    assert f"/returns/{theirs}\"" not in listing  # not even listed
    assert f"/returns/{case.ids['lead_ne_submitted']}\"" in listing  # their submitted one is
    # nothing was stored by the attempt: North East still has versions 1 and 2 only
    from fairshare.store import returns

    with case.engine.connect() as conn:
        assert [r.version for r in returns.list_returns(conn, office="North East")] == [2, 1]


def test_public_viewing_opens_published_plans_only(database_url: str) -> None:
    case = make_case(database_url, public_viewing=True)
    anonymous = case.client()
    for path in ("/publications", "/publications/1", "/publications/1/tables/targets.csv"):
        assert anonymous.get(path).status_code == 200
    for path in ("/", "/returns", "/reviews", "/admin/accounts"):
        assert anonymous.get(path).status_code == 302
    case.engine.dispose()


def test_a_lead_sees_their_own_offices_figures_first(case: Case) -> None:
    page = case.client("lead_ldn").get("/").get_data(as_text=True)
    assert "London in the current plan" in page
    # the two London rows of the published targets, largest gap first; not North East's
    body = page[page.index("London in the current plan"):]
    assert body.index("Geriatric Medicine") < body.index("Cardiology")
    assert ">44<" not in body  # North East's target


def test_the_explorer_and_its_callbacks_are_for_analysts_and_admins(tmp_path: object) -> None:
    """The Dash explorer at /explore/: its page and its callback path, for every role; a
    callback needs the X-CSRFToken header the renderer sends from the _csrf_token cookie."""
    case = make_case(f"sqlite:///{tmp_path}/e.sqlite", explorer=True)
    callback = "/explore/_dash-update-component"
    wrong = []
    for who in [None, *ROLES]:
        client = case.client(who)
        page = client.get("/explore/")
        allowed = who in {"admin", "analyst"}
        if (page.status_code == 200) != allowed:
            wrong.append(f"{who} GET /explore/: {page.status_code}")
        cookie = client.get_cookie("_csrf_token", path="/explore/")
        header = {"X-CSRFToken": cookie.value} if cookie else {}
        # a body the page never sends: past sign-in, role and CSRF, the app refuses it (400)
        status = client.post(callback, json={"output": "nothing"}, headers=header).status_code
        if (status == 400) != allowed:
            wrong.append(f"{who} POST {callback}: {status}")
        if allowed:
            assert "script-src 'self' 'sha256-" in page.headers["Content-Security-Policy"]
            no_token = client.post(callback, json={"output": "nothing"}).status_code
            if no_token != 403:
                wrong.append(f"{who} POST {callback} without X-CSRFToken: {no_token}")
    assert not wrong, "\n".join(wrong)
    case.engine.dispose()


def test_a_plan_is_compared_with_the_previous_published_plan(case: Case) -> None:
    """Targets per office summed by hand from the two hand-made runs: v2 against v1, an office
    v1 did not have left empty (not 0, not "nan")."""
    import re

    from fairshare.store import publications
    from fairshare.store.runs import table_bytes
    from fairshare.store.schema import run_tables, runs
    from tests.servicecase import TARGETS

    second = TARGETS.assign(target=[90, 60, 44])
    second.loc[len(second)] = ["local_office", "Wessex", "Cardiology", 10, 12, 2]
    with case.engine.begin() as conn:
        conn.execute(runs.insert().values(id="run-two", name="two", created="x", saved="x",
                                          tables={}, metadata={}))
        conn.execute(run_tables.insert().values(run_id="run-two", name="targets", sha256="x",
                                                data=table_bytes(second, "targets")))
        publications.publish(conn, run_id="run-two", title="Plan two", note="",
                             account_id=case.ids["analyst"])
    page = case.client("viewer").get("/publications/2").get_data(as_text=True)
    rows = {cells[0]: cells[1:] for row in re.findall(r"<tr>(.*?)</tr>", page, re.S)
            if (cells := re.findall(r"<td[^>]*>(.*?)</td>", row))}
    # London: 90 + 60 = 150 now, 96 + 55 = 151 before; North East 44 and 44; Wessex new
    assert rows["London"] == ["150", "151", "-1"]
    assert rows["North East"] == ["44", "44", "0"]
    assert rows["Wessex"] == ["12", "", ""]
    assert "nan" not in page and "&lt;NA&gt;" not in page
