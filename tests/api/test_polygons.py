"""Polygon samples are lists of polygons with their own point counts, stored as Arrow nested
lists that DuckDB and Polars read as lists, and returned as lists of ``(k_i, 2)`` arrays."""

from __future__ import annotations

import uuid

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import arrowds as ads
from arrowds.errors import DynamicTensorNumpyError, SampleShapeError, TensorDtypeMismatchError

TRI = np.array([[0, 0], [4, 0], [2, 3]], np.float32)
QUAD = np.array([[1, 1], [5, 1], [5, 6], [1, 6]], np.float32)
PENTA = np.array([[0, 0], [2, 0], [3, 2], [1, 4], [-1, 2]], np.float32)
SAMPLES = [[TRI, QUAD], [PENTA], [], [QUAD, TRI, PENTA]]


def _same(got, want):
    assert isinstance(got, list) and len(got) == len(want)
    for g, w in zip(got, want):
        assert g.dtype == np.float32
        np.testing.assert_array_equal(g, w)


def _make(url):
    ds = ads.empty(url)
    ds.create_tensor("polys", htype="polygon")
    ds.create_tensor("labels", htype="class_label")
    with ds:
        for i, s in enumerate(SAMPLES):
            ds.append({"polys": s, "labels": i})
    return ds


def test_ragged_polygons_roundtrip_reopened(url):
    _make(url)
    ds = ads.load(url)
    for i, want in enumerate(SAMPLES):
        _same(ds.polys[i].numpy(), want)  # one sample: a list of arrays, like Hub
    got = ds.polys.numpy(aslist=True)
    for g, w in zip(got, SAMPLES):
        _same(g, w)
    assert ds.polys.meta.layout == "ragged"
    assert ds.polys[0].shape == (2, 4, 2)  # (polygons, most points, 2)
    assert ds.polys[2].shape == (0, 0, 2)
    assert ds.polys.shape == (4, None, None, 2)
    np.testing.assert_array_equal(ds.polys[3][2].numpy(), PENTA)  # sub-index: polygon 2
    np.testing.assert_array_equal(ds.polys[3][1, 0].numpy(), TRI[0])
    with pytest.raises(DynamicTensorNumpyError, match="aslist=True"):
        ds.polys.numpy()


def test_uniform_polygons_stack_and_views(url):
    ds = ads.empty(url)
    ds.create_tensor("polys", htype="polygon")
    batch = np.arange(2 * 3 * 4 * 2, dtype=np.float32).reshape(2, 3, 4, 2)  # 2 samples, 3 quads each
    ds.polys.extend(batch)
    ds.polys.append(TRI)  # one (k, 2) array is one polygon
    np.testing.assert_array_equal(ds.polys[:2].numpy(), batch)
    _same(ds.polys[2].numpy(), [TRI])
    view = ds[[2, 0]]
    _same(view.polys.numpy(aslist=True)[0], [TRI])
    _same(view.polys.numpy(aslist=True)[1], list(batch[0]))


def test_files_are_nested_lists_for_duckdb_and_polars(tmp_path):
    ds = _make(str(tmp_path / "ds"))
    files = [f.replace("file://", "") for f in ds.fragments()]
    t = pq.read_table(files)
    typ = t.schema.field("polys").type  # list<list<fixed_size_list<float, 2>>>
    assert pa.types.is_list(typ) and pa.types.is_list(typ.value_type)
    assert typ.value_type.value_type == pa.list_(pa.float32(), 2)
    rows = duckdb.sql(f"SELECT len(polys) AS n, polys[1][2][1] AS x FROM read_parquet({files!r})").fetchall()
    assert rows == [(2, 4.0), (1, 2.0), (0, None), (3, 5.0)]
    df = pl.read_parquet(files)
    assert df["polys"].list.len().to_list() == [2, 1, 0, 3]
    assert ds.to_arrow()["polys"].to_pylist()[1] == [PENTA.tolist()]


def test_updates_pops_diff_and_merge(url):
    ds = _make(url)
    ds.commit("four")
    ds.polys[1] = [TRI, TRI]
    ds.pop(2)
    _same(ds.polys[1].numpy(), [TRI, TRI])
    _same(ds.polys[2].numpy(), SAMPLES[3])
    d = ds.diff()["tensors"]["polys"] if "tensors" in ds.diff() else ds.diff()["polys"]
    assert d["updated"] and d["deleted"]
    ds.commit("edit")
    ds.checkout("alt", create=True)
    ds.polys.append([PENTA, QUAD])
    ds.labels.append(9)
    ds.commit("alt row")
    ds.checkout("main")
    ds.merge("alt")
    _same(ds.polys[-1].numpy(), [PENTA, QUAD])
    _same(ads.load(url).polys[1].numpy(), [TRI, TRI])


def test_arrow_and_huggingface_roundtrip(url):
    ds = _make(url)
    back = ads.from_arrow(ds.to_arrow(), "mem://poly-from-arrow", overwrite=True)
    assert back.polys.htype == "polygon"
    hf = ds.to_huggingface()
    assert hf[0]["polys"] == [TRI.tolist(), QUAD.tolist()]
    again = ads.from_huggingface(hf, "mem://poly-from-hf", overwrite=True)
    for i, want in enumerate(SAMPLES):
        _same(back.polys[i].numpy(), want)
        _same(again.polys[i].numpy(), want)


@pytest.mark.parametrize("bad, error, text", [
    ([TRI[:2]], SampleShapeError, "polygon 0 has 2 points; a polygon needs at least 3"),
    ([TRI, np.zeros((4, 3), np.float32)], SampleShapeError, r"polygon 1 has shape \(4, 3\)"),
    (np.zeros((2, 2, 2, 2), np.float32), SampleShapeError, "got shape"),
    ([["a", "b", "c"]], TensorDtypeMismatchError, "polygon 0 is not an array of numbers"),
    ("triangle", TensorDtypeMismatchError, "got str"),
])
def test_bad_polygons_name_tensor_index_and_polygon(bad, error, text):
    ds = ads.empty("mem://bad-polys", overwrite=True)
    ds.create_tensor("polys", htype="polygon")
    ds.polys.append([TRI])
    with pytest.raises(error, match=text) as e:
        ds.polys.append(bad)
    assert "'polys'" in str(e.value) and "index 1" in str(e.value)
    assert len(ds.polys) == 1


def test_pytorch_loader_gives_lists_of_arrays():
    ds = _make(f"mem://poly-torch-{uuid.uuid4().hex}")
    got = [b["polys"] for b in ds.pytorch(batch_size=2, tensors=["polys"])]
    assert len(got) == 2 and len(got[0]) == 2
    flat = [s for batch in got for s in batch]
    for g, w in zip(flat, SAMPLES):
        assert len(g) == len(w)
        for a, b in zip(g, w):
            np.testing.assert_array_equal(np.asarray(a), b)


def test_polygon_tensors_in_the_older_list_layout_still_read(url):
    """Before the ragged layout, polygon samples were one (m, k, 2) array in the `list` layout;
    such a tensor (made here with an explicit shape) keeps that layout and reads as before."""
    ds = ads.empty(url)
    ds.create_tensor("polys", htype="polygon", shape=(None, None, 2))
    a, b = np.ones((2, 5, 2), np.float32), np.zeros((1, 3, 2), np.float32)
    ds.polys.extend([a, b])
    ds = ads.load(url)
    assert ds.polys.meta.layout == "list"
    got = ds.polys.numpy(aslist=True)
    np.testing.assert_array_equal(got[0], a)
    np.testing.assert_array_equal(got[1], b)
