"""Helpers the image codecs share: checking an array before encoding, and decoding through Pillow.

Pillow is the decoder of record for png and webp, and jpeg's fallback; these helpers make every
Pillow failure a ``SampleDecodeError`` and every Pillow mode one of the shapes arrowds promises:
H x W (gray), H x W x 3 (RGB) or H x W x 4 (RGBA).
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Sequence

import numpy as np
from PIL import Image

from arrowds.errors import SampleDecodeError, SampleShapeError, TensorDtypeMismatchError
from arrowds.media.codec import BytesLike

UINT8 = np.dtype(np.uint8)
UINT16 = np.dtype(np.uint16)

# What Pillow raises on bad input; anything else is a bug and should surface as itself.
PIL_ERRORS = (
    OSError,
    ValueError,
    SyntaxError,
    EOFError,
    IndexError,
    struct.error,
    zlib.error,
    Image.DecompressionBombError,
)

_LAYOUTS = {1: "H x W or H x W x 1 (gray)", 3: "H x W x 3 (RGB)", 4: "H x W x 4 (RGBA)"}
# Pillow modes whose pixels np.asarray gives as they are, and what the others convert to.
_DIRECT_MODES = frozenset({"L", "RGB", "RGBA"})
_CONVERT_TO = {
    "1": "L",
    "LA": "RGBA",
    "La": "RGBA",
    "PA": "RGBA",
    "RGBa": "RGBA",
    "RGBX": "RGB",
    "CMYK": "RGB",
    "YCbCr": "RGB",
    "LAB": "RGB",
    "HSV": "RGB",
}
_UINT16_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I"})


def check_image_array(
    array: np.ndarray,
    codec: str,
    *,
    channels: Sequence[int],
    dtypes: Sequence[np.dtype] = (UINT8,),
    gray_only_dtypes: Sequence[np.dtype] = (),
    max_side: int = 2**31 - 1,
) -> tuple[np.ndarray, int]:
    """Check that ``codec`` can store ``array``; return it C-contiguous, gray as H x W, and its channels.

    ``gray_only_dtypes`` are accepted for 1-channel arrays only (png's uint16).
    """
    array = np.asarray(array)
    if array.dtype == UINT8 and array.ndim == 3 and array.shape[2] in channels and array.shape[2] > 1 \
            and UINT8 in dtypes and UINT8 not in gray_only_dtypes \
            and 0 < array.shape[0] <= max_side and 0 < array.shape[1] <= max_side:
        return np.ascontiguousarray(array), array.shape[2]  # the common case, without formatting
    dtype = array.dtype.newbyteorder("=")  # a big-endian uint16 is still uint16
    gray_only = [np.dtype(d) for d in gray_only_dtypes]
    allowed = [np.dtype(d) for d in dtypes] + gray_only
    given = f"an array of shape {array.shape} and dtype {array.dtype}"
    if dtype not in allowed:
        names = " or ".join(str(d) for d in allowed)
        raise TensorDtypeMismatchError(
            f"{codec} cannot encode {given}: it takes {names} pixels. Convert first, "
            f"e.g. np.clip(a, 0, 255).astype(np.uint8)."
        )
    n = 1 if array.ndim == 2 else array.shape[-1] if array.ndim == 3 else 0
    if n not in channels:
        accepts = " or ".join(_LAYOUTS[c] for c in channels)
        raise SampleShapeError(f"{codec} cannot encode {given}: it takes {accepts} arrays.")
    height, width = array.shape[:2]
    if not (0 < height <= max_side and 0 < width <= max_side):
        raise SampleShapeError(
            f"{codec} cannot encode {given}: height and width must be between 1 and {max_side}."
        )
    if n != 1 and dtype in gray_only:
        raise TensorDtypeMismatchError(
            f"{codec} cannot encode {given}: {dtype} is stored as gray only ({_LAYOUTS[1]})."
        )
    if n == 1:
        array = array.reshape(height, width)
    return np.ascontiguousarray(array), n


def pil_open(data: BytesLike, codec: str) -> Image.Image:
    """Open ``data`` with Pillow (header only), as the format ``codec`` names."""
    try:
        return Image.open(io.BytesIO(data), formats=[codec.upper()])
    except PIL_ERRORS as exc:
        raise SampleDecodeError(f"cannot read the {codec} header: {exc}", codec=codec) from exc


def pil_decode(data: BytesLike, codec: str) -> np.ndarray:
    """Fully decode ``data`` with Pillow into a writable H x W, H x W x 3 or H x W x 4 array.

    ``load()`` runs inside the try, so a truncated file raises rather than coming back half grey.
    """
    return pil_loaded(pil_open(data, codec), codec)


def pil_loaded(image: Image.Image, codec: str) -> np.ndarray:
    """Load an opened Pillow image (errors become ``SampleDecodeError``) into an array."""
    try:
        image.load()
        return pil_to_array(image)
    except PIL_ERRORS as exc:
        raise SampleDecodeError(f"cannot decode {codec} data: {exc}", codec=codec) from exc


def pil_to_array(image: Image.Image) -> np.ndarray:
    """A loaded Pillow image as an array, converting palette, CMYK, LA, 1-bit... to L/RGB/RGBA."""
    mode = image.mode
    if mode in _UINT16_MODES:
        return np.array(image).astype(UINT16, copy=False)
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif mode in _CONVERT_TO:
        image = image.convert(_CONVERT_TO[mode])
    elif mode not in _DIRECT_MODES:
        raise ValueError(f"unsupported pixel mode {mode!r}")
    # np.asarray(image) is read-only (it wraps Pillow's bytes); one copy makes it writable, which
    # callers (in-place edits, torch.from_numpy) expect.
    return np.array(image)


def image_shape(height: int, width: int, channels: int) -> tuple[int, ...]:
    """The decoded shape for ``channels``: gray images have no channel axis."""
    return (height, width) if channels == 1 else (height, width, channels)
