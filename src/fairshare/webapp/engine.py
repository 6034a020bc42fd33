"""The web app's view of the core: the same functions as the CLI, with caches for speed.

Nothing here changes a result: a cache only remembers what the core computed for exactly the same
parameters. What each cache is keyed on is what the result depends on, so a slider change
recomputes only what that slider touches:

* need shares (the expensive ~0.2 s part of ``targets``) depend on the projection year and
  variant only, so δ, weights, σ and the apportionment method reuse them;
* local-office targets for every specialty (~20-40 ms) are keyed on the target parameters;
* ICB figures are computed for the one specialty on screen (the ICB split of a specialty depends
  on that specialty alone), which is what keeps the ICB map live;
* the plan for the one specialty on screen is solved on its own (the plan's specialties are
  independent MILPs, so its rows equal the full plan's); the whole plan (all specialties, used
  by the deanery tables and the workbook) comes from ``fairshare.model.pipeline.run_plan``.

Caches are bounded (least recently used) and guarded by locks: the Dash server is threaded.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from fairshare.inputs.bundle import Bundle, load_data
from fairshare.inputs.corrections import corrected
from fairshare.model.need import NeedShares, need_shares, specialised_shares, specialty_weights
from fairshare.model.targets import (
    Geography,
    Inputs,
    aggregate_regions,
    icb_table,
    local_office_table,
    with_gap,
)
from fairshare.publish.outputs import run_metadata
from fairshare.scenario import Scenario, Weights, load_scenario
from fairshare.webapp.state import ALL, normalised_weights

T = TypeVar("T")

#: Targets columns summed when areas are shown for all specialties together.
_SUMMED = ["current", "fair_share", "target_fractional", "target"]

#: Scenario parameters the targets do not depend on (labels, the plan's settings, Monte Carlo
#: ranges). The targets caches are keyed on every other parameter, so a parameter added to the
#: scenario later counts as a target parameter until it is listed here: never a stale result.
_NOT_TARGET_FIELDS = {"name", "description", "level", "plan_start", "horizon", "pace_cap",
                      "discount", "capacity_headroom", "min_viable_posts", "elastic",
                      "expansion", "uncertainty"}
_NOT_TARGET_PREFIXES = ("expansion_",)
#: Seconds the list of scenarios and saved runs is reused before the folders are read again.
REFERENCES_TTL = 5.0
#: Seconds the controls must be still before the workbook of what is on screen is prepared:
#: short, so that a download clicked straight after a change finds it well under way (a
#: change superseded meanwhile drops its queued workbook; see ``_book``).
PREFETCH_DELAY = 0.4


class LRU:
    """A small thread-safe least-recently-used cache; ``get(key, make)`` computes on a miss.

    A miss is computed under a per-cache lock, so two requests for the same slow result (the
    full plan, say) wait for one computation rather than running two.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.RLock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, make: Callable[[], T]) -> T:
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                self.hits += 1
                return self._data[key]
            self.misses += 1
            value = make()
            self._data[key] = value
            while len(self._data) > self.size:
                self._data.popitem(last=False)
            return value

    def peek(self, key: Hashable) -> Any:
        with self._lock:
            return self._data.get(key)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


@dataclass(frozen=True)
class TrustMinFile:
    """A minimum-unit file given to the Posts tab: its name, SHA-256 and checked rows
    (org_code, specialty: '' for every specialty, min_posts)."""

    name: str
    digest: str
    table: pd.DataFrame


@dataclass(frozen=True)
class Reference:
    """Something to compare the current view against: a scenario or a stored run."""

    key: str
    label: str
    scenario: Scenario | None = None  # a scenario (default or file), computed on the fly
    run_id: str | None = None  # a stored run, read from the run store


def scenarios_dir() -> Path | None:
    """The project's ``scenarios/`` folder, if there is one (working copy or current folder)."""
    for folder in (Path.cwd() / "scenarios", Path(__file__).resolve().parents[3] / "scenarios"):
        if folder.is_dir():
            return folder
    return None


class Engine:
    """One bundle's computations for the web app (targets, plans, intervals, comparisons)."""

    def __init__(self, bundle: Bundle | None = None, *, store_root: Path | str | None = None,
                 prefetch: bool = True):
        # the default baseline corrections (docs/baseline.md), so labels and the cached
        # current posts are those every command shows; ``current_of`` follows other settings
        self.bundle = corrected(bundle if bundle is not None else load_data(), Scenario())
        b = self.bundle
        self.specialties: list[str] = sorted(set(b.posts["specialty"]))
        self.local_offices: list[str] = sorted(b.local_offices["local_office"])
        self._icbs = sorted(b.icbs["icb_code"])
        self.geo = Geography.from_bundle(b, self._icbs)
        catalogue = list(b.specialties["specialty"])
        posts = b.posts.pivot_table(index="specialty", columns="local_office", values="posts",
                                    aggfunc="sum")
        self._current = posts.reindex(index=catalogue, columns=self.geo.local_offices).fillna(0) \
            .to_numpy(dtype=np.int64)
        self._catalogue = catalogue
        self.area_codes: dict[str, str] = dict(zip(b.local_offices["lo_code"],
                                                   b.local_offices["local_office"], strict=True))
        self.store_root = store_root
        self._refs_seen: tuple[float, list[Reference]] | None = None
        self._need = LRU(8)
        self._lo = LRU(64)
        self._levels = LRU(256)
        self._spec_plan = LRU(128)
        self._full = LRU(4)
        self._mc = LRU(16)
        self._mc_kernels: Any = None  # analysis.uncertainty.KernelCache, made on first use
        self._refs = LRU(32)
        self._equity = LRU(8)
        self._scarcity = LRU(16)
        self._trust_mins: LRU = LRU(32)  # digest -> TrustMinFile (uploads to the Posts tab)
        self._books: dict[str, Future[bytes]] = {}
        self._books_lock = threading.Lock()
        self._waiting: dict[str, int] = {}  # plan key -> downloads waiting for its workbook
        self._pool: ProcessPoolExecutor | None = None
        self._wanted: str | None = None
        self.prefetch = prefetch
        self._prefetched: Future[bytes] | None = None  # the one background workbook in flight

    def known(self) -> dict[str, Any]:
        """The names (and local office codes) a link or a control may use."""
        return {"specialties": self.specialties, "areas": self.local_offices,
                "area_codes": self.area_codes}

    def warm(self) -> None:
        """Compute what a first visit shows (the default map and plan) before anyone asks."""
        from fairshare.webapp.state import DEFAULTS, clean_state

        state = clean_state({}, **self.known())
        scenario = self.scenario(state)
        self.area_view(scenario, str(DEFAULTS["level"]), state["specialty"])
        # the first plan would otherwise wait ~1 s for the solver's import (scipy.optimize)
        self.specialty_plan(scenario, state["specialty"])

    # ------------------------------------------------------------------ scenario

    def scenario(self, state: dict[str, Any], name: str = "web view") -> Scenario:
        """The scenario the controls describe (raises ValueError with a plain message)."""
        weights = normalised_weights(state)
        params: dict[str, Any] = {
            "name": name,
            "description": "Made in the fairshare web app",
            "deprivation_weight": float(state["delta"]),
            "projection_variant": state["variant"],
            "apportionment": state["method"],
            "horizon": int(state["horizon"]),
        }
        if weights is not None:
            core, spec, fut = weights
            params["weights"] = Weights(core=core, specialty=spec, future=max(fut, 0.0))
        if state.get("sigma_mode") == "custom":
            params["specialised_share"] = float(state["sigma"])
        if state.get("projection_year"):
            params["projection_year"] = int(state["projection_year"])
        if state.get("pace_cap"):
            params["pace_cap"] = float(state["pace_cap"])
        if state.get("expansion", "none") != "none":
            params.update(self.expansion_programme(str(state["expansion"])))
        return Scenario(**params)

    def expansion_options(self) -> list[tuple[str, str]]:
        """(key, label): no expansion, then each scenario file that funds expansion posts."""
        out = [("none", "None (redistribution only)")]
        for ref in self.references():
            sc = ref.scenario
            if ref.key.startswith("file:") and sc is not None and sc.expansion:
                total = sum(t.posts for t in sc.expansion)
                years = sorted({t.year for t in sc.expansion})
                out.append((ref.key, f"{sc.name}: {total:,} posts, {years[0]}–{years[-1]}"))
        return out

    def expansion_programme(self, key: str) -> dict[str, Any]:
        """The expansion parameters (tranches and their options) of a scenario file."""
        ref = self.reference(key)
        if ref.scenario is None or not ref.scenario.expansion:
            raise ValueError(f"{ref.label} funds no expansion posts")
        return {k: v for k, v in ref.scenario.model_dump().items()
                if k == "expansion" or k.startswith("expansion_")}

    @staticmethod
    def target_key(scenario: Scenario) -> str:
        """What the targets depend on, as text (plan settings and names left out)."""
        fields = {k: v for k, v in scenario.resolved().items()
                  if k not in _NOT_TARGET_FIELDS and not k.startswith(_NOT_TARGET_PREFIXES)}
        return json.dumps(fields, sort_keys=True)

    @staticmethod
    def plan_key(scenario: Scenario) -> str:
        """What the plan depends on: the targets and the pace-of-change settings."""
        fields = {k: v for k, v in scenario.resolved().items()
                  if k not in {"description", "level"}}
        return json.dumps(fields, sort_keys=True)

    # ------------------------------------------------------------------ targets

    def need(self, scenario: Scenario) -> NeedShares:
        key = (scenario.projection_year, scenario.projection_variant, scenario.base_year)
        return self._need.get(key, lambda: need_shares(self.bundle, scenario))

    def inputs(self, scenario: Scenario) -> Inputs:
        """``targets.prepare`` with the need shares cached."""
        return Inputs(need=self.need(scenario), geo=self.geo, current=self.current_of(scenario),
                      weights=specialty_weights(self.bundle, scenario),
                      sigma=specialised_shares(self.bundle, scenario))

    def current_of(self, scenario: Scenario) -> np.ndarray:
        """(catalogue specialty, local office) current posts under the scenario's baseline
        corrections: the cached default, or the bundle corrected for another setting."""
        bundle = corrected(self.bundle, scenario)
        if bundle is self.bundle:
            return self._current
        posts = bundle.posts.pivot_table(index="specialty", columns="local_office",
                                         values="posts", aggfunc="sum")
        return posts.reindex(index=self._catalogue, columns=self.geo.local_offices).fillna(0) \
            .to_numpy(dtype=np.int64)

    def lo_targets(self, scenario: Scenario) -> pd.DataFrame:
        """Local-office targets for every specialty (exactly ``targets(..., 'local_office')``)."""
        scenario = scenario.with_overrides(level="local_office")
        return self._lo.get(self.target_key(scenario) + scenario.name,
                            lambda: local_office_table(corrected(self.bundle, scenario),
                                                       scenario,
                                                       self.inputs(scenario)))

    def targets(self, scenario: Scenario, level: str, specialty: str = ALL) -> pd.DataFrame:
        """The targets table at a level, for one specialty or (``ALL``) every specialty."""
        key = (self.target_key(scenario) + scenario.name, level, specialty)
        return self._levels.get(key, lambda: self._targets(scenario, level, specialty))

    def _targets(self, scenario: Scenario, level: str, specialty: str) -> pd.DataFrame:
        lo = self.lo_targets(scenario)
        if specialty != ALL:
            lo = lo[lo["specialty"] == specialty].reset_index(drop=True)
            if lo.empty:
                raise ValueError(f"{specialty!r} has no posts in this establishment")
        if level == "local_office":
            return lo
        if level == "region":
            return aggregate_regions(lo)
        if level != "icb":
            raise ValueError(f"unknown level {level!r}")
        names = self.specialties if specialty == ALL else [specialty]
        return icb_table(corrected(self.bundle, scenario), scenario,
                         self._subset(self.inputs(scenario), names), lo)

    def scarcity(self, scenario: Scenario) -> pd.DataFrame:
        """``model.scarcity.scarcity`` (every level and specialty) for the scenario's need:
        keyed on the target parameters, which are all the need weighting depends on."""
        from fairshare.model.scarcity import scarcity

        return self._scarcity.get(self.target_key(scenario) + scenario.name, lambda: scarcity(
            corrected(self.bundle, scenario), scenario, self.inputs(scenario)))

    def _subset(self, inp: Inputs, names: list[str]) -> Inputs:
        """The arrays of some specialties only: a specialty's ICB split depends on nothing else,
        and an establishment file may hold only some of the catalogue's specialties."""
        ns = inp.need
        rows = [ns.specialties.index(n) for n in names]
        need = NeedShares(specialties=list(names), icbs=ns.icbs, population=ns.population,
                          core=ns.core, deprivation=ns.deprivation,
                          specialty=ns.specialty[rows], future=ns.future[rows],
                          projection_year=ns.projection_year[rows])
        return Inputs(need=need, geo=inp.geo, current=inp.current[rows],
                      weights=inp.weights[rows], sigma=inp.sigma[rows])

    def area_view(self, scenario: Scenario, level: str, specialty: str) -> pd.DataFrame:
        """One row per area: the specialty's row, or all specialties added up."""
        table = self.targets(scenario, level, specialty)
        if specialty != ALL:
            return table
        keys = ["area_code", "area", "region_code", "region"]
        out = table.groupby(keys, as_index=False, sort=False)[_SUMMED].sum()
        out["specialty"] = ALL
        if "basis" in table.columns:
            out["basis"] = _summed_basis(table)
        if "current_basis" in table.columns:
            out["current_basis"] = table["current_basis"].iloc[0]
        return with_gap(out)

    # ------------------------------------------------------------------ plans

    def full_plan(self, scenario: Scenario) -> Any:
        """``pipeline.run_plan``: targets, the whole plan, findings, status (cached)."""
        from fairshare.model.pipeline import run_plan

        return self._full.get(self.plan_key(scenario), lambda: run_plan(self.bundle, scenario))

    def cached_full_plan(self, scenario: Scenario) -> Any:
        return self._full.peek(self.plan_key(scenario))

    def specialty_plan(self, scenario: Scenario, specialty: str) -> tuple[pd.DataFrame, Any]:
        """(plan table, PlanResult or PlanOutput) for one specialty, solved on its own."""
        full = self.cached_full_plan(scenario)
        if specialty == ALL or scenario.expansion:
            out = self.full_plan(scenario)
            table = out.plan if specialty == ALL else out.plan[out.plan["specialty"] == specialty]
            return table.reset_index(drop=True), out
        if full is not None:
            return full.plan[full.plan["specialty"] == specialty].reset_index(drop=True), full
        key = (self.plan_key(scenario), specialty)
        return self._spec_plan.get(key, lambda: self._solve_one(scenario, specialty))

    def trust_posts(self, scenario: Scenario, specialty: str,
                    minimums: TrustMinFile | None = None) -> pd.DataFrame:
        """``fairshare posts`` for one specialty: the trust split of the cached area plan.

        The specialty's plan (``specialty_plan``) is shared over trusts exactly as the CLI does
        (``trust_pipeline.run_trust_plan``; the scenario's minimum unit, or an uploaded
        ``--trust-min`` file, ``minimums``); each specialty's split is its own (it reads only
        that specialty's plan, ICB targets and trusts), so its rows equal those of the full
        run. Cached per plan, specialty and minimum-unit file.
        """
        key = ("trusts", self.plan_key(scenario), specialty,
               minimums.digest if minimums else "")
        return self._spec_plan.get(key, lambda: self._split(scenario, specialty, minimums))

    def _trusts(self) -> pd.DataFrame:
        """The public baseline's trusts, with the baseline corrections, as the CLI reads them."""
        from fairshare.inputs.corrections import corrected_trusts
        from fairshare.inputs.trusts import load_trusts

        return self._levels.get(("trusts",), lambda: corrected_trusts(load_trusts(),
                                                                      self.bundle))

    def _split(self, scenario: Scenario, specialty: str,
               minimums: TrustMinFile | None) -> pd.DataFrame:
        from fairshare.inputs.trusts import load_catchment, trust_basis, trust_minimums
        from fairshare.model.pipeline import PlanOutput
        from fairshare.model.trust_pipeline import run_trust_plan

        plan, _ = self.specialty_plan(scenario, specialty)
        tgt = self.targets(scenario, "local_office", specialty)
        out = PlanOutput(targets=tgt, plan=plan, findings=pd.DataFrame(), status="")
        trusts = self._trusts()
        trusts = trusts[trusts["specialty"] == specialty].copy()
        trusts["min_posts"] = trust_minimums(trusts, scenario.trust_min_posts,
                                             minimums.table if minimums else None)
        return run_trust_plan(self.bundle, scenario, out, trusts, load_catchment(),
                              trust_basis(self.bundle))

    def read_trust_min(self, name: str, data: bytes) -> TrustMinFile:
        """An uploaded minimum-unit file (the CLI's ``--trust-min``), read and checked with the
        CLI's own reader and messages (InputError naming file, row and column), kept by its
        SHA-256 so the page refers to it by digest, never sends it back."""
        import hashlib

        from fairshare.inputs.posts import table_from_bytes
        from fairshare.inputs.trusts import trust_min_table

        digest = hashlib.sha256(data).hexdigest()
        table = trust_min_table(table_from_bytes(data, name, name), name, self._trusts(),
                                self._catalogue)
        found = TrustMinFile(name=name, digest=digest, table=table)
        return self._trust_mins.get(digest, lambda: found)

    def trust_min_file(self, digest: str) -> TrustMinFile | None:
        """A minimum-unit file uploaded earlier (None: unknown, e.g. the server restarted)."""
        found = self._trust_mins.peek(digest)
        return found if isinstance(found, TrustMinFile) else None

    def icb_plan(self, scenario: Scenario, specialty: str) -> tuple[pd.DataFrame, Any]:
        """(plan table, result) planned directly over the 42 ICBs, as ``fairshare plan --level
        icb``: one specialty solved on its own, or (``ALL``) ``run_plan(level="icb")``."""
        if specialty == ALL or scenario.expansion:
            from fairshare.model.pipeline import run_plan

            out = self._full.get(("icb", self.plan_key(scenario)),
                                 lambda: run_plan(self.bundle, scenario, level="icb"))
            table = out.plan if specialty == ALL else out.plan[out.plan["specialty"] == specialty]
            return table.reset_index(drop=True), out
        return self._spec_plan.get(("icb", self.plan_key(scenario), specialty),
                                   lambda: self._solve_one(scenario, specialty, "icb"))

    def _solve_one(self, scenario: Scenario, specialty: str, level: str = "local_office"
                   ) -> tuple[pd.DataFrame, Any]:
        from fairshare.model.pipeline import (
            PLAN_COLUMNS,
            plan_options,
            plan_problem,
            with_scarcity_designation,
        )
        from fairshare.model.plan import plan
        from fairshare.model.scarcity import with_scarcity

        tgt = self.targets(scenario, level, specialty)
        problem = plan_problem(self.bundle, tgt, scenario)
        result = plan(problem, plan_options(scenario))
        table = result.table.copy()
        table["expansion"] = 0
        table["expansion_in_post"] = 0
        regions = tgt.drop_duplicates("area").set_index("area")["region"]
        spec = self.bundle.specialties.set_index("specialty")
        table["scenario"] = scenario.name
        table["region"] = table["area"].map(regions)
        table["school"] = table["specialty"].map(spec["school"])
        table["phase"] = table["specialty"].map(spec["phase"])
        table["net"] = table["redistribution"] + table["expansion"]
        table = table[PLAN_COLUMNS].sort_values(["specialty", "area", "year"])
        scarce = with_scarcity(tgt, self.scarcity(scenario), level)
        return with_scarcity_designation(table.reset_index(drop=True), scarce), result

    # ------------------------------------------------------------------ equity

    def equity(self, scenario: Scenario) -> pd.DataFrame:
        """``equity.equity_before_after`` of the whole plan (local offices)."""
        from fairshare.analysis.equity import equity_before_after

        out = self.full_plan(scenario)
        return self._equity.get(("table", self.plan_key(scenario)),
                                lambda: equity_before_after(out.targets, out.plan))

    def equity_checks(self, scenario: Scenario) -> list[str]:
        """``equity.equity_check``: each year the plan raises the Gini, and why."""
        from fairshare.analysis.equity import equity_check

        out = self.full_plan(scenario)
        return self._equity.get(("checks", self.plan_key(scenario)),
                                lambda: equity_check(out.targets, out.plan))

    # ------------------------------------------------------------------ uncertainty

    def intervals(self, scenario: Scenario, draws: int, seed: int = 0) -> pd.DataFrame:
        """Monte Carlo intervals on every local office's target (same draws for any scenario)."""
        from fairshare.analysis.uncertainty import KernelCache, monte_carlo_targets

        if self._mc_kernels is None:  # need arrays kept across δ, weight and σ changes
            self._mc_kernels = KernelCache()
        spec = getattr(scenario, "uncertainty", None)  # the scenario's ranges, else defaults
        key = (self.target_key(scenario), json.dumps(spec.model_dump(mode="json") if spec
                                                      else None, sort_keys=True), int(draws), seed)
        return self._mc.get(key, lambda: monte_carlo_targets(
            self.bundle, scenario, spec, draws=int(draws), seed=seed, cache=self._mc_kernels))

    # ------------------------------------------------------------------ references

    def store(self) -> Any:
        from fairshare.store.runs import RunStore

        return RunStore(self.store_root)

    def references(self) -> list[Reference]:
        """The default scenario, the project's scenario files and every stored run.

        Read again at most every few seconds (each page visit and shared link asks).
        """
        now = time.monotonic()
        if self._refs_seen is not None and now - self._refs_seen[0] < REFERENCES_TTL:
            return self._refs_seen[1]
        refs = self._read_references()
        self._refs_seen = (now, refs)
        return refs

    def _read_references(self) -> list[Reference]:
        refs = [Reference("default", "Default scenario (METHOD defaults)", Scenario())]
        folder = scenarios_dir()
        if folder is not None:
            for path in sorted(folder.glob("*.y*ml")):
                try:
                    sc = load_scenario(path)
                except Exception:
                    continue
                refs.append(Reference(f"file:{path.stem}", f"Scenario file: {sc.name}", sc))
        try:
            for rec in self.store().records():
                if "targets" in rec.tables:
                    refs.append(Reference(f"run:{rec.id}", f"Saved run: {rec.label}",
                                          run_id=rec.id))
        except Exception:
            pass
        return refs

    def reference(self, key: str) -> Reference:
        for ref in self.references():
            if ref.key == key:
                return ref
        raise ValueError(f"nothing to compare with called {key!r}")

    def reference_targets(self, key: str, level: str, specialty: str
                          ) -> tuple[pd.DataFrame, dict[str, Any], str]:
        """(targets at ``level`` for ``specialty``, run metadata, label) of a reference."""
        ref = self.reference(key)
        if ref.scenario is not None:
            table = self.targets(ref.scenario, level, specialty)
            return table, run_metadata(self.bundle, ref.scenario), ref.label
        assert ref.run_id is not None
        store = self.store()
        table, meta = self._refs.get(ref.run_id, lambda: (store.load_table(ref.run_id, "targets"),
                                                          store.metadata(ref.run_id)))
        have = set(table["level"].dropna()) if "level" in table.columns else {"local_office"}
        if level not in have:
            if level == "region" and "local_office" in have:
                table = aggregate_regions(table[table["level"] == "local_office"])
            else:
                raise ValueError(f"{ref.label} holds targets at {', '.join(sorted(have))} "
                                 f"level, not {level}: choose one of those levels to compare")
        else:
            table = table[table["level"] == level] if "level" in table.columns else table
        if specialty != ALL:
            table = table[table["specialty"] == specialty]
        return table.reset_index(drop=True), meta, ref.label

    # ------------------------------------------------------------------ downloads

    def metadata(self, scenario: Scenario, **extra: Any) -> dict[str, Any]:
        return run_metadata(self.bundle, scenario, **extra)

    def workbook_bytes(self, scenario: Scenario) -> bytes:
        """The run's Excel workbook (``fairshare.publish.excel.write_workbook``) as bytes.

        Made in a worker process (a 25-sheet workbook is seconds of pure Python: in a thread
        it would hold the interpreter lock and slow every other visitor), cached per plan, and
        usually begun before it is asked for (``prefetch_workbook``).
        """
        key = self.plan_key(scenario)
        with self._books_lock:
            self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            return self._book(scenario).result(timeout=600)
        finally:
            with self._books_lock:
                self._waiting[key] -= 1
                if not self._waiting[key]:
                    del self._waiting[key]

    def _workers(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # two: a download never queues behind a prefetch the controls have moved past
            self._pool = ProcessPoolExecutor(
                max_workers=2, mp_context=multiprocessing.get_context("spawn"),
                initializer=_worker_start, initargs=(self.bundle,))
        return self._pool

    def close(self) -> None:
        """Stop the workbook processes now (the server calls this when it stops): queued
        workbooks are cancelled and a workbook being made is abandoned, so that stopping the
        server never leaves a worker process behind."""
        with self._books_lock:
            pool, self._pool = self._pool, None
        if pool is None:
            return
        processes = list(getattr(pool, "_processes", {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
        for process in processes:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()

    def start_worker(self) -> None:
        """Start the workbook process now (the server calls this), so the first download
        does not wait for it to start and import."""
        with self._books_lock:
            self._workers().submit(_worker_start, self.bundle)

    def _book(self, scenario: Scenario) -> Future[bytes]:
        key = self.plan_key(scenario)
        with self._books_lock:
            future = self._books.get(key)
            if future is None or (future.done() and future.exception() is not None):
                for other in [k for k, f in self._books.items()
                              if k != key and k not in self._waiting and f.cancel()]:
                    del self._books[other]  # a stale prefetch still queued: drop it
                fields = scenario.model_dump(mode="json")
                try:
                    future = self._workers().submit(_worker_workbook, fields)
                except BrokenProcessPool:  # the worker died (killed, out of memory): anew
                    self._pool = None
                    future = self._workers().submit(_worker_workbook, fields)
                self._books[key] = future
                while len(self._books) > 4:
                    self._books.pop(next(iter(self._books)))
            return future

    def prefetch_workbook(self, scenario: Scenario, delay: float = PREFETCH_DELAY) -> None:
        """Begin the workbook of the scenario on screen once the controls have been still for
        ``delay`` seconds (only the latest scenario is made).

        At most one background workbook is in flight: the other worker is always free for a
        click, so a download never waits behind workbooks the controls have moved past (a
        running one cannot be stopped). The newest wanted one starts when it finishes.
        """
        key = self.plan_key(scenario)
        if not self.prefetch or key in self._books:
            return
        self._wanted = key

        def job() -> None:
            time.sleep(delay)
            start()

        def start() -> None:
            if self._wanted != key:  # the controls moved on: the newest one is made
                return
            with self._books_lock:
                running = self._prefetched
                if running is not None and not running.done():
                    running.add_done_callback(lambda _f: threading.Thread(
                        target=start, name="fairshare-workbook", daemon=True).start())
                    return
            future = self._book(scenario)
            with self._books_lock:
                self._prefetched = future

        threading.Thread(target=job, name="fairshare-workbook", daemon=True).start()


#: The worker process's bundle (set once when it starts).
_WORKER_BUNDLE: list[Bundle] = []


def _worker_start(bundle: Bundle) -> None:
    import fairshare.model.pipeline
    import fairshare.publish.excel  # noqa: F401  (imported once, before the first request)

    if not _WORKER_BUNDLE:
        _watch_parent(os.getppid())
    _WORKER_BUNDLE[:] = [bundle]


def _watch_parent(parent: int, every: float = 1.0) -> None:
    """End this worker within seconds of the server's end, however it ended (even SIGKILL,
    which gives the server no chance to stop its workers): a worker whose parent has gone is
    re-parented, so its parent id changes."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every)
        os._exit(0)

    threading.Thread(target=watch, name="fairshare-parent-watch", daemon=True).start()


def _worker_workbook(scenario_fields: dict[str, Any]) -> bytes:
    """In the worker: the whole plan and its workbook, as the CLI's ``export`` makes them."""
    from fairshare.model.pipeline import run_plan
    from fairshare.publish.excel import write_workbook

    bundle = _WORKER_BUNDLE[0]
    scenario = Scenario.model_validate(scenario_fields)
    out = run_plan(bundle, scenario)
    about = run_metadata(bundle, scenario, plan_status=out.status)
    with tempfile.TemporaryDirectory(prefix="fairshare-web-") as tmp:
        path = Path(tmp) / "fairshare.xlsx"
        write_workbook(path, targets=out.targets, plan=out.plan, about=about)
        return path.read_bytes()


def _summed_basis(table: pd.DataFrame) -> str:
    """What an all-specialty sum of current posts is made of: the basis shared by most rows,
    naming the specialties whose posts are modelled."""
    basis = table["basis"].astype(str)
    modelled = sorted(table.loc[basis.str.startswith("modelled"), "specialty"].unique())
    main = basis[~basis.str.startswith("modelled")]
    head = str(main.mode().iloc[0]) if len(main) else "modelled"
    if not modelled:
        return head
    return f"includes modelled posts ({', '.join(modelled)}); the rest: {head}"
