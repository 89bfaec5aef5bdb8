"""arrowds on S3 (a moto server on loopback) against plain pyarrow.parquet over s3fs.

* Sequential scan: every image's stored bytes, in batches, through ``ds.images[a:b].tobytes()``
  vs ``pyarrow.parquet.read_table(fragment, columns=["images"], filesystem=s3fs)`` over the same
  fragments. Throughput in MB/s of image bytes.
* Random access: one sample's bytes (``ds.images[i].tobytes()``), after the manifest and footers
  are cached; latency, and requests counted through a counting proxy in front of the server.

    python benchmarks/bench_s3.py [--mb 100] [--random 200]

Uses the test suite's server helpers (``tests/servers.py``): ``pip install -e '.[dev]'``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

import pyarrow.parquet as pq  # noqa: E402
import s3fs  # noqa: E402

import arrowds as ads  # noqa: E402
from tests.conftest import jpeg_bytes, photo  # noqa: E402
from tests.servers import MotoServer, Proxy  # noqa: E402


def build(srv: MotoServer, mb: int) -> tuple[str, int]:
    jpegs = [jpeg_bytes(photo(i, 512, 768), quality=95) for i in range(8)]
    n = (mb << 20) // (sum(map(len, jpegs)) // len(jpegs))
    url = f"s3://{srv.new_bucket()}/bench"
    ds = ads.empty(url, storage_options=srv.options())
    ds.create_tensor("images", htype="image", sample_compression="jpeg")
    ds.create_tensor("labels", htype="class_label")
    samples = [ads.read(jpegs[i % 8], compression="jpeg") for i in range(n)]
    step = max(1, n // max(1, mb // 30))  # ~30 MB fragments (see README: moto copies objects)
    for a in range(0, n, step):
        ds.extend({"images": samples[a:a + step], "labels": [i % 10 for i in range(a, min(n, a + step))]})
    return url, n


def best(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=100)
    ap.add_argument("--random", type=int, default=200)
    ap.add_argument("--batch", type=int, default=256)
    args = ap.parse_args()
    srv = MotoServer()
    try:
        t = time.perf_counter()
        url, n = build(srv, args.mb)
        print(f"dataset: {n} images, built in {time.perf_counter() - t:.1f} s")
        ds = ads.load(url, storage_options=srv.options(), read_only=True)
        frags = [f.file for f in ds._core.manifest.fragments]
        total = sum(len(b) for b in ds.images[:8].tobytes()) * n / 8
        fs = s3fs.S3FileSystem(**srv.options())
        root = url[len("s3://"):]

        def scan_arrowds() -> None:
            d = ads.load(url, storage_options=srv.options(), read_only=True)
            for a in range(0, n, args.batch):
                d.images[a:a + args.batch].tobytes()

        def scan_pyarrow() -> None:
            for f in frags:
                pq.read_table(f"{root}/{f}", columns=["images"], filesystem=fs)

        t_ads, t_pq = best(scan_arrowds), best(scan_pyarrow)
        print(f"| sequential scan | arrowds {total / t_ads / 1e6:.0f} MB/s ({t_ads:.2f} s) | "
              f"pyarrow+s3fs {total / t_pq / 1e6:.0f} MB/s ({t_pq:.2f} s) | ratio {t_pq / t_ads:.2f} |")

        proxy = Proxy(srv.port)
        d = ads.load(url, storage_options=srv.options(proxy.endpoint), read_only=True)
        for f in frags:  # manifest is loaded; cache every footer
            d._core.reader.layout(f)
        rng = np.random.default_rng(0)
        idx = rng.integers(0, n, args.random)
        proxy.reset()
        t = time.perf_counter()
        for i in idx:
            d.images[int(i)].tobytes()
        per = (time.perf_counter() - t) / len(idx)
        reqs = proxy.count() / len(idx)
        proxy.reset()
        cold = ads.load(url, storage_options=srv.options(proxy.endpoint), read_only=True)
        proxy.reset()
        cold.images[int(idx[0])].tobytes()
        first = proxy.count()
        proxy.stop()
        d2 = ads.load(url, storage_options=srv.options(), read_only=True)
        for f in frags:
            d2._core.reader.layout(f)
        t = time.perf_counter()
        for i in idx:
            d2.images[int(i)].tobytes()
        direct = (time.perf_counter() - t) / len(idx)
        print(f"| random access | {direct * 1e3:.1f} ms/sample direct, {per * 1e3:.1f} ms via proxy | "
              f"{reqs:.2f} requests/sample with footers cached | {first} requests for the first "
              f"sample of a fresh handle (footer + sample) |")
    finally:
        srv.stop()


if __name__ == "__main__":
    main()
