"""WebP through Pillow: lossy by default (quality 90), lossless with ``lossless=True``.

WebP has no gray mode: gray arrays are stored as RGB and decode as H x W x 3. The header is read by
hand from the VP8/VP8L/VP8X chunk, which says the size and whether there is alpha (RGBA vs RGB).
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

__all__ = ["WebpCodec"]

_MAX_SIDE = 16_383
_VP8X_ALPHA = 0x10


class WebpCodec(Codec):
    """WebP for uint8 images. ``encode(array, quality=90, lossless=False, method=4)``.

    ``lossless`` is False for this codec because that is the default; ``lossless=True`` round-trips
    exactly, colours under fully transparent pixels included. ``method`` trades speed (0) for size (6).
    """

    name = "webp"
    kind = "image"
    lossless = False
    extensions = EXTENSIONS["webp"]

    def encode(
        self, array: np.ndarray, *, quality: int = 90, lossless: bool = False, method: int = 4
    ) -> bytes:
        """Compress an H x W (x 1, 3 or 4) uint8 array; gray is stored as RGB."""
        if not 0 <= quality <= 100:
            raise ValueError(f"webp quality must be between 0 and 100, got {quality}")
        array, _ = _imaging.check_image_array(array, self.name, channels=(1, 3, 4), max_side=_MAX_SIDE)
        image = Image.fromarray(array)
        if image.mode == "L":
            image = image.convert("RGB")
        out = io.BytesIO()
        image.save(out, "WEBP", quality=quality, lossless=lossless, method=method, exact=lossless)
        return out.getvalue()

    def decode(self, data: BytesLike) -> np.ndarray:
        """Decode to H x W x 3 (RGB) or H x W x 4 (RGBA) uint8; an animation gives its first frame."""
        self.header(data)
        return _imaging.pil_decode(data, self.name)

    def header(self, data: BytesLike) -> tuple[tuple[int, ...], np.dtype]:
        """Shape and dtype from the first chunk: VP8 (lossy), VP8L (lossless) or VP8X (extended)."""
        buf = data if isinstance(data, bytes) else memoryview(data).cast("B")
        if len(buf) < 30 or buf[:4] != b"RIFF" or buf[8:12] != b"WEBP":
            raise _error("not a WebP (no RIFF/WEBP header at the start)")
        chunk = bytes(buf[12:16])
        if chunk == b"VP8 ":
            if buf[23:26] != b"\x9d\x01\x2a":
                raise _error("bad VP8 frame start code")
            width, height = struct.unpack_from("<HH", buf, 26)
            width, height, alpha = width & 0x3FFF, height & 0x3FFF, False
        elif chunk == b"VP8L":
            if buf[20] != 0x2F:
                raise _error("bad VP8L signature")
            (bits,) = struct.unpack_from("<I", buf, 21)
            width, height, alpha = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1, bool(bits >> 28 & 1)
        elif chunk == b"VP8X":
            alpha = bool(buf[20] & _VP8X_ALPHA)
            width = int.from_bytes(buf[24:27], "little") + 1
            height = int.from_bytes(buf[27:30], "little") + 1
        else:
            raise _error(f"unknown first chunk {chunk!r}")
        if width == 0 or height == 0:
            raise _error(f"zero size {width}x{height}")
        return (height, width, 4 if alpha else 3), _imaging.UINT8


def _error(message: str) -> SampleDecodeError:
    return SampleDecodeError(f"invalid WebP: {message}", codec="webp")
