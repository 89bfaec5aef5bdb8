"""A dataset with every kind of tensor the viewer draws, in two commits, and its server."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

import arrowds as ads
from tests.conftest import photo

H, W = 96, 128
BOX = (16.0, 8.0, 64.0, 48.0)  # LTWH pixels of every row's box
SCRIPT_LABEL = "<script>window.__pwned = 1</script>"
SCRIPT_ROW = 2  # the row labelled SCRIPT_LABEL
FIRST, SECOND = 30, 10  # rows in the first commit, rows added by the second


@dataclass
class Built:
    url: str
    first: str  # commit ids
    second: str


def _frames(k: int, n: int = 8) -> np.ndarray:
    out = np.zeros((n, 32, 48, 3), np.uint8)
    for t in range(n):
        out[t, :, : 6 * (t + 1)] = (40 * k) % 255
        out[t, :, 6 * (t + 1):] = 200
    return out


def _rows(lo: int, hi: int) -> dict[str, list]:
    mask = np.zeros((H, W), bool)
    x, y, w, h = (int(v) for v in BOX)
    mask[y:y + h, x:x + w] = True
    t = np.arange(3200) / 16000
    return {
        "images": [photo(i, H, W) for i in range(lo, hi)],
        "labels": [SCRIPT_LABEL if i == SCRIPT_ROW else ("cat", "dog")[i % 2] for i in range(lo, hi)],
        "boxes": [np.array([BOX], np.float32) for _ in range(lo, hi)],
        "masks": [mask for _ in range(lo, hi)],
        "keypoints": [np.array([[20, 30, 2], [60, 40, 2], [100, 70, 0]], np.int32).reshape(-1, 1)
                      for _ in range(lo, hi)],
        "polygons": [[np.array([[90, 60], [120, 60], [105, 90]], np.float32),  # ragged: 3 and 4 points
                      np.array([[10, 10], [30, 10], [30, 25], [10, 25]], np.float32)] for _ in range(lo, hi)],
        "captions": ["<img src=x onerror=window.__pwned2=1>" if i == 3 else f"photo number {i}"
                     for i in range(lo, hi)],
        "meta": [{"i": i, "split": "train" if i % 5 else "test"} for i in range(lo, hi)],
        "audio": [(0.3 * np.sin(2 * np.pi * (220 + 20 * i) * t)).astype(np.float32)[:, None]
                  for i in range(lo, hi)],
        "video": [_frames(i) for i in range(lo, hi)],
        "emb": [np.linspace(0, 1, 8, dtype=np.float32) * i for i in range(lo, hi)],
    }


def build(url: str) -> Built:
    """30 rows committed, then 10 more rows and row 0 relabelled, committed."""
    ds = ads.empty(url)
    ds.create_tensor("images", htype="image", sample_compression="png")
    ds.create_tensor("labels", htype="class_label", class_names=["cat", "dog"])
    ds.create_tensor("boxes", htype="bbox", coords={"type": "pixel", "mode": "LTWH"})
    ds.create_tensor("masks", htype="binary_mask")
    ds.create_tensor("keypoints", htype="keypoints_coco")
    ds.create_tensor("polygons", htype="polygon")
    ds.create_tensor("captions", htype="text")
    ds.create_tensor("meta", htype="json")
    ds.create_tensor("audio", htype="audio", sample_compression="wav", sample_rate=16000)
    ds.create_tensor("video", htype="video", sample_compression="mp4", fps=8)
    ds.create_tensor("emb", htype="embedding")
    with ds:
        ds.extend(_rows(0, FIRST))
    first = ds.commit("first 30 rows")
    with ds:
        ds.extend(_rows(FIRST, FIRST + SECOND))
        ds.labels[0] = "dog"
    second = ds.commit("10 more rows; row 0 relabelled")
    return Built(url, first, second)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Built:
    return build(str(tmp_path_factory.mktemp("viewer") / "ds"))


@pytest.fixture(scope="module")
def viewer(built):
    from arrowds.viewer import serve

    v = serve(built.url)
    yield v
    v.close()
