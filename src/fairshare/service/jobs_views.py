"""Pages of the job queue: queue a run, follow a job's progress, cancel it, its status as JSON.

A job (a run, uncertainty draws, a calibration) takes from seconds to many minutes on a
worker, so its page shows where it has got to and keeps itself up to date: a small script
served by this blueprint (no CDN, allowed by the service's ``script-src 'self'`` policy)
polls ``/jobs/<id>.json`` and updates a ``role="status"`` line, which screen readers announce,
and a ``<progress>`` bar. Without the script the page still says everything as of its loading,
with a link to look again. A failed job shows the planner-readable message the worker stored,
never a traceback (those stay in the worker's log).

Who: jobs are analysts' work (they run plans); admins and analysts see, queue and cancel
jobs, other roles nothing. A run is queued with the local offices' *submitted* returns the
analyst ticks (each office's newest submitted version is ticked to start with); the worker
checks them again when it runs, and the run records the versions it used.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, jsonify, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from fairshare.errors import FairshareError
from fairshare.service import context
from fairshare.service.job_kinds import MAX_DRAWS, RUN_ROLES, scenario_of, whole
from fairshare.store import jobs as queue
from fairshare.store import returns
from fairshare.store.schema import JOB_STATUSES

bp = Blueprint("jobs", __name__, static_folder="assets/jobs", static_url_path="/jobs/assets")

#: Roles that see, queue and cancel jobs.
JOB_ROLES = ("admin", "analyst")
#: How often the page asks for the job's status (milliseconds); the script backs off on errors.
POLL_MS = 2000
LIST_LIMIT = 200
MAX_NAME = 200
STATUS_WORDS = {"queued": "Waiting for a worker", "running": "Running", "done": "Done",
                "failed": "Failed", "cancelled": "Cancelled"}
KIND_WORDS = {"run": "Run (targets and plan)", "uncertainty": "Uncertainty intervals",
              "calibrate": "Calibration"}


def _job_or_404(job_id: int) -> queue.Job:
    with context.engine().connect() as conn:
        job = queue.get(conn, job_id)
    if job is None:
        abort(404)
    return job


def status_line(job: queue.Job) -> str:
    """One sentence on where the job is (the page's status line; the script writes the same)."""
    words = STATUS_WORDS.get(job.status, job.status)
    if job.status == "running":
        detail = f": {job.message}" if job.message else ""
        return f"{words}{detail} ({round(100 * job.progress)}% done)"
    if job.status in ("queued", "cancelled") and job.message:
        return f"{words} ({job.message})"
    return words


def status_json(job: queue.Job) -> dict[str, Any]:
    """What the page's script reads: no parameters, worker host or anything internal."""
    return {
        "id": job.id, "kind": job.kind, "status": job.status, "finished": job.finished,
        "progress": job.progress, "percent": round(100 * job.progress),
        "message": job.message, "status_line": status_line(job),
        "error": job.error if job.status == "failed" else None,
        "run_id": (job.result or {}).get("run_id") if job.status == "done" else None,
        "attempts": job.attempts,
        "created_at": job.created_at.isoformat(),
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }


@bp.get("/jobs/<int:job_id>.json")
@context.require_role(*JOB_ROLES)
def job_status(job_id: int) -> Response:
    response = jsonify(status_json(_job_or_404(job_id)))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/jobs/<int:job_id>")
@context.require_role(*JOB_ROLES)
def job_page(job_id: int) -> str:
    job = _job_or_404(job_id)
    return render_template("jobs/job.html", job=job, status=status_json(job),
                           kind_words=KIND_WORDS, poll_ms=POLL_MS)


@bp.post("/jobs/<int:job_id>/cancel")
@context.require_role(*JOB_ROLES)
def cancel(job_id: int) -> Response:
    account = context.current_account()
    assert account is not None
    _job_or_404(job_id)
    with context.engine().begin() as conn:
        queue.cancel(conn, job_id, account.id)
    return redirect(url_for("jobs.job_page", job_id=job_id), code=303)


def _offered_returns() -> list[returns.ReturnRecord]:
    """Every office's newest submitted return of each kind a run reads."""
    with context.engine().connect() as conn:
        latest = [r for kind in RUN_ROLES for r in returns.latest_submitted(conn, kind).values()]
    return sorted(latest, key=lambda r: (r.office, r.kind))


def _run_params(form: Any) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The run job's parameters from the form, and every problem with it (field, words)."""
    errors: list[dict[str, str]] = []
    params: dict[str, Any] = {"scenario": {}, "returns": []}
    name = form.get("name", "").strip()
    if len(name) > MAX_NAME or any(ord(c) < 32 for c in name):
        errors.append({"field": "name", "text": f"The run's name is at most {MAX_NAME} "
                       "characters, without control characters"})
    elif name:
        params["name"] = name
    horizon = form.get("horizon", "").strip()
    if horizon:
        if not horizon.isdigit():
            errors.append({"field": "horizon", "text": "The last plan year must be a year, "
                           f"such as 2035, not {horizon[:20]!r}"})
        else:
            params["scenario"]["horizon"] = int(horizon)
    try:
        scenario_of(params)  # the scenario's own checks, now rather than on the worker
    except FairshareError as exc:
        errors.append({"field": "horizon", "text": str(exc)})
    offered = {r.id: r for r in _offered_returns()}
    for raw in form.getlist("returns"):
        if not raw.isdigit() or int(raw) not in offered:
            errors.append({"field": "returns", "text": "A return ticked is not an office's "
                           "newest submitted capacity or cohort return: reload the page"})
            break
        params["returns"].append(int(raw))
    return params, errors


def _uncertainty_params(form: Any) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The uncertainty job's parameters from the form (draws, seed), and every problem."""
    errors: list[dict[str, str]] = []
    params: dict[str, Any] = {"scenario": {}}
    for field, default, high in (("draws", 2000, MAX_DRAWS), ("seed", 0, 2**32 - 1)):
        raw = form.get(field, "").strip().replace(",", "")
        try:
            params[field] = whole({field: int(raw) if raw.isdigit() else raw or default},
                                  field, default, 1 if field == "draws" else 0, high)
        except FairshareError as exc:
            errors.append({"field": field, "text": str(exc)})
    return params, errors


@bp.route("/jobs", methods=["GET", "POST"])
@context.require_role(*JOB_ROLES)
def index() -> str | Response:
    errors: list[dict[str, str]] = []
    chosen: set[int] | None = None
    if request.method == "POST":
        account = context.current_account()
        assert account is not None
        kind = request.form.get("kind", "run")
        if kind not in ("run", "uncertainty"):
            abort(400)
        params, errors = (_run_params if kind == "run" else _uncertainty_params)(request.form)
        if not errors:
            with context.engine().begin() as conn:
                job_id = queue.enqueue(conn, kind, params, account.id)
            return redirect(url_for("jobs.job_page", job_id=job_id), code=303)
        chosen = {int(r) for r in request.form.getlist("returns") if r.isdigit()}
    offered = _offered_returns()
    with context.engine().connect() as conn:
        jobs = queue.list_jobs(conn, limit=LIST_LIMIT)
    counts = {s: sum(j.status == s for j in jobs) for s in JOB_STATUSES}
    return render_template(
        "jobs/index.html", jobs=jobs, counts=counts, status_line=status_line,
        kind_words=KIND_WORDS, limit=LIST_LIMIT, offered=offered, errors=errors,
        chosen={r.id for r in offered} if chosen is None else chosen,
        form=request.form if request.method == "POST" else {})
