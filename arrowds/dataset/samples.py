"""Turn what users append into prepared samples (see arrowds.format.columns), validating dtype
and shape against the tensor and settling the tensor's layout on its first sample."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pyarrow as pa

from arrowds import media
from arrowds.errors import SampleError, SampleShapeError, TensorDtypeMismatchError
from arrowds.format import Blob, TensorSpec, get_htype
from arrowds.format import columns as cols
from arrowds.format.htypes import AUTO, AUTO_IMAGE_COMPRESSION, Htype
from arrowds.media.sample import claimed_buffers

log = logging.getLogger("arrowds")


@dataclass
class Prepared:
    """Samples ready for the write buffer, and the tensor spec/info they leave behind.

    The samples are in one of three forms: ``samples``, a list of prepared samples (see
    arrowds.format.columns); ``stacked``, one array of scalar or fixed-shape samples (``extend``
    with a NumPy array); or ``columns``, the tensor's stored Arrow columns already built (a batch
    of media read in one pass, see ``_prepare_media_batch``, a batch of image arrays encoded in
    one pass, see ``_encode_image_batch``, or a batch a builder encoded, see ``dataset.encoded``).
    Reading or updating rows of a ``columns`` batch that is still in the write buffer turns it
    into one of the other forms first (blobs are read one by one).
    """

    spec: TensorSpec
    samples: list[Any] = field(default_factory=list)
    stacked: np.ndarray | None = None
    columns: dict[str, pa.Array] | None = None
    class_names: list[str] | None = None  # set when strings added new class names
    info: dict[str, Any] | None = None  # other tensor-info keys the samples settled (sample_rate)
    nbytes: int = 0

    def __len__(self) -> int:
        if self.stacked is not None:
            return len(self.stacked)
        if self.columns is not None:
            return len(self.columns[self.spec.column])
        return len(self.samples)

    def sample(self, k: int) -> Any:
        """The ``k``-th prepared sample."""
        if self.columns is not None and self.spec.layout == "blob":
            data = self.columns[self.spec.column][k].as_py()
            return Blob(data, tuple(self.columns[self.spec.shape_column][k].as_py()))
        self._materialize()
        return self.stacked[k] if self.stacked is not None else self.samples[k]

    def as_samples(self) -> list[Any]:
        """Every prepared sample, as a list."""
        self._materialize()
        return list(self.stacked) if self.stacked is not None else self.samples

    def set_sample(self, k: int, sample: Any) -> None:
        """Replace the ``k``-th sample (an update of a row not yet written)."""
        self._materialize()
        if self.stacked is not None:
            self.stacked[k] = sample
        else:
            self.samples[k] = sample

    def drop_front(self, n: int) -> Prepared:
        """The samples after the first ``n``."""
        return replace(
            self,
            samples=self.samples[n:],
            stacked=None if self.stacked is None else self.stacked[n:],
            columns=None if self.columns is None else {c: a.slice(n) for c, a in self.columns.items()},
        )

    def to_arrow(self, spec: TensorSpec) -> dict[str, pa.Array]:
        """The samples as the Arrow columns of ``spec``."""
        if self.stacked is not None:
            return cols.stacked_to_arrow(spec, self.stacked)
        if self.columns is not None:
            return self.columns
        return cols.to_arrow(spec, self.samples)

    def _materialize(self) -> None:
        """Turn a ``columns`` batch into ``stacked`` or ``samples``, in place."""
        if self.columns is None:
            return
        spec, data = self.spec, self.columns[self.spec.column]
        if spec.layout in ("scalar", "fixed"):
            self.stacked = np.array(cols.numeric_from_arrow(spec, data))  # a writable copy
        elif spec.layout == "list":
            shapes = cols.shapes_from_arrow(self.columns[spec.shape_column], spec.ndim)
            self.samples = list(cols.numeric_from_arrow(spec, data, shapes))
        elif spec.layout == "blob":
            shapes = cols.shapes_from_arrow(self.columns[spec.shape_column], spec.ndim)
            self.samples = [Blob(b, tuple(int(d) for d in s)) for b, s in zip(data.to_pylist(), shapes)]
        else:
            self.samples = data.to_pylist()
        self.columns = None


def prepare(spec: TensorSpec, values: Any, info: dict[str, Any], first_index: int) -> Prepared:
    """Validate and convert a batch of samples for ``spec``; ``first_index`` is where the
    first one will land (for error messages). Raises a SampleError subclass naming the tensor
    and index; on error nothing is changed."""
    h = get_htype(spec.htype)
    if h.name == "class_label":
        values = _labels_by_name(values)
    if h.kind == "numeric":
        arr = _as_stacked_numbers(values)
        if arr is not None:
            stacked = _try_stacked(spec, h, arr, first_index)
            if stacked is not None:
                return stacked
    if h.kind == "text" and isinstance(values, (list, tuple)) and all(type(v) is str for v in values):
        return Prepared(_settle(spec, "text"), samples=list(values), nbytes=sum(map(len, values)))
    if h.name == "image" and isinstance(values, (list, tuple)) and values:
        batch = (_encode_image_batch(spec, values) if type(values[0]) is np.ndarray
                 else _prepare_media_batch(spec, h, values))
        if batch is not None:
            return batch
    out = Prepared(spec)
    names = list(info.get("class_names", [])) if h.class_names else None
    media_info = dict(info) if h.kind == "media" else None
    coords = info.get("coords") if h.name == "bbox" else None
    shapes: list[tuple[int, ...]] = []
    for k, v in enumerate(values):
        try:
            sample, out.spec, nb, shape = _prepare_one(out.spec, h, v, names, media_info)
            if coords:
                check_bbox(sample, coords)
        except SampleError as e:
            raise e.at(spec.name, first_index + k) from None
        out.samples.append(sample)
        out.nbytes += nb
        if shape is not None:
            shapes.append(shape)
            if h.name == "audio" and len(shape) == 2:
                _note_channels(media_info, shape[1])
    if shapes:
        lo, hi = _bounds(shapes)
        out.spec = out.spec.with_shape_bounds(lo, hi)
    if names is not None and names != list(info.get("class_names", [])):
        out.class_names = names
    if media_info is not None and media_info != info:
        out.info = media_info
    return out


BBOX_TYPES = ("pixel", "fractional")
BBOX_MODES = ("LTWH", "LTRB", "CCWH", "TLBR")  # TLBR: TFDS's (ymin, xmin, ymax, xmax)


def check_coords(coords: Any) -> dict[str, str]:
    """Validate a bbox tensor's ``coords`` info: ``{"type": pixel|fractional, "mode": LTWH|LTRB|CCWH}``."""
    if not isinstance(coords, dict) or not set(coords) <= {"type", "mode"}:
        raise ValueError(f"coords must be a dict with keys in {{'type', 'mode'}}, got {coords!r}")
    if coords.get("type", "pixel") not in BBOX_TYPES:
        raise ValueError(f"coords['type'] must be one of {BBOX_TYPES}, got {coords['type']!r}")
    if coords.get("mode", "LTWH") not in BBOX_MODES:
        raise ValueError(f"coords['mode'] must be one of {BBOX_MODES}, got {coords['mode']!r}")
    return {"type": coords.get("type", "pixel"), "mode": coords.get("mode", "LTWH")}


def check_bbox(boxes: np.ndarray, coords: dict[str, str]) -> None:
    """Boxes must fit their convention: sizes not negative, corners ordered, fractions in [0, 1]."""
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    if coords.get("mode", "LTWH") in ("LTRB", "TLBR"):
        bad = (b[:, 2] < b[:, 0]) | (b[:, 3] < b[:, 1])
        what = f"max corner below min corner ({coords['mode']})"
    else:
        bad = (b[:, 2] < 0) | (b[:, 3] < 0)
        what = f"negative width or height ({coords.get('mode', 'LTWH')})"
    if coords.get("type") == "fractional":
        out = ((b < 0) | (b > 1)).any(axis=1)
        if out.any():
            raise SampleShapeError(f"box {int(np.argmax(out))} has fractional coordinates outside "
                                   f"[0, 1]: {b[np.argmax(out)].tolist()}")
    if bad.any():
        raise SampleShapeError(f"box {int(np.argmax(bad))} has {what}: {b[np.argmax(bad)].tolist()}")


def _bounds(shapes: list[tuple[int, ...]]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    first = shapes[0]
    if all(s == first for s in shapes):
        return first, first
    arr = np.array(shapes, np.int64)
    return tuple(arr.min(0).tolist()), tuple(arr.max(0).tolist())


def _as_stacked_numbers(values: Any) -> np.ndarray | None:
    """``values`` as one numeric array when it is one (or a list of plain numbers)."""
    if isinstance(values, np.ndarray):
        return values if values.dtype != object and values.dtype.kind not in "USV" else None
    if isinstance(values, (list, tuple)) and values and all(
            type(v) in (int, float, bool) or isinstance(v, np.number) for v in values):
        arr = np.asarray(values)
        return arr if arr.dtype != object else None
    if isinstance(values, (list, tuple)) and values and type(values[0]) is np.ndarray:
        # arrays of one dtype and shape (labels read with .numpy()): stack them, else per sample
        first = values[0]
        dtype, shape = first.dtype, first.shape
        if dtype.kind not in "OUSV" and all(
                type(v) is np.ndarray and v.dtype == dtype and v.shape == shape for v in values):
            return np.stack(values)
    return None


def _try_stacked(spec: TensorSpec, h: Htype, arr: np.ndarray, first: int) -> Prepared | None:
    """A batch given as one array, for scalar or fixed layouts: validated in one go."""
    sample_shape = arr.shape[1:]
    layout = spec.layout or _settle_numeric_layout(spec, h, sample_shape, arr.size // max(1, len(arr)))
    if layout not in ("scalar", "fixed") or arr.ndim == 0:
        return None
    dtype = _target_dtype(spec, h, arr)
    try:
        cast = _cast(arr, dtype)
    except SampleError as e:
        raise e.at(spec.name, first + _first_bad(arr, dtype)) from None
    if layout == "scalar":
        if int(np.prod(sample_shape)) != 1:
            return None
        cast = cast.reshape(len(arr), 1)
        new = spec.replace(layout="scalar", dtype=dtype.name, ndim=1)
    else:
        fixed = tuple(spec.shape) if spec.shape else sample_shape
        if sample_shape != fixed:
            raise SampleShapeError(
                f"Sample shape {sample_shape} does not match the tensor's fixed shape {fixed}"
            ).at(spec.name, first)
        new = spec.replace(layout="fixed", dtype=dtype.name, ndim=len(fixed), shape=fixed)
    if len(cast):
        new = new.with_shape_bounds(cast.shape[1:], cast.shape[1:])
    return Prepared(new, stacked=np.ascontiguousarray(cast), nbytes=cast.nbytes)


def _first_bad(arr: np.ndarray, dtype: np.dtype) -> int:
    """Index of the first sample of a batch that cannot be cast to ``dtype``."""
    for k in range(len(arr)):
        try:
            _cast(np.asarray(arr[k]), dtype)
        except SampleError:
            return k
    return 0


def _prepare_one(spec: TensorSpec, h: Htype, value: Any, names: list[str] | None,
                 info: dict[str, Any] | None = None):
    """``(prepared sample, settled spec, bytes, shape for the bounds or None)``."""
    if value is None and h.kind != "json":
        raise SampleError("None is not a sample of this tensor (only json tensors store null)")
    if h.kind == "media":
        return _prepare_media(spec, h, value, info if info is not None else {})
    if h.kind == "text":
        if not isinstance(value, str):
            raise TensorDtypeMismatchError(f"a text tensor takes str samples, got {type(value).__name__}")
        return value, _settle(spec, "text"), len(value), None
    if h.kind == "json":
        try:
            text = json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as e:
            raise TensorDtypeMismatchError(f"sample is not JSON-serialisable: {e}") from None
        return text, _settle(spec, "json"), len(text), None
    if h.kind == "strlist":
        if isinstance(value, str) or not all(isinstance(s, str) for s in value):
            raise TensorDtypeMismatchError("a list tensor takes lists of str")
        return list(value), _settle(spec, "strlist"), sum(map(len, value)), None
    return _prepare_numeric(spec, h, value, names)


def _settle(spec: TensorSpec, layout: str) -> TensorSpec:
    return spec if spec.layout == layout else spec.replace(layout=layout)


def _is_label_tensor(v: Any) -> bool:
    """An arrowds class-label tensor or view (``other.labels[3]``), duck-typed: this layer
    sits under the Tensor class."""
    return (getattr(v, "htype", None) == "class_label" and not isinstance(v, np.ndarray)
            and callable(getattr(v, "data", None)))


def _labels_by_name(values: Any) -> Any:
    """Class labels read from another tensor become the names their ids stand for there, so
    they keep their meaning under this tensor's class names (an id with no name stays an id)."""
    def one(ids: Any, texts: list[str | None]) -> Any:
        return np.asarray(ids) if any(t is None for t in texts) else list(texts)

    def samples(t: Any) -> list[Any]:
        d = t.data()
        if isinstance(d["value"], np.ndarray) and d["text"] and not isinstance(d["text"][0], list):
            return [one(d["value"], d["text"])]  # one sample
        return [one(v, txt) for v, txt in zip(d["value"], d["text"])]

    if _is_label_tensor(values):
        return samples(values)
    plain = (int, str, list, tuple, np.integer, np.ndarray)
    if isinstance(values, (list, tuple)) and any(
            _is_label_tensor(v) for v in values if not isinstance(v, plain)):
        out = []
        for v in values:
            got = samples(v) if _is_label_tensor(v) else [v]
            out.append(got[0] if len(got) == 1 else v)  # a view of several is not one sample
        return out
    return values


def _labels_to_ints(value: Any, names: list[str], tensor: str) -> Any:
    def one(s: str) -> int:
        if s not in names:
            names.append(s)
            log.warning("'%s' added to %s.info.class_names at index %d", s, tensor, len(names) - 1)
        return names.index(s)

    if isinstance(value, str):
        return one(value)
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
        return [one(v) for v in value]
    return value


def _prepare_numeric(spec: TensorSpec, h: Htype, value: Any, names: list[str] | None):
    if h.name == "polygon" and spec.layout in (None, "ragged") and spec.shape is None:
        return _prepare_polygons(spec, h, value)
    if names is not None:
        value = _labels_to_ints(value, names, spec.name)
        if isinstance(value, (list, tuple)) and not value:  # no labels: not a float array
            value = np.zeros(0, spec.dtype or h.dtype or np.uint32)
    arr = value if isinstance(value, np.ndarray) else np.asarray(value)
    if arr.dtype == object or arr.dtype.kind in "USV":
        raise TensorDtypeMismatchError(
            f"cannot store a {arr.dtype} sample in numeric tensor of dtype {spec.dtype or 'any'}"
            + ("; use a text or json tensor for strings" if arr.dtype.kind == "U" else ""))
    dtype = _target_dtype(spec, h, arr)
    arr = _cast(arr, dtype)
    if h.name == "image" and arr.ndim == 2:
        arr = arr[..., None]  # grayscale images are H x W x 1, like every other image
    layout = spec.layout or _settle_numeric_layout(spec, h, arr.shape, arr.size)
    if layout == "scalar":
        if arr.size != 1:
            raise SampleShapeError(
                f"tensor stores one value per sample (its first samples were scalars), got shape "
                f"{arr.shape}; create it with shape=(None,) to store several values per sample")
        arr = arr.reshape(1)
        ndim = 1
    elif layout == "fixed":
        fixed = tuple(spec.shape) if spec.shape else arr.shape
        if arr.shape != fixed:
            raise SampleShapeError(f"Sample shape {arr.shape} does not match the tensor's fixed "
                                   f"shape {fixed}")
        ndim = len(fixed)
        if spec.shape != fixed:
            spec = spec.replace(shape=fixed)
    else:
        ndim = spec.ndim if spec.ndim is not None else arr.ndim
        arr = _fit_ndim(arr, ndim, spec)
        _check_htype_shape(h, arr.shape)
    if (spec.layout, spec.dtype, spec.ndim) != (layout, dtype.name, ndim):
        spec = spec.replace(layout=layout, dtype=dtype.name, ndim=ndim)
    return arr, spec, arr.nbytes, arr.shape


def _prepare_polygons(spec: TensorSpec, h: Htype, value: Any):
    """A polygon sample: a list of polygons, each a ``(k_i, 2)`` array of points with its own
    ``k_i >= 3`` (a ``(m, k, 2)`` array is m polygons; one ``(k, 2)`` array is one polygon)."""
    if isinstance(value, np.ndarray) and value.dtype != object:
        polys = [value] if value.ndim == 2 else list(value) if value.ndim == 3 else None
        if polys is None:
            raise SampleShapeError(f"a polygon sample is a list of (points, 2) arrays or one "
                                   f"(polygons, points, 2) array, got shape {value.shape}")
    elif isinstance(value, (list, tuple, np.ndarray)):
        polys = list(value)
        if polys and all(np.ndim(p) == 1 for p in polys):
            polys = [np.asarray(polys)]  # a list of points: one polygon
    else:
        raise TensorDtypeMismatchError(f"a polygon sample is a list of (points, 2) arrays, got "
                                       f"{type(value).__name__}")
    width = cols.ragged_width(spec)
    dtype = np.dtype(spec.dtype or h.dtype)
    out = []
    for j, p in enumerate(polys):
        try:
            a = np.asarray(p)
        except ValueError:
            a = np.asarray(p, dtype=object)
        if a.dtype == object or a.dtype.kind in "USV":
            raise TensorDtypeMismatchError(f"polygon {j} is not an array of numbers (dtype {a.dtype})")
        if a.ndim != 2 or a.shape[-1] != width:
            raise SampleShapeError(f"polygon {j} has shape {a.shape}; each polygon is a (points, "
                                   f"{width}) array of (x, y) points")
        if a.shape[0] < 3:
            raise SampleShapeError(f"polygon {j} has {a.shape[0]} points; a polygon needs at least 3")
        out.append(np.ascontiguousarray(_cast(a, dtype)))
    shape = cols.ragged_shape(out, width)
    if (spec.layout, spec.dtype, spec.ndim) != ("ragged", dtype.name, 3):
        spec = spec.replace(layout="ragged", dtype=dtype.name, ndim=3)
    return out, spec, sum(a.nbytes for a in out), shape


def _fit_ndim(arr: np.ndarray, ndim: int, spec: TensorSpec) -> np.ndarray:
    if arr.ndim == ndim:
        return arr
    raise SampleShapeError(f"Sample shape length is expected to be {ndim}, actual length is "
                           f"{arr.ndim}. Full incoming shape: {arr.shape}")


def _check_htype_shape(h: Htype, shape: tuple[int, ...]) -> None:
    if h.last_dim and shape and shape[-1] not in h.last_dim and not (len(shape) == 1 and shape[0] == 0):
        raise SampleShapeError(f"{h.name} samples must have a last dimension of "
                               f"{' or '.join(map(str, h.last_dim))}, got shape {shape}")
    if h.ndim is not None and len(shape) != h.ndim:
        raise SampleShapeError(f"{h.name} samples must have {h.ndim} dimensions, got shape {shape}")


def _settle_numeric_layout(spec: TensorSpec, h: Htype, shape: tuple[int, ...], size: int) -> str:
    if spec.shape is not None:
        return "fixed" if all(d is not None for d in spec.shape) else "list"
    if h.fixed_shape:
        return "fixed"
    if h.name == "polygon":
        return "ragged"
    if (h.one_value or h.name == "generic") and size == 1 and len(shape) <= 1:
        return "scalar"
    return "list"


def _target_dtype(spec: TensorSpec, h: Htype, arr: np.ndarray) -> np.dtype:
    if spec.dtype:
        return np.dtype(spec.dtype)
    return arr.dtype


def _cast(arr: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Cast without losing data: ints must fit, floats never become ints, nothing becomes bool."""
    src = arr.dtype
    if src == dtype:
        return arr
    ok = np.can_cast(src, dtype, "safe")
    if not ok and src.kind in "iub" and dtype.kind in "iu" and arr.size:
        info = np.iinfo(dtype)
        ok = info.min <= arr.min() and arr.max() <= info.max
    elif not ok and src.kind in "iub" and dtype.kind in "iu":
        ok = True
    if not ok and src.kind in "iuf" and dtype.kind == "f":
        ok = True  # float64 -> float32 and ints -> floats: the usual, intended conversions
    if not ok and dtype.kind == "b" and src.kind in "iu" and arr.size and np.isin(arr, (0, 1)).all():
        ok = True
    if not ok:
        raise TensorDtypeMismatchError(
            f"Dtype was expected to be {dtype.name!r} instead it was {src.name!r}. Cast the sample "
            f"to {dtype.name} (or create the tensor with dtype={src.name!r}).")
    return arr.astype(dtype)


# -- media -----------------------------------------------------------------------------------
#: Tensor-info keys that parameterise encoding, per media kind, and their defaults.
ENCODE_OPTIONS = {"audio": {"sample_rate": None}, "video": {"fps": 30}}


def _note_channels(info: dict[str, Any], channels: int) -> None:
    """``info["channels"]``: the channel count of the tensor's audio, None once samples differ."""
    if "channels" not in info:
        info["channels"] = int(channels)
    elif info["channels"] is not None and info["channels"] != channels:
        info["channels"] = None


def _check_rate(info: dict[str, Any], sample: media.MediaSample) -> None:
    """Audio files must share the tensor's sample rate (taken from the first file if unset)."""
    got = media.get_codec(sample.compression).info(sample.tobytes())["sample_rate"]
    want = info.get("sample_rate")
    if want is None:
        info["sample_rate"] = got
    elif int(want) != int(got):
        raise SampleShapeError(f"{sample.path or 'audio'} is sampled at {got} Hz but the tensor holds "
                               f"{want} Hz audio; resample it first")


def _prepare_media(spec: TensorSpec, h: Htype, value: Any, info: dict[str, Any]):
    if getattr(getattr(value, "spec", None), "layout", None) == "blob" and hasattr(value, "tobytes"):
        value = value.tobytes()  # a sample of another media tensor: its stored file, not re-encoded
    if isinstance(value, (str, os.PathLike, bytes, bytearray, memoryview)):
        value = media.read(bytes(value) if not isinstance(value, (str, os.PathLike)) else value)
    comp = spec.sample_compression
    if isinstance(value, media.MediaSample):
        value.validate()
        if comp == AUTO:
            comp = value.compression if value.compression in h.compressions else AUTO_IMAGE_COMPRESSION
            spec = spec.replace(sample_compression=comp, layout="blob")
        if comp is None:
            return _prepare_numeric(spec, h, value.numpy(), None)
        if h.name == "audio":
            _check_rate(info, value)
        if value.compression == comp:
            data, shape = value.tobytes(), tuple(value.shape)
        else:
            data = media.transcode(value, comp)
            shape, _ = media.get_codec(comp).header(data)
        return _blob(spec, h, data, shape)
    arr = np.asarray(value)
    if comp == AUTO:
        comp = AUTO_IMAGE_COMPRESSION
        spec = spec.replace(sample_compression=comp, layout="blob")
    if comp is None:
        return _prepare_numeric(spec, h, arr, None)
    dtype = np.dtype(spec.dtype) if spec.dtype else arr.dtype
    if arr.dtype != dtype:
        raise TensorDtypeMismatchError(
            f"Dtype was expected to be {dtype.name!r} instead it was {arr.dtype.name!r}. "
            f"Htype {h.name!r} expects samples to have dtype={dtype.name!r}.")
    options = {k: info.get(k, d) for k, d in ENCODE_OPTIONS.get(h.name, {}).items()}
    data = media.get_codec(comp).encode(arr, **options)
    return _blob(spec, h, data, media.get_codec(comp).header(data)[0] if h.name == "audio" else arr.shape)


def _prepare_media_batch(spec: TensorSpec, h: Htype, values: list[Any]) -> Prepared | None:
    """A batch of images in the tensor's compression, given as file bytes or read with
    ``ads.read``, prepared in one pass: the bytes go into one Arrow binary array unchanged and
    every header is read at once by the codec's vectorised reader (which checks the magic bytes,
    as sniffing does). None (take the sample-by-sample path, which also explains any fault or
    transcodes another format) unless every sample qualifies and every header reads cleanly."""
    comp = spec.sample_compression
    first = values[0]
    raw = all(type(v) is bytes for v in values)
    if comp == AUTO:
        found = media.sniff_compression(first) if raw else \
            first.compression if isinstance(first, media.MediaSample) else None
        comp = found if found in h.compressions else AUTO
    if comp in (None, AUTO) or (spec.ndim is not None and spec.ndim != 3):
        return None
    buffers = values if raw else claimed_buffers(values, comp)
    if buffers is None:
        return None
    data = pa.array(buffers, pa.binary())
    if not isinstance(data, pa.BinaryArray):  # over 2 GiB: pyarrow chunked it
        return None
    offsets = np.frombuffer(data.buffers()[1], np.int32, len(data) + 1)
    shapes = media.get_codec(comp).image_shapes(np.frombuffer(data.buffers()[2], np.uint8), offsets)
    if shapes is None:
        return None
    spec = spec.replace(sample_compression=comp, layout="blob", ndim=3)
    lo, hi = shapes.min(0), shapes.max(0)
    spec = spec.with_shape_bounds(tuple(lo.tolist()), tuple(hi.tolist()))
    shape_col = pa.FixedSizeListArray.from_arrays(pa.array(shapes.astype(np.int32).reshape(-1)), 3)
    return Prepared(spec, columns={spec.column: data, spec.shape_column: shape_col},
                    nbytes=int(offsets[-1]))


def _encode_image_batch(spec: TensorSpec, values: list[Any]) -> Prepared | None:
    """A batch of image arrays for a compressed image tensor, encoded in one pass into the
    tensor's Arrow columns (what a transform that resizes images appends). None (take the
    sample-by-sample path, which also explains any fault) unless every sample is an H x W
    (x C) array of the tensor's dtype that the codec encodes."""
    comp = spec.sample_compression
    if comp is None or (spec.ndim is not None and spec.ndim != 3):
        return None
    if comp == AUTO:
        comp = AUTO_IMAGE_COMPRESSION
    dtype = np.dtype(spec.dtype) if spec.dtype else values[0].dtype
    encode = media.get_codec(comp).encode
    shape_list = []
    encoded = []
    try:
        for v in values:
            if type(v) is not np.ndarray or v.dtype != dtype or not 2 <= v.ndim <= 3:
                return None
            shape_list.append(v.shape if v.ndim == 3 else (*v.shape, 1))
            encoded.append(encode(v))
    except Exception:  # noqa: BLE001 - the per-sample path raises it again, naming the sample
        return None
    data = pa.array(encoded, pa.binary())
    if not isinstance(data, pa.BinaryArray):  # over 2 GiB: pyarrow chunked it
        return None
    lo, hi = _bounds(shape_list)
    spec = spec.replace(sample_compression=comp, layout="blob", ndim=3)
    spec = spec.with_shape_bounds(lo, hi)
    shapes = np.array(shape_list, np.int32).reshape(-1)
    shape_col = pa.FixedSizeListArray.from_arrays(pa.array(shapes), 3)
    return Prepared(spec, columns={spec.column: data, spec.shape_column: shape_col},
                    nbytes=sum(map(len, encoded)))


def _blob(spec: TensorSpec, h: Htype, data: bytes, shape: tuple[int, ...]):
    if h.name == "image" and len(shape) == 2:
        shape = (*shape, 1)
    if spec.ndim is not None and len(shape) != spec.ndim:
        raise SampleShapeError(f"Sample shape length is expected to be {spec.ndim}, actual length "
                               f"is {len(shape)}. Full incoming shape: {shape}")
    if spec.layout != "blob" or spec.ndim != len(shape):
        spec = spec.replace(layout="blob", ndim=len(shape))
    shape = tuple(int(d) for d in shape)
    return Blob(data if isinstance(data, bytes) else bytes(data), shape), spec, len(data), shape
