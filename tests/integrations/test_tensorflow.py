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
