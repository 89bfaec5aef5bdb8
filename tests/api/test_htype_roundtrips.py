"""Every htype stores and returns its samples exactly (or within codec tolerance), reopened."""

from __future__ import annotations

import numpy as np
import pytest

import arrowds as ads
from tests.conftest import photo

rng = np.random.default_rng(7)

CASES = {
    "generic": (dict(), [np.arange(6, dtype=np.int16).reshape(2, 3), np.ones((1, 3), np.int16)]),
    "image": (dict(sample_compression="png"), [photo(1, 8, 9), photo(2, 5, 4)]),
    "class_label": (dict(class_names=["a", "b", "c"]), [np.array([2], np.uint32), np.array([0], np.uint32)]),
    "bbox": (dict(), [np.array([[1, 2, 3, 4], [5, 6, 7, 8]], np.float32), np.zeros((0, 4), np.float32)]),
    "segment_mask": (dict(), [rng.integers(0, 5, (6, 7), dtype=np.uint32), np.zeros((3, 3), np.uint32)]),
    "binary_mask": (dict(), [rng.random((4, 5, 2)) > 0.5, np.ones((2, 2, 2), bool)]),
    "keypoints_coco": (dict(), [rng.integers(0, 50, (51, 2), dtype=np.int32), np.zeros((51, 1), np.int32)]),
    "point": (dict(), [np.array([[1, 2], [3, 4]], np.int32), np.array([[0, 0]], np.int32)]),
    "audio": (dict(), [rng.random((160, 2)).astype(np.float32), rng.random((80, 2)).astype(np.float32)]),
    "video": (dict(), [rng.integers(0, 255, (3, 4, 5, 3), dtype=np.uint8),
                       rng.integers(0, 255, (2, 4, 5, 3), dtype=np.uint8)]),
    "embedding": (dict(), [rng.random(8).astype(np.float32), rng.random(8).astype(np.float32)]),
}


@pytest.mark.parametrize("htype", sorted(CASES))
def test_numeric_and_media_htypes_roundtrip(url, htype):
    kwargs, samples = CASES[htype]
    ds = ads.empty(url)
    t = ds.create_tensor("t", htype=htype, **kwargs)
    t.extend(samples)
    got = ads.load(url).t.numpy(aslist=True)
    assert len(got) == len(samples)
    for want, have in zip(samples, got):
        assert have.shape == want.shape and have.dtype == want.dtype, (htype, have.shape, want.shape)
        np.testing.assert_array_equal(have, want)


def test_text_json_list_roundtrip(url):
    ds = ads.empty(url)
    ds.create_tensor("text", htype="text")
    ds.create_tensor("json", htype="json")
    ds.create_tensor("list", htype="list")
    rows = [("ü ✓", {"k": [1, {"n": None}]}, ["a"]), ("", [1, 2.5, "x"], []), ("x" * 1000, 3, ["b", "c"])]
    with ds:
        for text, js, lst in rows:
            ds.append({"text": text, "json": js, "list": lst})
    ds = ads.load(url)
    assert ds.text.text() == [r[0] for r in rows]
    assert ds.json.dict() == [r[1] for r in rows]
    assert ds.list.list() == [r[2] for r in rows]
