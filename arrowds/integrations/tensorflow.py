"""TensorFlow loading: a ``tf.data.Dataset`` of sample dicts over a pinned version.

TensorFlow is optional (``pip install tensorflow``); nothing else in arrowds imports it.

    >>> tfds = ds.tensorflow(tensors=["images", "labels"]).batch(32)   # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from arrowds._optional import import_optional
from arrowds.dataset import read
from arrowds.dataset.core import DatasetCore
from arrowds.dataset.dataset import Dataset, dataset_length
from arrowds.errors import TensorDoesNotExistError
from arrowds.format import TensorSpec

__all__ = ["to_tensorflow"]

_BATCH = 256


def _signature(tf: Any, spec: TensorSpec, decode: bool) -> Any:
    """The ``tf.TensorSpec`` of one sample of a tensor (None for dimensions that vary)."""
    if spec.layout in ("text", "json"):
        return tf.TensorSpec(shape=(), dtype=tf.string)
    if spec.layout == "strlist":
        return tf.TensorSpec(shape=(None,), dtype=tf.string)
    if spec.layout == "blob" and not decode:
        return tf.TensorSpec(shape=(), dtype=tf.string)
    if spec.layout == "ragged":
        raise TypeError(f"tensor {spec.name!r} holds polygons (lists of arrays of different lengths), "
                        "which ds.tensorflow() does not convert; leave it out with tensors=[...]")
    dtype = tf.as_dtype(np.dtype(spec.dtype or "float64"))
    if spec.layout == "scalar":
        return tf.TensorSpec(shape=(1,), dtype=dtype)
    if spec.layout == "fixed":
        return tf.TensorSpec(shape=tuple(spec.shape), dtype=dtype)
    if spec.min_shape is not None:
        dims = tuple(lo if lo == hi else None for lo, hi in zip(spec.min_shape, spec.max_shape))
    else:
        dims = (None,) * (spec.ndim or 1)
    return tf.TensorSpec(shape=dims, dtype=dtype)


def to_tensorflow(ds: Dataset, tensors: Sequence[str] | None = None, decode: bool = True) -> Any:
    """``ds.tensorflow()``: samples as ``{tensor: tf.Tensor}``, read in batches of rows (media
    decoded unless ``decode=False``, text/JSON as strings), in dataset order, from the version
    checked out when it was called (later writes are not seen). Shuffle, batch and prefetch
    with ``tf.data`` as usual."""
    tf = import_optional("tensorflow", extra="tensorflow", purpose="ds.tensorflow()")
    if ds._core.dirty:
        ds.flush()
    live = ds._core
    # pinned: later writes through the handle (or a moving branch) do not change what is read
    core = DatasetCore(live.storage, live.branch, None, live.manifest, read_only=True)
    rel = list(ds.tensors)
    names = list(tensors) if tensors is not None else rel
    for n in names:
        if n not in rel:
            raise TensorDoesNotExistError(n, rel)
    specs = {n: core.spec(ds._full(n)) for n in names}
    specs = {n: s for n, s in specs.items() if s.settled}
    positions = ds._index.positions(dataset_length(core))

    stacked = all(_stackable(s, decode) for s in specs.values())

    def columns() -> Iterator[tuple[np.ndarray, dict[str, Any]]]:
        for a in range(0, positions.size, _BATCH):
            pos = positions[a:a + _BATCH]
            cols: dict[str, Any] = {}
            for n, spec in specs.items():
                if spec.layout in ("scalar", "fixed", "list"):
                    cols[n] = read.read_numeric(core, spec, pos)
                else:
                    vals = read.read_values(core, spec, pos)
                    if spec.layout == "blob" and decode:
                        vals = (read.decode_batch(spec, vals, pos) if stacked
                                else read.decode_many(spec, vals, pos))
                    elif spec.layout == "json":
                        vals = [json.dumps(json.loads(v)) for v in vals]
                    cols[n] = vals
            yield pos, cols

    def samples() -> Iterator[dict[str, Any]]:
        for pos, cols in columns():
            for k in range(pos.size):
                yield {n: v[k] for n, v in cols.items()}

    def batches() -> Iterator[dict[str, Any]]:
        for _, cols in columns():
            yield {n: v if isinstance(v, np.ndarray) else
                   (np.stack(v) if v and isinstance(v[0], np.ndarray) else np.asarray(v, dtype=object))
                   for n, v in cols.items()}

    signature = {n: _signature(tf, s, decode) for n, s in specs.items()}
    if not stacked:
        return tf.data.Dataset.from_generator(samples, output_signature=signature)
    # every tensor has one sample shape: whole batches cross into TensorFlow (one Python call
    # per 256 rows, not per row) and tf.data cuts them back into samples
    batched = {n: tf.TensorSpec(shape=(None, *sig.shape), dtype=sig.dtype) for n, sig in signature.items()}
    return tf.data.Dataset.from_generator(batches, output_signature=batched).unbatch()


def _stackable(spec: TensorSpec, decode: bool) -> bool:
    """Whether every sample of ``spec`` comes out with one shape (so batches can be stacked)."""
    if spec.layout in ("text", "json", "scalar", "fixed"):
        return True
    if spec.layout in ("blob", "list"):
        return (spec.layout == "blob" and not decode) or read.uniform_shape(spec) is not None
    return False
