"""JPEG: decoded with simplejpeg (libjpeg-turbo) when it is installed, else with Pillow.

simplejpeg runs in strict mode, so corrupt or truncated data raises instead of coming back with
grey blocks. Pillow takes over only for what simplejpeg cannot do (its error says "unsupported" or
the like), never to retry data simplejpeg found corrupt. The header is parsed by hand from the SOF
marker: it runs on every append and is several times faster than opening the file with Pillow.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

import numpy as np
from PIL import Image

from arrowds.errors import SampleDecodeError
from arrowds.media import _imaging
from arrowds.media.codec import BytesLike, Codec
from arrowds.media.sniff import EXTENSIONS

try:
    import simplejpeg as _simplejpeg
except ImportError:  # optional speed-up; Pillow does everything too, only slower
    _simplejpeg = None

__all__ = ["JpegCodec", "JpegInfo", "jpeg_image_shapes", "read_jpeg_info"]

# SOFn markers: C0-CF except DHT (C4), JPG (C8) and DAC (CC).
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Hierarchical processes (C5-C7, CD-CF) are not implemented by libjpeg, so no decoder here reads them.
_DECODABLE_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC9, 0xCA, 0xCB})
# Markers without a length field.
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD9)})
_MAX_SIDE = 65_500
_SUBSAMPLING = {"444": "4:4:4", "422": "4:2:2", "420": "4:2:0"}
# Words in libjpeg/turbojpeg messages that mean "this decoder cannot", as opposed to "this data is bad".
_CAPABILITY_WORDS = (
    "unsupported",
    "not implemented",
    "not supported",
    "could not determine subsampling",
    "incompatible",
    "sorry",
)


@dataclass(frozen=True)
class JpegInfo:
    """What the frame header (SOF segment) of a JPEG says."""

    height: int
    width: int
    components: int
    precision: int
    sof: int

    @property
    def progressive(self) -> bool:
        """True for progressive JPEGs (SOF2, SOF6, SOF10, SOF14)."""
        return self.sof in (0xC2, 0xC6, 0xCA, 0xCE)


def read_jpeg_info(data: BytesLike) -> JpegInfo:
    """Walk the marker segments up to the frame header and read it; no entropy-coded data is touched."""
    buf = data if isinstance(data, bytes) else memoryview(data).cast("B")
    n = len(buf)
    if n < 4 or buf[0] != 0xFF or buf[1] != 0xD8:
        raise _error("not a JPEG (no SOI marker at the start)")
    i = 2
    while True:
        if i + 2 > n:
            raise _error(f"truncated before the frame header ({n} bytes)")
        if buf[i] != 0xFF:
            raise _error(f"expected a marker at byte {i}, found 0x{buf[i]:02x}")
        while i < n and buf[i] == 0xFF:  # fill bytes
            i += 1
        if i >= n:
            raise _error(f"truncated before the frame header ({n} bytes)")
        marker = buf[i]
        i += 1
        if marker in _STANDALONE:
            continue
        if marker in (0xD9, 0xDA):
            raise _error("no frame header (SOF marker) before the image data")
        if i + 2 > n:
            raise _error(f"truncated before the frame header ({n} bytes)")
        length = (buf[i] << 8) | buf[i + 1]
        if marker in _SOF_MARKERS:
            if length < 8 or i + 8 > n:
                raise _error("truncated or malformed frame header")
            precision, height, width, components = struct.unpack_from(">BHHB", buf, i + 2)
            return JpegInfo(height, width, components, precision, marker)
        if length < 2:
            raise _error(f"malformed segment length {length} at byte {i}")
        i += length


#: Marker segments walked before a batch read gives up on an image (and leaves it to read_jpeg_info).
_BATCH_MAX_SEGMENTS = 32
_SOF_TABLE = np.zeros(256, bool)
_SOF_TABLE[list(_DECODABLE_SOF)] = True
# Segments a batch read steps over: APPn, COM, DQT, DHT, DRI, DAC and the SOFs (which end the walk).
_SKIPPABLE_TABLE = np.zeros(256, bool)
_SKIPPABLE_TABLE[[*range(0xE0, 0xF0), 0xFE, 0xDB, 0xC4, 0xDD, 0xCC]] = True


def jpeg_image_shapes(data: np.ndarray, offsets: np.ndarray) -> np.ndarray | None:
    """``read_jpeg_info`` for many JPEGs at once, all walking their marker segments in lockstep.

    Returns ``(n, 3)`` image shapes (channels 1 for gray, else 3), or None as soon as one image is
    anything but a plain, decodable 8-bit JPEG whose segments start right after each other (fill
    bytes, standalone markers, truncation, corruption): the caller then reads each header alone,
    which accepts the unusual and names the fault of the bad.
    """
    offsets = np.asarray(offsets, np.int64)
    n = len(offsets) - 1
    if n <= 0:
        return np.zeros((0, 3), np.int64)
    start, end = offsets[:-1], offsets[1:]
    if (end - start < 4).any():
        return None
    if not ((data[start] == 0xFF) & (data[start + 1] == 0xD8)).all():
        return None
    pos = start + 2  # every image's next marker
    shapes = np.zeros((n, 3), np.int64)
    todo = np.arange(n)
    for _ in range(_BATCH_MAX_SEGMENTS):
        p, e = pos[todo], end[todo]
        if (p + 4 > e).any():
            return None
        if (data[p] != 0xFF).any():
            return None
        marker = data[p + 1]
        sof = _SOF_TABLE[marker]
        if not (sof | _SKIPPABLE_TABLE[marker]).all():
            return None
        length = (data[p + 2].astype(np.int64) << 8) | data[p + 3]
        if (length < 2).any():
            return None
        if sof.any():
            q, qe = p[sof], e[sof]
            if ((length[sof] < 8) | (q + 10 > qe)).any():
                return None
            precision, comps = data[q + 4], data[q + 9]
            height = (data[q + 5].astype(np.int64) << 8) | data[q + 6]
            width = (data[q + 7].astype(np.int64) << 8) | data[q + 8]
            if ((precision != 8) | (height == 0) | (width == 0)).any():
                return None
            if not np.isin(comps, (1, 3, 4)).all():
                return None
            done = todo[sof]
            shapes[done, 0], shapes[done, 1] = height, width
            shapes[done, 2] = np.where(comps == 1, 1, 3)
            todo, p, length = todo[~sof], p[~sof], length[~sof]
            if not todo.size:
                return shapes
        pos[todo] = p + 2 + length
    return None


def _error(message: str) -> SampleDecodeError:
    return SampleDecodeError(f"invalid JPEG: {message}", codec="jpeg")


class JpegCodec(Codec):
    """Lossy JPEG for uint8 gray and RGB images; CMYK/YCCK files decode to RGB.

    ``encode(array, quality=90, subsampling="420")``; ``subsampling`` is one of "444", "422", "420".
    """

    name = "jpeg"
    kind = "image"
    lossless = False
    extensions = EXTENSIONS["jpeg"]

    def encode(self, array: np.ndarray, *, quality: int = 90, subsampling: str = "420") -> bytes:
        """Compress an H x W, H x W x 1 or H x W x 3 uint8 array."""
        if not 1 <= quality <= 100:
            raise ValueError(f"jpeg quality must be between 1 and 100, got {quality}")
        if subsampling not in _SUBSAMPLING:
            raise ValueError(f"jpeg subsampling must be one of {sorted(_SUBSAMPLING)}, got {subsampling!r}")
        array, channels = _imaging.check_image_array(array, self.name, channels=(1, 3), max_side=_MAX_SIDE)
        if _simplejpeg is not None:
            if channels == 1:
                return _simplejpeg.encode_jpeg(
                    array[:, :, None], quality, colorspace="GRAY", colorsubsampling="Gray"
                )
            return _simplejpeg.encode_jpeg(array, quality, colorspace="RGB", colorsubsampling=subsampling)
        out = io.BytesIO()
        Image.fromarray(array).save(out, "JPEG", quality=quality, subsampling=_SUBSAMPLING[subsampling])
        return out.getvalue()

    def decode(self, data: BytesLike, *, min_size: tuple[int, int] | None = None) -> np.ndarray:
        """Decode to H x W (gray) or H x W x 3 (RGB, also from CMYK/YCCK) uint8.

        ``min_size=(height, width)`` decodes at the smallest of libjpeg's reduced scales (k/8
        with simplejpeg; 1/2, 1/4, 1/8 with Pillow: DCT scaling, no full-size pixels made) that
        keeps at least that many pixels on each side; an image already smaller comes out whole.
        For a transform that resizes anyway, decode plus resize is 1.6-3x faster on images 2x
        or more the target size (benchmarks/bench_media.py --part reduced)."""
        info = self._checked_info(data)
        scale = {"min_height": min_size[0], "min_width": min_size[1]} if min_size else {}
        if _simplejpeg is not None:
            gray = info.components == 1
            try:
                array = _simplejpeg.decode_jpeg(data, colorspace="GRAY" if gray else "RGB", **scale)
            except ValueError as exc:
                if not any(word in str(exc).lower() for word in _CAPABILITY_WORDS):
                    raise _error(str(exc)) from exc
            else:
                return array.reshape(array.shape[:2]) if gray else array
        if min_size is None:
            return _imaging.pil_decode(data, self.name)
        image = _imaging.pil_open(data, self.name)
        image.draft(image.mode, (min_size[1], min_size[0]))  # Pillow's DCT scaling: smallest scale >= size
        return _imaging.pil_loaded(image, self.name)

    def decode_shaped(self, data: BytesLike, shape: tuple[int, ...]) -> np.ndarray | None:
        """Decode to the stored ``shape`` ((H, W, 3) or (H, W, 1) uint8) with simplejpeg, skipping
        the header walk of :meth:`decode`. Anything unusual (another size, corrupt data, no
        simplejpeg) returns None so that :meth:`decode` sorts it out with its named errors.
        Faster than :meth:`decode_into` for one sample: simplejpeg decodes into an array it
        allocates ~6 us sooner than into a fresh one passed as ``buffer=`` (128x128 images)."""
        if _simplejpeg is None or len(shape) != 3 or shape[2] not in (1, 3):
            return None
        try:
            got = _simplejpeg.decode_jpeg(data, colorspace="RGB" if shape[2] == 3 else "GRAY")
        except ValueError:
            return None
        return got if got.shape == shape else None

    def decode_into(self, data: BytesLike, out: np.ndarray) -> bool:
        """Decode into a C-contiguous uint8 ``out`` of shape (H, W, 3), (H, W, 1) or (H, W) with
        simplejpeg, skipping the header walk of :meth:`decode`: the stored shape already says what
        the image is. Anything unusual (a different size, CMYK, 12-bit, corrupt data) returns
        False so that :meth:`decode` sorts it out with its checks and named errors."""
        if _simplejpeg is None or out.dtype != np.uint8 or out.ndim not in (2, 3):
            return False
        if not out.flags.c_contiguous:
            return False
        channels = out.shape[2] if out.ndim == 3 else 1
        if channels not in (1, 3):
            return False
        try:
            got = _simplejpeg.decode_jpeg(data, colorspace="RGB" if channels == 3 else "GRAY", buffer=out)
        except ValueError:
            return False
        return got.shape[:2] == out.shape[:2]

    def header(self, data: BytesLike) -> tuple[tuple[int, ...], np.dtype]:
        """Shape and dtype from the SOF marker: (H, W) for one component, else (H, W, 3); uint8."""
        info = self._checked_info(data)
        return _imaging.image_shape(info.height, info.width, 1 if info.components == 1 else 3), _imaging.UINT8

    def image_shapes(self, data: np.ndarray, offsets: np.ndarray) -> np.ndarray | None:
        """Shapes of many JPEGs from their frame headers at once (see ``jpeg_image_shapes``)."""
        return jpeg_image_shapes(data, offsets)

    @staticmethod
    def _checked_info(data: BytesLike) -> JpegInfo:
        info = read_jpeg_info(data)
        if info.sof not in _DECODABLE_SOF:
            raise _error(f"hierarchical JPEG (SOF{info.sof - 0xC0}) is not supported")
        if info.precision != 8:
            raise _error(f"{info.precision}-bit JPEG is not supported, only 8-bit samples")
        if info.components not in (1, 3, 4):
            raise _error(f"{info.components} colour components are not supported (1, 3 or 4)")
        if info.height == 0 or info.width == 0:
            raise _error(f"zero size {info.width}x{info.height} (a DNL marker is not supported)")
        return info
