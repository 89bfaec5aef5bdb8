"""Reads are lazy and bounded, measured in bytes through a wrapping fsspec filesystem."""

from __future__ import annotations

import numpy as np
import pytest

import arrowds as ads
from arrowds import _config
from tests.conftest import jpeg_bytes
from tests.counting import CountingFileSystem


def _noise_jpeg(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    return jpeg_bytes(rng.integers(0, 255, (96, 96, 3), dtype=np.uint8), quality=95)


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    url = "countbytes://" + str(tmp_path_factory.mktemp("lazy") / "ds")
    ds = ads.empty(url)
    ds.create_tensor("images", htype="image", sample_compression="jpeg")
    ds.create_tensor("labels", htype="class_label")
    jpegs = [_noise_jpeg(i) for i in range(300)]
    with ds:
        ds.extend({"images": [ads.read(b, compression="jpeg") for b in jpegs],
                   "labels": [i % 10 for i in range(300)]})
    return url, jpegs


def test_one_sample_reads_only_its_bytes_after_the_footer(big):
    url, jpegs = big
    total = sum(map(len, jpegs))
    ds = ads.load(url)
    CountingFileSystem.reset()
    ds.images[10].numpy()  # first read of the file: one 64 KiB tail read for the footer + the sample
    first = CountingFileSystem.read_under(url)
    assert first <= len(jpegs[10]) + 64 * 1024, first
    CountingFileSystem.reset()
    np.testing.assert_equal(ds.images[250].tobytes(), jpegs[250])
    assert CountingFileSystem.bytes_read == len(jpegs[250])
    assert first < _config.MEDIA_ROW_GROUP_BYTES // 8 < total, "far less than one row group"


def test_labels_read_no_image_bytes(big):
    url, jpegs = big
    ds = ads.load(url)
    ds.labels[0].numpy()  # footer
    CountingFileSystem.reset()
    labels = ds.labels.numpy()
    assert labels.ravel().tolist() == [i % 10 for i in range(300)]
    assert CountingFileSystem.read_under(url) < min(map(len, jpegs)), CountingFileSystem.read_under(url)


def test_locating_a_row_reads_no_data_file(big):
    url, _ = big
    ds = ads.load(url)
    loc = ds._core.locator
    CountingFileSystem.reset()
    frag, offset = loc.locate(np.array([299]))
    assert CountingFileSystem.bytes_read == 0 and offset[0] == 299
