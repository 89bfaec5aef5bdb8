"""Running the slices of a transform: in this thread, on threads, on processes, or as Ray tasks.

Every scheduler runs :func:`arrowds.transforms.worker.run_chunk` on each slice and returns the
results in slice (= input) order, or raises: the first slice that fails stops the others and
its TransformError (naming the input index) is raised; Ctrl-C stops every worker and raises
KeyboardInterrupt. Nothing is published here, so either way the target is unchanged.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import signal
import sys
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import numpy as np

from arrowds._optional import import_optional
from arrowds.errors import TransformError
from arrowds.transforms.worker import Cancelled, ChunkResult, Job, describe, run_chunk

Report = Callable[[int], None]
Slices = list[tuple[int, int]]
_POLL = 0.1


def run(job: Job, slices: Slices, scheduler: str, num_workers: int, report: Report,
        ray_address: str | None = None) -> list[ChunkResult]:
    """Results of every slice, in order (see the module docstring)."""
    if scheduler == "serial":
        return _serial(job, slices, report)
    if scheduler == "threaded":
        if num_workers == 1:  # one thread beside an idle one: run it here (same stop semantics)
            return _serial(job, slices, report)
        return _threaded(job, slices, num_workers, report)
    if scheduler == "processed":
        return _processed(job, slices, num_workers, report)
    if scheduler == "ray":
        return _ray(job, slices, num_workers, report, ray_address)
    raise ValueError(f"unknown scheduler {scheduler!r}")


def _raise_first_error(results: list[ChunkResult]) -> None:
    for r in sorted(results, key=lambda r: r.start):
        if r.error is not None:
            raise r.error from r.error.original


def _serial(job: Job, slices: Slices, report: Report) -> list[ChunkResult]:
    out = []
    for c, (a, b) in enumerate(slices):
        out.append(run_chunk(job, c, a, b, report))
        _raise_first_error(out)
    return out


# -- threads ---------------------------------------------------------------------------------
def _threaded(job: Job, slices: Slices, num_workers: int, report: Report) -> list[ChunkResult]:
    cancelled = threading.Event()
    done, shown = [0], [0]
    lock = threading.Lock()

    def count(n: int) -> None:
        with lock:
            done[0] += n

    def tick() -> None:
        n = done[0]
        if n > shown[0]:
            report(n - shown[0])
            shown[0] = n

    pool = ThreadPoolExecutor(num_workers, thread_name_prefix="arrowds-transform")
    futures = [pool.submit(run_chunk, job, c, a, b, count, cancelled) for c, (a, b) in enumerate(slices)]
    try:
        return _collect(futures, tick)
    except BaseException:
        cancelled.set()  # workers stop before their next input
        for f in futures:
            f.cancel()
        raise
    finally:
        pool.shutdown(wait=True)


def _collect(futures: list[Future], tick: Callable[[], None]) -> list[ChunkResult]:
    """Wait for every future; stop at the first slice that failed (raising its error)."""
    pending = set(futures)
    while pending:
        done, pending = wait(pending, timeout=_POLL, return_when=FIRST_COMPLETED)
        tick()
        for f in done:
            try:
                r = f.result()
            except Cancelled:
                continue
            if r.error is not None:
                raise r.error from r.error.original
    tick()
    return [f.result() for f in futures]


# -- processes -------------------------------------------------------------------------------
_JOB: Job | None = None
_QUEUE: Any = None
_CURRENT: Any = None
_PIDS: Any = None


def _init_process(job: Job, queue: Any, current: Any, pids: Any) -> None:
    """Runs once in each worker process: keep the job (not pickled under fork) and leave
    Ctrl-C to the driver, which stops the workers itself."""
    global _JOB, _QUEUE, _CURRENT, _PIDS
    _JOB, _QUEUE, _CURRENT, _PIDS = job, queue, current, pids
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _process_chunk(chunk: int, start: int, stop: int) -> ChunkResult:
    _PIDS[chunk] = os.getpid()
    return run_chunk(_JOB, chunk, start, stop, _QUEUE.put, current=_CURRENT)  # reports every 0.1 s


def _context() -> mp.context.BaseContext:
    """fork on Linux (no re-import, fast start; everything still pickles for spawn elsewhere)."""
    return mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")


def _processed(job: Job, slices: Slices, num_workers: int, report: Report) -> list[ChunkResult]:
    ctx = _context()
    queue = ctx.Queue()
    current = ctx.Array("q", [-1] * len(slices), lock=False)
    pids = ctx.Array("q", [0] * len(slices), lock=False)
    pool = ProcessPoolExecutor(num_workers, mp_context=ctx, initializer=_init_process,
                               initargs=(job, queue, current, pids))
    futures = [pool.submit(_process_chunk, c, a, b) for c, (a, b) in enumerate(slices)]
    procs = dict(getattr(pool, "_processes", None) or {})  # to stop them on Ctrl-C, and name the dead

    def tick() -> None:
        while True:
            try:
                n = queue.get_nowait()
            except Exception:  # noqa: BLE001 - queue.Empty, or a queue broken by a dead worker
                return
            report(n)

    ok = False
    try:
        results = _collect(futures, tick)
        ok = True
        return results
    except BrokenProcessPool as e:
        raise _dead_worker(job, slices, futures, procs, current, pids) from e
    finally:
        if not ok:
            for f in futures:
                f.cancel()
            for p in procs.values():
                if p.is_alive():
                    p.terminate()
        pool.shutdown(wait=ok, cancel_futures=not ok)
        queue.close()
        queue.join_thread() if ok else queue.cancel_join_thread()


def _dead_worker(job: Job, slices: Slices, futures: list[Future], procs: dict[int, Any], current: Any,
                 pids: Any) -> TransformError:
    """A TransformError for a worker process that died (killed, out of memory, os._exit)."""
    for p in procs.values():
        p.join(timeout=1)
    terminated = -int(signal.SIGTERM)
    dead = {pid: p.exitcode for pid, p in procs.items() if p.exitcode not in (None, 0, terminated)}
    suspects = [c for c in range(len(slices))
                if pids[c] in dead and current[c] >= 0 and not _finished(futures[c])]
    if len(suspects) == 1:
        c = suspects[0]
        i = int(current[c])
        return TransformError(f"transform {describe(job.stages)}: the worker process transforming input "
                              f"{i} of data_in died (exit code {dead[pids[c]]}); nothing was written "
                              "to ds_out", index=i, original_type=f"exit code {dead[pids[c]]}")
    running = sorted(int(current[c]) for c in range(len(slices))
                     if current[c] >= 0 and not _finished(futures[c]))
    return TransformError(f"transform {describe(job.stages)}: a worker process died (exit codes "
                          f"{sorted(dead.values()) or 'unknown'}) while transforming inputs {running}; "
                          "nothing was written to ds_out",
                          index=running[0] if len(running) == 1 else None)


def _finished(f: Future) -> bool:
    return f.done() and not f.cancelled() and f.exception() is None


# -- Ray -------------------------------------------------------------------------------------
def connect_ray(address: str | None = None) -> Any:
    """The ``ray`` module, connected: to ``address`` when given, else to the cluster this
    process already uses, else to a new local one."""
    ray = import_optional("ray", extra="ray", purpose="scheduler='ray'")
    if address is not None:
        if ray.is_initialized():
            ctx = ray.get_runtime_context()
            if getattr(ctx, "gcs_address", None) not in (address, None) and address != "auto":
                raise ValueError(f"this process is already connected to the Ray cluster at "
                                 f"{ctx.gcs_address}; it cannot also use {address!r}")
        else:
            ray.init(address=address)
    elif not ray.is_initialized():
        ray.init()
    return ray


class _Tracker:
    """The input each Ray task is on, in a small file of int64s that tasks on the driver's machine
    write (through ``np.memmap``: one store per input), so that a task whose worker died can be
    named by its input. Tasks on other machines find no such file and are named by slice."""

    def __init__(self, slices: int):
        fd, self.path = tempfile.mkstemp(prefix="arrowds-transform-", suffix=".track")
        with os.fdopen(fd, "wb") as f:
            f.write(np.full(slices, -1, np.int64).tobytes())

    def all(self) -> np.ndarray | None:
        try:
            return np.fromfile(self.path, np.int64)
        except OSError:
            return None

    def at(self, chunk: int) -> int:
        at = self.all()
        return int(at[chunk]) if at is not None and chunk < at.size else -1

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.unlink(self.path)


def _ray_chunk(job: Job, chunk: int, start: int, stop: int, track: str) -> ChunkResult:
    current = np.memmap(track, np.int64, mode="r+") if os.path.exists(track) else None
    return run_chunk(job, chunk, start, stop, current=current)


def _ray(job: Job, slices: Slices, num_workers: int, report: Report,
         ray_address: str | None) -> list[ChunkResult]:
    ray = connect_ray(ray_address)
    task = ray.remote(num_cpus=1, max_retries=0)(_ray_chunk)
    job_ref = ray.put(job)
    track = _Tracker(len(slices))
    results: dict[int, ChunkResult] = {}
    inflight: dict[Any, int] = {}
    todo = list(range(len(slices)))
    shown = finished = 0

    def tick() -> None:
        """Report inputs done: finished slices, plus how far the running ones are (when their
        tasks run on this machine and write the tracking file)."""
        nonlocal shown
        at = track.all()
        running = sum(max(0, int(at[c]) - slices[c][0]) for c in inflight.values()) if at is not None else 0
        if finished + running > shown:
            report(finished + running - shown)
            shown = finished + running

    try:
        while todo or inflight:
            while todo and len(inflight) < num_workers:
                c = todo.pop(0)
                inflight[task.remote(job_ref, c, *slices[c], track.path)] = c
            ready, _ = ray.wait(list(inflight), num_returns=1, timeout=_POLL)
            for ref in ready:
                c = inflight.pop(ref)
                a, b = slices[c]
                try:
                    r = ray.get(ref)
                except ray.exceptions.RayError as e:
                    raise _ray_failure(job, e, track.at(c), a, b) from e
                if r.error is not None:
                    raise r.error from r.error.original
                results[c] = r
                finished += b - a
            tick()
    except BaseException:
        for ref in inflight:
            ray.cancel(ref, force=True)
        raise
    finally:
        track.close()
    return [results[c] for c in range(len(slices))]


def _ray_failure(job: Job, e: BaseException, at: int, a: int, b: int) -> TransformError:
    """A TransformError for a Ray task that failed outside the transform (its worker died)."""
    text = str(e).strip()
    why = f"{type(e).__name__}: {text.splitlines()[0] if text else ''}"
    what = describe(job.stages)
    if a <= at < b:
        return TransformError(f"transform {what}: the Ray worker transforming input {at} of data_in "
                              f"failed ({why}); nothing was written to ds_out", index=at,
                              original_type=type(e).__name__)
    return TransformError(f"transform {what}: the Ray task transforming inputs {a}..{b - 1} of "
                          f"data_in failed ({why}); nothing was written to ds_out", index=None,
                          original_type=type(e).__name__)
