"""read() / MediaSample: laziness, fsspec URLs, in-memory bytes, format checks, transcode."""

from __future__ import annotations

import uuid
from pathlib import Path

import fsspec
import numpy as np
import pytest

from arrowds.errors import SampleDecodeError, SampleShapeError, UnsupportedCompressionError
from arrowds.media import MediaSample, get_codec, read, sample, transcode


@pytest.fixture
def png_bytes(photo) -> bytes:
    return get_codec("png").encode(photo(12, 20, 3))


@pytest.fixture
def jpeg_bytes(photo) -> bytes:
    return get_codec("jpeg").encode(photo(12, 20, 3))


@pytest.fixture
def memory_url():
    """A fresh memory:// URL, removed afterwards."""
    fs = fsspec.filesystem("memory")
    url = f"memory://arrowds-media-tests/{uuid.uuid4().hex}"
    yield url
    if fs.exists(url):
        fs.rm(url, recursive=True)


@pytest.fixture
def opens(monkeypatch):
    """Records every fsspec.open the sample module makes: (url, kwargs)."""
    calls: list[tuple[str, dict]] = []
    real_open = fsspec.open

    def spy(url, mode="rb", **kwargs):
        calls.append((url, kwargs))
        return real_open(url, mode, **kwargs)

    monkeypatch.setattr(sample.fsspec, "open", spy)
    return calls


def test_read_local_file(tmp_path: Path, jpeg_bytes: bytes):
    path = tmp_path / "cat.jpg"
    path.write_bytes(jpeg_bytes)
    s = read(str(path))
    assert s.path == str(path)
    assert s.compression == "jpeg"
    assert s.tobytes() == jpeg_bytes
    assert s.buffer is s.tobytes()
    assert s.shape == (12, 20, 3)
    assert s.dtype == np.uint8
    assert s.numpy().shape == (12, 20, 3)
    assert s.validate() == "jpeg"
    assert repr(s) == f"MediaSample(path={str(path)!r}, compression='jpeg')"


def test_read_pathlike(tmp_path: Path, png_bytes: bytes):
    path = tmp_path / "cat.png"
    path.write_bytes(png_bytes)
    s = read(path)
    assert s.path == str(path)
    assert s.shape == (12, 20, 3)


def test_construction_does_no_io(tmp_path: Path, png_bytes: bytes, opens):
    path = tmp_path / "later.png"
    s = read(str(path))
    assert s.compression == "png"  # from the extension, still no I/O
    assert repr(s) == f"MediaSample(path={str(path)!r}, compression='png')"
    assert opens == []
    path.write_bytes(png_bytes)  # the file only exists now
    assert s.shape == (12, 20, 3)


def test_missing_file_names_the_path(tmp_path: Path):
    path = str(tmp_path / "missing.jpg")
    s = read(path)
    with pytest.raises(FileNotFoundError, match="missing.jpg") as info:
        s.tobytes()
    assert info.value.filename == path
    with pytest.raises(FileNotFoundError):
        s.numpy()


def test_bytes_are_fetched_once(memory_url: str, png_bytes: bytes, opens):
    url = f"{memory_url}/a.png"
    fsspec.filesystem("memory").pipe(url, png_bytes)
    s = read(url)
    s.shape, s.dtype, s.numpy(), s.tobytes(), s.validate(), s.compression
    assert len(opens) == 1


def test_memory_url_with_storage_options(memory_url: str, png_bytes: bytes, photo, opens):
    url = f"{memory_url}/cat.png"
    fsspec.filesystem("memory").pipe(url, png_bytes)
    s = read(url, storage_options={"skip_instance_cache": True})
    np.testing.assert_array_equal(s.numpy(), photo(12, 20, 3))
    assert opens == [(url, {"skip_instance_cache": True})]


def test_memory_url_missing(memory_url: str):
    with pytest.raises(FileNotFoundError, match="nope.png"):
        read(f"{memory_url}/nope.png").tobytes()


def test_bytes_sniffed(png_bytes: bytes):
    s = read(png_bytes)
    assert s.path is None
    assert s.compression == "png"
    assert s.shape == (12, 20, 3)
    assert repr(s) == f"MediaSample(bytes={len(png_bytes)}, compression='png')"
    assert read(bytearray(png_bytes)).tobytes() == png_bytes
    assert read(memoryview(png_bytes)).shape == (12, 20, 3)


def test_bytes_with_compression(jpeg_bytes: bytes):
    s = read(jpeg_bytes, compression="JPG")
    assert s.compression == "jpeg"
    assert s.numpy().shape == (12, 20, 3)


def test_bytes_with_wrong_compression(png_bytes: bytes):
    s = read(png_bytes, compression="jpeg")
    with pytest.raises(SampleDecodeError, match="jpeg.*png") as info:
        s.validate()
    assert info.value.codec == "jpeg"
    assert "in-memory bytes" in str(info.value)


def test_unknown_bytes():
    s = read(b"just some text, not an image")
    assert s.compression is None
    with pytest.raises(UnsupportedCompressionError, match="Cannot tell the format"):
        s.numpy()
    with pytest.raises(UnsupportedCompressionError):
        s.shape  # noqa: B018


def test_extension_content_mismatch(tmp_path: Path, png_bytes: bytes):
    path = tmp_path / "really_a_png.jpg"
    path.write_bytes(png_bytes)
    s = read(str(path))
    assert s.compression == "jpeg"
    assert s.tobytes() == png_bytes  # the bytes themselves are fine
    for access in (s.validate, lambda: s.shape, lambda: s.dtype, s.numpy):
        with pytest.raises(SampleDecodeError) as info:
            access()
        message = str(info.value)
        assert "really_a_png.jpg" in message and "jpeg" in message and "png" in message
        assert "extension" in message


def test_extension_claims_image_but_content_is_unknown(tmp_path: Path):
    path = tmp_path / "x.png"
    path.write_bytes(b"<html>not found</html>")
    with pytest.raises(SampleDecodeError, match="no known format"):
        read(str(path)).validate()


def test_explicit_compression_beats_extension(tmp_path: Path, png_bytes: bytes):
    path = tmp_path / "cat.bin"
    path.write_bytes(png_bytes)
    assert read(str(path), compression="png").shape == (12, 20, 3)
    with pytest.raises(SampleDecodeError, match="compression argument"):
        read(str(path), compression="webp").validate()


def test_no_extension_is_sniffed(tmp_path: Path, jpeg_bytes: bytes):
    path = tmp_path / "blob"
    path.write_bytes(jpeg_bytes)
    s = read(str(path))
    assert repr(s) == f"MediaSample(path={str(path)!r}, compression=None)"  # unknown until read
    assert s.compression == "jpeg"
    assert repr(s) == f"MediaSample(path={str(path)!r}, compression='jpeg')"
    assert s.shape == (12, 20, 3)


def test_format_without_codec_names_the_path(tmp_path: Path):
    path = tmp_path / "anim.gif"
    path.write_bytes(b"GIF89a" + bytes(40))
    s = read(str(path))
    assert s.compression == "gif"
    assert s.validate() == "gif"
    with pytest.raises(UnsupportedCompressionError, match="anim.gif"):
        s.numpy()


def test_audio_extension_is_not_rejected_for_lack_of_magic(tmp_path: Path):
    path = tmp_path / "song.mp3"
    path.write_bytes(b"\x00" * 64)  # mp3 files may start with junk before the first frame
    s = read(str(path))
    assert s.validate() == "mp3"
    with pytest.raises(SampleDecodeError, match=r"song.mp3.*\[codec mp3\]"):
        s.shape  # noqa: B018


def test_unknown_compression_argument_names_the_path():
    with pytest.raises(UnsupportedCompressionError, match="x.jpg"):
        read("x.jpg", compression="jpeg2000")


def test_corrupt_file_names_path_and_codec(tmp_path: Path, jpeg_bytes: bytes):
    path = tmp_path / "cut.jpg"
    path.write_bytes(jpeg_bytes[: len(jpeg_bytes) // 2])
    with pytest.raises(SampleDecodeError, match="cut.jpg") as info:
        read(str(path)).numpy()
    assert info.value.codec == "jpeg"
    path.write_bytes(jpeg_bytes[:30])
    with pytest.raises(SampleDecodeError, match="cut.jpg"):
        read(str(path)).shape  # noqa: B018


def test_shape_does_not_decode(png_bytes: bytes, monkeypatch):
    def no_decode(self, data):
        raise AssertionError("decoded")

    monkeypatch.setattr(type(get_codec("png")), "decode", no_decode)
    s = read(png_bytes)
    assert (s.shape, s.dtype) == ((12, 20, 3), np.dtype(np.uint8))


def test_array_protocol(png_bytes: bytes, photo):
    np.testing.assert_array_equal(np.asarray(read(png_bytes)), photo(12, 20, 3))
    assert np.asarray(read(png_bytes), dtype=np.float32).dtype == np.float32


def test_bad_source_type():
    with pytest.raises(TypeError, match="int"):
        read(42)  # type: ignore[arg-type]


def test_transcode_png_to_jpeg(png_bytes: bytes, photo):
    data = transcode(read(png_bytes), "jpg", quality=95)
    assert read(data).compression == "jpeg"
    decoded = get_codec("jpeg").decode(data)
    assert np.abs(decoded.astype(int) - photo(12, 20, 3).astype(int)).mean() < 6


def test_transcode_to_same_codec_keeps_bytes(jpeg_bytes: bytes):
    assert transcode(read(jpeg_bytes), "jpeg") is jpeg_bytes
    assert transcode(jpeg_bytes, "JPG") is jpeg_bytes


def test_transcode_to_lossless_is_exact(photo):
    array = photo(10, 10, 4)
    data = get_codec("webp").encode(array, lossless=True)
    np.testing.assert_array_equal(get_codec("png").decode(transcode(read(data), "png")), array)


def test_transcode_rgba_to_jpeg_names_the_file(tmp_path: Path, photo):
    path = tmp_path / "alpha.png"
    path.write_bytes(get_codec("png").encode(photo(8, 8, 4)))
    with pytest.raises(SampleShapeError, match="alpha.png.*RGB"):
        transcode(read(str(path)), "jpeg")


def test_transcode_checks_the_source(tmp_path: Path, png_bytes: bytes):
    path = tmp_path / "fake.webp"
    path.write_bytes(png_bytes)
    with pytest.raises(SampleDecodeError, match="fake.webp"):
        transcode(read(str(path)), "jpeg")
    with pytest.raises(UnsupportedCompressionError):
        transcode(read(png_bytes), "gif")


def test_media_sample_is_the_class_read_returns(png_bytes: bytes):
    assert isinstance(read(png_bytes), MediaSample)
    assert MediaSample(png_bytes, compression="png").shape == (12, 20, 3)
