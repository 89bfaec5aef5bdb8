"""The one JPEG decoder every system's figures are measured with."""

from __future__ import annotations

import io

import numpy as np

try:
    import simplejpeg
except ImportError:  # pragma: no cover - depends on the environment
    simplejpeg = None

DECODER_NAME = "simplejpeg" if simplejpeg is not None else "PIL"


def decode_jpeg(data: bytes) -> np.ndarray:
    """Decode JPEG bytes to an H x W x 3 uint8 array (simplejpeg when installed, else PIL)."""
    if simplejpeg is not None:
        return simplejpeg.decode_jpeg(data)
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))
