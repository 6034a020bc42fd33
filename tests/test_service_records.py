"""Returns, publications and decisions on both engines: versions, drafts, audit, refusals.

Expected values are worked out here by hand (version numbers, SHA-256 of the bytes sent),
never read back from the code under test.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select

from fairshare.store import audit, db
from fairshare.store import decisions as dec
from fairshare.store import publications as pubs
from fairshare.store import returns as ret
from fairshare.store.records import StoreInputError
from fairshare.store.schema import accounts, return_files, returns
from tests.servicedb import add_account, add_run


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = db.open_database(database_url)
    yield engine
    engine.dispose()  # close pooled connections now, not when the cached engine is collected


def _submit(engine: Engine, account: int, office: str = "London", kind: str = "capacity",
            status: str = "submitted", data: bytes = b"a,b\n1,2\n", **extra: object
            ) -> ret.ReturnRecord:
    role = ret.KIND_ROLES[kind][0]
    with engine.begin() as conn:
        return ret.submit(conn, office=office, kind=kind, files={role: ("cap.csv", data)},
                          status=status, account_id=account, rows=1, **extra)  # type: ignore[arg-type]


def test_versions_count_per_office_and_kind_and_nothing_is_overwritten(engine: Engine) -> None:
    lead = add_account(engine, "lead")
    first = _submit(engine, lead, status="draft", data=b"v1")
    second = _submit(engine, lead, data=b"v2")
    third = _submit(engine, lead, status="draft", data=b"v3", note="corrected")
    wessex = _submit(engine, lead, office="Wessex", data=b"w1")
    cohorts = _submit(engine, lead, kind="cohorts", data=b"c1")
    assert [first.version, second.version, third.version] == [1, 2, 3]
    assert wessex.version == 1 and cohorts.version == 1
    with engine.connect() as conn:
        assert ret.return_files(conn, first.id) == {"capacity": ("cap.csv", b"v1")}
        assert ret.return_files(conn, second.id) == {"capacity": ("cap.csv", b"v2")}
        again = ret.get_return(conn, first.id)
        assert again == first  # status, note, digest and time read back as stored
        assert ret.get_return(conn, third.id).note == "corrected"  # type: ignore[union-attr]
        assert ret.get_return(conn, 10_000) is None
        london = ret.list_returns(conn, office="London", kind="capacity")
        assert [r.version for r in london] == [3, 2, 1]
        drafts = ret.list_returns(conn, statuses=["draft"])
        assert [(r.office, r.version) for r in drafts] == [("London", 3), ("London", 1)]
        assert len(ret.list_returns(conn)) == 5


def test_the_digest_is_sha256_over_each_files_role_and_sha256(engine: Engine) -> None:
    lead = add_account(engine, "lead")
    posts, placements = b"post,grade\nX1,ST1\n", b"post,gmc\nX1,123\n"
    with engine.begin() as conn:
        rec = ret.submit(conn, office="London", kind="post_records", status="submitted",
                         files={"posts": ("p.csv", posts), "placements": ("pl.csv", placements)},
                         account_id=lead, rows=2)
    by_hand = (f"placements:{hashlib.sha256(placements).hexdigest()}\n"
               f"posts:{hashlib.sha256(posts).hexdigest()}\n")
    assert rec.digest == hashlib.sha256(by_hand.encode()).hexdigest()
    with engine.connect() as conn:
        assert ret.return_files(conn, rec.id) == {"placements": ("pl.csv", placements),
                                                  "posts": ("p.csv", posts)}


def test_latest_submitted_never_takes_a_draft(engine: Engine) -> None:
    lead = add_account(engine, "lead")
    _submit(engine, lead, data=b"1")
    v2 = _submit(engine, lead, data=b"2")
    _submit(engine, lead, status="draft", data=b"3")  # a newer draft does not count
    _submit(engine, lead, office="Wessex", status="draft")  # an office with only a draft
    kent = _submit(engine, lead, office="Kent, Surrey and Sussex")
    _submit(engine, lead, office="North East", kind="cohorts")  # another kind
    with engine.connect() as conn:
        latest = ret.latest_submitted(conn, "capacity")
    assert {office: r.id for office, r in latest.items()} == {
        "London": v2.id, "Kent, Surrey and Sussex": kent.id}


def test_each_save_has_its_audit_entry_in_the_same_transaction(engine: Engine) -> None:
    lead = add_account(engine, "lead")
    draft = _submit(engine, lead, status="draft")
    sent = _submit(engine, lead)
    with pytest.raises(RuntimeError), engine.begin() as conn:  # the caller fails afterwards
        ret.submit(conn, office="London", kind="capacity", files={"capacity": ("x", b"x")},
                   status="submitted", account_id=lead, rows=1)
        raise RuntimeError("the request failed after the submission")
    with engine.connect() as conn:
        log = audit.entries(conn)
        assert conn.execute(select(func.count()).select_from(returns)).scalar() == 2
        assert conn.execute(select(func.count()).select_from(return_files)).scalar() == 2
    assert log[["actor", "action", "target"]].values.tolist() == [
        ["lead", "return_saved", f"return {draft.id}"],
        ["lead", "return_submitted", f"return {sent.id}"]]
    assert log.loc[1, "detail"]["version"] == 2
    assert log.loc[1, "detail"]["files"] == {"capacity": "cap.csv"}


@pytest.mark.parametrize(("change", "message"), [
    ({"kind": "budget"}, "kind 'budget' is not known"),
    ({"status": "final"}, "status 'final' is not known"),
    ({"files": {"posts": ("p.csv", b"x")}}, "cannot carry a 'posts' file"),
    ({"files": {"capacity": ("c.csv", b"")}}, "is empty"),
    ({"files": {}}, "needs at least one file"),
    ({"files": {"capacity": ("a\x00b.csv", b"x")}}, "control characters"),
    ({"files": {"capacity": ("x" * 300, b"x")}}, "at most 255 characters"),
    ({"rows": -1}, "0 or more"),
    ({"office": " "}, "office cannot be empty"),
    ({"account_id": 999}, "account 999 does not exist"),
])
def test_a_bad_submission_is_refused_and_nothing_is_kept(engine: Engine, change: dict[str, object],
                                                         message: str) -> None:
    lead = add_account(engine, "lead")
    args: dict[str, object] = {"office": "London", "kind": "capacity", "status": "submitted",
                               "files": {"capacity": ("c.csv", b"x")}, "account_id": lead,
                               "rows": 1, **change}
    with pytest.raises(StoreInputError, match=message), engine.begin() as conn:
        ret.submit(conn, **args)  # type: ignore[arg-type]
    with engine.connect() as conn:
        assert ret.list_returns(conn) == [] and audit.entries(conn).empty


def test_a_deactivated_account_cannot_submit_publish_or_decide(engine: Engine) -> None:
    gone = add_account(engine, "left", role="analyst")
    add_run(engine, "r1")
    with engine.begin() as conn:
        conn.execute(accounts.update().where(accounts.c.id == gone).values(active=False))
    attempts = [
        lambda conn: ret.submit(conn, office="London", kind="capacity", status="submitted",
                                files={"capacity": ("c.csv", b"x")}, account_id=gone, rows=1),
        lambda conn: pubs.publish(conn, run_id="r1", title="t", note="", account_id=gone),
        lambda conn: dec.record_decision(conn, run_id="r1", recommendation=REC,
                                         specialty="Cardiology", area="London",
                                         decision="accept", account_id=gone),
    ]
    for attempt in attempts:
        with pytest.raises(StoreInputError, match="'left' is deactivated"), \
                engine.begin() as conn:
            attempt(conn)
    with engine.connect() as conn:
        assert audit.entries(conn).empty


def test_publications_are_numbered_and_previous_is_the_one_before_current(
        engine: Engine) -> None:
    analyst = add_account(engine, "ann", role="analyst")
    for run in ("r1", "r2", "r3"):
        add_run(engine, run)
    with engine.connect() as conn:
        assert pubs.current(conn) is None and pubs.previous(conn) is None
    with engine.begin() as conn:
        first = pubs.publish(conn, run_id="r1", title="2026 plan", note="", account_id=analyst)
    with engine.connect() as conn:
        assert pubs.current(conn) == first and pubs.previous(conn) is None
    with engine.begin() as conn:
        second = pubs.publish(conn, run_id="r3", title="2026 plan, revised", note="GP fix",
                              account_id=analyst)
        third = pubs.publish(conn, run_id="r1", title="back to r1", note="", account_id=analyst)
    assert [first.version, second.version, third.version] == [1, 2, 3]
    with engine.connect() as conn:
        assert pubs.current(conn) == third and pubs.previous(conn) == second
        assert [p.version for p in pubs.list_publications(conn)] == [3, 2, 1]
        log = audit.entries(conn)
    assert log["action"].tolist() == ["published"] * 3
    assert log["target"].tolist() == ["run r1", "run r3", "run r1"]


def test_only_a_stored_run_can_be_published(engine: Engine) -> None:
    analyst = add_account(engine, "ann", role="analyst")
    with pytest.raises(StoreInputError, match="run 'nope' is not in this database"), \
            engine.begin() as conn:
        pubs.publish(conn, run_id="nope", title="t", note="", account_id=analyst)
    add_run(engine, "r1")
    with pytest.raises(StoreInputError, match="title cannot be empty"), engine.begin() as conn:
        pubs.publish(conn, run_id="r1", title="  ", note="", account_id=analyst)
    with engine.connect() as conn:
        assert pubs.list_publications(conn) == [] and audit.entries(conn).empty


REC = "London|Cardiology|2027|RJ1"


def test_the_latest_decision_is_in_force_and_history_is_kept(engine: Engine) -> None:
    rita = add_account(engine, "rita", role="reviewer")
    raj = add_account(engine, "raj", role="reviewer")
    add_run(engine, "r1")
    add_run(engine, "r2")
    with engine.begin() as conn:
        a = dec.record_decision(conn, run_id="r1", recommendation=REC, specialty="Cardiology",
                                area="London", decision="accept", account_id=rita)
        b = dec.record_decision(conn, run_id="r1", recommendation=REC, specialty="Cardiology",
                                area="London", decision="reject", reason="no supervisor",
                                account_id=raj)
        c = dec.record_decision(conn, run_id="r1", recommendation="Wessex|Urology|2027|X9",
                                specialty="Urology", area="Wessex", decision="propose",
                                proposed="RHM", account_id=rita)
        dec.record_decision(conn, run_id="r2", recommendation=REC, specialty="Cardiology",
                            area="London", decision="accept", account_id=rita)
    with engine.connect() as conn:
        force = dec.decisions_for(conn, "r1")
        cardiology = dec.decisions_for(conn, "r1", "Cardiology")
        history = dec.decision_history(conn, "r1")
        log = audit.entries(conn)
    assert force[["id", "decision", "decided_by_name"]].values.tolist() == [
        [b, "reject", "raj"], [c, "propose", "rita"]]
    assert cardiology["reason"].tolist() == ["no supervisor"]
    assert history["id"].tolist() == [a, b, c]
    assert force.loc[1, "proposed"] == "RHM"
    assert log["action"].tolist() == ["decision_recorded"] * 4
    assert force["decided_at"].map(lambda t: t.tzinfo is not None).all()


@pytest.mark.parametrize(("change", "message"), [
    ({"decision": "reject"}, "rejection's reason cannot be empty"),
    ({"decision": "propose"}, "proposed post or trust cannot be empty"),
    ({"decision": "accept", "proposed": "RHM"}, "only a 'propose' decision"),
    ({"decision": "maybe"}, "'maybe' is not known"),
    ({"recommendation": "London|Cardiology"}, "is not of the form"),
    ({"area": "Wessex"}, "not for Wessex / Cardiology"),
    ({"run_id": "gone"}, "run 'gone' is not in this database"),
])
def test_a_decision_missing_what_a_run_needs_is_refused(engine: Engine, change: dict[str, str],
                                                        message: str) -> None:
    rita = add_account(engine, "rita", role="reviewer")
    add_run(engine, "r1")
    args: dict[str, object] = {"run_id": "r1", "recommendation": REC, "specialty": "Cardiology",
                               "area": "London", "decision": "accept", "account_id": rita,
                               **change}
    with pytest.raises(StoreInputError, match=message), engine.begin() as conn:
        dec.record_decision(conn, **args)  # type: ignore[arg-type]
    with engine.connect() as conn:
        assert dec.decision_history(conn, "r1").empty and audit.entries(conn).empty


def test_every_decisions_column_is_in_the_data_dictionary() -> None:
    from fairshare.publish.columns import dictionary

    described = dictionary(dec.COLUMNS, "decisions")
    assert "(not described)" not in described["meaning"].tolist()
