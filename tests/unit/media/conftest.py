"""Fixtures for the media tests: photo-like arrays and files Pillow writes in every mode."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image

from arrowds.media import jpeg


@pytest.fixture
def photo() -> Callable[..., np.ndarray]:
    """``photo(h, w, channels)``: smooth gradients plus mild noise, compressible like a real photo."""

    def make(height: int = 48, width: int = 64, channels: int = 3, seed: int = 0) -> np.ndarray:
        rng = np.random.default_rng(seed)
        yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
        planes = [
            128 + 100 * np.sin(xx / (7 + 3 * c) + c) * np.cos(yy / (9 + 2 * c)) for c in range(channels)
        ]
        noisy = np.stack(planes, axis=-1) + rng.normal(0, 4, (height, width, channels))
        array = np.clip(noisy, 0, 255).astype(np.uint8)
        return array[:, :, 0] if channels == 1 else array

    return make


@pytest.fixture
def pil_bytes() -> Callable[..., bytes]:
    """``pil_bytes(image_or_array, "PNG", **save_options)``: the file Pillow writes."""

    def save(image: Image.Image | np.ndarray, fmt: str, **options: object) -> bytes:
        if isinstance(image, np.ndarray):
            image = Image.fromarray(image)
        out = io.BytesIO()
        image.save(out, fmt, **options)
        return out.getvalue()

    return save


@pytest.fixture
def raw_png() -> Callable[[np.ndarray, int, int], bytes]:
    """``raw_png(array, bit_depth, colour_type)``: a hand-written PNG (Pillow can't write 16-bit colour)."""

    def write(array: np.ndarray, depth: int, colour: int) -> bytes:
        height, width = array.shape[:2]
        rows = array.astype(">u2" if depth == 16 else "u1").reshape(height, -1)
        raw = b"".join(b"\x00" + row.tobytes() for row in rows)

        def chunk(kind: bytes, body: bytes) -> bytes:
            return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

        ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
        return (
            b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b"")
        )

    return write


@pytest.fixture(params=["simplejpeg", "pillow"])
def jpeg_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a jpeg test with simplejpeg, then again as if it were not installed."""
    if request.param == "simplejpeg":
        pytest.importorskip("simplejpeg")
    else:
        monkeypatch.setattr(jpeg, "_simplejpeg", None)
    return request.param
