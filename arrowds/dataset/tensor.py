"""Tensor: one named column of a dataset, or a lazy view of some of its samples."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from arrowds import media
from arrowds.dataset import read
from arrowds.dataset.index import Index
from arrowds.dataset.info import Info
from arrowds.dataset.samples import prepare
from arrowds.errors import DynamicTensorNumpyError, ReadOnlyModeError
from arrowds.format import TensorSpec

if TYPE_CHECKING:
    from arrowds.dataset.core import DatasetCore


class Tensor:
    """Samples of one tensor. Indexing returns views; nothing is read until ``.numpy()``,
    ``.text()``, ``.dict()``, ``.list()``, ``.tobytes()`` or ``.shape`` asks.

    >>> ds.labels[[1, 5, 9]].numpy()            # doctest: +SKIP
    array([[3], [0], [7]], dtype=uint32)
    """

    def __init__(self, core: DatasetCore, name: str, index: Index = Index(),
                 dataset_index: Index = Index(), sub: tuple[Any, ...] = ()):
        self._core = core
        self.name = name
        self._index = index
        self._dataset_index = dataset_index
        self._sub = sub

    # -- metadata ------------------------------------------------------------------------
    @property
    def key(self) -> str:
        return self.name

    @property
    def spec(self) -> TensorSpec:
        return self._core.spec(self.name)

    @property
    def meta(self) -> TensorSpec:
        """The tensor's stored description: htype, dtype, compressions, layout, shape bounds."""
        return self.spec

    @property
    def htype(self) -> str:
        return self.spec.htype

    @property
    def dtype(self) -> np.dtype | None:
        d = self.spec.dtype
        if d is None or d in ("str", "json", "list"):
            return np.dtype(object) if d in ("json", "list") else (np.dtype(str) if d == "str" else None)
        return np.dtype(d)

    @property
    def sample_compression(self) -> str | None:
        return self.spec.sample_compression

    @property
    def chunk_compression(self) -> str | None:
        return self.spec.chunk_compression

    @property
    def info(self) -> Info:
        """Persisted, versioned metadata of the tensor (``class_names`` for labels)."""
        core, name = self._core, self.name
        return Info(lambda: core.manifest.tensor_info.get(name, {}),
                    lambda d: _write_info(core, name, d))

    @property
    def is_view(self) -> bool:
        return not (self._index.is_full and self._dataset_index.is_full)

    # -- selection -----------------------------------------------------------------------
    def _basis(self) -> tuple[int, Index]:
        if self._dataset_index.is_full:
            return self._core.length(self.name), self._index
        from arrowds.dataset.dataset import dataset_length

        entries = self._dataset_index.entries + self._index.entries
        return dataset_length(self._core), Index(entries)

    def _positions(self) -> tuple[np.ndarray, bool]:
        n, idx = self._basis()
        return idx.positions(n, f"tensor {self.name!r}"), idx.is_scalar

    def __len__(self) -> int:
        n, idx = self._basis()
        if idx.is_scalar:
            raise TypeError(f"a single sample of tensor {self.name!r} has no len(); use .shape")
        return idx.length(n)

    def __getitem__(self, item: Any) -> Tensor:
        if self._index.is_scalar or self._dataset_index.is_scalar and self._index.is_full:
            sub = item if isinstance(item, tuple) else (item,)
            return Tensor(self._core, self.name, self._index, self._dataset_index, self._sub + sub)
        rest: tuple[Any, ...] = ()
        if isinstance(item, tuple):
            item, rest = item[0], item[1:]
        return Tensor(self._core, self.name, self._index[item], self._dataset_index, rest)

    def __iter__(self) -> Iterator[Tensor]:
        for i in range(len(self)):
            yield self[i]

    # -- reads ---------------------------------------------------------------------------
    def numpy(self, aslist: bool = False, fetch_chunks: bool = False, *,
              min_size: int | tuple[int, int] | None = None) -> np.ndarray | list[Any]:
        """The selected samples as one array (``(n, *sample_shape)``), or a list of arrays
        with ``aslist=True`` (needed when shapes differ). A single index gives one sample.

        ``min_size=(height, width)`` is a decode hint for jpeg images that will be resized
        down anyway: each decodes at the smallest reduced scale (k/8) that keeps at least
        that size, so the arrays may be smaller than ``.shape`` says; other
        formats decode whole.

        >>> ds.images[0].numpy(min_size=224).shape      # a 1024x768 jpeg  # doctest: +SKIP
        (384, 512, 3)
        """
        spec = self.spec
        hint = read.min_size_of(min_size)
        positions, scalar = self._positions()
        if scalar and self._sub:
            part = read.decode_part(self._core, spec, int(positions[0]), self._sub)
            if part is not None:
                return part
        if spec.layout is None:
            samples: Any = [np.zeros((0,), spec.dtype or "float64")] * positions.size
        elif spec.layout in ("scalar", "fixed", "list", "ragged"):
            samples = read.read_numeric(self._core, spec, positions)
        elif spec.layout == "blob":
            raw = read.read_values(self._core, spec, positions)
            samples = read.decode_many(spec, raw, positions, hint)
        elif spec.layout == "text":
            samples = [np.array([s]) for s in read.read_values(self._core, spec, positions)]
        elif spec.layout == "json":
            samples = [_object_array(json.loads(s)) for s in read.read_values(self._core, spec, positions)]
        else:
            samples = [np.array(v, dtype=str) for v in read.read_values(self._core, spec, positions)]
        if scalar:
            return self._apply_sub(samples[0])
        if self._sub:
            samples = [self._apply_sub(s) for s in samples]
        if aslist:
            return list(samples)
        return self._stack(samples, spec)

    def _apply_sub(self, sample: Any) -> Any:
        if not self._sub:
            return sample
        if isinstance(sample, list):  # ragged: a list of arrays, indexed first by array
            first, rest = self._sub[0], self._sub[1:]
            if isinstance(first, slice):
                return [a[rest] if rest else a for a in sample[first]]
            return sample[first][rest] if rest else sample[first]
        return sample[self._sub]

    def _stack(self, samples: Any, spec: TensorSpec) -> np.ndarray:
        if isinstance(samples, np.ndarray):
            return samples
        if spec.layout == "ragged" and samples and not isinstance(samples[0], np.ndarray):
            samples = [_stack_ragged(s, spec.dtype) for s in samples]
            if any(s is None for s in samples):
                raise DynamicTensorNumpyError(
                    f"Tensor {self.name!r} with index = {self._basis()[1]} holds polygons with "
                    "different numbers of points and cannot be converted into a `np.ndarray`. "
                    "Try setting the parameter `aslist=True`")
        if not samples:
            return np.zeros((0,), spec.dtype if spec.dtype not in (None, "str", "json", "list") else object)
        first = samples[0].shape
        if any(s.shape != first for s in samples):
            raise DynamicTensorNumpyError(
                f"Tensor {self.name!r} with index = {self._basis()[1]} has dynamic 'shape' and "
                "cannot be converted into a `np.ndarray`. Try setting the parameter `aslist=True`")
        return np.stack(samples)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        arr = self.numpy()
        return arr if dtype is None else arr.astype(dtype)

    def tobytes(self) -> bytes | list[bytes]:
        """The stored bytes of media samples (the compressed file bytes, as appended)."""
        spec = self.spec
        if spec.layout != "blob":
            raise TypeError(f"tensor {self.name!r} stores no compressed media ({spec.htype})")
        positions, scalar = self._positions()
        vals = read.read_values(self._core, spec, positions)
        return vals[0] if scalar else vals

    def _appendable(self) -> Any:
        """The selected samples (one, or a list) in the form ``append`` takes back without loss:
        stored media bytes (not re-encoded when the target has the same compression), str and
        JSON values, class labels as this tensor (mapped by name), arrays."""
        spec = self.spec
        if spec.layout == "blob":
            return self.tobytes()
        if spec.layout in ("text", "json", "strlist"):
            return self.data()["value"]
        if spec.htype == "class_label":
            return self
        return self.numpy(aslist=True)

    def _values(self, layout: str, what: str) -> Any:
        spec = self.spec
        if spec.layout != layout:
            raise TypeError(f".{what}() reads {layout} tensors; tensor {self.name!r} is {spec.htype}")
        positions, scalar = self._positions()
        vals = read.read_values(self._core, spec, positions)
        if layout == "json":
            vals = [json.loads(v) for v in vals]
        return vals[0] if scalar else vals

    def text(self) -> str | list[str]:
        """Samples of a text tensor as str (one) or list of str."""
        return self._values("text", "text")

    def dict(self) -> Any:
        """Samples of a json tensor as Python values (one) or a list of them."""
        return self._values("json", "dict")

    def list(self) -> list[str] | list[list[str]]:
        """Samples of a list tensor."""
        return self._values("strlist", "list")

    def data(self, aslist: bool = True) -> dict[str, Any]:
        """The samples in their natural Python form, as Hub gives them: ``{"value": ...}``
        (str, JSON values, lists of str, or arrays: a list of them unless ``aslist=False``),
        and for class labels ``"text"``, the class name of each id (None for an id past
        ``info.class_names``): ``ds.labels[0].data()`` -> ``{'value': array([0]),
        'text': ['cat']}``."""
        layout = self.spec.layout
        if layout in ("text", "json", "strlist"):
            return {"value": self._values(layout, "data")}
        value = self.numpy(aslist=aslist)
        out = {"value": value}
        if self.spec.htype == "class_label":
            names = list(self.info.get("class_names", []))

            def text(ids: Any) -> list[str | None]:
                return [names[i] if 0 <= i < len(names) else None for i in np.asarray(ids).ravel().tolist()]

            out["text"] = text(value) if self._positions()[1] else [text(a) for a in value]
        return out

    def _one(self, what: str) -> tuple[TensorSpec, int]:
        positions, scalar = self._positions()
        if not scalar:
            raise TypeError(f".{what} is for one sample: index it first, e.g. ds.{self.name}[0].{what}")
        return self.spec, int(positions[0])

    @property
    def timestamps(self) -> np.ndarray:
        """Presentation time (seconds) of every frame of one video sample; nothing is decoded."""
        spec, position = self._one("timestamps")
        if spec.layout != "blob" or media.get_codec(spec.sample_compression).kind != "video":
            raise TypeError(f"tensor {self.name!r} holds no compressed video")
        codec = media.get_codec(spec.sample_compression)
        return codec.timestamps(read.blob_source(self._core, spec, position))

    @property
    def sample_info(self) -> dict[str, Any]:
        """What one sample's header says: shape, format, and rate/fps/duration for audio/video."""
        spec, position = self._one("sample_info")
        shape = tuple(int(d) for d in read.read_shapes(self._core, spec, np.array([position]))[0])
        out: dict[str, Any] = {"shape": shape, "format": spec.sample_compression}
        if spec.layout == "blob":
            codec = media.get_codec(spec.sample_compression)
            if codec.kind in ("audio", "video"):
                out.update(codec.info(read.blob_source(self._core, spec, position)))
        return out

    @property
    def shape(self) -> tuple[int | None, ...]:
        """``(n, *sample_shape)`` with None for dimensions that vary; for one sample, its shape
        (read from the stored shape, without decoding media)."""
        spec = self.spec
        n, idx = self._basis()
        if spec.layout is None:
            return (0,) if not idx.is_scalar else ()
        if idx.is_scalar or self.is_view:
            positions = idx.positions(n, f"tensor {self.name!r}")
            shapes = read.read_shapes(self._core, spec, positions)
            if idx.is_scalar:
                return tuple(int(d) for d in shapes[0]) if not self._sub else self.numpy().shape
            if not len(positions):
                return (0, *self._bounds_dims(spec))
            return (len(positions), *_merge(shapes))
        return (n, *self._bounds_dims(spec))

    @staticmethod
    def _bounds_dims(spec: TensorSpec) -> tuple[int | None, ...]:
        if spec.min_shape is None:
            return ()
        return tuple(lo if lo == hi else None for lo, hi in zip(spec.min_shape, spec.max_shape))

    @property
    def shape_interval(self) -> str:
        """Shape bounds as text: ``(30, 32:48, 48, 3)``."""
        spec = self.spec
        n = len(self)
        if spec.min_shape is None:
            return f"({n},)"
        dims = [str(a) if a == b else f"{a}:{b}" for a, b in zip(spec.min_shape, spec.max_shape)]
        return f"({', '.join([str(n), *dims])})"

    @property
    def is_dynamic(self) -> bool:
        return any(d is None for d in self.shape[1:])

    @property
    def ndim(self) -> int | None:
        return self.spec.ndim

    # -- writes --------------------------------------------------------------------------
    def _check_full(self, what: str) -> None:
        if self.is_view:
            raise ValueError(f"cannot {what} a view of tensor {self.name!r}; use the whole tensor")

    def append(self, sample: Any) -> None:
        """Append one sample at the end of the tensor."""
        self.extend([sample])

    def extend(self, samples: Any, progressbar: bool = False) -> None:
        """Append several samples (a list, or an array whose first axis runs over samples)."""
        self._check_full("extend")
        core = self._core
        with core.writing():
            prep = prepare(core.spec(self.name), samples, core.manifest.tensor_info.get(self.name, {}),
                           core.length(self.name))
            core.append({self.name: prep})

    def __setitem__(self, item: Any, value: Any) -> None:
        self[item]._assign(value)

    def _assign(self, value: Any) -> None:
        core = self._core
        core.check_writable()
        if self._sub:
            raise ValueError(f"cannot assign into part of a sample of tensor {self.name!r}")
        positions, scalar = self._positions()
        values = [value] if scalar else list(value)
        if len(values) != positions.size:
            raise ValueError(f"cannot assign {len(values)} samples to {positions.size} positions "
                             f"of tensor {self.name!r}")
        with core.writing():
            spec = core.spec(self.name)
            prep = prepare(spec, np.asarray(values) if isinstance(value, np.ndarray) and not scalar
                           else values, core.manifest.tensor_info.get(self.name, {}), int(positions[0]))
            core.manifest = core.manifest.with_spec(prep.spec)
            if prep.class_names is not None:
                core.set_info(self.name, {**core.manifest.tensor_info.get(self.name, {}),
                                          "class_names": prep.class_names})
            samples = prep.as_samples()
            core.update(self.name, positions, samples)

    def __repr__(self) -> str:
        idx = "" if not self.is_view else f", index={self._basis()[1]}"
        return f"Tensor(key={self.name!r}{idx})"


def _stack_ragged(sample: list[np.ndarray], dtype: Any) -> np.ndarray | None:
    """One ragged sample as an ``(arrays, points, d)`` array when its arrays agree, else None."""
    if not sample:
        return np.zeros((0, 0, 2), dtype)
    if any(a.shape != sample[0].shape for a in sample):
        return None
    return np.stack(sample)


def _merge(shapes: np.ndarray) -> tuple[int | None, ...]:
    if shapes.size == 0:
        return ()
    lo, hi = shapes.min(axis=0), shapes.max(axis=0)
    return tuple(int(a) if a == b else None for a, b in zip(lo, hi))


def _object_array(value: Any) -> np.ndarray:
    out = np.empty(1, dtype=object)
    out[0] = value
    return out


def _write_info(core: DatasetCore, name: str, d: dict[str, Any]) -> None:
    if core.read_only:
        raise ReadOnlyModeError(f"({core.storage.url} is open read-only)")
    with core.writing():
        core.set_info(name, d)
