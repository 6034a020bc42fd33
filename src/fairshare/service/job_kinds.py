"""What each kind of queued job computes: the main run, uncertainty, calibration.

Each kind is a function of the job's parameters (plain JSON, as queued) and the local
offices' stored returns it names, over the same core the command line uses, so a run made by
the service and one made by ``fairshare run`` with the same files have the same numbers. It
returns the run to store (name, run.json metadata, tables); the worker stores it and puts the
run id in the job's result. Nothing here knows about pages, sign-in or the queue: progress is
reported through a callback, and bad parameters raise a ``FairshareError`` whose message is
what the planner sees on the job's page.

A run records the returns it used (``returns_used``: id, office, kind, version, status and
digest of each), and their files' digests are inputs of the run like any file given to the
command line, so ``fairshare compare`` explains a change of return like a change of file.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from fairshare.errors import FairshareError, InputError
from fairshare.inputs.bundle import Bundle
from fairshare.io import safe_filename
from fairshare.scenario import Scenario

#: ``report(fraction, message)``: how far the job has got (0..1), in words for the page.
Report = Callable[[float, str], None]
#: Which return file roles a run reads, and the plan input each becomes.
RUN_ROLES = {"capacity": "capacity", "cohorts": "cohorts"}
MAX_DRAWS = 1_000_000


class JobParamsError(FairshareError):
    """A job's parameters cannot be used (the message names the parameter and what is expected)."""


@dataclass(frozen=True)
class StoredReturn:
    """A local office's return as a job reads it: what it is, and its files (role -> name,
    bytes). The worker fills this from store/returns.py."""

    id: int
    office: str
    kind: str
    version: int
    status: str
    digest: str
    files: Mapping[str, tuple[str, bytes]]

    def used(self) -> dict[str, Any]:
        return {"id": self.id, "office": self.office, "kind": self.kind,
                "version": self.version, "status": self.status, "digest": self.digest}


@dataclass(frozen=True)
class JobRun:
    """What a finished job stores: a run's name, its run.json metadata and its tables."""

    name: str
    metadata: dict[str, Any]
    tables: dict[str, pd.DataFrame]


@dataclass(frozen=True)
class JobContext:
    """What a job is given besides its parameters."""

    returns: Mapping[int, StoredReturn]
    report: Report
    dask: str | None = None  # a Dask scheduler address ("local" for a local cluster)


# ------------------------------------------------------------------ parameters


def whole(params: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
    """A whole-number parameter within its range, or a message naming it."""
    value = params.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise JobParamsError(f"job parameter {key!r} must be a whole number from {low:,} to "
                             f"{high:,}, not {value!r}")
    return value


def return_ids(params: Mapping[str, Any]) -> list[int]:
    """The stored returns a job names (``returns``: a list of return ids)."""
    ids = params.get("returns", [])
    if not isinstance(ids, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise JobParamsError(f"job parameter 'returns' must be a list of return ids, not "
                             f"{ids!r}")
    if len(set(ids)) != len(ids):
        raise JobParamsError(f"job parameter 'returns' names a return twice: {ids}")
    return list(ids)


def _given(params: Mapping[str, Any]) -> dict[str, Any]:
    given = params.get("scenario") or {}
    if not isinstance(given, dict):
        raise JobParamsError("job parameter 'scenario' must be a mapping of parameter: value")
    return given


def scenario_of(params: Mapping[str, Any], *, named: bool = True) -> Scenario:
    """The job's scenario: ``scenario`` holds parameters over the defaults, as a file would;
    ``named``: called by what it changes (as ``fairshare run`` names a run made with options),
    which a run does only once its plan start is dated (``name_of``)."""
    from fairshare.scenario import load_scenario

    sc = load_scenario(None, **_given(params))
    return name_of(sc, params) if named else sc


def name_of(sc: Scenario, params: Mapping[str, Any]) -> Scenario:
    """The scenario named by what differs from the defaults, unless the job names it."""
    from fairshare.cli.common import for_this_run
    from fairshare.scenario import load_scenario

    return sc if "name" in _given(params) else for_this_run(sc, load_scenario(None), {})


def _bundle(sc: Scenario) -> Bundle:
    """The embedded data with the scenario's baseline corrections, dated as the CLI dates it."""
    from fairshare.inputs.bundle import load_data
    from fairshare.inputs.corrections import corrected

    return corrected(load_data(None), sc)


def dated(bundle: Bundle, sc: Scenario) -> Scenario:
    """Start the plan at the next recruitment round after the establishment was counted,
    unless the scenario sets ``plan_start`` (as ``fairshare run`` does, cli/common.dated)."""
    from fairshare.training_year import date_in_text, next_round, parse_date

    when = (parse_date(bundle.posts_date) if bundle.posts_date
            else date_in_text(bundle.posts_label))
    if when is None or "plan_start" in sc.model_fields_set:
        return sc
    return sc.with_overrides(plan_start=max(sc.plan_start, next_round(when)))


# ------------------------------------------------------------------ the run job


def _returns_for_run(ids: list[int], stored: Mapping[int, StoredReturn]) -> list[StoredReturn]:
    chosen = []
    for return_id in ids:
        found = stored.get(return_id)
        if found is None:
            raise JobParamsError(f"return {return_id} does not exist")
        if found.status != "submitted":
            raise JobParamsError(f"{found.office}'s {found.kind} return v{found.version} "
                                 f"(return {found.id}) is a draft: a run uses submitted "
                                 "returns only")
        if found.kind not in RUN_ROLES:
            raise JobParamsError(
                f"return {found.id} is a {found.kind} return: a run job reads "
                f"{' and '.join(RUN_ROLES)} returns (an office's post records are not yet "
                "used by a run: use `fairshare posts import` and `fairshare run --posts`)")
        chosen.append(found)
    seen: dict[tuple[str, str], int] = {}
    for r in chosen:
        if (r.office, r.kind) in seen:
            raise JobParamsError(f"returns {seen[(r.office, r.kind)]} and {r.id} are both "
                                 f"{r.office}'s {r.kind} return: choose one version")
        seen[(r.office, r.kind)] = r.id
    return chosen


def _read_return(r: StoredReturn, bundle: Bundle, folder: Path) -> pd.DataFrame:
    """One return's file read by the same reader as ``--capacity``/``--cohorts``, and checked
    to hold rows of its own office only."""
    from fairshare.inputs.bundle import read_capacity, read_cohorts

    role = RUN_ROLES[r.kind]
    if role not in r.files:
        raise JobParamsError(f"return {r.id} has no {role} file")
    filename, data = r.files[role]
    suffix = Path(filename).suffix.lower() or ".csv"
    stem = safe_filename(f"return-{r.id}-{r.office}-{r.kind}-v{r.version}")
    path = folder / f"{stem}{suffix}"
    path.write_bytes(data)
    try:
        table = read_capacity(path, bundle) if role == "capacity" else read_cohorts(path, bundle)
    except InputError as exc:  # name the return and its file as uploaded, not a temporary path
        named = f"{r.office}'s {r.kind} return v{r.version} ({filename})"
        raise InputError([replace(p, file=named) if p.file.endswith(path.name) else p
                          for p in exc.problems]) from None
    others = sorted(set(table["local_office"]) - {r.office})
    if others:
        raise JobParamsError(f"{r.office}'s {r.kind} return v{r.version} (return {r.id}, file "
                             f"{filename!r}) has rows for other local offices: "
                             f"{', '.join(others)}; an office's return holds its own rows")
    return table


def _return_digests(chosen: list[StoredReturn]) -> dict[str, str]:
    return {f"{r.kind} return {r.office}": r.digest for r in chosen}


def _plan_inputs(chosen: list[StoredReturn],
                 bundle: Bundle) -> tuple[pd.DataFrame | None, pd.DataFrame | None, Bundle]:
    """Capacity and cohorts from the chosen returns (offices' rows together), and the bundle
    with one digest per return, named so `compare` says which return changed."""
    tables: dict[str, list[pd.DataFrame]] = {"capacity": [], "cohorts": []}
    with tempfile.TemporaryDirectory(prefix="fairshare-job-") as tmp:
        for r in chosen:
            tables[r.kind].append(_read_return(r, bundle, Path(tmp)))
    bundle = replace(bundle, digests={**bundle.digests, **_return_digests(chosen)})
    cap = pd.concat(tables["capacity"], ignore_index=True) if tables["capacity"] else None
    coh = pd.concat(tables["cohorts"], ignore_index=True) if tables["cohorts"] else None
    return cap, coh, bundle


def _run_name(params: Mapping[str, Any], sc: Scenario, chosen: list[StoredReturn]) -> str:
    name = params.get("name")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise JobParamsError("job parameter 'name' must be the run's name (text)")
    if name:
        return str(name).strip()
    used = f", {len(chosen)} returns" if chosen else ""
    return f"{sc.name}{used}"


def run_job(params: Mapping[str, Any], ctx: JobContext) -> JobRun:
    """The main job: targets + plan + fill + equity, as ``fairshare run``, with the capacity
    and cohort returns the parameters name."""
    from fairshare.analysis.equity import equity_before_after
    from fairshare.model.pipeline import run_plan
    from fairshare.publish.outputs import run_metadata

    ctx.report(0.02, "reading the scenario and the returns")
    sc = scenario_of(params, named=False)
    chosen = _returns_for_run(return_ids(params), ctx.returns)
    bundle = _bundle(sc)
    sc = name_of(dated(bundle, sc), params)  # dated first: naming sets every field
    cap, coh, bundle = _plan_inputs(chosen, bundle)
    if chosen:  # the returns are inputs of the run: in its scenario's digest and name
        sc = sc.with_overrides(inputs={**sc.inputs, **_return_digests(chosen)})
    ctx.report(0.1, "computing targets and the pace-of-change plan")
    res = run_plan(bundle, sc, capacity=cap, cohorts=coh)
    ctx.report(0.9, "measuring equity before and after")
    tables = {"targets": res.targets, "plan": res.plan, "findings": res.findings,
              "fill": res.fill, "equity": equity_before_after(res.targets, res.plan)}
    meta = run_metadata(bundle, sc, plan_status=res.status, command="run",
                        returns_used=[r.used() for r in chosen])
    return JobRun(_run_name(params, sc, chosen), meta, tables)


# ------------------------------------------------------------------ uncertainty


def dask_client(address: str | None) -> Any:
    """A Dask client for a scheduler address, or a LocalCluster for 'local' (None: no Dask)."""
    if address is None:
        return None
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:  # Dask is an optional extra
        raise FairshareError("a worker with --dask needs Dask, an optional extra that is not "
                             "installed: pip install 'fairshare[dask]'") from exc
    if address == "local":
        return Client(LocalCluster(processes=True, threads_per_worker=1))
    return Client(address)


def uncertainty_job(params: Mapping[str, Any], ctx: JobContext) -> JobRun:
    """Intervals on targets and gaps (``fairshare uncertainty``): ``draws`` and ``seed`` from
    the parameters; progress after every chunk of draws; on the worker's Dask cluster when it
    has one (the same chunks, so the same numbers)."""
    from fairshare.analysis.uncertainty import monte_carlo_intervals
    from fairshare.publish.outputs import run_metadata

    draws = whole(params, "draws", 2000, 1, MAX_DRAWS)
    seed = whole(params, "seed", 0, 0, 2**32 - 1)
    sc = scenario_of(params)
    bundle = _bundle(sc)
    ctx.report(0.02, f"preparing {draws:,} draws")

    def progress(done: int, total: int) -> None:
        ctx.report(0.02 + 0.96 * done / max(total, 1), f"{done:,} of {total:,} draws")

    client = dask_client(ctx.dask)
    try:
        res = monte_carlo_intervals(bundle, sc, sc.uncertainty, draws=draws, seed=seed,
                                    progress=progress, dask_client=client)
    finally:
        if client is not None:
            client.close()
    meta = run_metadata(bundle, sc, draws=draws, seed=seed, command="uncertainty",
                        interval_covers=res.coverage)
    name = str(params.get("name") or f"{sc.name}, uncertainty {draws:,} draws seed {seed}")
    return JobRun(name, meta, {"uncertainty": res.cells, "uncertainty_areas": res.areas})


# ------------------------------------------------------------------ calibration


def _published_rows(params: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = params.get("published")
    if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
        raise JobParamsError("job parameter 'published' must be a list of rows (area, "
                             "specialty, published_gap[, year]), as the --published file")
    return rows


def calibrate_job(params: Mapping[str, Any], ctx: JobContext) -> JobRun:
    """Fit δ, the weight mix, σ and the convergence share to published gaps (``fairshare
    calibrate``); the rows are checked by the same reader as the --published file."""
    from fairshare.analysis.calibrate import PARAMETERS, calibrate, read_published
    from fairshare.publish.outputs import run_metadata

    rows = _published_rows(params)
    seed = whole(params, "seed", 0, 0, 2**32 - 1)
    fixed = params.get("fix") or {}
    if not isinstance(fixed, dict) or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in fixed.values()):
        raise JobParamsError("job parameter 'fix' must map a parameter to the value it is held at")
    sc = scenario_of(params)
    # the published figures are an input like the --published file: digested, so `compare`
    # says when two calibrations were fitted to different figures
    figures = hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()
    bundle = _bundle(sc)
    bundle = replace(bundle, digests={**bundle.digests, "calibration": figures})
    ctx.report(0.05, f"reading {len(rows)} published figures")
    with tempfile.TemporaryDirectory(prefix="fairshare-job-") as tmp:
        path = Path(tmp) / "published.csv"
        pd.DataFrame(rows).to_csv(path, index=False)
        table = read_published(str(path), bundle, free=len(PARAMETERS) - len(fixed))
    ctx.report(0.1, "fitting (several starting points)")
    result = calibrate(bundle, sc, table, seed=seed, fixed={str(k): float(v)
                                                            for k, v in fixed.items()})
    meta = run_metadata(bundle, result.scenario, command="calibrate", seed=seed,
                        rmse_before=result.rmse_before, rmse_after=result.rmse_after,
                        written=result.written, beats_scale_factor=result.beats_scale_factor,
                        published_rows=len(table))
    name = str(params.get("name") or f"{sc.name}, calibrated to {len(table)} published gaps")
    return JobRun(name, meta, {"calibration_parameters": result.parameters,
                               "calibration_residuals": result.residuals,
                               "calibration_checks": result.checks})


#: Every kind of job the queue knows (store/schema.JOB_KINDS), and what computes it.
KINDS: dict[str, Callable[[Mapping[str, Any], JobContext], JobRun]] = {
    "run": run_job, "uncertainty": uncertainty_job, "calibrate": calibrate_job}
