"""Prepared samples <-> Arrow columns, for every layout, with nulls for rows a tensor has no
sample in: what goes in comes back out (values, shapes, dtypes, null positions)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from arrowds.format import Blob, TensorSpec
from arrowds.format import columns as cols

SETTINGS = settings(max_examples=60, deadline=None)
DTYPES = ["int8", "uint16", "int32", "int64", "uint64", "float32", "float64", "bool", "uint8"]


def _maybe_null(samples: st.SearchStrategy) -> st.SearchStrategy:
    return st.lists(st.none() | samples, max_size=12)


def _array(dtype: str, shape) -> st.SearchStrategy:
    elements = None
    if dtype.startswith("float"):
        elements = st.floats(-1e6, 1e6, width=int(dtype[5:]), allow_nan=False)
    return hnp.arrays(np.dtype(dtype), shape, elements=elements)


@st.composite
def scalar_case(draw):
    dtype = draw(st.sampled_from(DTYPES))
    spec = TensorSpec("s", "generic", dtype, layout="scalar", ndim=1)
    return spec, draw(_maybe_null(_array(dtype, (1,))))


@st.composite
def fixed_case(draw):
    dtype = draw(st.sampled_from(DTYPES))
    shape = draw(st.sampled_from([(4,), (2, 3), (1, 1, 2)]))
    spec = TensorSpec("f", "generic", dtype, chunk_compression=None, layout="fixed", ndim=len(shape),
                      shape=shape)
    return spec, draw(_maybe_null(_array(dtype, shape)))


@st.composite
def list_case(draw):
    dtype = draw(st.sampled_from(DTYPES))
    ndim = draw(st.integers(1, 3))
    spec = TensorSpec("l", "generic", dtype, layout="list", ndim=ndim)
    shapes = hnp.array_shapes(min_dims=ndim, max_dims=ndim, min_side=0, max_side=4)
    return spec, draw(_maybe_null(shapes.flatmap(lambda s: _array(dtype, s))))


def _check_nulls(arr: pa.Array, samples: list[Any]) -> np.ndarray:
    valid = np.array([s is not None for s in samples], bool)
    assert len(arr) == len(samples)
    assert arr.is_valid().to_pylist() == valid.tolist()
    return valid


@SETTINGS
@given(st.one_of(scalar_case(), fixed_case()))
def test_stacked_layouts_round_trip(case) -> None:
    spec, samples = case
    out = cols.to_arrow(spec, samples)
    assert list(out) == [spec.column]
    arr = out[spec.column]
    assert arr.type == cols.data_type(spec)
    valid = _check_nulls(arr, samples)
    present = [s for s in samples if s is not None]
    got = cols.numeric_from_arrow(spec, arr.filter(pa.array(valid)))
    assert isinstance(got, np.ndarray) and got.dtype == np.dtype(spec.dtype)
    want_shape = (1,) if spec.layout == "scalar" else spec.shape
    assert got.shape == (len(present), *want_shape)
    if present:
        np.testing.assert_array_equal(got, np.stack(present).reshape(got.shape))
        # the stacked fast path writes the same column
        stacked = cols.stacked_to_arrow(spec, np.stack(present))[spec.column]
        assert stacked.equals(arr.filter(pa.array(valid)))


@SETTINGS
@given(list_case())
def test_list_layout_round_trips_values_and_shapes(case) -> None:
    spec, samples = case
    out = cols.to_arrow(spec, samples)
    assert set(out) == {spec.column, spec.shape_column}
    for f in cols.fields(spec):
        assert out[f.name].type == f.type
    valid = _check_nulls(out[spec.column], samples)
    _check_nulls(out[spec.shape_column], samples)
    mask = pa.array(valid)
    present = [s for s in samples if s is not None]
    shapes = cols.shapes_from_arrow(out[spec.shape_column].filter(mask), spec.ndim)
    assert [tuple(s) for s in shapes.tolist()] == [s.shape for s in present]
    got = cols.numeric_from_arrow(spec, out[spec.column].filter(mask), shapes)
    assert len(got) == len(present)
    for g, p in zip(got, present):
        assert g.dtype == p.dtype and g.shape == p.shape
        np.testing.assert_array_equal(g, p)


@SETTINGS
@given(st.one_of(scalar_case(), fixed_case(), list_case()), st.data())
def test_numeric_from_sliced_and_chunked_columns(case, data) -> None:
    """Readers hand over slices (offset != 0) and chunked arrays; both must decode in place."""
    spec, samples = case
    samples = [s for s in samples if s is not None]
    out = cols.to_arrow(spec, samples)
    a = data.draw(st.integers(0, len(samples)))
    b = data.draw(st.integers(a, len(samples)))
    col = out[spec.column]
    shapes = (cols.shapes_from_arrow(out[spec.shape_column], spec.ndim)
              if spec.shape_column else None)
    sliced = col.slice(a, b - a)
    chunked = pa.chunked_array([col.slice(0, a), col.slice(a)], type=col.type)
    for arr, lo, hi in ((sliced, a, b), (chunked, 0, len(samples))):
        got = cols.numeric_from_arrow(spec, arr, None if shapes is None else shapes[lo:hi])
        assert len(got) == hi - lo
        for g, p in zip(got, samples[lo:hi]):
            np.testing.assert_array_equal(g, p.reshape(g.shape) if spec.layout != "list" else p)
            if spec.layout == "list":
                assert g.shape == p.shape


@SETTINGS
@given(_maybe_null(st.tuples(st.binary(max_size=40), st.tuples(*[st.integers(0, 500)] * 3))))
def test_blob_layout_round_trip(items) -> None:
    spec = TensorSpec("img", "image", "uint8", sample_compression="png", layout="blob", ndim=3)
    samples = [None if it is None else Blob(it[0], it[1]) for it in items]
    out = cols.to_arrow(spec, samples)
    assert out[spec.column].type == pa.binary()
    valid = _check_nulls(out[spec.column], samples)
    _check_nulls(out[spec.shape_column], samples)
    assert out[spec.column].to_pylist() == [None if s is None else s.data for s in samples]
    shapes = cols.shapes_from_arrow(out[spec.shape_column].filter(pa.array(valid)), 3)
    assert [tuple(s) for s in shapes.tolist()] == [s.shape for s in samples if s is not None]


JSON_TEXT = st.recursive(st.none() | st.integers() | st.text(max_size=5) | st.booleans(),
                         lambda kids: st.lists(kids, max_size=3), max_leaves=6).map(repr)


@SETTINGS
@given(st.sampled_from(["text", "json", "strlist"]), st.data())
def test_string_layouts_round_trip(layout: str, data) -> None:
    sample = {"text": st.text(max_size=20), "json": JSON_TEXT,
              "strlist": st.lists(st.text(max_size=6), max_size=4)}[layout]
    spec = TensorSpec("t", layout if layout != "strlist" else "list", layout, layout=layout)
    samples = data.draw(_maybe_null(sample))
    arr = cols.to_arrow(spec, samples)[spec.column]
    assert arr.type == cols.data_type(spec)
    _check_nulls(arr, samples)
    assert arr.to_pylist() == samples


@pytest.mark.parametrize("spec", [
    TensorSpec("s", "generic", "int16", layout="scalar", ndim=1),
    TensorSpec("f", "embedding", "float32", layout="fixed", ndim=1, shape=(8,)),
    TensorSpec("l", "generic", "uint8", layout="list", ndim=2),
    TensorSpec("b", "image", "uint8", sample_compression="jpeg", layout="blob", ndim=3),
    TensorSpec("t", "text", "str", layout="text"),
    TensorSpec("j", "json", "json", layout="json"),
    TensorSpec("k", "list", "list", layout="strlist"),
])
def test_null_arrays_match_the_fields(spec: TensorSpec) -> None:
    arrays = cols.null_arrays(spec, 3)
    fields = cols.fields(spec)
    assert list(arrays) == [f.name for f in fields] == list(spec.columns)
    for f in fields:
        assert arrays[f.name].type == f.type
        assert arrays[f.name].null_count == 3
    if spec.shape_column:
        assert fields[1].name == f"_{spec.name}_shape"
        assert fields[1].type == pa.list_(pa.int32(), spec.ndim)


def test_unsettled_spec_has_no_columns() -> None:
    spec = TensorSpec("u", "generic", None)
    with pytest.raises(ValueError, match="'u'"):
        cols.data_type(spec)
    with pytest.raises(ValueError, match="'u'"):
        cols.to_arrow(spec, [])


RAGGED = TensorSpec("p", "polygon", "float32", layout="ragged", ndim=3)
_polygon = st.integers(3, 7).flatmap(lambda k: _array("float32", (k, 2)))


@SETTINGS
@given(_maybe_null(st.lists(_polygon, max_size=4)), st.data())
def test_ragged_layout_round_trips_sliced_and_chunked(samples, data) -> None:
    """Polygons: list<list<fixed_size_list<2>>>, nulls kept, slices and chunks decode in place."""
    out = cols.to_arrow(RAGGED, samples)
    col = out["p"]
    assert col.type == cols.data_type(RAGGED) and list(out) == ["p"]
    assert [v is None for v in col.to_pylist()] == [s is None for s in samples]
    present = [s for s in samples if s is not None]
    col = col.filter(pa.array([s is not None for s in samples], pa.bool_()))
    a = data.draw(st.integers(0, len(present)))
    for arr, want in ((col.slice(a), present[a:]),
                      (pa.chunked_array([col.slice(0, a), col.slice(a)], type=col.type), present)):
        got = cols.numeric_from_arrow(RAGGED, arr)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert len(g) == len(w)
            for gp, wp in zip(g, w):
                assert gp.dtype == np.float32
                np.testing.assert_array_equal(gp, wp)
