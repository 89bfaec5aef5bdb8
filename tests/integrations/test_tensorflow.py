"""ds.tensorflow(): a tf.data.Dataset when TensorFlow is installed; a named error otherwise."""

from __future__ import annotations

import importlib.util

import pytest

import arrowds as ads


@pytest.mark.skipif(importlib.util.find_spec("tensorflow") is not None, reason="TensorFlow is installed")
def test_without_tensorflow_the_error_names_the_install(small):
    with pytest.raises(ads.errors.MissingDependencyError, match="tensorflow"):
        small.tensorflow()


def test_tf_data(small):
    tf = pytest.importorskip("tensorflow")
    tds = small.tensorflow(tensors=["images", "labels", "captions"])
    assert isinstance(tds, tf.data.Dataset)
    rows = list(tds.take(3).as_numpy_iterator())
    assert rows[1]["images"].shape == small.images[1].numpy().shape
    assert rows[2]["labels"].tolist() == small.labels[2].numpy().tolist()
    assert rows[0]["captions"].decode() == small.captions[0].text()
    assert sum(1 for _ in tds) == len(small)


def test_tf_data_batches_views_and_raw_bytes(small):
    tf = pytest.importorskip("tensorflow")
    import numpy as np

    view = small[10:50]
    batches = list(view.tensorflow(tensors=["images", "labels", "emb"]).batch(16).as_numpy_iterator())
    assert [len(b["labels"]) for b in batches] == [16, 16, 8]
    assert batches[0]["images"].shape == (16, 16, 24, 3) and batches[0]["images"].dtype == np.uint8
    assert np.array_equal(batches[1]["emb"], view.emb[16:32].numpy())
    assert batches[2]["labels"].ravel().tolist() == view.labels[32:40].numpy().ravel().tolist()
    spec = view.tensorflow(tensors=["images"]).element_spec["images"]
    assert spec.shape.as_list() == [16, 24, 3] and spec.dtype == tf.uint8
    raw = next(view.tensorflow(tensors=["images"], decode=False).as_numpy_iterator())
    assert raw["images"] == view.images[0].tobytes()


def test_tf_data_json_text_lists_and_varying_shapes(tmp_path):
    pytest.importorskip("tensorflow")
    import numpy as np

    ds = ads.empty(str(tmp_path / "kinds"))
    ds.create_tensor("meta", htype="json")
    ds.create_tensor("tags", htype="list")
    ds.create_tensor("seq", dtype="float32", shape=(None,))
    with ds:
        for i in range(5):
            ds.append({"meta": {"i": i}, "tags": [f"t{k}" for k in range(i)],
                       "seq": np.arange(i + 1, dtype=np.float32)})
    tds = ds.tensorflow()
    assert tds.element_spec["seq"].shape.as_list() == [None]
    rows = list(tds.as_numpy_iterator())
    assert [r["meta"] for r in rows] == [f'{{"i": {i}}}'.encode() for i in range(5)]
    assert [len(r["tags"]) for r in rows] == list(range(5)) and rows[3]["tags"][2] == b"t2"
    assert rows[4]["seq"].tolist() == [0, 1, 2, 3, 4]
    padded = next(tds.padded_batch(5).as_numpy_iterator())
    assert padded["seq"].shape == (5, 5)


def test_tf_data_stays_on_its_version(tmp_path):
    pytest.importorskip("tensorflow")
    from tests.integrations.conftest import build

    ds = build(str(tmp_path / "ds"))
    tds = ds.tensorflow(tensors=["captions"])
    ds.captions[0] = "changed"
    ds.extend({"images": [ds.images[0].numpy()], "labels": [1], "captions": ["late"],
               "emb": ds.emb[:1].numpy()})
    caps = [r["captions"] for r in tds.as_numpy_iterator()]
    assert caps[0] == b"c0" and b"late" not in caps and len(caps) == len(ds) - 1
    assert next(ds.tensorflow(tensors=["captions"]).as_numpy_iterator())["captions"] == b"changed"
