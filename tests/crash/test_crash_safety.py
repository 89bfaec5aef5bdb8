"""A writer SIGKILLed at random instants never leaves a broken or half-visible version."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time

import numpy as np
import pytest

import arrowds as ads

CTX = multiprocessing.get_context("fork")


def _writer(url: str, seed: int) -> None:
    """Append consecutive integers in small published batches, committing now and then."""
    rng = random.Random(seed)
    ds = ads.load(url)
    n = len(ds.x)
    for _ in range(12):
        k = rng.randint(1, 40)
        if rng.random() < 0.5:
            with ds:
                ds.x.extend(np.arange(n, n + k))
        else:
            ds.x.extend(np.arange(n, n + k))
        n += k
        if rng.random() < 0.4:
            ds.commit(f"upto {n}")


def _check(url: str, committed: dict[str, int], rng: random.Random) -> None:
    """The head is a complete prefix; every new commit holds exactly what it sealed; a sample
    of earlier commits still reads the same; commits only grow along the log."""
    ds = ads.load(url)
    x = ds.x.numpy().ravel()
    assert np.array_equal(x, np.arange(x.size)), "the head is a complete prefix"
    log = ds.log()
    known = [c.id for c in log if c.id in committed]
    recheck = set(rng.sample(known, min(3, len(known))))
    sizes = []
    for c in log:
        if c.id in committed and c.id not in recheck:
            sizes.append(committed[c.id])
            continue
        old = ads.load(url, version=c.id).x.numpy().ravel()
        assert np.array_equal(old, np.arange(old.size)), f"commit {c.id} is complete"
        if c.message.startswith("upto "):
            assert old.size == int(c.message.split()[1]), "a commit holds exactly what it sealed"
        if c.id in committed:
            assert committed[c.id] == old.size, "a commit never changes"
        committed[c.id] = old.size
        sizes.append(old.size)
    assert sizes == sorted(sizes, reverse=True), "no committed row is lost"


@pytest.mark.slow
def test_sigkill_at_random_instants(tmp_path):
    url = str(tmp_path / "ds")
    ds = ads.empty(url)
    ds.create_tensor("x", dtype="int64")
    ds.x.extend(np.arange(10))
    ds.commit("upto 10")
    committed: dict[str, int] = {}
    rng = random.Random(1234)
    for i in range(50):
        p = CTX.Process(target=_writer, args=(url, i))
        p.start()
        time.sleep(rng.uniform(0.01, 0.15))
        os.kill(p.pid, signal.SIGKILL)
        p.join()
        _check(url, committed, rng)
    assert len(committed) > 5, "the writers did commit between kills"
