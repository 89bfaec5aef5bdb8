"""PNG: lossless, uint8 gray/RGB/RGBA and uint16 gray, through Pillow.

The header is read by hand from IHDR (and, for palette images, whether a tRNS chunk comes before
the pixel data), which is what decides the decoded shape. 16-bit colour PNGs decode to uint8: Pillow
has no 16-bit colour mode.
"""

from __future__ import annotations

import io
import struct
import zlib

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
        if type(array) is np.ndarray and array.dtype == _imaging.UINT8:
            fast = _encode_uint8(array, compress_level)
            if fast is not None:
                return fast
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


_MODES = {1: ("L", 0), 3: ("RGB", 2), 4: ("RGBA", 6)}  # channels -> (Pillow mode, PNG colour type)


def _encode_uint8(array: np.ndarray, level: int) -> bytes | None:
    """The PNG Pillow's ``save`` writes for a uint8 gray/RGB/RGBA array, without its per-image
    Python overhead (about half the time of a small image): Pillow's zip encoder makes the
    filtered, deflated IDAT stream, and the chunks around it are written here. None for arrays
    this path does not take (the checked path handles them)."""
    shape = array.shape
    channels = 1 if len(shape) == 2 else shape[2] if len(shape) == 3 else 0
    if channels not in _MODES or not (0 < shape[0] < 1 << 31 and 0 < shape[1] < 1 << 31):
        return None
    mode, colour = _MODES[channels]
    height, width = shape[0], shape[1]
    if not array.flags.c_contiguous:
        array = np.ascontiguousarray(array)
    image = Image.frombuffer(mode, (width, height), array, "raw", mode, 0, 1)
    idat = image.tobytes("zip", (mode, False, level, -1, b""))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    return b"".join((_SIGNATURE, _chunk(b"IHDR", ihdr), _chunk(b"IDAT", idat), _IEND))


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(data, zlib.crc32(kind)))


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
