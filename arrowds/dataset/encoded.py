"""Append samples that a writer above this layer already validated and encoded, given as the
tensors' stored Arrow columns (see ``format/columns.py`` and docs/format.md).

A builder checks and encodes each example once (shape, dtype, class range; images compressed
once) and batches the results in the stored layout. ``extend_encoded`` then checks only what is
cheap and vectorised: the layout against the tensor's spec, column types and lengths, nulls,
shapes against the tensor's shape and htype rules, and widens the shape bounds. The arrays go to
the write buffer as they are: no sample is converted, parsed or validated one by one again.

    extend_encoded(ds, {"labels": Encoded("scalar", pa.array([1, 2], pa.uint32()), dtype="uint32")})
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from arrowds.dataset.samples import Prepared, check_bbox
from arrowds.errors import SampleError, SampleShapeError, TensorDoesNotExistError, TensorDtypeMismatchError
from arrowds.format import TensorSpec, get_htype
from arrowds.format import columns as cols
from arrowds.format.htypes import AUTO

#: Layouts each htype kind may be stored in.
_LAYOUTS = {"numeric": ("scalar", "fixed", "list"), "media": ("blob", "scalar", "fixed", "list"),
            "text": ("text",), "json": ("json",), "strlist": ("strlist",)}


@dataclass(frozen=True)
class Encoded:
    """One tensor's batch in its stored form.

    ``layout`` is the tensor's layout (``scalar``, ``fixed``, ``list``, ``blob``, ``text``,
    ``json``, ``strlist``); ``data`` the data column; ``shapes`` the shape column
    (``FixedSizeList<int32, ndim>``) for ``list`` and ``blob``; ``dtype`` the NumPy dtype name of
    numeric layouts; ``compression`` the codec of ``blob`` bytes; ``shape`` the sample shape of
    ``fixed``.
    """

    layout: str
    data: pa.Array
    shapes: pa.Array | None = None
    dtype: str | None = None
    compression: str | None = None
    shape: tuple[int, ...] | None = None


def prepare_encoded(spec: TensorSpec, info: dict[str, Any], enc: Encoded, first_index: int) -> Prepared:
    """Check ``enc`` against ``spec`` (vectorised) and settle the spec; SampleError subclasses
    name the tensor and the index of the batch's first row (or of the first bad row)."""
    try:
        new, shapes = _settle(spec, enc)
        _check_columns(new, enc)
        if shapes is not None:
            _check_shapes(new, enc, shapes)
        if spec.htype == "bbox" and info.get("coords") and len(enc.data):
            check_bbox(_flat_values(enc.data), info["coords"])
    except SampleError as e:
        raise e.at(spec.name, first_index) from None
    if len(enc.data) and new.layout in ("scalar", "fixed", "list", "blob"):
        if shapes is not None:
            lo, hi = tuple(shapes.min(0).tolist()), tuple(shapes.max(0).tolist())
        else:
            lo = hi = (1,) if new.layout == "scalar" else tuple(new.shape or ())
        new = new.with_shape_bounds(lo, hi)
    arrow = {new.column: enc.data}
    if new.shape_column:
        arrow[new.shape_column] = enc.shapes
    nbytes = sum(a.nbytes for a in arrow.values())
    return Prepared(new, columns=arrow, nbytes=nbytes)


def extend_encoded(ds: Any, columns: dict[str, Encoded]) -> None:
    """Append one batch of rows given as ``{tensor name: Encoded}`` (every tensor of ``ds``,
    equally long) to the dataset ``ds``; nothing is appended if a column does not fit."""
    core = ds._core
    names = ds._names()
    full = {ds._full(k): v for k, v in columns.items()}
    for name in full:
        if name not in names:
            raise TensorDoesNotExistError(name, list(ds.tensors))
    missing = sorted(set(names) - set(full))
    if missing:
        raise KeyError(f"Required tensors not provided: {missing}")
    counts = {k: len(v.data) for k, v in full.items()}
    if len(set(counts.values())) > 1:
        raise ValueError(f"extend needs the same number of samples for every tensor, got {counts}")
    with core.writing():
        preps = {n: prepare_encoded(core.spec(n), core.manifest.tensor_info.get(n, {}), enc, core.length(n))
                 for n, enc in full.items()}
        core.append(preps)


def _settle(spec: TensorSpec, enc: Encoded) -> tuple[TensorSpec, np.ndarray | None]:
    """The spec after this batch (layout, dtype, compression, ndim, shape) and its shapes."""
    h = get_htype(spec.htype)
    layout = enc.layout
    if layout not in _LAYOUTS[h.kind]:
        raise SampleError(f"a {h.name} tensor cannot store the {layout!r} layout")
    if spec.layout is not None and spec.layout != layout:
        raise SampleError(f"the tensor's layout is {spec.layout!r}, the batch is {layout!r}")
    new = spec if spec.layout == layout else spec.replace(layout=layout)
    if layout in ("scalar", "fixed", "list"):
        if h.kind == "media" and spec.sample_compression is not None:
            raise SampleError(f"the tensor stores {spec.sample_compression} bytes, not raw arrays")
        if spec.dtype and np.dtype(spec.dtype) != np.dtype(enc.dtype):
            raise TensorDtypeMismatchError(f"Dtype was expected to be {spec.dtype!r} instead it was "
                                           f"{enc.dtype!r}")
        if spec.dtype != enc.dtype:
            new = new.replace(dtype=np.dtype(enc.dtype).name)
    if layout == "blob":
        comp = enc.compression
        if comp not in h.compressions:
            raise SampleError(f"{comp!r} is not a compression of {h.name} tensors ({h.compressions})")
        if spec.sample_compression not in (AUTO, comp):
            raise SampleError(f"the tensor stores {spec.sample_compression} bytes, the batch {comp}")
        if spec.sample_compression != comp:
            new = new.replace(sample_compression=comp)
    if layout == "scalar" and new.ndim != 1:
        new = new.replace(ndim=1)
    if layout == "fixed":
        shape = tuple(int(d) for d in enc.shape or ())
        if spec.shape and any(w is not None and w != s for s, w in zip(shape, spec.shape)) \
                or spec.shape and len(spec.shape) != len(shape):
            raise SampleShapeError(f"Sample shape {shape} does not match the tensor's fixed shape "
                                   f"{tuple(spec.shape)}")
        _check_htype_shapes(h, np.asarray([shape], np.int64))
        if (new.shape, new.ndim) != (shape, len(shape)):
            new = new.replace(shape=shape, ndim=len(shape))
    if layout not in ("list", "blob"):
        return new, None
    if enc.shapes is None or not pa.types.is_fixed_size_list(enc.shapes.type):
        raise SampleError(f"a {layout} batch needs a shape column of fixed-size lists")
    ndim = enc.shapes.type.list_size
    if spec.ndim is not None and spec.ndim != ndim:
        raise SampleShapeError(f"Sample shape length is expected to be {spec.ndim}, actual length is {ndim}")
    if new.ndim != ndim:
        new = new.replace(ndim=ndim)
    return new, cols.shapes_from_arrow(enc.shapes, ndim)


def _check_columns(spec: TensorSpec, enc: Encoded) -> None:
    want = cols.data_type(spec)
    if enc.data.type != want:
        raise TensorDtypeMismatchError(f"the batch's column is {enc.data.type}, the tensor stores {want}")
    if enc.data.null_count:
        raise SampleError("None is not a sample of this tensor (the batch has nulls)")
    if spec.shape_column:
        assert enc.shapes is not None
        if enc.shapes.type != cols.shape_type(spec) or enc.shapes.null_count:
            raise SampleError(f"the shape column must be {cols.shape_type(spec)} without nulls, got "
                              f"{enc.shapes.type}")
        if len(enc.shapes) != len(enc.data):
            raise SampleError(f"{len(enc.data)} samples but {len(enc.shapes)} shapes")


def _check_shapes(spec: TensorSpec, enc: Encoded, shapes: np.ndarray) -> None:
    h = get_htype(spec.htype)
    if len(shapes) and (shapes < 0).any():
        k = int(np.argmax((shapes < 0).any(1)))
        raise SampleShapeError(f"negative dimension in shape {tuple(shapes[k].tolist())}")
    if spec.shape and len(shapes):
        want = np.array([-1 if d is None else d for d in spec.shape], np.int64)
        bad = ((want >= 0) & (shapes != want)).any(1)
        if bad.any():
            k = int(np.argmax(bad))
            raise SampleShapeError(f"Sample shape {tuple(shapes[k].tolist())} does not fit the tensor's "
                                   f"shape {tuple(spec.shape)}")
    _check_htype_shapes(h, shapes)
    if spec.layout == "list":
        sizes = np.diff(np.asarray(enc.data.offsets.to_numpy(), np.int64))
        bad = sizes != shapes.prod(1)
        if bad.any():
            k = int(np.argmax(bad))
            raise SampleShapeError(f"sample {k} of the batch holds {sizes[k]} values, its shape "
                                   f"{tuple(shapes[k].tolist())} needs {int(shapes[k].prod())}")


def _check_htype_shapes(h: Any, shapes: np.ndarray) -> None:
    if not len(shapes):
        return
    if h.ndim is not None and shapes.shape[1] != h.ndim:
        raise SampleShapeError(f"{h.name} samples must have {h.ndim} dimensions, got shape "
                               f"{tuple(shapes[0].tolist())}")
    if h.last_dim and shapes.shape[1]:
        empty = (shapes.shape[1] == 1) & (shapes[:, 0] == 0)
        bad = ~np.isin(shapes[:, -1], h.last_dim) & ~empty
        if bad.any():
            raise SampleShapeError(f"{h.name} samples must have a last dimension of "
                                   f"{' or '.join(map(str, h.last_dim))}, got shape "
                                   f"{tuple(shapes[int(np.argmax(bad))].tolist())}")


def _flat_values(data: pa.Array) -> np.ndarray:
    while pa.types.is_list(data.type) or pa.types.is_large_list(data.type) \
            or pa.types.is_fixed_size_list(data.type):
        data = data.flatten()
    return data.to_numpy(zero_copy_only=False)
