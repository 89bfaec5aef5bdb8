"""PNG: lossless, uint8 gray/RGB/RGBA and uint16 gray, through Pillow.

The header is read by hand from IHDR (and, for palette images, whether a tRNS chunk comes before
the pixel data), which is what decides the decoded shape. 16-bit colour PNGs decode to uint8: Pillow
has no 16-bit colour mode.
"""

from __future__ import annotations

import io
import struct

import numpy as np
from PIL import Image

from arrowds.errors import SampleDecodeError
from arrowds.media import _imaging
from arrowds.media.codec import BytesLike, Codec
from arrowds.media.sniff import EXTENSIONS

__all__ = ["PngCodec"]

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_IEND = b"\x00\x00\x00\x00IEND\xaeB`\x82"
# Colour type -> (allowed bit depths, decoded channels; palette images are 3, or 4 with tRNS).
_COLOUR_TYPES = {
    0: ((1, 2, 4, 8, 16), 1),
    2: ((8, 16), 3),
    3: ((1, 2, 4, 8), 3),
    4: ((8, 16), 4),
    6: ((8, 16), 4),
}


class PngCodec(Codec):
    """Lossless PNG. ``encode(array, compress_level=6)``: zlib level 0 (fast, big) to 9 (slow, small)."""

    name = "png"
    kind = "image"
    lossless = True
    extensions = EXTENSIONS["png"]

    def encode(self, array: np.ndarray, *, compress_level: int = 6) -> bytes:
        """Compress an H x W (x 1, 3 or 4) uint8 array, or an H x W (x 1) uint16 one as 16-bit gray."""
        if not 0 <= compress_level <= 9:
            raise ValueError(f"png compress_level must be between 0 and 9, got {compress_level}")
        array, _ = _imaging.check_image_array(
            array, self.name, channels=(1, 3, 4), gray_only_dtypes=(_imaging.UINT16,)
        )
        if array.dtype == _imaging.UINT16:
            array = array.astype("<u2", copy=False)  # Pillow's I;16 is little-endian
        out = io.BytesIO()
        Image.fromarray(array).save(out, "PNG", compress_level=compress_level)
        return out.getvalue()

    def decode(self, data: BytesLike) -> np.ndarray:
        """Decode to H x W, H x W x 3 or H x W x 4 uint8 (H x W uint16 for 16-bit gray)."""
        self.header(data)
        if not _has_iend(data):
            # Pillow accepts a file cut inside its last chunks as long as the pixels are complete.
            raise _error("truncated (no IEND chunk)")
        return _imaging.pil_decode(data, self.name)

    def header(self, data: BytesLike) -> tuple[tuple[int, ...], np.dtype]:
        """Shape and dtype from IHDR; palette images are RGBA when a tRNS chunk precedes IDAT."""
        buf = data if isinstance(data, bytes) else memoryview(data).cast("B")
        if len(buf) < 33 or buf[:8] != _SIGNATURE or buf[12:16] != b"IHDR":
            raise _error("not a PNG (no signature and IHDR chunk at the start)")
        width, height, depth, colour = struct.unpack_from(">IIBB", buf, 16)
        if colour not in _COLOUR_TYPES or depth not in _COLOUR_TYPES[colour][0]:
            raise _error(f"invalid colour type {colour} with bit depth {depth}")
        if width == 0 or height == 0:
            raise _error(f"zero size {width}x{height}")
        channels = _COLOUR_TYPES[colour][1]
        if colour == 3 and _has_trns(buf):
            channels = 4
        dtype = _imaging.UINT16 if colour == 0 and depth == 16 else _imaging.UINT8
        return _imaging.image_shape(height, width, channels), dtype


def _has_trns(buf: bytes | memoryview) -> bool:
    """Whether a tRNS chunk comes before the first IDAT (the only place it is allowed)."""
    i = 8
    while i + 8 <= len(buf):
        length, kind = struct.unpack_from(">I4s", buf, i)
        if kind == b"tRNS":
            return True
        if kind in (b"IDAT", b"IEND"):
            return False
        i += 12 + length
    raise _error("truncated before the image data")


def _has_iend(data: BytesLike) -> bool:
    """Whether the file has its whole IEND chunk: at the end, or (rarely) followed by trailing bytes."""
    buf = data if isinstance(data, bytes) else bytes(data)
    return buf.rfind(_IEND) >= 0  # searches from the end, where IEND normally is


def _error(message: str) -> SampleDecodeError:
    return SampleDecodeError(f"invalid PNG: {message}", codec="png")
