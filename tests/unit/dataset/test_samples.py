"""``samples.prepare``: validation of appended samples against the tensor (dtype rules, ndim and
layout settled by the first sample, class names for string labels), errors naming tensor and
index, and nothing changed when a batch is refused."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pytest

from arrowds.dataset.samples import Prepared, prepare
from arrowds.errors import SampleError, SampleShapeError, TensorDtypeMismatchError
from arrowds.format import TensorSpec

LABELS = TensorSpec("labels", "class_label", "uint32")
GENERIC = TensorSpec("g", "generic", None)
EMB = TensorSpec("e", "embedding", "float32")


def values(p: Prepared) -> list[np.ndarray]:
    return list(p.stacked) if p.stacked is not None else list(p.samples)


# -- dtype rules -----------------------------------------------------------------------------
@pytest.mark.parametrize("batch", [[5], [0, 2**32 - 1], np.array([7], np.int64), np.array([3], np.uint8),
                                   [np.int16(9)], [[1, 2]]])
def test_ints_in_range_go_into_uint32(batch: Any) -> None:
    p = prepare(LABELS, batch, {}, 0)
    got = values(p)
    assert [v.dtype for v in got] == [np.dtype("uint32")] * len(got)
    assert [v.reshape(-1).tolist() for v in got] == [np.asarray(b).reshape(-1).tolist() for b in batch]
    assert p.spec.dtype == "uint32"


@pytest.mark.parametrize("batch", [[-1], np.array([-1]), [2**32], [np.int64(-5)], [[1, -2]]])
def test_out_of_range_ints_into_uint32_are_refused(batch: Any) -> None:
    with pytest.raises(TensorDtypeMismatchError, match="uint32") as e:
        prepare(LABELS, batch, {}, 4)
    assert isinstance(e.value, TypeError)  # also the built-in a caller would catch
    assert e.value.tensor == "labels" and e.value.index == 4
    assert "tensor 'labels'" in str(e.value) and "index 4" in str(e.value)


@pytest.mark.parametrize("batch", [[1.5], [2.0], np.array([1.0]), np.array([0.0], np.float32), [[1.0, 2.0]]])
def test_floats_never_become_ints(batch: Any) -> None:
    with pytest.raises(TensorDtypeMismatchError, match="float"):
        prepare(LABELS, batch, {}, 0)
    with pytest.raises(TensorDtypeMismatchError):
        prepare(TensorSpec("i", "generic", "int64"), batch, {}, 0)


@pytest.mark.parametrize("batch", [np.ones((2, 4), np.float64), [np.full(4, 0.1)], [[0.5, 1.5, 2.5, 3.5]]])
def test_float64_narrows_to_float32(batch: Any) -> None:
    p = prepare(EMB, batch, {}, 0)
    got = values(p)
    assert all(v.dtype == np.float32 for v in got)
    np.testing.assert_allclose(np.stack(got), np.asarray(batch, np.float64).astype(np.float32))
    assert p.spec.layout == "fixed" and p.spec.shape == (4,)


def test_unset_dtype_is_taken_from_the_first_sample() -> None:
    assert prepare(GENERIC, [np.array([1, 2], np.int16)], {}, 0).spec.dtype == "int16"
    assert prepare(GENERIC, [3.5], {}, 0).spec.dtype == "float64"


@pytest.mark.parametrize("batch", [["a"], [np.array(["x", "y"])], [{"k": 1}]])
def test_strings_and_objects_are_not_numbers(batch: Any) -> None:
    with pytest.raises(TensorDtypeMismatchError):
        prepare(TensorSpec("i", "generic", "int64"), batch, {}, 0)


@pytest.mark.parametrize("spec, batch", [
    (EMB, [[1, 2, 3, 4]]),
    (TensorSpec("b", "bbox", "float32", ndim=2), [[[1, 2, 3, 4]]]),
    (TensorSpec("f", "generic", "float32"), [3]),
])
def test_small_ints_go_into_float32(spec: TensorSpec, batch: Any) -> None:
    got = values(prepare(spec, batch, {}, 0))
    assert got[0].dtype == np.float32
    np.testing.assert_array_equal(got[0].reshape(-1), np.asarray(batch[0]).reshape(-1))


def test_error_names_the_index_of_the_bad_sample() -> None:
    with pytest.raises(TensorDtypeMismatchError) as e:
        prepare(LABELS, [3, 4, -1], {}, 10)
    assert e.value.index == 12


def test_error_names_the_index_of_the_bad_sample_among_arrays() -> None:
    with pytest.raises(TensorDtypeMismatchError) as e:
        prepare(LABELS, [np.array([3]), np.array([4]), np.array([-1])], {}, 10)
    assert e.value.index == 12


def test_arrays_of_one_shape_and_dtype_are_prepared_as_one_batch() -> None:
    p = prepare(LABELS, [np.array([3]), np.array([4]), np.array([1])], {}, 0)
    assert p.stacked is not None and p.stacked.ravel().tolist() == [3, 4, 1]
    mixed = [np.array([3], np.int8), np.array([4], np.int64), np.array([1.5])]
    with pytest.raises(TensorDtypeMismatchError) as e:  # per sample: the float one is named
        prepare(LABELS, mixed, {}, 10)
    assert e.value.index == 12


# -- shapes ----------------------------------------------------------------------------------
def test_ndim_is_fixed_by_the_first_sample_within_a_batch() -> None:
    with pytest.raises(SampleShapeError) as e:
        prepare(GENERIC, [np.zeros((2, 3)), np.zeros((4, 1)), np.zeros(3)], {}, 4)
    assert "Sample shape length is expected to be 2, actual length is 1" in str(e.value)
    assert "(3,)" in str(e.value)
    assert e.value.tensor == "g" and e.value.index == 6


def test_ndim_is_fixed_by_the_first_sample_across_batches() -> None:
    p = prepare(GENERIC, [np.zeros((2, 3)), np.zeros((1, 5))], {}, 0)
    assert p.spec.layout == "list" and p.spec.ndim == 2
    assert p.spec.min_shape == (1, 3) and p.spec.max_shape == (2, 5)
    with pytest.raises(SampleShapeError, match="expected to be 2, actual length is 3"):
        prepare(p.spec, [np.zeros((1, 1, 1))], {}, 2)
    p2 = prepare(p.spec, [np.zeros((7, 1))], {}, 2)
    assert p2.spec.min_shape == (1, 1) and p2.spec.max_shape == (7, 5)


@pytest.mark.parametrize("batch", [[np.array([1, 2])], np.array([[1, 2]]), [[1, 2]],
                                   [np.ones((1, 1, 2), np.int64)]])
def test_scalar_layout_refuses_a_sample_with_several_values(batch: Any) -> None:
    spec = prepare(GENERIC, [1], {}, 0).spec
    assert spec.layout == "scalar"
    with pytest.raises(SampleShapeError, match="one value per sample") as e:
        prepare(spec, batch, {}, 3)
    assert e.value.index == 3


def test_scalar_layout_takes_one_element_arrays() -> None:
    spec = prepare(GENERIC, [1], {}, 0).spec
    got = values(prepare(spec, [np.array([4]), 5, np.array([[6]])], {}, 1))
    assert [int(v.reshape(-1)[0]) for v in got] == [4, 5, 6]


def test_fixed_layout_refuses_another_shape() -> None:
    spec = prepare(EMB, [np.zeros(4, np.float32)], {}, 0).spec
    with pytest.raises(SampleShapeError, match=r"\(3,\)"):
        prepare(spec, [np.zeros(3, np.float32)], {}, 1)
    with pytest.raises(SampleShapeError):
        prepare(spec, np.zeros((2, 5), np.float32), {}, 1)


def test_none_is_refused_with_its_index() -> None:
    with pytest.raises(SampleError) as e:
        prepare(GENERIC, [1, None], {}, 0)
    assert e.value.index == 1


# -- class names -----------------------------------------------------------------------------
def test_unknown_class_names_are_added(caplog) -> None:
    info = {"class_names": ["cat"]}
    with caplog.at_level(logging.WARNING, logger="arrowds"):
        p = prepare(LABELS, ["dog", "cat", "dog", "bird"], info, 0)
    assert [int(v[0]) for v in values(p)] == [1, 0, 1, 2]
    assert p.class_names == ["cat", "dog", "bird"]
    assert info == {"class_names": ["cat"]}, "the caller's info is not changed in place"
    assert "'dog'" in caplog.text and "'bird'" in caplog.text


def test_known_class_names_add_nothing() -> None:
    p = prepare(LABELS, ["cat", 0], {"class_names": ["cat"]}, 0)
    assert p.class_names is None
    assert [int(v[0]) for v in values(p)] == [0, 0]


def test_refused_batch_adds_no_class_names() -> None:
    info = {"class_names": ["cat"]}
    with pytest.raises(TensorDtypeMismatchError):
        prepare(LABELS, ["dog", -1], info, 0)
    assert info == {"class_names": ["cat"]}


def test_strings_in_a_tensor_without_class_names_are_refused() -> None:
    with pytest.raises(TensorDtypeMismatchError, match="text or json"):
        prepare(TensorSpec("n", "generic", "int64"), ["dog"], {}, 0)


def _jpeg(h: int, w: int) -> bytes:
    from arrowds.media import get_codec

    return get_codec("jpeg").encode(np.full((h, w, 3), 90, np.uint8))


def test_claimed_jpegs_are_prepared_as_arrow_columns_in_one_pass() -> None:
    from arrowds.media import read

    spec = TensorSpec("images", htype="image", dtype="uint8", sample_compression="jpeg")
    blobs = [_jpeg(8, 16), _jpeg(24, 8)]
    prep = prepare(spec, [read(b, compression="jpeg") for b in blobs], {}, 0)
    assert prep.columns is not None and len(prep) == 2
    assert prep.columns[spec.column].to_pylist() == blobs
    assert prep.spec.layout == "blob"
    assert (prep.spec.min_shape, prep.spec.max_shape) == ((8, 8, 3), (24, 16, 3))
    assert prep.sample(1).shape == (24, 8, 3) and prep.sample(1).data == blobs[1]
    assert prep.drop_front(1).columns[spec.column].to_pylist() == blobs[1:]


def test_unclaimed_or_mixed_media_takes_the_sample_by_sample_path() -> None:
    from arrowds.media import read

    spec = TensorSpec("images", htype="image", dtype="uint8", sample_compression="jpeg")
    for values in ([read(_jpeg(8, 8)), read(_jpeg(8, 8), compression="jpeg")],
                   [_jpeg(8, 8), read(_jpeg(8, 8), compression="jpeg")]):
        prep = prepare(spec, values, {}, 0)
        assert prep.columns is None and len(prep.samples) == len(values)
    raw = [_jpeg(8, 8), _jpeg(16, 8)]  # file bytes: one pass too
    prep = prepare(spec, raw, {}, 0)
    assert prep.columns is not None and prep.columns[spec.column].to_pylist() == raw
