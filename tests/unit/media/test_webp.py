"""The webp codec: lossy default, exact lossless, the hand-read header against Pillow."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from arrowds.errors import SampleDecodeError, SampleShapeError, TensorDtypeMismatchError
from arrowds.media import get_codec

codec = get_codec("webp")


def test_default_is_lossy(photo):
    assert codec.lossless is False
    array = photo(40, 56, 3)
    decoded = codec.decode(codec.encode(array))
    assert (decoded.shape, decoded.dtype) == (array.shape, np.uint8)
    assert decoded.flags.writeable
    assert np.abs(decoded.astype(int) - array.astype(int)).mean() < 4
    assert len(codec.encode(array, quality=20)) < len(codec.encode(array, quality=95))


@pytest.mark.parametrize("channels", [3, 4])
def test_lossless_is_exact(channels):
    array = np.random.default_rng(3).integers(0, 256, (21, 34, channels), dtype=np.uint8)
    if channels == 4:
        array[::3, ::2, 3] = 0  # colours under fully transparent pixels survive too
    np.testing.assert_array_equal(codec.decode(codec.encode(array, lossless=True)), array)


def test_gray_is_stored_as_rgb(photo):
    gray = photo(12, 18, 1)
    data = codec.encode(gray, lossless=True)
    decoded = codec.decode(data)
    assert codec.header(data) == ((12, 18, 3), np.dtype(np.uint8))
    for c in range(3):
        np.testing.assert_array_equal(decoded[..., c], gray)
    assert codec.decode(codec.encode(gray[:, :, None], lossless=True)).shape == (12, 18, 3)


@pytest.mark.parametrize("channels", [3, 4])
@pytest.mark.parametrize("lossless", [False, True])
def test_header_matches_decode(photo, channels, lossless):
    data = codec.encode(photo(37, 51, channels), lossless=lossless)
    assert data[12:16] == (b"VP8L" if lossless else b"VP8X" if channels == 4 else b"VP8 ")
    decoded = codec.decode(data)
    assert codec.header(data) == (decoded.shape, decoded.dtype) == ((37, 51, channels), np.dtype(np.uint8))


def test_header_of_extended_file_without_alpha(photo, pil_bytes):
    data = pil_bytes(photo(10, 14, 3), "WEBP", icc_profile=b"\x00" * 64)  # ICC forces the VP8X layout
    assert data[12:16] == b"VP8X"
    decoded = codec.decode(data)
    assert codec.header(data) == (decoded.shape, decoded.dtype) == ((10, 14, 3), np.dtype(np.uint8))


def test_animated_gives_first_frame(photo, pil_bytes):
    frames = [Image.fromarray(photo(9, 11, 3, seed=s)) for s in range(3)]
    data = pil_bytes(frames[0], "WEBP", save_all=True, append_images=frames[1:], lossless=True)
    decoded = codec.decode(data)
    assert codec.header(data)[0] == decoded.shape
    assert decoded.shape[:2] == (9, 11)


@pytest.mark.parametrize(
    "data", [b"", b"RIFF\x00\x00\x00\x00WEBP", b"RIFF" + b"\x00" * 4 + b"WAVE" + b"\x00" * 30]
)
def test_unreadable_header(data):
    with pytest.raises(SampleDecodeError) as info:
        codec.header(data)
    assert info.value.codec == "webp"


@pytest.mark.parametrize("lossless", [False, True])
def test_truncated_raises(photo, lossless):
    data = codec.encode(photo(24, 24, 4), lossless=lossless)
    for cut in [*range(1, len(data), 13), len(data) - 1]:
        with pytest.raises(SampleDecodeError) as info:
            codec.decode(data[:cut])
        assert info.value.codec == "webp"


@pytest.mark.parametrize(
    ("array", "error"),
    [
        (np.zeros((4, 4, 3), np.uint16), TensorDtypeMismatchError),
        (np.zeros((4, 4), np.float32), TensorDtypeMismatchError),
        (np.zeros((4, 4, 2), np.uint8), SampleShapeError),
        (np.zeros((16_384, 1, 3), np.uint8), SampleShapeError),
    ],
)
def test_encode_refuses(array, error):
    with pytest.raises(error, match="webp"):
        codec.encode(array)
