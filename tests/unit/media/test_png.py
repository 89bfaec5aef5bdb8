"""The png codec: exact round trips, the IHDR header against Pillow's decode, truncation."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from arrowds.errors import SampleDecodeError, SampleShapeError, TensorDtypeMismatchError
from arrowds.media import get_codec

codec = get_codec("png")


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_round_trip_uint8_exact(photo, channels):
    array = photo(33, 47, channels)
    decoded = codec.decode(codec.encode(array))
    assert decoded.dtype == np.uint8
    assert decoded.flags.writeable
    np.testing.assert_array_equal(decoded, array)


def test_gray_with_channel_axis(photo):
    array = photo(5, 6, 1)[:, :, None]
    np.testing.assert_array_equal(codec.decode(codec.encode(array)), array[:, :, 0])


@pytest.mark.parametrize("dtype", ["<u2", ">u2"])
@pytest.mark.parametrize("shape", [(9, 13), (9, 13, 1)])
def test_round_trip_uint16_gray_exact(dtype, shape):
    array = np.random.default_rng(1).integers(0, 65536, shape).astype(dtype)
    data = codec.encode(array)
    assert data[24:26] == b"\x10\x00"  # IHDR: bit depth 16, colour type 0 (gray)
    decoded = codec.decode(data)
    assert decoded.dtype == np.uint16
    assert decoded.dtype.isnative
    np.testing.assert_array_equal(decoded, array.reshape(9, 13))
    assert codec.header(data) == ((9, 13), np.dtype(np.uint16))


@pytest.mark.parametrize("level", [0, 9])
def test_compress_level(photo, level):
    array = photo(16, 16, 3)
    np.testing.assert_array_equal(codec.decode(codec.encode(array, compress_level=level)), array)


def _palette(transparent: bool) -> Image.Image:
    image = Image.fromarray(np.arange(48, dtype=np.uint8).reshape(6, 8) % 5).convert("P")
    image.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255])
    if transparent:
        image.info["transparency"] = 1
    return image


@pytest.mark.parametrize(
    ("make", "options", "shape", "dtype"),
    [
        (lambda a: Image.fromarray(a[..., 0] > 128), {}, (6, 8), "uint8"),  # 1-bit
        (lambda a: Image.fromarray(a[..., 0]), {}, (6, 8), "uint8"),
        (lambda a: Image.fromarray(a[..., 0]), {"bits": 4}, (6, 8), "uint8"),
        (lambda a: Image.fromarray(a[..., 0]), {"transparency": 7}, (6, 8), "uint8"),
        (lambda a: Image.fromarray(a[..., :2], "LA"), {}, (6, 8, 4), "uint8"),
        (lambda a: _palette(False), {}, (6, 8, 3), "uint8"),
        (lambda a: _palette(True), {"transparency": 1}, (6, 8, 4), "uint8"),
        (lambda a: Image.fromarray(a[..., :3]), {}, (6, 8, 3), "uint8"),
        (lambda a: Image.fromarray(a[..., :3]), {"transparency": (1, 2, 3)}, (6, 8, 3), "uint8"),
        (lambda a: Image.fromarray(a), {}, (6, 8, 4), "uint8"),
        (lambda a: Image.fromarray(a[..., :3]), {"interlace": 1}, (6, 8, 3), "uint8"),
        (lambda a: Image.fromarray(a[..., 0].astype(np.uint16) * 257), {}, (6, 8), "uint16"),
    ],
)
def test_header_matches_pillow_decode(photo, pil_bytes, make, options, shape, dtype):
    data = pil_bytes(make(photo(6, 8, 4)), "PNG", **options)
    assert codec.header(data) == (shape, np.dtype(dtype))
    decoded = codec.decode(data)
    assert (decoded.shape, decoded.dtype) == (shape, np.dtype(dtype))


@pytest.mark.parametrize(
    ("colour", "channels", "shape"), [(2, 3, (5, 7, 3)), (6, 4, (5, 7, 4)), (4, 2, (5, 7, 4))]
)
def test_16_bit_colour_decodes_as_uint8(raw_png, colour, channels, shape):
    array = np.random.default_rng(2).integers(0, 65536, (5, 7, channels)).astype(np.uint16)
    data = raw_png(array, 16, colour)
    assert codec.header(data) == (shape, np.dtype(np.uint8))
    decoded = codec.decode(data)
    assert (decoded.shape, decoded.dtype) == (shape, np.dtype(np.uint8))
    np.testing.assert_array_equal(decoded[..., 0], array[..., 0] >> 8)


def test_header_of_a_png_without_iend(pil_bytes):
    data = pil_bytes(_palette(True), "PNG", transparency=1)
    cut = data[: data.find(b"IDAT") + 4]  # the header does not need the pixels
    assert codec.header(cut) == ((6, 8, 4), np.dtype(np.uint8))


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x89PNG\r\n\x1a\n",
        b"\xff\xd8\xff\xe0" + b"\x00" * 40,
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x05\x00\x00\x00\x05\x05\x02" + b"\x00" * 20,
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x00\x00\x00\x00\x05\x08\x02" + b"\x00" * 20,
    ],
    ids=["empty", "signature-only", "jpeg", "bad-bit-depth", "zero-width"],
)
def test_unreadable_header(data):
    with pytest.raises(SampleDecodeError) as info:
        codec.header(data)
    assert info.value.codec == "png"


def test_truncated_palette_header(pil_bytes):
    data = pil_bytes(_palette(True), "PNG", transparency=1)
    with pytest.raises(SampleDecodeError, match="truncated"):
        codec.header(data[:40])


def test_truncated_raises_at_every_cut(photo):
    data = codec.encode(photo(24, 24, 3))
    for cut in [*range(1, len(data), 11), *range(len(data) - 30, len(data))]:
        with pytest.raises(SampleDecodeError) as info:
            codec.decode(data[:cut])
        assert info.value.codec == "png"


def test_trailing_bytes_after_iend_are_fine(photo):
    array = photo(8, 8, 3)
    np.testing.assert_array_equal(codec.decode(codec.encode(array) + b"\x00" * 17), array)


def test_corrupt_pixel_data(photo):
    data = bytearray(codec.encode(photo(24, 24, 3)))
    start = data.find(b"IDAT") + 10
    data[start : start + 30] = bytes(30)
    with pytest.raises(SampleDecodeError) as info:
        codec.decode(bytes(data))
    assert info.value.codec == "png"


def test_decode_accepts_memoryview(photo):
    array = photo(8, 8, 4)
    data = memoryview(codec.encode(array))
    np.testing.assert_array_equal(codec.decode(data), array)
    assert codec.header(data) == ((8, 8, 4), np.dtype(np.uint8))


@pytest.mark.parametrize(
    ("array", "error", "match"),
    [
        (np.zeros((4, 4, 3), np.uint16), TensorDtypeMismatchError, "gray only"),
        (np.zeros((4, 4, 2), np.uint8), SampleShapeError, "RGBA"),
        (np.zeros((4, 4, 5), np.uint8), SampleShapeError, "shape"),
        (np.zeros((4, 4), np.int16), TensorDtypeMismatchError, "uint8 or uint16"),
        (np.zeros((4, 4), np.float64), TensorDtypeMismatchError, "float64"),
        (np.zeros((4, 0), np.uint8), SampleShapeError, "between 1 and"),
    ],
)
def test_encode_refuses(array, error, match):
    with pytest.raises(error, match=match) as info:
        codec.encode(array)
    assert "png" in str(info.value)


@settings(max_examples=100, deadline=None)
@given(
    hnp.arrays(
        np.uint8,
        st.tuples(st.integers(1, 64), st.integers(1, 64), st.sampled_from([1, 3, 4])),
        elements=st.integers(0, 255),
    )
)
def test_property_uint8_round_trip_is_exact(array):
    if array.shape[-1] == 1 and array.ndim == 3:
        array = array[:, :, 0]
    data = codec.encode(array)
    decoded = codec.decode(data)
    np.testing.assert_array_equal(decoded, array)
    assert codec.header(data) == (decoded.shape, decoded.dtype)


def _idat(data: bytes) -> bytes:
    """The concatenated IDAT payloads (the zlib stream of filtered pixels) of a PNG."""
    out, i = b"", 8
    while i < len(data):
        n, kind = struct.unpack(">I4s", data[i:i + 8])
        if kind == b"IDAT":
            out += data[i + 8:i + 8 + n]
        i += 12 + n
    return out


@pytest.mark.parametrize(("shape", "level"), [((32, 32, 3), 6), ((7, 5), 6), ((7, 5, 1), 1), ((9, 3, 4), 9),
                                              ((1, 1, 3), 0), ((300, 200, 3), 6)])
def test_uint8_png_is_pillows_stream(photo, shape, level):
    """uint8 arrays skip Pillow's ``save`` but compress with its encoder: the pixel stream is
    the one ``save`` writes (so sizes match), in one IDAT chunk; decoders read it back exactly."""
    array = photo(shape[0], shape[1], shape[2] if len(shape) == 3 else 1).reshape(shape)
    ours = codec.encode(array, compress_level=level)
    buf = io.BytesIO()
    Image.fromarray(array.reshape(shape[:2]) if array.ndim == 3 and shape[2] == 1 else array).save(
        buf, "PNG", compress_level=level)
    assert _idat(ours) == _idat(buf.getvalue())
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(ours))), array.reshape(
        shape[:2] if len(shape) == 2 or shape[2] == 1 else shape))
    assert codec.header(ours)[0] == (shape[:2] if len(shape) == 2 or shape[2] == 1 else shape)
    strided = np.repeat(array, 2, axis=1)[:, ::2]                # not C-contiguous
    assert codec.encode(strided, compress_level=level) == ours
