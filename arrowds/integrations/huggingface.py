"""Hugging Face ``datasets`` both ways, without decoding media.

| HF feature | arrowds tensor |
| --- | --- |
| ``Image`` | ``image``, the file bytes stored unchanged (compression sniffed: jpeg/png/webp) |
| ``Audio`` | ``audio``, the file bytes unchanged (needs an audio codec in arrowds) |
| ``ClassLabel(names)`` | ``class_label`` with ``class_names`` |
| ``Value(string)`` | ``text`` |
| ``Value(int*/uint*/float*/bool)`` | ``generic`` of that dtype |
| ``List``/``Sequence(Value(number), length=n)`` | ``generic`` of shape ``(n,)`` (``embedding`` for float32) |
| ``List``/``Sequence(Value(number))`` | ``generic``, varying length |
| ``List``/``Sequence(Value(string))`` | ``list`` |
| ``Json`` and anything else | ``json`` |

    >>> ds = ads.from_huggingface(hf_ds, "./mnist_ads")      # doctest: +SKIP
    >>> hf_again = ds.to_huggingface()                        # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from arrowds._optional import import_optional
from arrowds.dataset.api import empty
from arrowds.dataset.dataset import Dataset
from arrowds.format import TensorSpec
from arrowds.integrations import analytics
from arrowds.integrations.convert import ColumnPlan, ingest_batches, plan_column

__all__ = ["from_huggingface", "to_huggingface"]

_BATCH_ROWS = 4096


def _labels(arr: pa.Array) -> np.ndarray:
    vals = arr.to_numpy(zero_copy_only=False)
    if vals.size and vals.min() < 0:
        raise ValueError("a ClassLabel column holds -1 (no label); arrowds class labels are >= 0")
    return vals.astype(np.uint32)


def _plan(datasets: Any, name: str, feature: Any, arr: pa.Array) -> ColumnPlan:
    if isinstance(feature, datasets.ClassLabel):
        return ColumnPlan(name, name, {"htype": "class_label", "class_names": list(feature.names)}, _labels)
    if isinstance(feature, datasets.Image):
        return plan_column(name, arr, "image")
    if isinstance(feature, datasets.Audio):
        return plan_column(name, arr, "audio")
    if isinstance(feature, datasets.Value) and feature.dtype in ("string", "large_string"):
        return plan_column(name, arr, "text")
    if type(feature).__name__ == "Json":
        return ColumnPlan(name, name, {"htype": "json"}, lambda a: [json.loads(v) if isinstance(v, str) else v
                                                                      for v in a.to_pylist()])
    return plan_column(name, arr)


def from_huggingface(hf_dataset: Any, url: str, *, overwrite: bool = False,
                     storage_options: dict[str, Any] | None = None) -> Dataset:
    """A new arrowds dataset at ``url`` with one tensor per column of a ``datasets.Dataset``
    (see the module table). Image bytes are copied from HF's Arrow storage as they are: no
    decode, no re-encode.

    >>> hf = datasets.Dataset.from_dict({"text": ["a", "b"]})  # doctest: +SKIP
    >>> ds = ads.from_huggingface(hf, "mem://hf")              # doctest: +SKIP
    """
    datasets = import_optional("datasets", extra="hf", purpose="ads.from_huggingface()")
    if isinstance(hf_dataset, datasets.DatasetDict):
        raise TypeError(f"from_huggingface takes one split (a datasets.Dataset); this DatasetDict has "
                        f"{list(hf_dataset)}: pass e.g. hf_dataset['train']")
    arrow = hf_dataset.with_format("arrow")
    head = arrow[:_BATCH_ROWS]
    plans = [_plan(datasets, c, hf_dataset.features[c], head.column(c).combine_chunks())
             for c in hf_dataset.column_names]
    ds = empty(url, overwrite=overwrite, storage_options=storage_options)
    ingest_batches(ds, plans, arrow.iter(batch_size=_BATCH_ROWS))
    return ds


def _feature(datasets: Any, spec: TensorSpec, class_names: list[str] | None) -> Any:
    if spec.layout == "blob":
        if spec.htype == "audio":
            return datasets.Audio(decode=False)
        return datasets.Image()
    if spec.layout == "text":
        return datasets.Value("string")
    if spec.layout == "json":
        return datasets.Json()
    if spec.layout == "strlist":
        return datasets.List(datasets.Value("string"))
    value = datasets.Value(np.dtype(spec.dtype).name)
    if spec.layout == "scalar":
        labelled = spec.htype == "class_label" and class_names
        return datasets.ClassLabel(names=class_names) if labelled else value
    if spec.layout == "fixed":
        if len(spec.shape) == 1:
            return datasets.List(value, length=spec.shape[0])
        arrays = {2: datasets.Array2D, 3: datasets.Array3D, 4: datasets.Array4D, 5: datasets.Array5D}
        if len(spec.shape) in arrays:
            return arrays[len(spec.shape)](shape=tuple(spec.shape), dtype=value.dtype)
    if spec.layout == "ragged":
        return datasets.List(datasets.List(datasets.List(value, length=2)))
    feature = value
    for _ in range(spec.ndim or 1):
        feature = datasets.List(feature)
    return feature


def _column(ds: Dataset, spec: TensorSpec, rel: str, col: pa.ChunkedArray) -> Any:
    if spec.layout == "blob":
        return [{"bytes": b, "path": None} for b in col.to_pylist()]
    if spec.layout == "json":
        return [None if v is None else json.loads(v) for v in col.to_pylist()]
    if spec.layout == "scalar":
        return col.to_numpy()
    if spec.layout == "fixed" and len(spec.shape) == 1:
        return col
    if spec.layout in ("fixed", "list"):
        return [v.tolist() for v in ds[rel].numpy(aslist=True)]
    return col.to_pylist()


def to_huggingface(ds: Dataset, tensors: Sequence[str] | None = None) -> Any:
    """The view as a ``datasets.Dataset`` (see the module table for the features): media go
    over as their stored bytes, class labels as ``ClassLabel`` with the tensor's names.

    >>> hf = ds.to_huggingface(); hf.features                # doctest: +SKIP
    """
    datasets = import_optional("datasets", extra="hf", purpose="ds.to_huggingface()")
    table = analytics.to_arrow(ds, tensors)
    features: dict[str, Any] = {}
    data: dict[str, Any] = {}
    core = ds._core
    for rel in (tensors if tensors is not None else list(ds.tensors)):
        full = ds._full(rel)
        spec = core.spec(full)
        if not spec.settled:
            continue
        names = core.manifest.tensor_info.get(full, {}).get("class_names") or None
        features[rel] = _feature(datasets, spec, names)
        data[rel] = _column(ds, spec, rel, table.column(full))
    # media columns go in as plain {bytes, path} structs and are cast at the Arrow level:
    # from_dict would run the Audio/Video encoders, which need torchcodec
    kinds = (datasets.Image, datasets.Audio, getattr(datasets, "Video", datasets.Image))
    media = [rel for rel, feature in features.items() if isinstance(feature, kinds)]
    if not media:
        return datasets.Dataset.from_dict(data, features=datasets.Features(features))
    blob = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    out = datasets.Dataset.from_dict({rel: pa.array(v, blob) if rel in media else v
                                      for rel, v in data.items()})
    return out.cast(datasets.Features(features))
