"""The local block cache of remote fragments: hits cost no request, it stays within its
size, and concurrent readers (threads and processes) sharing one cache folder read right."""

from __future__ import annotations

import multiprocessing
import threading

import numpy as np
import pytest

import arrowds as ads
from arrowds.storage import CacheConfig
from tests.conftest import jpeg_bytes, photo
from tests.servers import Proxy

N = 60


@pytest.fixture(scope="module")
def remote(s3_server):
    """An S3 dataset of N distinct JPEGs (~20 KB each) and labels, and its decoded images."""
    url = f"s3://{s3_server.new_bucket()}/cached"
    ds = ads.empty(url, storage_options=s3_server.options())
    ds.create_tensor("images", htype="image", sample_compression="jpeg")
    ds.create_tensor("labels", htype="class_label")
    jpegs = [jpeg_bytes(photo(i, 96, 128), quality=95) for i in range(N)]
    ds.extend({"images": [ads.read(j, compression="jpeg") for j in jpegs], "labels": list(range(N))})
    ds.commit("all")
    return url, ads.load(url, storage_options=s3_server.options()).images.numpy(aslist=True)


@pytest.fixture
def proxy(s3_server):
    p = Proxy(s3_server.port)
    yield p
    p.stop()


def test_second_reader_is_served_from_the_cache(remote, s3_server, proxy, tmp_path) -> None:
    url, images = remote
    opts = s3_server.options(proxy.endpoint)
    cache = tmp_path / "cache"
    first = ads.load(url, storage_options=opts, cache=cache)
    assert "CachingStorage" in repr(first._core.storage)
    for i in (3, 30, 59):
        assert np.array_equal(first.images[i].numpy(), images[i])
    assert first.labels.numpy().ravel().tolist() == list(range(N))
    assert proxy.count("GET", "/data/") > 0
    proxy.reset()
    second = ads.load(url, storage_options=opts, cache=str(cache))
    for i in (3, 30, 59):
        assert np.array_equal(second.images[i].numpy(), images[i])
    assert second.labels.numpy().ravel().tolist() == list(range(N))
    assert proxy.count("GET", "/data/") == 0 and proxy.count("GET", "/manifests/") == 0
    assert proxy.count("GET", "/refs/") + proxy.count("GET", "arrowds.json") > 0  # refs: always live


def test_cache_stays_within_its_size(remote, s3_server, tmp_path) -> None:
    url, images = remote
    cfg = CacheConfig(str(tmp_path / "small"), max_bytes=200_000, block_size=16 * 1024)
    ds = ads.load(url, storage_options=s3_server.options(), cache=cfg)
    for i in list(range(N)) * 2:
        assert np.array_equal(ds.images[i].numpy(), images[i])
    held = sum(p.stat().st_size for p in (tmp_path / "small").rglob("*") if p.is_file())
    assert 0 < held <= cfg.max_bytes * 1.1
    assert ds._core.storage.evict() <= cfg.max_bytes


def _reader(url: str, opts: dict, cache: str, seed: int, out) -> None:
    ds = ads.load(url, storage_options=opts, cache={"path": cache, "max_bytes": 150_000,
                                                   "block_size": 8192})
    rng = np.random.default_rng(seed)
    out.put([(int(i), ds.images[int(i)].numpy().tobytes()) for i in rng.integers(0, N, 40)])


@pytest.mark.slow
def test_concurrent_readers_share_one_cache(remote, s3_server, tmp_path) -> None:
    """Two processes and four threads read random samples through one small cache folder,
    evicting under each other's feet; every sample reads right."""
    url, images = remote
    cache = str(tmp_path / "shared")
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    procs = [ctx.Process(target=_reader, args=(url, s3_server.options(), cache, s, out)) for s in (1, 2)]
    for p in procs:
        p.start()
    threads = [threading.Thread(target=_reader, args=(url, s3_server.options(), cache, s, out))
               for s in (3, 4, 5, 6)]
    for t in threads:
        t.start()
    results = [out.get(timeout=120) for _ in range(6)]
    for t in threads:
        t.join()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    for batch in results:
        for i, data in batch:
            assert data == images[i].tobytes(), i
