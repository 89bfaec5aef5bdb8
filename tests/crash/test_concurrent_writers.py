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


NAMES = ["cat", "dog", "bird", "eel", "fox", "owl"]


def _labeller(url: str, who: int, start, pause: float) -> None:
    """Appends rows (who, k, label) whose labels discover class names in a writer's own order."""
    ds = ads.load(url)
    order = NAMES[who:] + NAMES[:who]
    warm = ads.empty(f"mem://warm-{who}")  # first-use costs before the barrier
    warm.create_tensor("labels", htype="class_label")
    warm.labels.extend(["a", "b"])
    start.wait()
    for k in range(12):
        ds.extend({"who": [who], "k": [k], "labels": [order[k % len(order)]]})
        time.sleep(pause)


def test_concurrent_appends_that_add_class_names_keep_every_label(tmp_path):
    url = str(tmp_path / "ds")
    ds = ads.empty(url)
    ds.create_tensor("who", dtype="int64")
    ds.create_tensor("k", dtype="int64")
    ds.create_tensor("labels", htype="class_label")
    ds.commit("empty", allow_empty=True)
    start = CTX.Barrier(3)
    procs = [CTX.Process(target=_labeller, args=(url, w, start, 0.02)) for w in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    head = ads.load(url)
    names = head.labels.info.class_names
    assert sorted(names) == sorted(NAMES)  # each once
    who, k = head.who.numpy().ravel().tolist(), head.k.numpy().ravel().tolist()
    got = [names[int(i)] for i in head.labels.numpy().ravel()]
    assert sorted(zip(who, k)) == [(w, j) for w in range(3) for j in range(12)]
    assert got == [(NAMES[w:] + NAMES[:w])[j % len(NAMES)] for w, j in zip(who, k)]
    switches = sum(a != b for a, b in zip(who, who[1:]))
    assert switches > 2, f"the writers did not interleave ({who}): nothing was tested"
