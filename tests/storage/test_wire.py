"""Lazy reads measured at the wire: an S3 dataset of ~200 MB read through a counting proxy.

The dataset is written once per session straight to the moto server; readers go through a
``Proxy`` that records every request and the bytes of every response body.
"""

from __future__ import annotations

import numpy as np
import pytest

import arrowds as ads
from tests.conftest import jpeg_bytes, photo
from tests.servers import Proxy

N_DISTINCT, TARGET_BYTES = 8, 200 * 2**20


@pytest.fixture(scope="session")
def big_s3(s3_server):
    """(url, jpegs, n): ~200 MB of real JPEGs (a few, repeated) in an image tensor, plus labels."""
    jpegs = [jpeg_bytes(photo(i, 512, 768), quality=95) for i in range(N_DISTINCT)]
    n = TARGET_BYTES // (sum(map(len, jpegs)) // N_DISTINCT)
    url = f"s3://{s3_server.new_bucket()}/big"
    ds = ads.empty(url, storage_options=s3_server.options())
    ds.create_tensor("images", htype="image", sample_compression="jpeg")
    ds.create_tensor("labels", htype="class_label")
    samples = [ads.read(jpegs[i % N_DISTINCT], compression="jpeg") for i in range(n)]
    # appended in ~30 MB batches, so ~7 fragments: moto copies a whole object for every
    # ranged GET, which makes 128 MB fragments slow to test against (real S3 does not)
    step = n // 7 + 1
    for a in range(0, n, step):
        ds.extend({"images": samples[a:a + step], "labels": [i % 10 for i in range(a, min(n, a + step))]})
    return url, jpegs, n


@pytest.fixture
def proxy(s3_server):
    p = Proxy(s3_server.port)
    yield p
    p.stop()


@pytest.mark.slow
def test_one_sample_reads_its_bytes_and_one_footer(big_s3, s3_server, proxy) -> None:
    url, jpegs, n = big_s3
    ds = ads.load(url, storage_options=s3_server.options(proxy.endpoint), read_only=True)
    assert sum(f.size for f in ds._core.manifest.fragments) > 190 * 2**20
    proxy.reset()
    i = n // 2 + 3
    img = ds.images[i].numpy()
    assert img.shape == (512, 768, 3)
    sample = len(jpegs[i % N_DISTINCT])
    reqs = list(proxy.requests)
    # the footer (once per fragment: one exact read, the manifest records its length), then
    # exactly the sample's bytes, all from one fragment
    assert len(reqs) == 2 and len({p for _, p, _ in reqs}) == 1, reqs
    assert reqs[-1][2] == sample
    key = reqs[0][1].split("/big/", 1)[1]
    footer = ds._core.reader.layout(key).metadata.serialized_size + 8
    assert reqs[0][2] == footer
    assert proxy.bytes_for() <= footer + 2**20  # the spec's bound: footer + one row group
    proxy.reset()
    ds.images[i + 1].numpy()  # same fragment: the footer is cached
    assert proxy.count() == 1 and proxy.bytes_for() == len(jpegs[(i + 1) % N_DISTINCT])


@pytest.mark.slow
def test_labels_transfer_no_image_bytes(big_s3, s3_server, proxy) -> None:
    url, jpegs, n = big_s3
    ds = ads.load(url, storage_options=s3_server.options(proxy.endpoint), read_only=True)
    proxy.reset()
    labels = ds.labels.numpy().ravel()
    assert np.array_equal(labels, np.arange(n) % 10)
    footers = [f.footer for f in ds._core.manifest.fragments]
    smallest_jpeg = min(map(len, jpegs))
    non_footer = [b for _, _, b in proxy.requests if b not in footers]
    assert all(b < smallest_jpeg for b in non_footer), "a response as big as an image"
    assert proxy.bytes_for() <= sum(footers) + sum(non_footer)
    assert proxy.bytes_for() < 2 * 2**20  # vs ~200 MB of images
