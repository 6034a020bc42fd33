"""Local offices' returns: capacity, cohorts and post records, uploaded and versioned.

An office lead uploads for their own office only (the office comes from their account, never
from the request); each save is a new version, a draft or submitted. Drafts are seen only by
their own office's leads (and admins); submitted returns by every analyst and every office's
lead, read-only. Each id in an address is checked against the stored row's office, so editing
an id in the address shows nothing that is not yours to see (404, as if it did not exist).
"""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Response

from fairshare.io import safe_filename
from fairshare.service import context, uploads
from fairshare.store import audit, returns
from fairshare.store.records import StoreInputError
from fairshare.store.returns import KIND_ROLES, ReturnRecord

bp = Blueprint("returns", __name__, url_prefix="/returns")

KIND_WORDS = {"capacity": "Capacity return (supervision capacity per specialty and year)",
              "cohorts": "Cohort return (trainees completing per specialty and year)",
              "post_records": "Post records (TIS posts and placements bulk-upload layouts)"}
ROLE_WORDS = {"capacity": "Capacity file", "cohorts": "Cohorts file",
              "posts": "Posts file (TIS 'posts (create)' layout)",
              "placements": "Placements file (TIS 'placements' layout)"}


def _visible(record_id: int) -> ReturnRecord:
    with context.engine().connect() as conn:
        record = returns.get_return(conn, record_id)
    if record is None or not context.can_see_return(context.current_account(), record):
        abort(404)
    return record


@bp.get("")
@context.require_role(*context.RETURN_READERS)
def index() -> str:
    account = context.current_account()
    assert account is not None
    with context.engine().connect() as conn:
        listed = [r for r in returns.list_returns(conn) if context.can_see_return(account, r)]
    own = [r for r in listed if r.office == account.office]
    others = [r for r in listed if r.office != account.office]
    return render_template("returns.html", own=own, others=others, kinds=KIND_WORDS)


@bp.route("/new/<kind>", methods=["GET", "POST"])
@context.require_role("office_lead")
def new(kind: str) -> str | Response:
    if kind not in KIND_ROLES:
        abort(404)
    account = context.current_account()
    assert account is not None and account.office is not None
    errors: list[dict[str, str]] = []
    note = request.form.get("note", "")
    if request.method == "POST":
        status = "submitted" if request.form.get("status") == "submitted" else "draft"
        typed = uploads.form_rows(kind, request.form) if kind in uploads.FORM_COLUMNS else []
        if typed:
            return _from_form(kind, typed, status, note)
        files = {role: request.files.get(role) for role in KIND_ROLES[kind]}
        missing = [role for role, f in files.items() if f is None or not f.filename]
        errors += [{"field": role, "text": f"Choose the {ROLE_WORDS[role].lower()} to upload"}
                   for role in missing]
        if not errors:
            given = {role: uploads.Upload(role, uploads.display_name(f.filename), _read(f))
                     for role, f in files.items() if f is not None}
            checked = uploads.check(kind, given, account.office, context.settings())
            errors += [{"field": KIND_ROLES[kind][0], "text": p} for p in checked.problems]
            if not errors:
                return _store(kind, uploads.minimised(kind, given), status, note, checked.rows)
    return _page(kind, errors, note)


def _read(upload: FileStorage) -> bytes:
    """The uploaded bytes; the spooled temporary file werkzeug made is closed at once."""
    try:
        return upload.read()
    finally:
        upload.close()


def _page(kind: str, errors: list[dict[str, str]], note: str,
          typed: list[tuple[str, str, str]] | None = None) -> str:
    from fairshare.service.uploads import FORM_COLUMNS, FORM_ROWS, bundle

    rows = list(typed or []) + [("", "", "")] * (FORM_ROWS - len(typed or []))
    return render_template("return_new.html", kind=kind, words=KIND_WORDS[kind],
                           roles=[(r, ROLE_WORDS[r]) for r in KIND_ROLES[kind]],
                           errors=errors, note=note, settings=context.settings(),
                           form_columns=FORM_COLUMNS.get(kind), form_rows=rows,
                           specialties=sorted(bundle().specialties["specialty"]))


def _from_form(kind: str, typed: list[tuple[str, str, str]], status: str,
               note: str) -> str | Response:
    """Rows typed in the simple form: made into the template's CSV and checked the same way."""
    account = context.current_account()
    assert account is not None and account.office is not None
    role = KIND_ROLES[kind][0]
    data = uploads.form_as_csv(kind, account.office, typed)
    given = {role: uploads.Upload(role, f"{kind} form.csv", data)}
    checked = uploads.check(kind, given, account.office, context.settings())
    if checked.problems:
        errors = [{"field": "specialty_0", "text": uploads.form_problem(p)}
                  for p in checked.problems]
        return _page(kind, errors, note, typed)
    return _store(kind, given, status, note, checked.rows)


def _store(kind: str, given: dict[str, uploads.Upload], status: str, note: str,
           rows: int) -> Response:
    account = context.current_account()
    assert account is not None and account.office is not None
    try:
        with context.engine().begin() as conn:
            made = returns.submit(conn, office=account.office, kind=kind, status=status,
                                  files={r: (u.filename, u.data) for r, u in given.items()},
                                  account_id=account.id, note=note.strip() or None, rows=rows)
    except StoreInputError as exc:
        return _page(kind, [{"field": "note", "text": str(exc)}], note)  # type: ignore[return-value]
    return redirect(url_for("returns.show", return_id=made.id, saved=1), code=303)


@bp.get("/<int:return_id>")
@context.require_role(*context.RETURN_READERS)
def show(return_id: int) -> str:
    record = _visible(return_id)
    with context.engine().connect() as conn:
        files = returns.return_files(conn, return_id)
    mine = context.can_change_office(context.current_account(), record.office)
    return render_template("return.html", record=record, kinds=KIND_WORDS, mine=mine,
                           files={role: (name, len(data)) for role, (name, data) in files.items()},
                           role_words=ROLE_WORDS, saved=bool(request.args.get("saved")))


@bp.get("/<int:return_id>/files/<role>")
@context.require_role(*context.RETURN_READERS)
def download(return_id: int, role: str) -> Response:
    record = _visible(return_id)
    with context.engine().begin() as conn:
        files = returns.return_files(conn, return_id)
        if role not in files:
            abort(404)
        audit.record(conn, "return_downloaded", actor=context.actor_name(),
                     target=f"return {return_id}", detail={"file": role},
                     client=context.client_address())
    _, data = files[role]
    stem = safe_filename(f"{record.office}-{record.kind}-v{record.version}-{role}")
    suffix = ".xlsx" if data.startswith(b"PK\x03\x04") else ".csv"
    mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" \
        if suffix == ".xlsx" else "text/csv"
    return Response(data, mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="{stem}{suffix}"'})


@bp.post("/<int:return_id>/submit")
@context.require_role("office_lead")
def submit_draft(return_id: int) -> Response:
    """Submit a draft as it is: a new version, status submitted, the same files."""
    record = _visible(return_id)
    account = context.current_account()
    assert account is not None
    if not context.can_change_office(account, record.office) or record.status != "draft":
        abort(403)
    with context.engine().begin() as conn:
        files = returns.return_files(conn, return_id)
        made = returns.submit(conn, office=record.office, kind=record.kind, files=files,
                              status="submitted", account_id=account.id, note=record.note,
                              rows=record.rows)
    return redirect(url_for("returns.show", return_id=made.id, saved=1), code=303)
