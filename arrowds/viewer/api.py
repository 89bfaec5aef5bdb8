"""The viewer's JSON API over read-only dataset handles, one per version.

Every method reads only what its answer needs: a page of samples reads the page's rows (shapes
for media, values for labels/boxes/text), thumbnails and mask overlays decode one sample and
are cached, media bytes are read by range. Answers are plain dicts (JSON-safe) or bytes;
:class:`ApiError` carries an HTTP status and a message naming the thing that was not found.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from arrowds.dataset import read, versioning
from arrowds.dataset.api import load
from arrowds.dataset.dataset import Dataset
from arrowds.errors import ArrowdsError
from arrowds.format import TensorSpec
from arrowds.table import refs
from arrowds.viewer import render

#: htype -> how the page shows it.
KINDS = {
    "image": "image", "video": "video", "audio": "audio", "class_label": "label", "bbox": "bbox",
    "keypoints_coco": "keypoints", "point": "points", "polygon": "polygon", "segment_mask": "mask",
    "binary_mask": "mask", "text": "text", "json": "json", "list": "list",
}
#: Kinds drawn over an image tensor rather than shown on their own.
OVERLAYS = ("bbox", "keypoints", "points", "polygon", "mask")
MAX_PAGE = 200
MAX_VERSIONS = 16


class ApiError(Exception):
    """A request the API cannot answer: ``status`` is the HTTP status to send."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Media:
    """Stored media bytes of one sample, readable by range."""

    size: int
    content_type: str
    read: Callable[[int, int], Iterator[bytes]]  # (start, end) -> chunks of bytes[start:end]


@dataclass
class _Handle:
    ds: Dataset
    lock: threading.RLock
    token: str  # key of the manifest the handle stands on: part of every cache key


class _LRU:
    """A thread-safe LRU cache of bytes values, bounded by their total size."""

    def __init__(self, max_bytes: int):
        self._d: OrderedDict[tuple[Any, ...], tuple[bytes, str]] = OrderedDict()
        self._bytes, self._max, self._lock = 0, max_bytes, threading.Lock()

    def get(self, key: tuple[Any, ...]) -> tuple[bytes, str] | None:
        with self._lock:
            v = self._d.get(key)
            if v is not None:
                self._d.move_to_end(key)
            return v

    def put(self, key: tuple[Any, ...], value: tuple[bytes, str]) -> None:
        with self._lock:
            if key in self._d:
                return
            self._d[key] = value
            self._bytes += len(value[0])
            while self._bytes > self._max and len(self._d) > 1:
                _, old = self._d.popitem(last=False)
                self._bytes -= len(old[0])


def _kind(spec: TensorSpec) -> str:
    return KINDS.get(spec.htype, "numeric")


def _group(name: str) -> str:
    return name.rsplit("/", 1)[0] if "/" in name else ""


class ViewerAPI:
    """Answers the viewer's requests for the dataset at ``url``.

    ``version`` is the version shown when a request names none; ``rows`` restricts every
    listing to those row positions (how ``ds[10:20].visualize()`` shows only its view).

    >>> api = ViewerAPI("./my_ds")                               # doctest: +SKIP
    >>> api.samples(offset=0, limit=24)["rows"][0]["cells"]["labels"]   # doctest: +SKIP
    {'kind': 'label', 'values': [1], 'names': ['dog']}
    """

    def __init__(self, url: str, *, version: str | None = None,
                 storage_options: dict[str, Any] | None = None, rows: np.ndarray | None = None,
                 cache_bytes: int = 64 << 20):
        self.url = url
        self.storage_options = storage_options
        self.rows = None if rows is None else np.asarray(rows, np.int64)
        self._handles: OrderedDict[str, _Handle] = OrderedDict()
        self._lock = threading.Lock()
        self._cache = _LRU(cache_bytes)
        self._selections: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        # opened now so that a wrong URL or version fails here (ArrowdsError), not on a request
        ds = load(url, version=version, read_only=True, storage_options=storage_options)
        self.default_version = version or ds.branch
        self._handles[self.default_version] = _Handle(ds, threading.RLock(),
                                                      versioning.current_ref(ds._core).manifest)

    # -- handles ---------------------------------------------------------------------------
    def _open(self, version: str | None) -> _Handle:
        try:
            ds = load(self.url, version=version, read_only=True, storage_options=self.storage_options)
        except ArrowdsError as e:
            where = f"version {version!r} of " if version else ""
            raise ApiError(404, f"cannot open {where}{self.url}: {e}") from None
        return _Handle(ds, threading.RLock(), versioning.current_ref(ds._core).manifest)

    def handle(self, version: str | None = None, refresh: bool = False) -> _Handle:
        """The read-only handle of ``version`` (default: the viewer's version), opened once;
        ``refresh=True`` reopens a branch whose head moved since."""
        v = version or self.default_version
        with self._lock:
            h = self._handles.get(v)
            if h is not None:
                self._handles.move_to_end(v)
        if h is not None and refresh and not h.ds._core.detached:
            head = refs.head(h.ds._core.storage, h.ds.branch)
            if head is not None and head.manifest != h.token:
                h = None
        if h is None:
            h = self._open(v)
            with self._lock:
                self._handles[v] = h
                self._handles.move_to_end(v)
                while len(self._handles) > MAX_VERSIONS:
                    self._handles.popitem(last=False)
        return h

    # -- schema ----------------------------------------------------------------------------
    def _tensors(self, ds: Dataset) -> list[dict[str, Any]]:
        m = ds._core.manifest
        specs = [m.spec(n) for n in m.tensor_names]
        images = [s.name for s in specs if s is not None and _kind(s) == "image"]
        out = []
        for s in specs:
            if s is None:
                continue
            kind, info = _kind(s), m.tensor_info.get(s.name, {})
            base = None
            if kind in OVERLAYS and images:
                same = [n for n in images if _group(n) == _group(s.name)]
                base = (same or images)[0]
            out.append({
                "name": s.name, "htype": s.htype, "kind": kind, "dtype": s.dtype,
                "compression": s.sample_compression or s.chunk_compression,
                "length": ds._core.length(s.name), "base": base,
                "min_shape": render.json_value(s.min_shape), "max_shape": render.json_value(s.max_shape),
                "class_names": render.json_value(info.get("class_names")),
                "coords": info.get("coords", {"type": "pixel", "mode": "LTWH"}) if kind == "bbox" else None,
                "fps": render.json_value(info.get("fps")),
                "sample_rate": render.json_value(info.get("sample_rate")),
            })
        return out

    def info(self, version: str | None = None) -> dict[str, Any]:
        """What the page needs first: the version shown, its length and tensors, and the
        branches and tags to pick from."""
        h = self.handle(version, refresh=True)
        with h.lock:
            ds = h.ds
            storage = ds._core.storage
            return {
                "url": self.url, "version": version or self.default_version,
                "default_version": self.default_version, "branch": ds.branch,
                "commit_id": ds.commit_id, "detached": bool(ds._core.detached),
                "length": len(ds), "rows": self._count(h, ""),
                "tensors": self._tensors(ds),
                "branches": ds.branches, "tags": refs.tag_names(storage),
                "restricted": self.rows is not None,
            }

    # -- rows ------------------------------------------------------------------------------
    def _selection(self, h: _Handle, query: str) -> np.ndarray | None:
        """Positions shown (in order), or None for "every row" (kept implicit for big data)."""
        query = query.strip()
        if not query:
            return self.rows
        key = (h.token, query)
        with self._lock:
            got = self._selections.get(key)
        if got is None:
            if ";" in query:
                raise ApiError(400, "the filter is one query: remove the ';'")
            ds = h.ds
            try:
                view = ds.query(query)
                got = view.index.positions(len(ds))
            except ArrowdsError as e:
                raise ApiError(400, f"filter {query!r} failed: {e}") from None
            except Exception as e:  # noqa: BLE001 - DuckDB's parser/binder errors, shown to the user
                raise ApiError(400, f"filter {query!r} failed: {type(e).__name__}: {e}") from None
            with self._lock:
                self._selections[key] = got
                while len(self._selections) > 64:
                    self._selections.popitem(last=False)
        if self.rows is not None:
            got = got[np.isin(got, self.rows)]
        return got

    def _count(self, h: _Handle, query: str) -> int:
        sel = self._selection(h, query)
        return len(h.ds) if sel is None else int(sel.size)

    def samples(self, offset: int = 0, limit: int = 24, version: str | None = None,
                query: str = "") -> dict[str, Any]:
        """One page of rows: ``rows[k] = {"index": i, "cells": {tensor: cell}}`` where ``i`` is
        the row's position in the version, plus ``total`` rows matching ``query``."""
        if offset < 0 or not 1 <= limit <= MAX_PAGE:
            raise ApiError(400, f"offset must be >= 0 and limit in 1..{MAX_PAGE}, got {offset}, {limit}")
        h = self.handle(version)
        with h.lock:
            n = len(h.ds)
            sel = self._selection(h, query)
            total = n if sel is None else int(sel.size)
            if sel is None:
                positions = np.arange(offset, min(offset + limit, n), dtype=np.int64)
            else:
                positions = sel[offset:offset + limit]
            positions = positions[positions < n]
            cells = self._cells(h, positions, detail=False)
        rows = [{"index": int(p), "cells": {name: c[k] for name, c in cells.items()}}
                for k, p in enumerate(positions.tolist())]
        return {"version": version or self.default_version, "total": total, "offset": offset,
                "limit": limit, "rows": rows}

    def sample(self, index: int, version: str | None = None) -> dict[str, Any]:
        """Every tensor of row ``index``, with fuller values than the grid and media info."""
        h = self.handle(version)
        with h.lock:
            n = len(h.ds)
            if not 0 <= index < n:
                raise ApiError(404, f"row {index} is out of range: the dataset has {n} rows")
            cells = self._cells(h, np.array([index], np.int64), detail=True)
            out = {name: c[0] for name, c in cells.items()}
            for name, cell in out.items():
                if cell.get("kind") in ("audio", "video") and cell.get("stored"):
                    try:
                        cell["sample_info"] = render.json_value(h.ds[name][index].sample_info)
                    except (ArrowdsError, ValueError, OSError) as e:
                        cell["sample_info"] = {"error": str(e)}
        return {"version": version or self.default_version, "index": index, "length": n, "cells": out}

    def _cells(self, h: _Handle, positions: np.ndarray, detail: bool) -> dict[str, list[dict[str, Any]]]:
        core = h.ds._core
        out: dict[str, list[dict[str, Any]]] = {}
        for name in core.manifest.tensor_names:
            spec = core.spec(name)
            try:
                out[name] = _read_cells(core, spec, positions, detail)
            except (ArrowdsError, ValueError, OSError) as e:
                out[name] = [{"kind": "error", "message": f"{type(e).__name__}: {e}"}] * positions.size
        return out

    # -- versions --------------------------------------------------------------------------
    def log(self, version: str | None = None, limit: int = 500) -> dict[str, Any]:
        """Commits reachable from ``version``, newest first."""
        h = self.handle(version)
        with h.lock:
            commits = []
            for c in h.ds.log()[:limit]:
                commits.append({"id": c.id, "message": c.message, "time": c.time, "author": c.author,
                                "branch": c.branch, "parents": list(c.parents)})
        return {"version": version or self.default_version, "commits": commits}

    def diff(self, a: str, b: str | None = None, max_rows: int = 200) -> dict[str, Any]:
        """Rows added, updated and deleted per tensor from version ``a`` to ``b`` (default: the
        viewer's version); position lists are cut to ``max_rows`` (the counts are exact)."""
        if not a:
            raise ApiError(400, "diff needs a version a")
        h = self.handle(b)
        with h.lock:
            try:
                d = h.ds.diff(a, b or self.default_version)
            except ArrowdsError as e:
                raise ApiError(404, f"cannot diff {a!r} and {b or self.default_version!r}: {e}") from None
        tensors = []
        for name, t in d.items():
            row: dict[str, Any] = {"name": name}
            for what in ("added", "updated", "deleted"):
                row[what] = len(t[what])
                row[what + "_rows"] = [int(x) for x in t[what][:max_rows]]
            row.update(created=t["created"], removed=t["removed"], info_updated=t["info_updated"])
            tensors.append(row)
        return {"a": a, "b": b or self.default_version, "tensors": tensors}

    # -- pixels and bytes ------------------------------------------------------------------
    def _spec(self, h: _Handle, tensor: str, index: int) -> TensorSpec:
        spec = h.ds._core.manifest.spec(tensor)
        if spec is None:
            raise ApiError(404, f"no tensor {tensor!r} in {self.url}")
        n = h.ds._core.length(tensor)
        if not 0 <= index < n:
            raise ApiError(404, f"row {index} is out of range for tensor {tensor!r} with {n} samples")
        if spec.layout is None:
            raise ApiError(404, f"tensor {tensor!r} has no samples stored")
        return spec

    def thumb(self, tensor: str, index: int, version: str | None = None, size: int = 256,
              frame: int = 0) -> tuple[bytes, str]:
        """A JPEG/PNG of an image sample (or of frame ``frame`` of a video) fitting ``size``."""
        size = max(16, min(int(size), 2048))
        h = self.handle(version)
        key = ("thumb", h.token, tensor, index, size, frame)
        got = self._cache.get(key)
        if got is not None:
            return got
        with h.lock:
            spec = self._spec(h, tensor, index)
            kind = _kind(spec)
            t = h.ds[tensor][index]
            try:
                if kind == "video":
                    nframes = int(t.shape[0])
                    arr = t[min(max(frame, 0), max(nframes - 1, 0))].numpy()
                elif kind in ("image", "mask", "numeric"):
                    arr = t.numpy()
                else:
                    raise ApiError(400, f"tensor {tensor!r} ({spec.htype}) has no picture")
            except ArrowdsError as e:
                raise ApiError(422, f"cannot decode row {index} of {tensor!r}: {e}") from None
        if arr.ndim < 2:
            raise ApiError(400, f"row {index} of {tensor!r} has shape {arr.shape}: not a picture")
        got = render.thumbnail(arr, size)
        self._cache.put(key, got)
        return got

    def mask(self, tensor: str, index: int, version: str | None = None, size: int = 512) -> bytes:
        """A transparent PNG overlay of a segment/binary mask sample, fitting ``size``."""
        size = max(16, min(int(size), 2048))
        h = self.handle(version)
        key = ("mask", h.token, tensor, index, size)
        got = self._cache.get(key)
        if got is not None:
            return got[0]
        with h.lock:
            spec = self._spec(h, tensor, index)
            if _kind(spec) != "mask":
                raise ApiError(400, f"tensor {tensor!r} ({spec.htype}) is not a mask")
            arr = np.asarray(h.ds[tensor][index].numpy())
        if arr.ndim < 2:
            raise ApiError(400, f"row {index} of {tensor!r} has shape {arr.shape}: not a mask")
        png = render.mask_overlay(arr, spec.htype, size)
        self._cache.put(key, (png, "image/png"))
        return png

    def media(self, tensor: str, index: int, version: str | None = None) -> Media:
        """Audio/video bytes of a sample: the stored file unchanged, or WAV made from raw audio."""
        h = self.handle(version)
        with h.lock:
            spec = self._spec(h, tensor, index)
            kind = _kind(spec)
            if kind not in ("audio", "video"):
                raise ApiError(400, f"tensor {tensor!r} ({spec.htype}) holds no audio or video")
            if spec.layout == "blob":
                ctype = render.MEDIA_TYPES.get(spec.sample_compression or "", "application/octet-stream")
                src = read.blob_source(h.ds._core, spec, index)
                if isinstance(src, bytes):
                    return _bytes_media(src, ctype)
                size = src.seek(0, 2)
                return Media(size, ctype, _file_reader(src, h.lock))
            if kind == "video":
                raise ApiError(400, f"tensor {tensor!r} stores raw frames: no video file to play")
            key = ("wav", h.token, tensor, index)
            got = self._cache.get(key)
            if got is None:
                rate = h.ds._core.manifest.tensor_info.get(tensor, {}).get("sample_rate", 16000)
                got = (render.wav_bytes(h.ds[tensor][index].numpy(), int(rate)), "audio/wav")
                self._cache.put(key, got)
            return _bytes_media(got[0], got[1])


def _bytes_media(data: bytes, ctype: str) -> Media:
    def chunks(start: int, end: int) -> Iterator[bytes]:
        yield data[start:end]

    return Media(len(data), ctype, chunks)


def _file_reader(f: Any, lock: threading.RLock) -> Callable[[int, int], Iterator[bytes]]:
    def chunks(start: int, end: int) -> Iterator[bytes]:
        pos = start
        while pos < end:
            with lock:
                f.seek(pos)
                data = f.read(min(1 << 20, end - pos))
            if not data:
                return
            pos += len(data)
            yield data

    return chunks


# -- cells: what the page shows of one sample ---------------------------------------------
_GRID_TEXT, _DETAIL_TEXT = 200, 100_000
_GRID_VALUES, _DETAIL_VALUES = 16, 4096


def _read_cells(core: Any, spec: TensorSpec, positions: np.ndarray, detail: bool) -> list[dict[str, Any]]:
    """The cells of one tensor at ``positions``, read in one batch."""
    kind = _kind(spec)
    n = positions.size
    if spec.layout is None:
        return [{"kind": "empty"}] * n
    text_limit = _DETAIL_TEXT if detail else _GRID_TEXT
    if kind in ("image", "video", "audio", "mask"):
        shapes = read.read_shapes(core, spec, positions)
        return [{"kind": kind, "shape": [int(d) for d in s], "stored": spec.layout == "blob"}
                for s in shapes]
    if spec.layout == "text":
        return [{"kind": "text", **render.short_text(v, text_limit)}
                for v in read.read_values(core, spec, positions)]
    if spec.layout == "json":
        return [{"kind": "json", **render.json_text(json.loads(v), text_limit)}
                for v in read.read_values(core, spec, positions)]
    if spec.layout == "strlist":
        return [{"kind": "list", "value": [s[:text_limit] for s in v[:_DETAIL_VALUES if detail else 50]],
                 "length": len(v)} for v in read.read_values(core, spec, positions)]
    values = read.read_numeric(core, spec, positions)
    if spec.layout == "ragged":  # polygons: a list of (k_i, 2) arrays per sample
        return [{"kind": "polygon", "polygons": [render.json_value(p) for p in v[:200]]} for v in values]
    names = core.manifest.tensor_info.get(spec.name, {}).get("class_names") or []
    return [_numeric_cell(kind, np.asarray(v), names, detail) for v in values]


def _numeric_cell(kind: str, a: np.ndarray, names: list[str], detail: bool) -> dict[str, Any]:
    max_values = _DETAIL_VALUES if detail else _GRID_VALUES
    if kind == "label":
        ids = [int(x) for x in a.reshape(-1)[:max_values]]
        return {"kind": "label", "values": ids,
                "names": [str(names[i]) if 0 <= i < len(names) else None for i in ids]}
    if kind == "bbox" and a.ndim == 2 and a.shape[-1] == 4:
        return {"kind": "bbox", "boxes": render.json_value(a[:1000])}
    if kind == "points" and a.ndim == 2 and a.shape[-1] in (2, 3):
        return {"kind": "points", "objects": [render.json_value(a[:1000, :2])]}
    if kind == "keypoints":
        objects = _keypoint_objects(a)
        if objects is not None:
            return {"kind": "keypoints", "objects": render.json_value(objects)}
    if kind == "polygon" and a.ndim in (2, 3) and a.shape[-1] == 2:
        polys = a[None] if a.ndim == 2 else a
        return {"kind": "polygon", "polygons": render.json_value(polys[:200])}
    return render.numeric_summary(a, max_values)


def _keypoint_objects(a: np.ndarray) -> list[np.ndarray] | None:
    """COCO keypoints as one ``(k, 3)`` array of (x, y, visibility) per object. Hub's layout
    is ``(3 * k, objects)``; ``(objects, k, 3)`` and a flat ``(3 * k,)`` are accepted too."""
    if a.ndim == 1 and a.size % 3 == 0:
        return [a.reshape(-1, 3)]
    if a.ndim == 2 and a.shape[0] % 3 == 0:
        return [a[:, j].reshape(-1, 3) for j in range(min(a.shape[1], 200))]
    if a.ndim == 3 and a.shape[-1] == 3:
        return list(a[:200])
    return None
