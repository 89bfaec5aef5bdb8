"""Convert prepared samples to Arrow columns and Arrow columns back to NumPy samples.

A *prepared* sample is what the dataset layer hands over after validation: a NumPy array of
the tensor's dtype (``scalar``/``fixed``/``list``), a :class:`Blob` (``blob``), a ``str``
(``text``; ``json`` holds JSON text), a ``list[str]`` (``strlist``), a list of ``(k_i, d)``
arrays (``ragged``: polygons), or ``None`` for a row the tensor has no sample in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from arrowds.format.htypes import get_htype
from arrowds.format.spec import TensorSpec


@dataclass(frozen=True)
class Blob:
    """Compressed media bytes and the shape they decode to."""

    data: bytes
    shape: tuple[int, ...]


def arrow_dtype(dtype: str) -> pa.DataType:
    return pa.from_numpy_dtype(np.dtype(dtype))


def data_type(spec: TensorSpec) -> pa.DataType:
    """The Arrow type of the tensor's data column."""
    layout = spec.layout
    if layout == "scalar":
        return arrow_dtype(spec.dtype)
    if layout == "fixed":
        return pa.list_(arrow_dtype(spec.dtype), int(np.prod(spec.shape)))
    if layout == "list":
        return pa.large_list(arrow_dtype(spec.dtype))
    if layout == "blob":
        return pa.binary()
    if layout in ("text", "json"):
        return pa.string()
    if layout == "strlist":
        return pa.list_(pa.string())
    if layout == "ragged":
        return pa.list_(pa.list_(pa.list_(arrow_dtype(spec.dtype), ragged_width(spec))))
    raise ValueError(f"tensor {spec.name!r} has no layout yet")


def ragged_width(spec: TensorSpec) -> int:
    """Coordinates per point of a ``ragged`` tensor (2 for polygons)."""
    last = get_htype(spec.htype).last_dim
    return last[0] if last else 2


def shape_type(spec: TensorSpec) -> pa.DataType:
    return pa.list_(pa.int32(), spec.ndim)


def fields(spec: TensorSpec) -> list[pa.Field]:
    """Arrow fields of the tensor (data column, then its shape column if any)."""
    out = [pa.field(spec.column, data_type(spec))]
    if spec.shape_column:
        out.append(pa.field(spec.shape_column, shape_type(spec)))
    return out


def to_arrow(spec: TensorSpec, samples: list[Any]) -> dict[str, pa.Array]:
    """Arrow arrays for the prepared ``samples`` (``None`` entries become nulls)."""
    layout = spec.layout
    mask = np.fromiter((s is None for s in samples), bool, len(samples))
    present = [s for s in samples if s is not None]
    out: dict[str, pa.Array] = {}
    if layout == "scalar":
        vals = np.zeros(len(samples), dtype=spec.dtype)
        if present:
            vals[~mask] = np.concatenate([np.asarray(s).reshape(-1) for s in present])
        out[spec.column] = pa.array(vals, mask=mask if mask.any() else None)
    elif layout == "fixed":
        width = int(np.prod(spec.shape))
        flat = np.zeros((len(samples), width), dtype=spec.dtype)
        if present:
            flat[~mask] = np.stack([np.asarray(s).reshape(width) for s in present])
        values = pa.array(flat.reshape(-1))
        out[spec.column] = pa.FixedSizeListArray.from_arrays(
            values, width, mask=pa.array(mask) if mask.any() else None
        )
    elif layout == "list":
        sizes = np.fromiter((0 if s is None else s.size for s in samples), np.int64, len(samples))
        offsets = np.zeros(len(samples) + 1, np.int64)
        np.cumsum(sizes, out=offsets[1:])
        flat = (np.concatenate([s.reshape(-1) for s in present]) if present
                else np.zeros(0, spec.dtype)).astype(spec.dtype, copy=False)
        out[spec.column] = pa.LargeListArray.from_arrays(
            pa.array(offsets), pa.array(flat), mask=pa.array(mask) if mask.any() else None
        )
        out[spec.shape_column] = _shapes(spec, [None if s is None else s.shape for s in samples])
    elif layout == "blob":
        out[spec.column] = pa.array([None if s is None else s.data for s in samples], pa.binary())
        out[spec.shape_column] = _shapes(spec, [None if s is None else s.shape for s in samples])
    elif layout in ("text", "json"):
        out[spec.column] = pa.array(samples, pa.string())
    elif layout == "strlist":
        out[spec.column] = pa.array(samples, pa.list_(pa.string()))
    elif layout == "ragged":
        out[spec.column] = _ragged_to_arrow(spec, samples, mask)
    else:
        raise ValueError(f"tensor {spec.name!r} has no layout yet")
    return out


def _ragged_to_arrow(spec: TensorSpec, samples: list[Any], mask: np.ndarray) -> pa.Array:
    """``list<list<fixed_size_list<d>>>``: samples -> their arrays -> points."""
    width = ragged_width(spec)
    arrays = [a for s in samples if s is not None for a in s]
    outer = np.zeros(len(samples) + 1, np.int32)
    np.cumsum([0 if s is None else len(s) for s in samples], out=outer[1:])
    inner = np.zeros(len(arrays) + 1, np.int32)
    np.cumsum([len(a) for a in arrays], out=inner[1:])
    flat = (np.concatenate([a.reshape(-1) for a in arrays]) if arrays
            else np.zeros(0)).astype(spec.dtype, copy=False)
    points = pa.FixedSizeListArray.from_arrays(pa.array(flat), width)
    polys = pa.ListArray.from_arrays(pa.array(inner), points)
    return pa.ListArray.from_arrays(pa.array(outer), polys, mask=pa.array(mask) if mask.any() else None)


def _shapes(spec: TensorSpec, shapes: list[tuple[int, ...] | None]) -> pa.Array:
    ndim = spec.ndim
    mask = np.fromiter((s is None for s in shapes), bool, len(shapes))
    flat = np.zeros((len(shapes), ndim), np.int32)
    for i, s in enumerate(shapes):
        if s is not None:
            flat[i] = s
    return pa.FixedSizeListArray.from_arrays(
        pa.array(flat.reshape(-1)), ndim, mask=pa.array(mask) if mask.any() else None
    )


def null_arrays(spec: TensorSpec, n: int) -> dict[str, pa.Array]:
    """Arrays of ``n`` nulls for each column of the tensor."""
    return {f.name: pa.nulls(n, f.type) for f in fields(spec)}


def shapes_from_arrow(col: pa.Array | pa.ChunkedArray, ndim: int) -> np.ndarray:
    """An ``(n, ndim)`` int array from a shape column (nulls are not expected here)."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    return np.asarray(col.flatten().to_numpy(zero_copy_only=False), np.int64).reshape(-1, ndim)


def numeric_from_arrow(spec: TensorSpec, col: pa.Array | pa.ChunkedArray,
                       shapes: np.ndarray | None = None) -> list[np.ndarray] | np.ndarray:
    """Samples of a numeric tensor: one stacked array when the layout gives one shape
    (``scalar``: ``(n, 1)``, ``fixed``: ``(n, *shape)``), else a list of arrays."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    dtype = np.dtype(spec.dtype)
    if spec.layout == "scalar":
        return _values(col, dtype).reshape(-1, 1)
    if spec.layout == "fixed":
        return _values(col.flatten(), dtype).reshape((len(col), *spec.shape))
    if spec.layout == "list":
        flat = _values(col.flatten(), dtype)
        offsets = np.asarray(col.offsets.to_numpy(), np.int64)
        offsets = offsets - offsets[0]
        return [flat[offsets[i]:offsets[i + 1]].reshape(shapes[i]) for i in range(len(col))]
    if spec.layout == "ragged":
        return ragged_from_arrow(spec, col)
    raise ValueError(f"tensor {spec.name!r} is not numeric (layout {spec.layout!r})")


def ragged_from_arrow(spec: TensorSpec, col: pa.Array) -> list[list[np.ndarray]]:
    """Samples of a ``ragged`` column: one list of ``(k_i, d)`` arrays per row."""
    width = ragged_width(spec)
    outer = np.asarray(col.offsets.to_numpy(), np.int64)  # into the (unsliced) child
    polys = col.values
    inner = np.asarray(polys.offsets.to_numpy(), np.int64)
    points = _values(polys.values.flatten(), np.dtype(spec.dtype)).reshape(-1, width)
    first = int(outer[0]) if outer.size else 0
    arrays = [points[inner[j]:inner[j + 1]] for j in range(first, int(outer[-1]) if outer.size else 0)]
    return [arrays[outer[i] - first:outer[i + 1] - first] for i in range(len(col))]


def ragged_shape(sample: list[np.ndarray], width: int) -> tuple[int, int, int]:
    """The shape reported for one ragged sample: (arrays, most points, coordinates)."""
    return (len(sample), max((len(a) for a in sample), default=0), width)


def _values(arr: pa.Array, dtype: np.dtype) -> np.ndarray:
    if pa.types.is_boolean(arr.type):
        return np.asarray(arr.to_numpy(zero_copy_only=False), dtype)
    return arr.to_numpy(zero_copy_only=False).astype(dtype, copy=False)


def stacked_to_arrow(spec: TensorSpec, arr: np.ndarray) -> dict[str, pa.Array]:
    """Arrow arrays for a batch of ``scalar``/``fixed`` samples stacked into one array."""
    flat = pa.array(np.ascontiguousarray(arr).reshape(-1))
    if spec.layout == "scalar":
        return {spec.column: flat}
    width = int(np.prod(spec.shape))
    return {spec.column: pa.FixedSizeListArray.from_arrays(flat, width)}


def map_ids(col: pa.Array | pa.ChunkedArray, mapping: np.ndarray) -> pa.Array | pa.ChunkedArray:
    """``col`` (integers, or lists of them) with every id ``k < len(mapping)`` replaced by
    ``mapping[k]`` and larger ids kept; nulls stay null. Used to renumber class labels."""
    if isinstance(col, pa.ChunkedArray):
        return pa.chunked_array([map_ids(c, mapping) for c in col.chunks], col.type)
    t = col.type
    nested = pa.types.is_fixed_size_list(t) or pa.types.is_list(t) or pa.types.is_large_list(t)
    if nested and col.offset:  # a slice: its children are not sliced; take makes a fresh array
        col = col.take(pa.array(np.arange(len(col))))
    if pa.types.is_fixed_size_list(col.type):
        values = map_ids(col.values, mapping)
        return pa.FixedSizeListArray.from_arrays(values, type=col.type, mask=col.is_null())
    if nested:
        cls = pa.LargeListArray if pa.types.is_large_list(col.type) else pa.ListArray
        return cls.from_arrays(col.offsets, map_ids(col.values, mapping), type=col.type, mask=col.is_null())
    if not pa.types.is_integer(col.type):
        raise TypeError(f"label ids must be integers, got {col.type}")
    valid = col.drop_null()
    top = int(pa.compute.max(valid).as_py()) + 1 if len(valid) else 0
    full = np.arange(max(top, len(mapping)), dtype=np.int64)
    full[:len(mapping)] = mapping
    return pa.compute.take(pa.array(full), col).cast(col.type)
