"""``ads.features``: what a builder's examples hold, each feature mapped onto one tensor htype.

A feature validates and encodes one value of an example (``encode``), turns a batch of encoded
values into its tensor's *stored* Arrow columns (``to_encoded``: the layout of docs/format.md,
which the writer spills and then hands to the dataset as they are, so an example is checked and
encoded once), takes a column of a yielded ``pyarrow.RecordBatch`` the same way without
per-value Python work where the type allows (``encode_arrow``) and round-trips through JSON
(``features.json``), so a prepared dataset reopens without the builder's code.

    features = FeaturesDict({
        "image": Image(shape=(28, 28, 1)),          # -> htype image, png
        "label": ClassLabel(names=["no", "yes"]),   # -> htype class_label
        "objects": Sequence({"bbox": BBoxFeature(), "kind": ClassLabel(num_classes=3)}),
    })

* ``Image(shape, encoding_format)`` -> ``image``, ``sample_compression`` = the format (png for arrays)
* ``ClassLabel(names=/num_classes=/names_file=)`` -> ``class_label`` with ``class_names``
* ``Text()`` -> ``text``
* ``Tensor(shape, dtype)`` -> ``generic`` with ``shape=`` (``None`` dims vary)
* ``Scalar(dtype)`` -> ``generic``, one value per sample
* ``Audio(sample_rate, file_format)`` -> ``audio``, ``sample_rate`` in its info; raw float samples,
  or wav/flac/mp3 files with ``file_format``
* ``Video(shape, encoding_format)`` -> ``video``: raw T x H x W x C uint8, or mp4/mkv/avi files
* ``BBoxFeature()`` -> ``bbox``, one box stored as shape ``(1, 4)`` (Hub's bbox is N x 4)
* ``Sequence(f)`` -> ``f``'s htype with a leading varying dim; of ``Text``: ``list``; of a dict: a group;
  of ``Image``: ``video`` (raw ``N x H x W x C`` frames, as TFDS's ``Video`` is a sequence of images)
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from arrowds import media
from arrowds.dataset.encoded import Encoded
from arrowds.errors import UnsupportedCompressionError

__all__ = [
    "Audio",
    "BBox",
    "BBoxFeature",
    "ClassLabel",
    "FeatureConnector",
    "FeaturesDict",
    "Image",
    "Scalar",
    "Sequence",
    "Tensor",
    "Text",
    "Video",
    "from_json",
]

Shape = tuple[int | None, ...]


class FeatureConnector:
    """One feature: one tensor of the prepared dataset.

    Subclasses set ``htype`` and ``layout`` (the stored layout of their tensor) and implement
    ``encode`` (one value -> a validated, encoded value), ``to_encoded`` (a batch of ``_cell``
    results -> the stored columns) and ``_json_args``.
    """

    htype: str = "generic"
    layout: str = "scalar"

    def tensor_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``ds.create_tensor`` for this feature's tensor."""
        return {"htype": self.htype}

    def encode(self, value: Any) -> Any:
        raise NotImplementedError

    def _cell(self, value: Any) -> Any:
        """What the writer buffers for one value: ``encode``'s result, plus anything
        ``to_encoded`` needs (an image's shape)."""
        return self.encode(value)

    def to_encoded(self, cells: list[Any]) -> Encoded:
        """A batch of ``_cell`` results as the tensor's stored Arrow columns."""
        raise NotImplementedError

    def encoded(self, data: pa.Array, shapes: pa.Array | None = None,
                compression: str | None = None) -> Encoded:
        """Stored columns (as ``to_encoded`` made them, e.g. read back from a spill file)."""
        return Encoded(self.layout, data, shapes)

    def encode_arrow(self, array: pa.Array) -> Encoded:
        """A column of a ``pyarrow.RecordBatch`` yielded by a builder, validated and encoded."""
        return self.to_encoded([self._cell(v) for v in array.to_pylist()])

    # -- JSON ---------------------------------------------------------------------------
    def _json_args(self) -> dict[str, Any]:
        return {}

    def to_json(self) -> dict[str, Any]:
        return {"type": type(self).__name__, **self._json_args()}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._json_args().items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.to_json() == self.to_json()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(repr(self))


def _shape_json(shape: Shape | None) -> list[int | None] | None:
    return None if shape is None else list(shape)


def _shape_array(shapes: np.ndarray) -> pa.Array:
    """An ``(n, ndim)`` int array as a stored shape column (``FixedSizeList<int32, ndim>``)."""
    flat = pa.array(np.ascontiguousarray(shapes, np.int32).reshape(-1), pa.int32())
    return pa.FixedSizeListArray.from_arrays(flat, shapes.shape[1])


def _numeric_lists(array: pa.Array) -> tuple[np.ndarray | None, list[np.ndarray]]:
    """A numeric column, or a column of (nested) lists of numbers, as ``(flat values, values per
    row at each list level)``; ``(None, [])`` when it is neither or holds nulls."""
    levels: list[np.ndarray] = []
    bounds: np.ndarray | None = None  # each row's first value, then the end, at the current level
    while pa.types.is_list(array.type) or pa.types.is_large_list(array.type) \
            or pa.types.is_fixed_size_list(array.type):
        if array.null_count:
            return None, []
        if pa.types.is_fixed_size_list(array.type):
            offsets = np.arange(len(array) + 1, dtype=np.int64) * array.type.list_size
        else:
            offsets = np.asarray(array.offsets.to_numpy(), np.int64)
            offsets = offsets - offsets[0]
        levels.append(np.diff(offsets))
        bounds = offsets if bounds is None else offsets[bounds]
        array = array.flatten()
    numeric = pa.types.is_integer(array.type) or pa.types.is_floating(array.type) \
        or pa.types.is_boolean(array.type)
    if not numeric or array.null_count:
        return None, []
    return array.to_numpy(zero_copy_only=False), levels


def _fits(shape: tuple[int, ...], want: Shape) -> bool:
    return len(shape) == len(want) and all(w is None or w == s for s, w in zip(shape, want))


def _cast(arr: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``arr`` as ``dtype`` when no value changes (ints that fit, numbers to floats)."""
    if arr.dtype == dtype:
        return arr
    if arr.dtype.kind in "OUSV" and dtype.kind not in "OUSV":
        raise ValueError(f"cannot store {arr.dtype} value {arr!r} as {dtype}")
    if np.can_cast(arr.dtype, dtype, "safe") or (arr.dtype.kind in "iuf" and dtype.kind == "f"):
        return arr.astype(dtype)
    if arr.dtype.kind in "iub" and dtype.kind in "iub":
        out = arr.astype(dtype)
        if np.array_equal(out.astype(arr.dtype), arr):
            return out
    raise ValueError(f"cannot store {arr.dtype} values as {dtype} without changing them")


# -- numeric tensors -------------------------------------------------------------------------
class Tensor(FeatureConnector):
    """An N-d array of ``dtype``; ``None`` dims vary between examples. Tensor -> ``generic``.

    >>> Tensor(shape=(None, 3), dtype="float32").encode([[1, 2, 3]]).shape
    (1, 3)
    """

    htype = "generic"

    def __init__(self, *, shape: Shape, dtype: Any):
        self.shape: Shape = tuple(None if d is None or d == -1 else int(d) for d in shape)
        self.dtype = np.dtype(dtype)

    @property
    def fixed(self) -> bool:
        return all(d is not None for d in self.shape)

    @property
    def layout(self) -> str:  # type: ignore[override]
        return "scalar" if not self.shape else "fixed" if self.fixed else "list"

    def encoded(self, data: pa.Array, shapes: pa.Array | None = None,
                compression: str | None = None) -> Encoded:
        return Encoded(self.layout, data, shapes, dtype=self.dtype.name,
                       shape=tuple(self.shape) if self.fixed and self.shape else None)  # type: ignore[arg-type]

    def tensor_kwargs(self) -> dict[str, Any]:
        kw: dict[str, Any] = {"htype": self.htype, "dtype": self.dtype.name}
        if self.shape:
            kw["shape"] = self.shape
        return kw

    def _to_array(self, value: Any) -> np.ndarray:
        if isinstance(value, np.ndarray):
            return value
        arr = np.asarray(value)
        return arr.astype(self.dtype) if arr.size == 0 else arr  # [] is float64 to NumPy

    def encode(self, value: Any) -> Any:
        if not self.shape and type(value) is int and self.dtype.kind in "iu":
            info = np.iinfo(self.dtype)
            if info.min <= value <= info.max:
                return value  # the common case, without NumPy: a Python int that fits
        arr = _cast(self._to_array(value), self.dtype)
        if not _fits(arr.shape, self.shape):
            raise ValueError(f"Shape {arr.shape} was incompatible with {self.shape}")
        return arr

    def to_encoded(self, cells: list[Any]) -> Encoded:
        atype = pa.from_numpy_dtype(self.dtype)
        if not self.shape:
            return self.encoded(pa.array(np.asarray(cells, self.dtype), atype))
        if self.fixed:
            width = int(np.prod(self.shape))
            flat = np.stack(cells).reshape(-1) if cells else np.zeros(0, self.dtype)
            return self.encoded(pa.FixedSizeListArray.from_arrays(pa.array(flat, atype), width))
        flat = np.concatenate([v.reshape(-1) for v in cells]) if cells else np.zeros(0, self.dtype)
        offsets = np.zeros(len(cells) + 1, np.int64)
        np.cumsum([v.size for v in cells], out=offsets[1:])
        data = pa.LargeListArray.from_arrays(pa.array(offsets), pa.array(flat, atype))
        shapes = np.array([v.shape for v in cells], np.int32).reshape(len(cells), len(self.shape))
        return self.encoded(data, _shape_array(shapes))

    def encode_arrow(self, array: pa.Array) -> Encoded:
        flat, levels = _numeric_lists(array)
        if flat is not None and self.fixed:
            if not self.shape and not levels:
                return self.encoded(pa.array(self._checked(flat).reshape(-1)))
            width = int(np.prod(self.shape))
            # one list level of `width` values, or one level per dimension of the shape
            fits = (len(levels) == 1 and (levels[0] == width).all()) or (
                len(levels) == len(self.shape) and all((n == d).all() for n, d in zip(levels, self.shape)))
            if self.shape and fits:
                values = pa.array(self._checked(flat).reshape(-1))
                return self.encoded(pa.FixedSizeListArray.from_arrays(values, width))
        return super().encode_arrow(array)

    def _checked(self, flat: np.ndarray) -> np.ndarray:
        """A column's values checked and cast as ``encode`` would, all at once."""
        return _cast(self._to_array(flat), self.dtype)

    def _json_args(self) -> dict[str, Any]:
        return {"shape": _shape_json(self.shape), "dtype": self.dtype.name}


class Scalar(Tensor):
    """One number per example: ``Scalar(np.int64)`` or ``Scalar("float32")``."""

    def __init__(self, dtype: Any = np.int64):
        super().__init__(shape=(), dtype=dtype)

    def _json_args(self) -> dict[str, Any]:
        return {"dtype": self.dtype.name}


class ClassLabel(Tensor):
    """An integer label with names, given as ``names``, ``num_classes`` or ``names_file``
    (one name per line). Examples may hold the name or the index. -> ``class_label``."""

    htype = "class_label"

    def __init__(self, *, names: list[str] | None = None, num_classes: int | None = None,
                 names_file: str | os.PathLike[str] | None = None):
        super().__init__(shape=(), dtype=np.uint32)
        given = [x is not None for x in (names, num_classes, names_file)]
        if sum(given) != 1:
            raise ValueError("ClassLabel takes exactly one of names=, num_classes= or names_file=")
        if names_file is not None:
            names = [n.strip() for n in Path(names_file).read_text().splitlines() if n.strip()]
        if names is not None:
            names = [str(n) for n in names]
            if len(set(names)) != len(names):
                raise ValueError(f"ClassLabel names must be unique, got {names}")
            self.names = names
        else:
            self.names = [str(k) for k in range(int(num_classes))]  # type: ignore[arg-type]
        self._index = {n: k for k, n in enumerate(self.names)}

    @property
    def num_classes(self) -> int:
        return len(self.names)

    def set_names(self, names: list[str]) -> None:
        """Replace the names: a builder may read them from downloaded files in
        ``_split_generators``, before any example is encoded."""
        names = [str(n) for n in names]
        if len(set(names)) != len(names):
            raise ValueError(f"ClassLabel names must be unique, got {names}")
        self.names = names
        self._index = {n: k for k, n in enumerate(names)}

    def str2int(self, name: str) -> int:
        try:
            return self._index[name]
        except KeyError:
            raise ValueError(f"Invalid string class label {name!r}; known: {self.names}") from None

    def int2str(self, index: int) -> str:
        if not 0 <= int(index) < self.num_classes:
            raise ValueError(f"Invalid integer class label {index}; must be in [0, {self.num_classes})")
        return self.names[int(index)]

    def tensor_kwargs(self) -> dict[str, Any]:
        kw = super().tensor_kwargs()
        kw["class_names"] = list(self.names)
        return kw

    def encode(self, value: Any) -> Any:
        if type(value) is int:
            if not 0 <= value < self.num_classes:
                raise ValueError(f"class label {value!r} is not an integer in [0, {self.num_classes})")
            return value
        if type(value) is str:
            return self.str2int(value)
        return super().encode(value)

    def _to_array(self, value: Any) -> np.ndarray:
        if isinstance(value, (str, bytes)):
            return np.asarray(self.str2int(value.decode() if isinstance(value, bytes) else value))
        arr = np.asarray(value)
        if arr.dtype.kind in "US":
            return np.asarray([self.str2int(str(v)) for v in arr.reshape(-1)]).reshape(arr.shape)
        if arr.dtype.kind not in "iu" or arr.size and (arr.min() < 0 or arr.max() >= self.num_classes):
            raise ValueError(f"class label {value!r} is not an integer in [0, {self.num_classes})")
        return arr

    def encode_arrow(self, array: pa.Array) -> Encoded:
        if (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)) and not array.null_count:
            index = pc.index_in(array, value_set=pa.array(self.names, array.type))
            if index.null_count:
                self.str2int(array.filter(pc.is_null(index))[0].as_py())  # raises, naming it
            return self.encoded(index.cast(pa.uint32()))
        return super().encode_arrow(array)

    def _json_args(self) -> dict[str, Any]:
        return {"names": list(self.names)}


class BBox(NamedTuple):
    """A box in relative coordinates, TFDS's order (``ymin, xmin, ymax, xmax``)."""

    ymin: float
    xmin: float
    ymax: float
    xmax: float


class BBoxFeature(Tensor):
    """One box ``[ymin, xmin, ymax, xmax]`` in [0, 1] -> ``bbox`` tensor of shape ``(1, 4)``."""

    htype = "bbox"

    def __init__(self) -> None:
        super().__init__(shape=(1, 4), dtype=np.float32)

    def tensor_kwargs(self) -> dict[str, Any]:
        """The tensor says how its boxes read: fractions in TFDS's ``ymin, xmin, ymax, xmax``."""
        return {**super().tensor_kwargs(), "coords": {"type": "fractional", "mode": "TLBR"}}

    def _to_array(self, value: Any) -> np.ndarray:
        arr = np.asarray(value, np.float32).reshape(-1, 4)
        if arr.size and (arr.min() < 0 or arr.max() > 1):
            raise ValueError(f"BBox coordinates should be in [0, 1], got {arr.tolist()}")
        if (arr[:, 0] > arr[:, 2]).any() or (arr[:, 1] > arr[:, 3]).any():
            raise ValueError(f"BBox min should be <= max, got {arr.tolist()}")
        return arr

    def _json_args(self) -> dict[str, Any]:
        return {}


def _media_format(kind: str, fmt: str, media_kind: str) -> str:
    """The canonical name of an audio/video ``fmt``; ValueError naming the formats there are."""
    try:
        codec = media.get_codec(fmt)
    except UnsupportedCompressionError:
        codec = None
    if codec is None or codec.kind != media_kind:
        known = [n for n in media.codec_names() if media.get_codec(n).kind == media_kind]
        raise ValueError(f"{kind} format {fmt!r} is not one arrowds has a codec for; use one of {known}, "
                         f"or None to store raw arrays")
    return codec.name


def _file_bytes(value: Any) -> bytes | None:
    """The bytes of a path, file object or bytes value; None for anything else (an array)."""
    if isinstance(value, (str, os.PathLike)):
        return Path(value).read_bytes()
    if isinstance(value, io.IOBase) or hasattr(value, "read"):
        return value.read()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    return None


_BytesShape = tuple[bytes, tuple[int, ...]]


class _MediaFile:
    """Audio/Video with a file format: stored as the file's bytes in a ``blob`` column, shape from
    the container's header. Files in the format are kept as they are, others transcoded."""

    fmt: str | None
    kind: str
    htype: str

    # With a file format these replace the raw-array Tensor behaviour (reached through super()).
    @property
    def layout(self) -> str:
        return "blob" if self.fmt else super().layout  # type: ignore[misc]

    def tensor_kwargs(self) -> dict[str, Any]:
        if self.fmt:
            return {"htype": self.htype, "sample_compression": self.fmt}
        return {**super().tensor_kwargs(), "sample_compression": None}  # type: ignore[misc]

    def encode(self, value: Any) -> Any:
        return self._file_cell(value)[0] if self.fmt else super().encode(value)  # type: ignore[misc]

    def _cell(self, value: Any) -> Any:
        return self._file_cell(value) if self.fmt else super().encode(value)  # type: ignore[misc]

    def to_encoded(self, cells: list[Any]) -> Encoded:
        return self._media_encoded(cells) if self.fmt else super().to_encoded(cells)  # type: ignore[misc]

    def encoded(self, data: pa.Array, shapes: pa.Array | None = None,
                compression: str | None = None) -> Encoded:
        if self.fmt:
            return Encoded("blob", data, shapes, compression=self.fmt)
        return super().encoded(data, shapes, compression)  # type: ignore[misc]

    def encode_arrow(self, array: pa.Array) -> Encoded:
        if self.fmt:
            return self.to_encoded([self._cell(v) for v in array.to_pylist()])
        return super().encode_arrow(array)  # type: ignore[misc]

    def _file_cell(self, value: Any) -> tuple[bytes, tuple[int, ...], str]:
        assert self.fmt is not None
        codec = media.get_codec(self.fmt)
        data = _file_bytes(value)
        if data is None:
            data, shape = self._encode_array(np.asarray(value))
            return data, shape, self.fmt
        got = media.sniff_compression(data)
        if got != self.fmt:
            if got is None or media.get_codec(got).kind != self.kind:
                raise ValueError(f"{self.kind} bytes of unknown format (start {data[:12]!r})")
            self._check_file(got, data)
            source = media.get_codec(got)
            data, shape = self._encode_array(source.decode(data), source.info(data))
            return data, shape, self.fmt
        self._check_file(self.fmt, data)
        shape, _ = codec.header(data)
        return data, self._checked_shape(tuple(int(d) for d in shape)), self.fmt

    def _media_encoded(self, cells: list[Any]) -> Encoded:
        ndim = 2 if self.kind == "audio" else 4
        shapes = np.array([c[1] for c in cells], np.int32).reshape(len(cells), ndim)
        return Encoded("blob", pa.array([c[0] for c in cells], pa.binary()), _shape_array(shapes),
                       compression=self.fmt)

    def _encode_array(self, arr: np.ndarray, info: dict[str, Any] | None = None) -> _BytesShape:
        raise NotImplementedError

    def _check_file(self, fmt: str, data: bytes) -> None:
        """Checks a file's properties (an audio file's sample rate)."""

    def _checked_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        return shape


class Audio(_MediaFile, Tensor):
    """A waveform: ``(None,)`` or ``(None, channels)`` samples of ``dtype``, stored raw in an
    ``audio`` tensor with ``sample_rate`` in its info; with ``file_format`` (``wav``, ``flac``,
    ``mp3``) stored as audio files instead (arrays are encoded at ``sample_rate``, files kept
    as they are or transcoded; every file must be sampled at ``sample_rate`` when it is given),
    decoding to float32 ``(samples, channels)``."""

    htype = "audio"
    kind = "audio"

    def __init__(self, *, sample_rate: int | None = None, file_format: str | None = None,
                 shape: Shape = (None,), dtype: Any = np.float32):
        self.fmt = None if file_format is None else _media_format("Audio", file_format, "audio")
        super().__init__(shape=shape, dtype=dtype)
        if self.fmt is not None and self.dtype != np.float32:
            raise ValueError(f"Audio(file_format={self.fmt!r}) decodes to float32, not {self.dtype}")
        self.sample_rate = sample_rate

    def tensor_kwargs(self) -> dict[str, Any]:
        kw = super().tensor_kwargs()
        if self.sample_rate is not None:
            kw["sample_rate"] = int(self.sample_rate)
        return kw

    def _encode_array(self, arr: np.ndarray, info: dict[str, Any] | None = None) -> _BytesShape:
        assert self.fmt is not None
        rate = (info or {}).get("sample_rate") or self.sample_rate
        if rate is None:
            raise ValueError(f"Audio(file_format={self.fmt!r}) needs sample_rate= to encode arrays")
        arr = _cast(arr, np.dtype(np.float32)) if arr.dtype.kind in "iuf" else arr
        codec = media.get_codec(self.fmt)
        data = codec.encode(arr, sample_rate=int(rate))
        return data, tuple(int(d) for d in codec.header(data)[0])

    def _check_file(self, fmt: str, data: bytes) -> None:
        if self.sample_rate is None:
            return
        rate = media.get_codec(fmt).info(data)["sample_rate"]
        if int(rate) != int(self.sample_rate):
            raise ValueError(f"the {fmt} file is sampled at {rate} Hz, the feature at {self.sample_rate} Hz")

    def _json_args(self) -> dict[str, Any]:
        args = {"sample_rate": self.sample_rate, **super()._json_args()}
        if self.fmt:
            args["file_format"] = self.fmt
        return args


class Video(_MediaFile, Tensor):
    """Frames ``T x H x W x C`` uint8, stored raw in a ``video`` tensor; with
    ``encoding_format`` (``mp4``, ``mkv``, ``avi``) stored as video files instead (arrays are
    encoded at 30 fps, lossy; files kept as they are or transcoded)."""

    htype = "video"
    kind = "video"

    def __init__(self, shape: Shape = (None, None, None, 3), encoding_format: str | None = None,
                 dtype: Any = np.uint8):
        self.fmt = None if encoding_format is None else _media_format("Video", encoding_format, "video")
        if len(shape) != 4:
            raise ValueError(f"Video shape must be (T, H, W, C), got {shape}")
        super().__init__(shape=shape, dtype=dtype)

    def _encode_array(self, arr: np.ndarray, info: dict[str, Any] | None = None) -> _BytesShape:
        assert self.fmt is not None
        if arr.dtype != self.dtype:
            raise ValueError(f"video dtype should be {self.dtype}, got {arr.dtype}")
        shape = self._checked_shape(tuple(int(d) for d in arr.shape))
        fps = int(round((info or {}).get("fps") or 30))
        return media.get_codec(self.fmt).encode(arr, fps=fps), shape

    def _checked_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        if not _fits(shape, self.shape):
            raise ValueError(f"Shape {shape} was incompatible with {self.shape}")
        return shape

    def _json_args(self) -> dict[str, Any]:
        args: dict[str, Any] = {"shape": _shape_json(self.shape)}
        if self.fmt:
            args["encoding_format"] = self.fmt
        return args


# -- media and text --------------------------------------------------------------------------
class Image(FeatureConnector):
    """An image given as an array, a path, a file object or encoded bytes; stored encoded.

    ``encoding_format`` (``png``, ``jpeg``, ``webp``) is the stored format: arrays are encoded
    to it and files in another format transcoded. ``None`` keeps files' bytes as they are and
    encodes arrays as png. ``shape`` (``None`` dims vary) is checked on every image.
    """

    htype = "image"

    def __init__(self, *, shape: Shape | None = None, dtype: Any = np.uint8,
                 encoding_format: str | None = None):
        self.shape = None if shape is None else tuple(None if d in (None, -1) else int(d) for d in shape)
        self.dtype = np.dtype(dtype)
        if self.shape is not None and len(self.shape) != 3:
            raise ValueError(f"Image shape must be (height, width, channels), got {shape}")
        self.encoding_format = None if encoding_format is None else media.get_codec(encoding_format).name
        self._codec = media.get_codec(self.encoding_format or "png")
        if self.encoding_format is not None and self.encoding_format not in media.IMAGE_COMPRESSIONS:
            raise ValueError(f"{encoding_format!r} is not an image format; use one of "
                             f"{media.IMAGE_COMPRESSIONS}")

    def tensor_kwargs(self) -> dict[str, Any]:
        return {"htype": "image", "sample_compression": self.encoding_format or "auto"}

    def _check_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        if shape == self.shape:  # the common case: a fixed (H, W, C) met exactly
            return shape
        if len(shape) == 2:
            shape = (*shape, 1)
        if len(shape) != 3:
            raise ValueError(f"an image must be H x W or H x W x C, got shape {shape}")
        if self.shape is not None and not _fits(shape, self.shape):
            raise ValueError(f"Shape {shape} was incompatible with {self.shape}")
        return tuple(int(d) for d in shape)

    layout = "blob"

    def encode(self, value: Any) -> bytes:
        return self._cell(value)[0]

    def _cell(self, value: Any) -> tuple[bytes, tuple[int, int, int], str]:
        """``(encoded bytes, (H, W, C), format)``: checked against ``shape`` and ``dtype``."""
        if isinstance(value, (str, os.PathLike)):
            value = Path(value).read_bytes()
        elif isinstance(value, io.IOBase) or hasattr(value, "read"):
            value = value.read()
        if isinstance(value, (bytes, bytearray, memoryview)):
            data = bytes(value)
            fmt = media.sniff_compression(data)
            if fmt not in media.IMAGE_COMPRESSIONS:
                raise ValueError(f"image bytes of unknown format (start {data[:12]!r})")
            if self.encoding_format in (None, fmt):
                shape, dtype = media.get_codec(fmt).header(data)
                if np.dtype(dtype) != self.dtype:
                    raise ValueError(f"image dtype should be {self.dtype}, got {np.dtype(dtype)}")
                return data, self._check_shape(tuple(shape)), fmt
            value = media.get_codec(fmt).decode(data)
        arr = value if isinstance(value, np.ndarray) else np.asarray(value)
        if arr.dtype != self.dtype:
            raise ValueError(f"image dtype should be {self.dtype}, got {arr.dtype}")
        shape = self._check_shape(arr.shape)
        return self._codec.encode(arr), shape, self._codec.name

    def to_encoded(self, cells: list[Any]) -> Encoded:
        fmt = cells[0][2] if cells else self.encoding_format or self._codec.name
        if any(c[2] != fmt for c in cells):  # encoding_format=None and files of several formats
            cells = [c if c[2] == fmt else self._transcoded(c[0], fmt) for c in cells]
        shapes = np.array([c[1] for c in cells], np.int32).reshape(len(cells), 3)
        return Encoded("blob", pa.array([c[0] for c in cells], pa.binary()), _shape_array(shapes),
                       compression=fmt)

    def encoded(self, data: pa.Array, shapes: pa.Array | None = None,
                compression: str | None = None) -> Encoded:
        return Encoded("blob", data, shapes, compression=compression or self.encoding_format)

    def _transcoded(self, data: bytes, fmt: str) -> tuple[bytes, tuple[int, ...], str]:
        arr = media.get_codec(media.sniff_compression(data)).decode(data)
        out = media.get_codec(fmt).encode(arr)
        return out, self._check_shape(arr.shape), fmt

    def with_format(self, enc: Encoded, fmt: str) -> Encoded:
        """``enc`` with every image in ``fmt`` (a split's images share one format)."""
        if enc.compression == fmt:
            return enc
        return self.to_encoded([self._transcoded(b, fmt) for b in enc.data.to_pylist()])

    def encode_arrow(self, array: pa.Array) -> Encoded:
        if not (pa.types.is_binary(array.type) or pa.types.is_large_binary(array.type)) or array.null_count:
            return super().encode_arrow(array)
        cells = [self._cell(b) for b in array.to_pylist()]  # one header parse per image, no copy kept
        if cells and all(c[2] == cells[0][2] for c in cells):
            shapes = np.array([c[1] for c in cells], np.int32).reshape(len(cells), 3)
            return Encoded("blob", array.cast(pa.binary()), _shape_array(shapes), compression=cells[0][2])
        return self.to_encoded(cells)

    def _json_args(self) -> dict[str, Any]:
        return {"shape": _shape_json(self.shape), "dtype": self.dtype.name,
                "encoding_format": self.encoding_format}


class Text(FeatureConnector):
    """A UTF-8 string (``bytes`` are decoded) -> ``text`` tensor."""

    htype = "text"

    def encode(self, value: Any) -> str:
        if isinstance(value, bytes):
            return value.decode("utf-8")
        if not isinstance(value, str):
            raise ValueError(f"Text takes str or bytes, got {type(value).__name__}")
        return value

    layout = "text"

    def to_encoded(self, cells: list[Any]) -> Encoded:
        return Encoded("text", pa.array(cells, pa.string()))

    def encode_arrow(self, array: pa.Array) -> Encoded:
        if (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)) and not array.null_count:
            return Encoded("text", array.cast(pa.string()))
        return super().encode_arrow(array)


class _TextList(FeatureConnector):
    """``Sequence(Text())``: a list of strings per example -> ``list`` tensor."""

    htype = "list"

    def __init__(self, length: int | None = None):
        self.length = length

    def encode(self, value: Any) -> list[str]:
        out = [Text().encode(v) for v in value]
        if self.length is not None and len(out) != self.length:
            raise ValueError(f"Sequence length {len(out)} should be {self.length}")
        return out

    layout = "strlist"

    def to_encoded(self, cells: list[Any]) -> Encoded:
        return Encoded("strlist", pa.array(cells, pa.list_(pa.string())))


# -- containers ------------------------------------------------------------------------------
class Sequence(FeatureConnector):
    """A list of ``feature`` per example (``length`` fixes its size).

    Of a numeric feature: that feature's htype with a leading varying dim (``Sequence(ClassLabel)``
    -> ``class_label`` with ``shape=(None,)``); of ``Text``: a ``list`` tensor; of a dict: one
    sequence per key, given as a dict of lists or a list of dicts. Of ``Image``: a ``video``
    tensor of raw ``N x H x W x C`` frames (TFDS's ``Video`` is a ``Sequence(Image)``); the images
    of one example must share a shape, and are stored decoded (Parquet's zstd compresses them),
    whatever their ``encoding_format``.
    """

    def __init__(self, feature: Any, length: int | None = None):
        self.feature = _as_feature(feature)
        self.length = length
        inner = self.feature
        self._leaf: FeatureConnector | None = None
        if isinstance(inner, Image):
            self._leaf = _ImageSequence(inner, length)
        elif isinstance(inner, Text):
            self._leaf = _TextList(length)
        elif isinstance(inner, Tensor):
            self._leaf = _SequenceOf(inner, length)
        elif isinstance(inner, Sequence) and inner._leaf is not None and isinstance(inner._leaf, Tensor):
            self._leaf = _SequenceOf(inner._leaf, length)
        elif isinstance(inner, FeaturesDict):
            self.children = {k: Sequence(f, length) for k, f in inner.features.items()}
        else:
            raise ValueError(f"Sequence of {inner!r} is not supported")
        self.htype = self._leaf.htype if self._leaf is not None else "group"

    def _json_args(self) -> dict[str, Any]:
        return {"feature": self.feature.to_json(), "length": self.length}


class _ImageSequence(Tensor):
    """The leaf tensor of ``Sequence(Image())``: ``video`` htype, raw frames ``N x H x W x C``."""

    htype = "video"

    def __init__(self, inner: Image, length: int | None):
        hwc = inner.shape or (None, None, None)
        super().__init__(shape=(length, *hwc), dtype=inner.dtype)
        self.inner = inner

    def tensor_kwargs(self) -> dict[str, Any]:
        return {**super().tensor_kwargs(), "sample_compression": None}

    def _to_array(self, value: Any) -> np.ndarray:
        frames = []
        for item in value:
            if isinstance(item, np.ndarray):
                arr = item
            elif isinstance(item, (str, os.PathLike, bytes, bytearray, memoryview, io.IOBase)) \
                    or hasattr(item, "read"):
                data = self.inner.encode(item)  # checks format, shape and dtype from the header
                arr = media.get_codec(media.sniff_compression(data)).decode(data)
            else:
                arr = np.asarray(item)
            if arr.dtype != self.dtype:
                raise ValueError(f"image dtype should be {self.dtype}, got {arr.dtype}")
            frames.append(arr.reshape(self.inner._check_shape(arr.shape)))
        if not frames:
            return np.zeros((0, *(d or 0 for d in self.shape[1:])), self.dtype)
        if any(f.shape != frames[0].shape for f in frames):
            raise ValueError(f"the images of one Sequence(Image) example must share a shape, got "
                             f"{sorted({f.shape for f in frames})}")
        return np.stack(frames)


class _SequenceOf(Tensor):
    """The leaf tensor of ``Sequence(numeric feature)``: the inner htype, one more leading dim."""

    def __init__(self, inner: Tensor, length: int | None):
        # a box is stored (1, 4) alone but a sequence of boxes is (N, 4), Hub's bbox shape
        inner_shape = (4,) if isinstance(inner, BBoxFeature) else inner.shape
        super().__init__(shape=(length, *inner_shape), dtype=inner.dtype)
        self.inner = inner
        self.htype = inner.htype

    def tensor_kwargs(self) -> dict[str, Any]:
        return {**self.inner.tensor_kwargs(), **super().tensor_kwargs()}

    def _to_array(self, value: Any) -> np.ndarray:
        if isinstance(self.inner, BBoxFeature):
            return self.inner._to_array(value)
        if type(self.inner) in (Tensor, Scalar):
            return np.asarray(value, dtype=self.dtype if len(value) == 0 else None)
        items = [self.inner._to_array(v) for v in value]
        if not items:
            return np.zeros((0, *(d or 0 for d in self.inner.shape)), self.dtype)
        return np.stack(items)


class FeaturesDict(FeatureConnector):
    """The top-level dict of features; nested dicts become tensor groups (``"a/b"``).

    ``leaves`` maps each tensor name to its feature; ``encode_example`` checks and encodes one
    example dict, naming the feature on error (TFDS's message).
    """

    htype = "group"

    def __init__(self, features: Mapping[str, Any]):
        self.features: dict[str, FeatureConnector] = {k: _as_feature(f) for k, f in features.items()}
        self.leaves: dict[str, FeatureConnector] = dict(_flatten(self, ""))
        # every feature at the top level is a leaf: encode_example loops over it directly
        self._flat = all(self.leaves.get(k) is f for k, f in self.features.items())

    def __getitem__(self, key: str) -> FeatureConnector:
        return self.features[key]

    def keys(self) -> Any:
        return self.features.keys()

    def items(self) -> Any:
        return self.features.items()

    def encode_example(self, example: Mapping[str, Any]) -> dict[str, Any]:
        """``{tensor name: encoded value}`` of one example; ValueError naming the feature."""
        return self._encode(example, False)

    def encode_cells(self, example: Mapping[str, Any]) -> dict[str, Any]:
        """``{tensor name: cell}``: what the writer buffers (``FeatureConnector._cell``)."""
        return self._encode(example, True)

    def _encode(self, example: Mapping[str, Any], cells: bool) -> dict[str, Any]:
        if not self._flat:
            out: dict[str, Any] = {}
            _encode_into(out, self, example, "", example, cells)
            return out
        try:
            if cells:
                return {k: f._cell(example[k]) for k, f in self.leaves.items()}
            return {k: f.encode(example[k]) for k, f in self.leaves.items()}
        except (KeyError, ValueError, TypeError):
            out = {}
            _encode_into(out, self, example, "", example, cells)  # again, slowly, for the message
            return out

    def create_tensors(self, ds: Any) -> None:
        """Create the tensors of these features in the empty dataset ``ds``."""
        for name, leaf in self.leaves.items():
            ds.create_tensor(name, **leaf.tensor_kwargs())

    def class_labels(self) -> dict[str, ClassLabel]:
        """ClassLabel features by tensor name (the ``<name>.labels.txt`` files)."""
        out = {}
        for name, leaf in self.leaves.items():
            inner = leaf.inner if isinstance(leaf, _SequenceOf) else leaf
            if isinstance(inner, ClassLabel):
                out[name] = inner
        return out

    def _json_args(self) -> dict[str, Any]:
        return {"features": {k: f.to_json() for k, f in self.features.items()}}


class _EncodeError(ValueError):
    pass


def _describe(feature: FeatureConnector) -> str:
    return f"<{type(feature).__name__}>"


def _encode_into(out: dict[str, Any], feature: FeatureConnector, value: Any, name: str,
                 example: Any, cells: bool = False) -> None:
    if isinstance(feature, FeaturesDict) or (isinstance(feature, Sequence) and feature._leaf is None):
        children = feature.features if isinstance(feature, FeaturesDict) else feature.children
        if isinstance(feature, Sequence):
            value = _transpose(value, list(children))
        if not isinstance(value, Mapping):
            raise _EncodeError(f"Failed to encode example:\n{example!r}\nIn {_describe(feature)} with "
                               f"name {name!r}:\nexpected a dict, got {type(value).__name__}")
        for k, f in children.items():
            if k not in value:
                raise _EncodeError(f"Failed to encode example:\n{example!r}\nKeyError: missing feature "
                                   f"{(name + '/' + k) if name else k!r}")
            _encode_into(out, f, value[k], f"{name}/{k}" if name else k, example, cells)
        return
    leaf = feature._leaf if isinstance(feature, Sequence) else feature
    try:
        out[name] = leaf._cell(value) if cells else leaf.encode(value)  # type: ignore[union-attr]
    except (ValueError, TypeError) as e:
        raise _EncodeError(f"Failed to encode example:\n{_short(example)}\nIn {_describe(feature)} "
                           f"with name {name!r}:\n{e}") from None


def _short(example: Any) -> str:
    with np.printoptions(threshold=6, edgeitems=1):
        text = repr(example)
    return text if len(text) < 500 else text[:500] + "..."


def _transpose(value: Any, keys: list[str]) -> Any:
    """A list of dicts as a dict of lists (Sequence of a dict accepts both)."""
    if isinstance(value, Mapping):
        return value
    items = list(value)
    return {k: [it[k] for it in items] for k in keys if all(k in it for it in items)}


def _flatten(feature: FeatureConnector, prefix: str) -> Iterator[tuple[str, FeatureConnector]]:
    if isinstance(feature, FeaturesDict):
        children: dict[str, FeatureConnector] = feature.features
    elif isinstance(feature, Sequence) and feature._leaf is None:
        children = feature.children  # type: ignore[assignment]
    else:
        leaf = feature._leaf if isinstance(feature, Sequence) else feature
        yield prefix, leaf  # type: ignore[misc]
        return
    for k, f in children.items():
        if not k or "/" in k or "." in k or k.startswith("_"):
            raise ValueError(f"feature name {k!r}: must be non-empty without '/' or '.', not start with '_'")
        yield from _flatten(f, f"{prefix}/{k}" if prefix else k)


def _as_feature(f: Any) -> FeatureConnector:
    if isinstance(f, FeatureConnector):
        return f
    if isinstance(f, Mapping):
        return FeaturesDict(f)
    try:
        return Scalar(np.dtype(f))  # a bare dtype (``np.int64``) is a Scalar, as in TFDS
    except TypeError:
        raise TypeError(f"{f!r} is not a feature") from None


_CLASSES = {c.__name__: c for c in (Audio, BBoxFeature, ClassLabel, FeaturesDict, Image, Scalar,
                                    Sequence, Tensor, Text, Video)}


def from_json(d: dict[str, Any]) -> FeatureConnector:
    """The feature described by ``to_json()`` output (``features.json``); no code is run."""
    kind = d.get("type")
    if kind not in _CLASSES:
        raise ValueError(f"unknown feature type {kind!r} in features.json")
    args = {k: v for k, v in d.items() if k != "type"}
    if kind == "FeaturesDict":
        return FeaturesDict({k: from_json(v) for k, v in args["features"].items()})
    if kind == "Sequence":
        return Sequence(from_json(args["feature"]), args.get("length"))
    for k in ("shape",):
        if args.get(k) is not None:
            args[k] = tuple(args[k])
    return _CLASSES[kind](**args)
