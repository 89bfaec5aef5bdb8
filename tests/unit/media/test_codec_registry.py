"""The codec registry and the package's public names."""

from __future__ import annotations

import numpy as np
import pytest

import arrowds.media as media
from arrowds.errors import UnsupportedCompressionError
from arrowds.media import IMAGE_COMPRESSIONS, Codec, codec_names, get_codec


def test_public_names():
    assert sorted(media.__all__) == sorted(
        [
            "Codec",
            "IMAGE_COMPRESSIONS",
            "MediaSample",
            "codec_names",
            "compression_from_extension",
            "get_codec",
            "read",
            "sniff_compression",
            "transcode",
        ]
    )
    for name in media.__all__:
        assert getattr(media, name) is not None


def test_names():
    assert IMAGE_COMPRESSIONS == ("jpeg", "png", "webp")
    assert codec_names() == ["jpeg", "png", "webp", "wav", "flac", "mp3", "mp4", "mkv", "avi"]


@pytest.mark.parametrize(
    ("name", "canonical"),
    [("jpeg", "jpeg"), ("jpg", "jpeg"), ("JPG", "jpeg"), ("Png", "png"), ("WEBP", "webp")],
)
def test_get_codec(name, canonical):
    codec = get_codec(name)
    assert isinstance(codec, Codec)
    assert codec.name == canonical
    assert get_codec(name) is codec


@pytest.mark.parametrize("name", IMAGE_COMPRESSIONS)
def test_codec_attributes(name):
    codec = get_codec(name)
    assert codec.kind == "image"
    assert codec.lossless is (name == "png")
    assert codec.extensions and all(ext.startswith(".") and ext == ext.lower() for ext in codec.extensions)
    assert name in repr(codec)


def test_unknown_codec_lists_known_names():
    with pytest.raises(UnsupportedCompressionError, match="jpeg, png, webp") as info:
        get_codec("lz4")
    assert "lz4" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_known_format_without_codec():
    with pytest.raises(UnsupportedCompressionError, match="no gif codec"):
        get_codec("gif")


def test_non_string_name():
    with pytest.raises(UnsupportedCompressionError):
        get_codec(None)  # type: ignore[arg-type]


def test_header_never_decodes():
    """header() must not touch pixels: it works on a file whose pixel data is zeroed out."""
    array = np.zeros((30, 40, 3), np.uint8)
    for name in IMAGE_COMPRESSIONS:
        codec = get_codec(name)
        data = codec.encode(array)
        head = {"jpeg": data.find(b"\xff\xda"), "png": data.find(b"IDAT"), "webp": 30}[name]
        broken = data[:head] + bytes(len(data) - head)
        assert codec.header(broken) == ((30, 40, 3), np.dtype(np.uint8))


@pytest.mark.parametrize("name", IMAGE_COMPRESSIONS)
@pytest.mark.parametrize("wrap", [bytes, bytearray, memoryview])
def test_any_bytes_like_input(name, wrap, photo):
    codec = get_codec(name)
    data = codec.encode(photo(9, 14, 3))
    expected = codec.decode(data)
    assert codec.header(wrap(data)) == ((9, 14, 3), np.dtype(np.uint8))
    np.testing.assert_array_equal(codec.decode(wrap(data)), expected)
