"""Small datasets for the integration tests."""

from __future__ import annotations

import uuid

import numpy as np
import pytest

import arrowds as ads
from tests.conftest import jpeg_bytes, photo

N = 120


def build(url: str, n: int = N) -> ads.Dataset:
    """images (jpeg), labels, captions, embeddings; two fragments, one update, two deletes."""
    ds = ads.empty(url)
    ds.create_tensor("images", htype="image", sample_compression="jpeg")
    ds.create_tensor("labels", htype="class_label", class_names=[str(i) for i in range(10)])
    ds.create_tensor("captions", htype="text")
    ds.create_tensor("emb", htype="embedding")
    half = n // 2
    for lo, hi in ((0, half), (half, n)):
        with ds:
            ds.extend({"images": [ads.read(jpeg_bytes(photo(i, 16, 24)), compression="jpeg")
                                  for i in range(lo, hi)],
                       "labels": [i % 10 for i in range(lo, hi)],
                       "captions": [f"c{i}" for i in range(lo, hi)],
                       "emb": np.arange(lo * 4, hi * 4, dtype=np.float32).reshape(-1, 4)})
    ds.labels[7] = 9
    ds.pop([3, half + 1])
    return ds


@pytest.fixture
def small() -> ads.Dataset:
    return build(f"mem://it-{uuid.uuid4().hex}")

