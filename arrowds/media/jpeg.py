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

__all__ = ["JpegCodec", "JpegInfo", "read_jpeg_info"]

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

    def decode(self, data: BytesLike) -> np.ndarray:
        """Decode to H x W (gray) or H x W x 3 (RGB, also from CMYK/YCCK) uint8."""
        info = self._checked_info(data)
        if _simplejpeg is not None:
            gray = info.components == 1
            try:
                array = _simplejpeg.decode_jpeg(data, colorspace="GRAY" if gray else "RGB")
            except ValueError as exc:
                if not any(word in str(exc).lower() for word in _CAPABILITY_WORDS):
                    raise _error(str(exc)) from exc
            else:
                return array.reshape(info.height, info.width) if gray else array
        return _imaging.pil_decode(data, self.name)

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
