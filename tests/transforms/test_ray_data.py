"""ds.to_ray() / ads.from_ray() on a local Ray cluster."""

from __future__ import annotations

import numpy as np
import pytest

import arrowds as ads
from tests.conftest import jpeg_bytes, photo


@pytest.fixture
def ordered(ray_cluster):
    ctx = ray_cluster.data.DataContext.get_current()
    old = ctx.execution_options.preserve_order
    ctx.execution_options.preserve_order = True
    yield ray_cluster
    ctx.execution_options.preserve_order = old


def build(url: str) -> ads.Dataset:
    ds = ads.empty(url)
    ds.create_tensor("images", htype="image", sample_compression="jpeg")
    ds.create_tensor("labels", htype="class_label", class_names=["a", "b"])
    ds.create_tensor("captions", htype="text")
    for lo, hi in ((0, 10), (10, 20)):
        images = [ads.read(jpeg_bytes(photo(i, 8, 8)), compression="jpeg") for i in range(lo, hi)]
        ds.extend({"images": images,
                   "labels": [i % 2 for i in range(lo, hi)], "captions": [f"c{i}" for i in range(lo, hi)]})
    return ds


def test_to_ray_plain_files(ordered, tmp_path):
    ds = build(str(tmp_path / "ds"))
    rds = ds.to_ray()
    rows = rds.take_all()
    assert [r["captions"] for r in rows] == [f"c{i}" for i in range(20)]
    assert [r["labels"] for r in rows] == [i % 2 for i in range(20)]
    assert rows[3]["images"] == ds.to_arrow(["images"]).column("images")[3].as_py()
    assert ds.to_ray(["labels"]).columns() == ["labels"]


def test_to_ray_honours_deletions_and_updates(ordered, tmp_path):
    ds = build(str(tmp_path / "ds"))
    ds.pop([0, 12])
    ds.captions[4] = "changed"
    want = ds.to_arrow(["captions", "labels"]).to_pylist()
    got = ds.to_ray(["captions", "labels"]).take_all()
    assert got == want and len(got) == 18
    assert [r["captions"] for r in ds[2:5].to_ray(["captions"]).take_all()] == ["c3", "c4", "changed"]


def test_from_ray_round_trip(ordered, tmp_path):
    ds = build(str(tmp_path / "ds"))
    back = ads.from_ray(ds.to_ray(), str(tmp_path / "back"))
    assert back.images.htype == "image" and len(back) == 20
    np.testing.assert_array_equal(back.images.numpy(), ds.images.numpy())
    assert [back.captions[i].text() for i in range(20)] == [f"c{i}" for i in range(20)]
    rds = ordered.data.from_items([{"x": i, "name": f"n{i}"} for i in range(7)])
    small = ads.from_ray(rds, str(tmp_path / "small"))
    assert small.x.numpy().ravel().tolist() == list(range(7))
