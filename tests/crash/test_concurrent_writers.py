"""Several processes appending and committing to one branch at once never lose a row: on local
disk (``link``) and on S3 (moto server; conditional ``If-None-Match: *`` puts)."""

from __future__ import annotations

import multiprocessing
import random
import time

import numpy as np
import pytest

import arrowds as ads

CTX = multiprocessing.get_context("fork")
PROCS, ROWS, BATCHES = 4, 500, 10


def _worker(url: str, opts, who: int, start, out, pause: float) -> None:
    ds = ads.load(url, storage_options=opts)
    warm = ads.empty(f"mem://warm-{who}")  # first-use costs (pyarrow's writer) before the barrier
    warm.create_tensor("x", dtype="int64")
    warm.x.extend(np.arange(3))
    start.wait()
    per = ROWS // BATCHES
    rng = random.Random(who)
    for b in range(BATCHES):
        base = who * 100_000 + b * per
        ds.x.extend(np.arange(base, base + per))  # each call publishes (rebasing if needed)
        time.sleep(rng.uniform(0.5, 2) * pause)
    out.put((who, ds.commit(f"writer {who}")))


@pytest.fixture(params=["local", "s3"])
def where(request, tmp_path):
    """(url, storage options, pause between a writer's batches). On S3 a publish takes ~50 ms;
    with pauses shorter than that the writer that just won keeps winning (it knows the head
    while the others re-read it) and the writers do not interleave."""
    if request.param == "local":
        return str(tmp_path / "ds"), None, 0.01
    srv = request.getfixturevalue("s3_server")
    return f"s3://{srv.new_bucket()}/ds", srv.options(), 0.1


@pytest.mark.slow
@pytest.mark.parametrize("round_", range(3))
def test_four_writers_lose_nothing(where, round_):
    url, opts, pause = where
    ds = ads.empty(url, storage_options=opts)
    ds.create_tensor("x", dtype="int64")
    ds.commit("empty", allow_empty=True)
    start, out = CTX.Barrier(PROCS), CTX.Queue()
    procs = [CTX.Process(target=_worker, args=(url, opts, w, start, out, pause)) for w in range(PROCS)]
    for p in procs:
        p.start()
    results = dict(out.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    expected = {w: set(range(w * 100_000, w * 100_000 + ROWS)) for w in range(PROCS)}
    head = ads.load(url, storage_options=opts).x.numpy().ravel()
    assert head.size == PROCS * ROWS and len(set(head.tolist())) == head.size
    assert set(head.tolist()) == set().union(*expected.values())
    for w, cid in results.items():  # each writer's commit holds all of its rows
        seen = set(ads.load(url, version=cid, storage_options=opts).x.numpy().ravel().tolist())
        assert expected[w] <= seen
    writers = [int(v) // 100_000 for v in head[:: ROWS // BATCHES]]
    switches = sum(a != b for a, b in zip(writers, writers[1:]))
    assert switches > PROCS - 1, f"the writers did not interleave ({writers}): nothing was tested"
    final = ads.load(url, storage_options=opts).log()[0]
    last = ads.load(url, version=final.id, storage_options=opts)
    assert set(last.x.numpy().ravel().tolist()) == set(head.tolist())
