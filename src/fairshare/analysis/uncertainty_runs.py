"""Running chunks of draws: serially, in a local process pool, or on a Dask cluster.

Each chunk regenerates its own draws from ``(seed, draw numbers)``; results come back in
completion order and are reduced order-independently (uncertainty analysis).
"""

from __future__ import annotations

import math
import multiprocessing
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from typing import Any

from fairshare.analysis.uncertainty_draws import DRAW_BLOCK

#: ``progress(done, total)``: called after each finished chunk with the number of draws done.
ProgressCallback = Callable[[int, int], None]

# --------------------------------------------------------------------------------------------
# Running chunks: serial, process pool, Dask
# --------------------------------------------------------------------------------------------


def _chunks(n: int, chunk: int) -> list[tuple[int, int]]:
    return [(a, min(a + chunk, n)) for a in range(0, n, chunk)]


def _pool_context() -> Any:
    """forkserver where available (safe with threads, workers start from a clean process that
    has fairshare already imported), else spawn."""
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" in methods:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["fairshare.analysis.uncertainty"])
        return ctx
    return multiprocessing.get_context("spawn")


def _run_chunks(fn: Callable[[tuple[int, int], Any], Any], kernel: Any, n: int, chunk: int,
                workers: int, executor: Executor | None, dask_client: Any,
                progress: ProgressCallback | None) -> Iterator[tuple[tuple[int, int], Any]]:
    """Run ``fn((start, stop), kernel)`` over chunks of draw numbers; yield (bounds, result).

    Results come in completion order; callers reduce them order-independently (exact counts, or
    placing rows by draw number), which is what makes serial and parallel runs identical.
    """
    pieces = _chunks(n, chunk)
    done = 0
    if progress is not None:
        progress(0, n)

    def tick(bounds: tuple[int, int]) -> None:
        nonlocal done
        done += bounds[1] - bounds[0]
        if progress is not None:
            progress(done, n)

    if dask_client is not None:
        from distributed import as_completed

        kfut = dask_client.scatter(kernel, broadcast=True, hash=False)
        futures = dask_client.map(fn, pieces, kernel=kfut, pure=False)
        where = {f.key: p for f, p in zip(futures, pieces, strict=True)}
        for fut in as_completed(futures):
            bounds = where[fut.key]
            result = fut.result()
            tick(bounds)
            yield bounds, result
        return
    if executor is None and (workers <= 1 or len(pieces) <= 1):
        for bounds in pieces:
            result = fn(bounds, kernel)
            tick(bounds)
            yield bounds, result
        return
    pool = executor or ProcessPoolExecutor(max_workers=workers, mp_context=_pool_context())
    try:
        pending: dict[Future[Any], tuple[int, int]] = {pool.submit(fn, p, kernel): p
                                                       for p in pieces}
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                bounds = pending.pop(fut)
                result = fut.result()
                tick(bounds)
                yield bounds, result
    finally:
        if executor is None:
            pool.shutdown(cancel_futures=True)


def _auto_chunk(n: int, workers: int) -> int:
    """About four chunks per worker (load balance), in whole draw blocks, at most 2,048 draws
    (bounded memory: a chunk's arrays are chunk x specialties x areas)."""
    blocks = math.ceil(n / max(1, 4 * workers) / DRAW_BLOCK)
    return DRAW_BLOCK * max(1, min(2048 // DRAW_BLOCK, blocks))
