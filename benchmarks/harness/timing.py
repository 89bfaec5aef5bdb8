"""Small timing and file-system helpers."""

from __future__ import annotations

import os
import shutil
import statistics
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    """Run ``fn`` once; return (seconds, result)."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def per_call_ms(fn: Callable[[int], object], indices: Iterable[int]) -> np.ndarray:
    """Milliseconds taken by ``fn(i)`` for each index, timed one call at a time."""
    out = []
    for i in indices:
        start = time.perf_counter_ns()
        fn(int(i))
        out.append((time.perf_counter_ns() - start) / 1e6)
    return np.asarray(out)


def percentiles(ms: np.ndarray) -> dict[str, float]:
    return {"p50_ms": float(np.percentile(ms, 50)), "p95_ms": float(np.percentile(ms, 95)),
            "mean_ms": float(ms.mean())}


def median_of(fn: Callable[[], float], repeats: int) -> tuple[float, list[float]]:
    runs = [fn() for _ in range(repeats)]
    return statistics.median(runs), runs


def tree_bytes(path: Path) -> tuple[int, int]:
    """(apparent bytes, allocated bytes) of a file or of every file under a folder."""
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    apparent = allocated = 0
    for p in files:
        st = p.stat()
        apparent += st.st_size
        allocated += st.st_blocks * 512
    return apparent, allocated


def warm_page_cache(path: Path) -> None:
    """Read every file under ``path`` once so the timed reads find it in the OS page cache."""
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for p in files:
        with p.open("rb") as fh:
            while fh.read(1 << 22):
                pass


def fresh_dir(path: Path) -> Path:
    """Remove whatever is at ``path`` and make sure its parent exists."""
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def settle() -> None:
    """Push written data to disk (untimed) so write-back does not disturb the next timing."""
    os.sync()


def fsync_tree(path: Path) -> None:
    """fsync every file and folder under ``path`` (a no-op cost for data a writer already synced)."""
    entries = [path] if path.is_file() else [path, *path.rglob("*")]
    for p in entries:
        fd = os.open(p, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def timed_ingest(write: Callable[[], object], path: Path, repeat: int = 2) -> dict[str, float]:
    """Seconds until the writer returns, and until everything it wrote is fsynced (durable).

    The write runs ``repeat`` times, each into a fresh ``path``; the fastest run is reported and
    every run is kept. The first large write of a process pays for faulting in fresh memory (on
    this VM ~0.5 s for 130 MB), which otherwise lands on whichever system happens to run first.
    """
    runs: list[tuple[float, float]] = []
    for _ in range(max(1, repeat)):
        fresh_dir(path)
        start = time.perf_counter()
        write()
        writer = time.perf_counter() - start
        fsync_tree(path)
        runs.append((writer, time.perf_counter() - start))
    writer, durable = min(runs, key=lambda r: r[1])
    return {"writer_s": writer, "ingest_s": durable, "ingest_runs_s": [r[1] for r in runs]}


def warm_imports(jpegs: list[bytes] | None = None) -> None:
    """Import and allocate, untimed, what the first timed step would otherwise pay for.

    pyarrow imports pandas (~0.2 s here) the first time ``pa.array`` is given a Python list, and
    its allocator faults in fresh pages the first time it holds the images (~0.6 s for 130 MB on
    this VM); both landed on whichever system ingested first.
    """
    import pyarrow as pa

    pa.array([b""])
    pa.array([1])
    if jpegs is not None:
        pa.array(jpegs, pa.binary())


def prime_allocator(nbytes: int) -> None:
    """Allocate and touch one buffer of ``nbytes`` once, untimed.

    After ``os.sync()`` (and at process start) the next large allocation is several times slower to
    fault in (transparent huge pages) than later ones: 50 MB took ~80 ms instead of ~4 ms here. Without
    this, each system's first timed read would pay for the harness's own sync.
    """
    buf = np.empty(nbytes, np.uint8)
    buf.fill(1)
    del buf
