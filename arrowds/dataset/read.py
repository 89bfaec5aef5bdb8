"""Read samples of a tensor at row positions: from fragments (direct byte ranges or pyarrow
row groups) and from the write buffer, in the order asked."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from arrowds import media
from arrowds.dataset.core import DatasetCore
from arrowds.errors import DatasetCorruptError, SampleDecodeError, SampleIndexError
from arrowds.format import Blob, TensorSpec
from arrowds.format import columns as cols
from arrowds.storage.rangefile import open_range


def _split(core: DatasetCore, spec: TensorSpec, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Slots of positions stored in fragments, and slots still in the write buffer."""
    flushed = core.flushed_length(spec.name)
    if positions.size == 0 or positions.max() < flushed:
        return np.arange(positions.size), np.zeros(0, np.int64)
    mask = positions < flushed
    return np.flatnonzero(mask), np.flatnonzero(~mask)


def _missing(spec: TensorSpec, file: str) -> DatasetCorruptError:
    return DatasetCorruptError(f"tensor {spec.name!r}: fragment {file} has no value for a row "
                               "inside the tensor's length")


def read_numeric(core: DatasetCore, spec: TensorSpec, positions: np.ndarray) -> np.ndarray | list[np.ndarray]:
    """Samples of a numeric tensor: one stacked array for ``scalar``/``fixed`` layouts, else a
    list (of arrays; of lists of arrays for ``ragged``)."""
    stacked = spec.layout in ("scalar", "fixed")
    shape = (1,) if spec.layout == "scalar" else tuple(spec.shape or ())
    out: Any = np.empty((positions.size, *shape), spec.dtype) if stacked else [None] * positions.size
    fl, pend = _split(core, spec, positions)
    flushed_len = core.flushed_length(spec.name)
    for k in pend.tolist():
        out[k] = core.pending_sample(spec.name, int(positions[k]) - flushed_len)
    if not fl.size:
        return out
    for j, slots, phys in core.locator.groups(positions[fl]):
        frag = core.manifest.fragments[j]
        dest = fl[slots]
        if stacked and core.reader.is_direct(frag.file, spec.column):
            contiguous = dest.size and dest[-1] - dest[0] + 1 == dest.size and np.all(np.diff(dest) == 1)
            if contiguous:
                core.reader.read_fixed(frag.file, spec.column, phys, spec.dtype, out[dest[0]:dest[-1] + 1])
            else:
                tmp = np.empty((dest.size, *shape), spec.dtype)
                core.reader.read_fixed(frag.file, spec.column, phys, spec.dtype, tmp)
                out[dest] = tmp
            continue
        got = core.reader.read_columns(frag.file, list(spec.columns), phys)
        col = got[spec.column]
        if col is None or col.null_count:
            raise _missing(spec, frag.file)
        shapes = cols.shapes_from_arrow(got[spec.shape_column], spec.ndim) if spec.shape_column else None
        vals = cols.numeric_from_arrow(spec, col, shapes)
        if stacked:
            out[dest] = vals
        else:
            for d, v in zip(dest.tolist(), vals):
                out[d] = v
    return out


def read_values(core: DatasetCore, spec: TensorSpec, positions: np.ndarray) -> list[Any]:
    """Stored values of a blob/text/json/strlist tensor: bytes, str (JSON text) or list[str]."""
    out: list[Any] = [None] * positions.size
    fl, pend = _split(core, spec, positions)
    flushed_len = core.flushed_length(spec.name)
    for k in pend.tolist():
        s = core.pending_sample(spec.name, int(positions[k]) - flushed_len)
        out[k] = s.data if isinstance(s, Blob) else s
    if not fl.size:
        return out
    for j, slots, phys in core.locator.groups(positions[fl]):
        frag = core.manifest.fragments[j]
        if spec.layout == "blob" and core.reader.is_direct(frag.file, spec.column):
            vals = core.reader.read_blobs(frag.file, spec.column, phys)
        else:
            col = core.reader.read_columns(frag.file, [spec.column], phys)[spec.column]
            if col is None or col.null_count:
                raise _missing(spec, frag.file)
            vals = col.to_pylist()
        for d, v in zip(fl[slots].tolist(), vals):
            out[d] = v
    return out


def read_blob_views(core: DatasetCore, spec: TensorSpec, positions: np.ndarray) -> list[Any]:
    """Stored bytes of a blob tensor at ``positions``, like :func:`read_values`, but the rows of a
    fragment whose bytes lie close together (a row-group run, as loaders read) come from one
    ranged read, as memoryviews into it: one request instead of one per sample."""
    out: list[Any] = [None] * positions.size
    fl, pend = _split(core, spec, positions)
    if pend.size:
        flushed_len = core.flushed_length(spec.name)
        for k in pend.tolist():
            out[k] = core.pending_sample(spec.name, int(positions[k]) - flushed_len).data
    if not fl.size:
        return out
    for j, slots, phys in core.locator.groups(positions[fl]):
        frag = core.manifest.fragments[j]
        dest = fl[slots].tolist()
        if not core.reader.is_direct(frag.file, spec.column):
            col = core.reader.read_columns(frag.file, [spec.column], phys)[spec.column]
            if col is None or col.null_count:
                raise _missing(spec, frag.file)
            vals: list[Any] = col.to_pylist()
        else:
            starts, lens = core.reader.layout(frag.file).blob[spec.column]
            s = starts[phys]
            e = s + lens[phys]
            by_start = np.argsort(s, kind="stable")
            ss, se = s[by_start], e[by_start]
            ends = np.maximum.accumulate(se)
            cut = np.flatnonzero(ss[1:] - ends[:-1] > _GAP) + 1  # runs of nearby samples
            first = np.concatenate([[0], cut])
            last = np.concatenate([cut, [ss.size]]) - 1
            got = core.storage.read_ranges(frag.file, ss[first].tolist(), ends[last].tolist())
            run = np.repeat(np.arange(first.size), last - first + 1)
            rel = ss - ss[first][run]
            views = [memoryview(b) for b in got]
            vals = [None] * ss.size
            for k, r, a, n in zip(by_start.tolist(), run.tolist(), rel.tolist(), (se - ss).tolist()):
                vals[k] = views[r][a:a + n]
        for d, v in zip(dest, vals):
            out[d] = v
    return out


_GAP = 64 * 1024  # a gap up to this many bytes between wanted samples is read rather than skipped


def read_shapes(core: DatasetCore, spec: TensorSpec, positions: np.ndarray) -> np.ndarray:
    """``(n, ndim)`` sample shapes, without decoding media."""
    if spec.layout == "scalar":
        return np.ones((positions.size, 1), np.int64)
    if spec.layout == "fixed":
        return np.tile(np.asarray(spec.shape, np.int64), (positions.size, 1))
    if spec.layout in ("text", "json"):
        return np.ones((positions.size, 1), np.int64)
    if spec.layout == "strlist":
        return np.array([[len(v)] for v in read_values(core, spec, positions)], np.int64).reshape(-1, 1)
    if spec.layout == "ragged":
        width = cols.ragged_width(spec)
        return np.array([cols.ragged_shape(v, width) for v in read_numeric(core, spec, positions)],
                        np.int64).reshape(-1, 3)
    out = np.zeros((positions.size, spec.ndim), np.int64)
    fl, pend = _split(core, spec, positions)
    flushed_len = core.flushed_length(spec.name)
    for k in pend.tolist():
        s = core.pending_sample(spec.name, int(positions[k]) - flushed_len)
        out[k] = s.shape
    for j, slots, phys in core.locator.groups(positions[fl]) if fl.size else []:
        frag = core.manifest.fragments[j]
        col = core.reader.read_columns(frag.file, [spec.shape_column], phys)[spec.shape_column]
        if col is None or col.null_count:
            raise _missing(spec, frag.file)
        out[fl[slots]] = cols.shapes_from_arrow(col, spec.ndim)
    return out


def min_size_of(value: Any, what: str = "min_size") -> tuple[int, int] | None:
    """``min_size`` as ``(height, width)``: None, an int for both sides, or a pair of ints."""
    if value is None:
        return None
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value) \
        if isinstance(value, (tuple, list)) else ()
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) and v > 0 for v in pair):
        raise ValueError(f"{what} must be a positive int or a (height, width) pair, got {value!r}")
    return int(pair[0]), int(pair[1])


def decode(spec: TensorSpec, data: bytes, position: int,
           min_size: tuple[int, int] | None = None) -> np.ndarray:
    """Decode one stored media sample, naming tensor, index and codec when it is corrupt.
    ``min_size`` lets a jpeg decode at a reduced scale (see ``JpegCodec.decode``); other
    codecs ignore it and decode whole."""
    codec = media.get_codec(spec.sample_compression)
    try:
        arr = codec.decode(data, min_size=min_size) if min_size and codec.name == "jpeg" \
            else codec.decode(data)
    except SampleDecodeError as e:
        raise e.at(spec.name, position) from None
    except Exception as e:
        raise SampleDecodeError(f"cannot decode sample: {e}", codec=codec.name,
                                tensor=spec.name, index=position) from e
    if spec.ndim is not None and arr.ndim == spec.ndim - 1:
        arr = arr[..., None]
    return arr


def decode_many(spec: TensorSpec, blobs: list[bytes], positions: np.ndarray,
                min_size: tuple[int, int] | None = None) -> list[np.ndarray]:
    """Decode a batch of media samples; big batches use a thread pool (codecs release the GIL)."""
    pos = positions.tolist()
    pool = _pool() if len(blobs) >= _PARALLEL_MIN else None
    if pool is None:
        return [decode(spec, b, p, min_size) for b, p in zip(blobs, pos)]
    n = len(blobs)
    return list(pool.map(decode, [spec] * n, blobs, pos, [min_size] * n, chunksize=16))


def uniform_shape(spec: TensorSpec) -> tuple[int, ...] | None:
    """The shape of every sample when the tensor's shape bounds say they are all alike."""
    lo, hi = spec.min_shape, spec.max_shape
    if lo is None or lo != hi or (spec.ndim is not None and len(lo) != spec.ndim):
        return None
    return tuple(lo)


def decode_batch(spec: TensorSpec, blobs: list[Any], positions: np.ndarray,
                 shapes: np.ndarray | None = None, parallel: bool = True,
                 alloc: Callable[[tuple[int, ...], np.dtype], np.ndarray] | None = None,
                 ) -> np.ndarray | list[np.ndarray]:
    """Decode a batch of media samples into one ``(n, *shape)`` array when every sample has the
    same stored shape (by the tensor's bounds, or by their ``shapes`` from
    :func:`read_shapes`) and the codec decodes in place (no header parse and no copy per
    sample), else into a list as :func:`decode_many` does. ``alloc(shape, dtype)`` makes that
    array (default ``np.empty``): a caller can have it live where the batch must go, such as
    shared memory, so that it is never copied."""
    codec = media.get_codec(spec.sample_compression)
    n = len(blobs)
    shape = uniform_shape(spec)
    if shape is None and shapes is not None and n and (shapes == shapes[0]).all():
        shape = tuple(shapes[0].tolist())
    if shape is None or n == 0 or type(codec).decode_into is media.Codec.decode_into:
        return decode_many(spec, blobs, positions)
    dtype = np.dtype(spec.dtype or np.uint8)
    out = (alloc or np.empty)((n, *shape), dtype)
    pos = positions.tolist()

    def fill(i: int) -> None:
        if codec.decode_into(blobs[i], out[i]):
            return
        arr = decode(spec, blobs[i], pos[i])  # raises the named error for corrupt data
        if arr.shape != out.shape[1:]:
            raise SampleDecodeError(f"decoded shape {arr.shape} differs from the stored shape "
                                    f"{out.shape[1:]}", codec=codec.name, tensor=spec.name, index=pos[i])
        out[i] = arr

    pool = _pool() if parallel and n >= _PARALLEL_MIN else None
    if pool is None:
        for i in range(n):
            fill(i)
    else:
        list(pool.map(fill, range(n), chunksize=16))
    return out


_PARALLEL_MIN = 32
_POOL: tuple[int, ThreadPoolExecutor] | None = None


def _pool() -> ThreadPoolExecutor | None:
    """One shared decode pool per process (re-made after a fork: threads do not survive it).
    ``ARROWDS_DECODE_THREADS`` sets its size; 1 turns it off."""
    global _POOL
    size = int(os.environ.get("ARROWDS_DECODE_THREADS", os.cpu_count() or 1))
    if size <= 1:
        return None
    if _POOL is None or _POOL[0] != os.getpid():
        _POOL = (os.getpid(), ThreadPoolExecutor(size, thread_name_prefix="arrowds-decode"))
    return _POOL[1]


def blob_source(core: DatasetCore, spec: TensorSpec, position: int) -> bytes | io.BufferedReader:
    """One stored media sample, as bytes, or as a lazily fetched file when it sits in a direct
    column (so a long video or recording is never read whole to decode a part of it)."""
    flushed = core.flushed_length(spec.name)
    if position >= flushed:
        return core.pending_sample(spec.name, position - flushed).data
    frag_idx, phys = core.locator.locate(np.array([position]))
    frag = core.manifest.fragments[int(frag_idx[0])]
    if core.reader.is_direct(frag.file, spec.column):
        starts, lens = core.reader.layout(frag.file).blob[spec.column]
        r = int(phys[0])
        return open_range(core.storage, frag.file, int(starts[r]), int(lens[r]))
    return read_values(core, spec, np.array([position]))[0]


def decode_part(core: DatasetCore, spec: TensorSpec, position: int,
                sub: tuple[Any, ...]) -> np.ndarray | None:
    """``sample[sub]`` of an audio/video sample decoding only the samples/frames asked for, or
    None when ``sub`` does not start with a forward slice or int over time (decode it whole)."""
    if spec.layout != "blob" or not sub or not isinstance(sub[0], (slice, int, np.integer)):
        return None
    codec = media.get_codec(spec.sample_compression)
    if codec.kind not in ("audio", "video"):
        return None
    n = int(read_shapes(core, spec, np.array([position]))[0][0])
    first = sub[0]
    if isinstance(first, slice):
        a, b, step = first.indices(n)
        if step < 1:
            return None
    else:
        a = int(first) + n if int(first) < 0 else int(first)
        if not 0 <= a < n:
            unit = "frames" if codec.kind == "video" else "samples"
            raise SampleIndexError(f"Index {int(first)} is out of range for sample {position} of tensor "
                                   f"{spec.name!r} with {n} {unit}")
        b, step = a + 1, 1
    src = blob_source(core, spec, position)
    try:
        if codec.kind == "video":
            arr = codec.decode_frames(src, a, b, step)
        else:
            arr = codec.decode_range(src, a, b)[::step]
    except SampleDecodeError as e:
        raise e.at(spec.name, position) from None
    if isinstance(first, (int, np.integer)):
        return arr[(0, *sub[1:])]
    return arr[(slice(None), *sub[1:])]
