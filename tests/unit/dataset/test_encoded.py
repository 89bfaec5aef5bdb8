"""``dataset.encoded.extend_encoded``: batches already encoded as the stored Arrow columns are
appended as they are, give the same data and files' columns as ``ds.extend`` of the same samples
(the oracle), and are refused, naming tensor and index, when they do not fit the tensor."""

from __future__ import annotations

import io
import uuid

import numpy as np
import pyarrow as pa
import pytest
from PIL import Image

import arrowds as ads
from arrowds.dataset.encoded import Encoded, extend_encoded
from arrowds.errors import SampleError, SampleShapeError, TensorDtypeMismatchError


def png(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG")
    return buf.getvalue()


def shapes(rows: list[tuple[int, ...]]) -> pa.Array:
    flat = pa.array(np.array(rows, np.int32).reshape(-1))
    return pa.FixedSizeListArray.from_arrays(flat, len(rows[0]))


def make(url: str) -> ads.Dataset:
    ds = ads.empty(url)
    ds.create_tensor("img", htype="image", sample_compression="png")
    ds.create_tensor("label", htype="class_label", class_names=["a", "b"])
    ds.create_tensor("emb", htype="generic", dtype="float32", shape=(2,))
    ds.create_tensor("var", htype="generic", dtype="int16", shape=(None,))
    ds.create_tensor("txt", htype="text")
    ds.create_tensor("tags", htype="list")
    ds.create_tensor("box", htype="bbox")
    return ds


IMAGES = [np.full((3, 4, 3), 9, np.uint8), np.arange(2 * 5 * 3, dtype=np.uint8).reshape(2, 5, 3)]
VAR = [np.array([1, 2, 3], np.int16), np.array([], np.int16)]
BOXES = [np.array([[0, 0, 2, 2]], np.float32), np.zeros((0, 4), np.float32)]


def encoded_batch() -> dict[str, Encoded]:
    var_offsets = pa.array(np.array([0, 3, 3], np.int64))
    box_offsets = pa.array(np.array([0, 4, 4], np.int64))
    return {
        "img": Encoded("blob", pa.array([png(a) for a in IMAGES], pa.binary()),
                       shapes([a.shape for a in IMAGES]), compression="png"),
        "label": Encoded("scalar", pa.array([1, 0], pa.uint32()), dtype="uint32"),
        "emb": Encoded("fixed", pa.FixedSizeListArray.from_arrays(pa.array([1, 2, 3, 4], pa.float32()), 2),
                       dtype="float32", shape=(2,)),
        "var": Encoded("list", pa.LargeListArray.from_arrays(var_offsets, pa.array([1, 2, 3], pa.int16())),
                       shapes([(3,), (0,)]), dtype="int16"),
        "txt": Encoded("text", pa.array(["x", "yz"])),
        "tags": Encoded("strlist", pa.array([["p"], []], pa.list_(pa.string()))),
        "box": Encoded("list",
                       pa.LargeListArray.from_arrays(box_offsets, pa.array([0, 0, 2, 2], pa.float32())),
                       shapes([(1, 4), (0, 4)]), dtype="float32"),
    }


SAMPLES = {"img": [ads.read(png(a)) for a in IMAGES], "label": [1, 0],
           "emb": [np.array([1, 2], np.float32), np.array([3, 4], np.float32)], "var": VAR,
           "txt": ["x", "yz"], "tags": [["p"], []], "box": BOXES}


def test_same_data_specs_and_columns_as_extend():
    fast = make(f"mem://enc-{uuid.uuid4().hex}")
    extend_encoded(fast, encoded_batch())
    slow = make(f"mem://ext-{uuid.uuid4().hex}")
    slow.extend(SAMPLES)
    assert fast._core.manifest.tensors == slow._core.manifest.tensors  # settled alike, bounds too
    assert fast.to_arrow(shapes=True).equals(slow.to_arrow(shapes=True))
    assert [a.tolist() for a in fast.img.numpy(aslist=True)] == [a.tolist() for a in IMAGES]
    assert fast.var[1].numpy().shape == (0,) and fast.box[0].numpy().tolist() == [[0, 0, 2, 2]]


def test_rows_still_buffered_read_and_update_like_others():
    ds = make(f"mem://buf-{uuid.uuid4().hex}")
    with ds:
        extend_encoded(ds, encoded_batch())
        assert ds.img[1].shape == (2, 5, 3)                      # from the write buffer
        assert (ds.img[1].numpy() == IMAGES[1]).all()
        assert ds.var[0].numpy().tolist() == [1, 2, 3]
        assert ds.txt[1].text() == "yz" and ds.label.numpy().ravel().tolist() == [1, 0]
        ds.label[0] = 0                                         # an update of a buffered row
        ds.extend(SAMPLES)                                      # mixed with ordinary appends
    assert len(ds) == 4 and ds.label.numpy().ravel().tolist() == [0, 0, 1, 0]
    assert ds.emb[3].numpy().tolist() == [3, 4]


def bad(**change) -> dict[str, Encoded]:
    batch = encoded_batch()
    batch.update(change)
    return batch


@pytest.mark.parametrize(("change", "error", "match"), [
    ({"label": Encoded("scalar", pa.array([1, 0], pa.int64()), dtype="int64")}, TensorDtypeMismatchError,
     "expected to be 'uint32'"),
    ({"label": Encoded("list", pa.LargeListArray.from_arrays(pa.array(np.array([0, 1, 2], np.int64)),
                                                              pa.array([1, 0], pa.uint32())),
                       shapes([(1,), (1,)]), dtype="uint32")}, SampleError, "layout"),
    ({"img": Encoded("blob", pa.array([b"x", b"y"], pa.binary()), shapes([(1, 1, 3)] * 2),
                     compression="jpeg")}, SampleError, "stores png bytes, the batch jpeg"),
    ({"emb": Encoded("fixed", pa.FixedSizeListArray.from_arrays(pa.array([1.0] * 6, pa.float32()), 3),
                     dtype="float32", shape=(3,))}, SampleShapeError, r"fixed shape \(2,\)"),
    ({"txt": Encoded("text", pa.array(["x", None]))}, SampleError, "None"),
    ({"var": Encoded("list", pa.LargeListArray.from_arrays(pa.array(np.array([0, 3, 3], np.int64)),
                                                            pa.array([1, 2, 3], pa.int16())),
                     shapes([(2,), (0,)]), dtype="int16")}, SampleShapeError, "holds 3 values"),
    ({"box": Encoded("list", pa.LargeListArray.from_arrays(pa.array(np.array([0, 3, 3], np.int64)),
                                                            pa.array([0, 0, 1], pa.float32())),
                     shapes([(1, 3), (0, 3)]), dtype="float32")}, SampleShapeError, "last dimension of 4"),
])
def test_batches_that_do_not_fit_are_refused_whole(change, error, match):
    ds = make(f"mem://bad-{uuid.uuid4().hex}")
    extend_encoded(ds, encoded_batch())
    with pytest.raises(error, match=match) as e:
        extend_encoded(ds, bad(**change))
    assert e.value.tensor == next(iter(change)) and e.value.index == 2  # the batch's first row
    assert len(ds) == 2 and all(len(t) == 2 for t in ds.tensors.values())


def test_every_tensor_and_equal_lengths_are_required():
    ds = make(f"mem://req-{uuid.uuid4().hex}")
    batch = encoded_batch()
    del batch["txt"]
    with pytest.raises(KeyError, match="txt"):
        extend_encoded(ds, batch)
    batch = encoded_batch()
    batch["txt"] = Encoded("text", pa.array(["only one"]))
    with pytest.raises(ValueError, match="same number of samples"):
        extend_encoded(ds, batch)
    with pytest.raises(ads.errors.TensorDoesNotExistError):
        extend_encoded(ds, {**encoded_batch(), "nope": Encoded("text", pa.array(["a", "b"]))})
