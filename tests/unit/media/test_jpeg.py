"""The jpeg codec: both backends, the hand-written SOF parser, corrupt data, what encode refuses."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from arrowds.errors import SampleDecodeError, SampleShapeError, TensorDtypeMismatchError
from arrowds.media import get_codec, jpeg
from arrowds.media.jpeg import read_jpeg_info

codec = get_codec("jpeg")


def _mean_error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def _sof_offset(data: bytes) -> int:
    """Byte offset of the SOF marker's 0xFF in a Pillow/simplejpeg-written file."""
    for marker in (b"\xff\xc0", b"\xff\xc2"):
        if (i := data.find(marker)) > 0:
            return i
    raise AssertionError("no SOF0/SOF2 marker")


@pytest.mark.parametrize("channels", [1, 3])
def test_round_trip_within_tolerance(photo, jpeg_backend, channels):
    array = photo(48, 64, channels)
    data = codec.encode(array)
    decoded = codec.decode(data)
    assert decoded.shape == array.shape
    assert decoded.dtype == np.uint8
    assert decoded.flags.writeable
    assert _mean_error(decoded, array) < 4


def test_gray_with_channel_axis_decodes_without_it(photo, jpeg_backend):
    array = photo(16, 24, 1)[:, :, None]
    assert codec.decode(codec.encode(array)).shape == (16, 24)


def test_backends_agree(photo, pil_bytes, monkeypatch):
    pytest.importorskip("simplejpeg")
    data = pil_bytes(photo(40, 56, 3), "JPEG", quality=90)
    fast = codec.decode(data)
    monkeypatch.setattr(jpeg, "_simplejpeg", None)
    slow = codec.decode(data)
    assert fast.shape == slow.shape == (40, 56, 3)
    assert np.abs(fast.astype(int) - slow.astype(int)).max() <= 2


def test_quality_changes_size(photo, jpeg_backend):
    array = photo(64, 64, 3)
    assert len(codec.encode(array, quality=30)) < len(codec.encode(array, quality=95))


def test_non_contiguous_input(photo, jpeg_backend):
    array = photo(32, 32, 3)[:, ::-1]
    assert _mean_error(codec.decode(codec.encode(array)), array) < 4


@pytest.mark.parametrize(
    ("mode", "options", "shape"),
    [
        ("L", {}, (40, 56)),
        ("RGB", {}, (40, 56, 3)),
        ("RGB", {"progressive": True}, (40, 56, 3)),
        ("L", {"progressive": True}, (40, 56)),
        ("CMYK", {}, (40, 56, 3)),
        ("RGB", {"subsampling": "4:4:4"}, (40, 56, 3)),
        ("RGB", {"keep_rgb": True}, (40, 56, 3)),  # Adobe transform 0: stored as RGB, not YCbCr
    ],
)
def test_header_matches_decode(photo, pil_bytes, jpeg_backend, mode, options, shape):
    data = pil_bytes(Image.fromarray(photo(40, 56, 3)).convert(mode), "JPEG", **options)
    assert codec.header(data) == (shape, np.dtype(np.uint8))
    decoded = codec.decode(data)
    assert (decoded.shape, decoded.dtype) == codec.header(data)


def test_progressive_is_parsed(photo, pil_bytes):
    assert read_jpeg_info(pil_bytes(photo(8, 8, 3), "JPEG", progressive=True)).progressive
    assert not read_jpeg_info(pil_bytes(photo(8, 8, 3), "JPEG")).progressive


def test_cmyk_decodes_to_the_rgb_it_came_from(photo, pil_bytes, jpeg_backend):
    rgb = photo(40, 56, 3)
    data = pil_bytes(Image.fromarray(rgb).convert("CMYK"), "JPEG", quality=95)
    assert read_jpeg_info(data).components == 4
    assert _mean_error(codec.decode(data), rgb) < 4


def test_ycck_decodes_like_pillow(photo):
    simplejpeg = pytest.importorskip("simplejpeg")
    cmyk = np.ascontiguousarray(np.asarray(Image.fromarray(photo(24, 32, 3)).convert("CMYK")))
    data = simplejpeg.encode_jpeg(cmyk, 95, colorspace="CMYK")
    assert simplejpeg.decode_jpeg_header(data)[2] == "YCCK"
    assert codec.header(data) == ((24, 32, 3), np.dtype(np.uint8))
    reference = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    assert np.abs(codec.decode(data).astype(int) - reference.astype(int)).max() <= 2


def test_header_skips_exif_and_fill_bytes(photo, pil_bytes):
    exif = Image.Exif()
    exif[0x010E] = "x" * 3000  # ImageDescription: a long APP1 segment before the SOF
    data = pil_bytes(photo(20, 30, 3), "JPEG", exif=exif)
    assert codec.header(data) == ((20, 30, 3), np.dtype(np.uint8))
    i = _sof_offset(data)
    padded = data[:i] + b"\xff\xff\xff" + data[i:]  # fill bytes before a marker are legal
    assert codec.header(padded) == ((20, 30, 3), np.dtype(np.uint8))


@pytest.mark.parametrize(
    ("patch", "match"),
    [
        (lambda d, i: d[: i + 4] + b"\x0c" + d[i + 5 :], "12-bit"),  # precision byte
        (lambda d, i: d[: i + 5] + b"\x00\x00" + d[i + 7 :], "zero size"),  # height (DNL)
        (lambda d, i: d[: i + 1] + b"\xc5" + d[i + 2 :], "hierarchical"),  # SOF5
    ],
)
def test_header_refuses_what_no_decoder_here_reads(photo, pil_bytes, patch, match):
    data = pil_bytes(photo(8, 8, 3), "JPEG")
    bad = patch(data, _sof_offset(data))
    with pytest.raises(SampleDecodeError, match=match) as info:
        codec.header(bad)
    assert info.value.codec == "jpeg"
    with pytest.raises(SampleDecodeError):
        codec.decode(bad)


@pytest.mark.parametrize(
    "data",
    [b"", b"\xff\xd8", b"not a jpeg at all", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, b"\xff\xd8\xff\xe0\x00"],
)
def test_unreadable_header(data):
    with pytest.raises(SampleDecodeError) as info:
        codec.header(data)
    assert info.value.codec == "jpeg"


def test_truncated_raises_at_every_cut(photo, pil_bytes, jpeg_backend):
    data = pil_bytes(photo(32, 32, 3), "JPEG", progressive=True)
    for cut in range(1, len(data), 7):
        with pytest.raises(SampleDecodeError) as info:
            codec.decode(data[:cut])
        assert info.value.codec == "jpeg"
    with pytest.raises(SampleDecodeError):
        codec.decode(data[:-1])


def test_corrupt_scan_data_is_not_decoded_silently(photo, pil_bytes):
    pytest.importorskip("simplejpeg")
    data = bytearray(pil_bytes(photo(64, 64, 3), "JPEG"))
    start = data.find(b"\xff\xda") + 20
    data[start : start + 4] = b"\xff\xd5\xff\xd1"  # restart markers inside the scan; Pillow decodes it
    Image.open(io.BytesIO(bytes(data))).load()
    with pytest.raises(SampleDecodeError) as info:
        codec.decode(bytes(data))
    assert info.value.codec == "jpeg"


class _FakeSimplejpeg:
    def __init__(self, message: str):
        self.message = message

    def decode_jpeg(self, data, colorspace="RGB"):
        raise ValueError(self.message)


def test_falls_back_to_pillow_for_what_simplejpeg_cannot_do(photo, pil_bytes, monkeypatch):
    data = pil_bytes(photo(16, 16, 3), "JPEG")
    monkeypatch.setattr(jpeg, "_simplejpeg", _FakeSimplejpeg("Unsupported color conversion request"))
    assert codec.decode(data).shape == (16, 16, 3)


def test_does_not_fall_back_to_hide_corruption(photo, pil_bytes, monkeypatch):
    data = pil_bytes(photo(16, 16, 3), "JPEG")  # Pillow would decode it
    fake = _FakeSimplejpeg("Corrupt JPEG data: 3 extraneous bytes before marker 0xd9")
    monkeypatch.setattr(jpeg, "_simplejpeg", fake)
    with pytest.raises(SampleDecodeError, match="extraneous bytes") as info:
        codec.decode(data)
    assert info.value.codec == "jpeg"


@pytest.mark.parametrize(
    ("array", "error", "match"),
    [
        (np.zeros((4, 4, 4), np.uint8), SampleShapeError, r"H x W x 3 \(RGB\)"),
        (np.zeros((4, 4, 2), np.uint8), SampleShapeError, "shape"),
        (np.zeros((4,), np.uint8), SampleShapeError, "shape"),
        (np.zeros((2, 4, 4, 3), np.uint8), SampleShapeError, "shape"),
        (np.zeros((0, 4, 3), np.uint8), SampleShapeError, "between 1 and"),
        (np.zeros((70_000, 1), np.uint8), SampleShapeError, "between 1 and"),
        (np.zeros((4, 4, 3), np.uint16), TensorDtypeMismatchError, "uint16"),
        (np.zeros((4, 4, 3), np.float32), TensorDtypeMismatchError, "float32"),
        (np.zeros((4, 4), bool), TensorDtypeMismatchError, "bool"),
    ],
)
def test_encode_refuses(array, error, match, jpeg_backend):
    with pytest.raises(error, match=match) as info:
        codec.encode(array)
    assert "jpeg" in str(info.value)


@pytest.mark.parametrize("options", [{"quality": 0}, {"quality": 101}, {"subsampling": "4:2:0"}])
def test_encode_refuses_bad_options(options):
    with pytest.raises(ValueError):
        codec.encode(np.zeros((4, 4, 3), np.uint8), **options)


# -- batch header reads ----------------------------------------------------------------------
def _packed(blobs: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    offsets = np.zeros(len(blobs) + 1, np.int64)
    np.cumsum([len(b) for b in blobs], out=offsets[1:])
    return np.frombuffer(b"".join(blobs), np.uint8), offsets


def _image_shape(data: bytes) -> tuple[int, int, int]:
    info = read_jpeg_info(data)
    return info.height, info.width, 1 if info.components == 1 else 3


def test_batch_shapes_match_one_at_a_time(photo, pil_bytes):
    exif = Image.Exif()
    exif[0x010E] = "x" * 3000
    blobs = [
        pil_bytes(photo(40, 56, 3), "JPEG"),
        pil_bytes(Image.fromarray(photo(17, 9, 3)).convert("L"), "JPEG"),
        pil_bytes(photo(33, 21, 3), "JPEG", progressive=True),
        pil_bytes(Image.fromarray(photo(12, 30, 3)).convert("CMYK"), "JPEG"),
        pil_bytes(photo(20, 30, 3), "JPEG", exif=exif),  # a 3 KB APP1 segment first
        pil_bytes(photo(300, 2, 3), "JPEG", subsampling="4:4:4"),
    ]
    data, offsets = _packed(blobs)
    got = codec.image_shapes(data, offsets)
    assert got.tolist() == [list(_image_shape(b)) for b in blobs]
    assert codec.image_shapes(*_packed([])).shape == (0, 3)


def test_batch_leaves_the_unusual_and_the_bad_to_the_one_at_a_time_reader(photo, pil_bytes):
    good = pil_bytes(photo(20, 30, 3), "JPEG")
    i = _sof_offset(good)
    unusual_or_bad = [
        good[:i] + b"\xff\xff\xff" + good[i:],  # legal fill bytes: read_jpeg_info takes it
        good[: i + 4] + b"\x0c" + good[i + 5:],  # 12-bit
        good[: i + 1] + b"\xc5" + good[i + 2:],  # hierarchical SOF5
        good[:i],  # truncated before the SOF
        good[: i + 6],  # truncated inside the SOF
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 40,
        b"\xff\xd8",
    ]
    for odd in unusual_or_bad:
        for blobs in ([odd], [good, odd, good]):
            assert codec.image_shapes(*_packed(blobs)) is None, odd[:12]
    assert codec.image_shapes(*_packed([good, good])).tolist() == [[20, 30, 3]] * 2


def test_batch_never_disagrees_with_the_one_at_a_time_reader(photo, pil_bytes):
    """Any cut or single-byte change of a valid file: the batch reader gives the same shape as
    read_jpeg_info, or gives up; it never returns a shape for a file read_jpeg_info refuses."""
    good = pil_bytes(photo(24, 40, 3), "JPEG")
    rng = np.random.default_rng(0)
    variants = [good[:cut] for cut in range(0, _sof_offset(good) + 12)]
    for _ in range(300):
        b = bytearray(good)
        b[int(rng.integers(0, _sof_offset(good) + 12))] = int(rng.integers(0, 256))
        variants.append(bytes(b))
    for v in variants:
        got = codec.image_shapes(*_packed([v]))
        if got is None:
            continue
        try:
            want = codec.header(v)[0]
        except SampleDecodeError:
            raise AssertionError(f"batch read a shape from a file header() refuses: {v[:24]!r}") from None
        assert tuple(got[0]) == (*want[:2], 1 if len(want) == 2 else 3)


@pytest.mark.parametrize("channels", [1, 3])
def test_decode_into_fills_the_batch_array_like_decode(photo, jpeg_backend, channels):
    data = codec.encode(photo(24, 32, channels))
    batch = np.zeros((2, 24, 32, channels), np.uint8)
    filled = codec.decode_into(data, batch[1])
    if jpeg_backend == "simplejpeg":
        assert filled
        assert np.array_equal(batch[1].reshape(codec.decode(data).shape), codec.decode(data))
        assert not batch[0].any()
    else:
        assert not filled  # Pillow has no in-place decode: the caller decodes as usual


def test_decode_into_refuses_what_does_not_fit(photo, pil_bytes):
    pytest.importorskip("simplejpeg")
    data = codec.encode(photo(24, 32, 3))
    assert not codec.decode_into(data, np.empty((20, 32, 3), np.uint8))  # too small
    assert not codec.decode_into(data, np.empty((30, 32, 3), np.uint8))  # bigger than the image
    assert not codec.decode_into(data, np.empty((24, 32, 3), np.float32))
    assert not codec.decode_into(data[: len(data) // 2], np.empty((24, 32, 3), np.uint8))  # truncated
    cmyk = pil_bytes(Image.fromarray(photo(24, 32, 3)).convert("CMYK"), "JPEG", quality=95)
    out = np.empty((24, 32, 3), np.uint8)
    assert codec.decode_into(cmyk, out)  # libjpeg-turbo converts CMYK to RGB, as decode() does
    assert np.array_equal(out, codec.decode(cmyk))


@pytest.mark.parametrize("channels", [1, 3])
def test_decode_shaped_gives_decode_at_the_stored_shape(photo, channels):
    pytest.importorskip("simplejpeg")
    data = codec.encode(photo(24, 32, channels))
    got = codec.decode_shaped(data, (24, 32, channels))
    assert got.shape == (24, 32, channels) and got.dtype == np.uint8
    assert np.array_equal(got.reshape(codec.decode(data).shape), codec.decode(data))


def test_decode_shaped_refuses_what_does_not_fit(photo, monkeypatch):
    pytest.importorskip("simplejpeg")
    data = codec.encode(photo(24, 32, 3))
    assert codec.decode_shaped(data, (20, 32, 3)) is None  # another size
    assert codec.decode_shaped(data, (24, 32, 4)) is None  # no such layout
    assert codec.decode_shaped(data[: len(data) // 2], (24, 32, 3)) is None  # truncated
    monkeypatch.setattr(jpeg, "_simplejpeg", None)
    assert codec.decode_shaped(data, (24, 32, 3)) is None  # Pillow: decode() does it
