"""Format detection from magic bytes and from file names."""

from __future__ import annotations

import pytest

from arrowds.media import compression_from_extension, get_codec, sniff_compression
from arrowds.media.sniff import KNOWN_COMPRESSIONS, canonical_compression

MAGIC = {
    "jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    "png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    "webp": b"RIFF\x24\x00\x00\x00WEBPVP8 ",
    "gif": b"GIF89a\x01\x00\x01\x00",
    "bmp": b"BM\x36\x00\x00\x00\x00\x00\x00\x00\x36\x00\x00\x00",
    "tiff": b"II*\x00\x08\x00\x00\x00",
    "wav": b"RIFF\x24\x00\x00\x00WAVEfmt ",
    "flac": b"fLaC\x00\x00\x00\x22",
    "mp3": b"ID3\x04\x00\x00\x00\x00\x00\x00",
    "mp4": b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00",
    "mkv": b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01",
    "avi": b"RIFF\x24\x00\x00\x00AVI LIST",
}


@pytest.mark.parametrize(("name", "head"), MAGIC.items())
def test_sniff_magic(name, head):
    assert sniff_compression(head + b"\x00" * 32) == name
    assert sniff_compression(memoryview(head + b"\x00" * 32)) == name


@pytest.mark.parametrize(
    ("head", "name"),
    [
        (b"MM\x00*\x00\x00\x00\x08", "tiff"),
        (b"GIF87a", "gif"),
        (b"\xff\xfb\x90\x64\x00", "mp3"),  # MPEG-1 layer III frame, no ID3 tag
        (b"\xff\xf1\x50\x80\x00", None),  # AAC ADTS: same sync word, layer 00
        (b"\x00\x00\x00\x18ftypavif\x00\x00", None),  # an AVIF image is not an mp4
        (b"\x00\x00\x00\x18ftypqt  \x00\x00", "mp4"),
        (b"RIFF\x00\x00\x00\x00XXXX", None),
        (b"", None),
        (b"\xff\xd8", None),
        (b"hello world, not media", None),
    ],
)
def test_sniff_edge_cases(head, name):
    assert sniff_compression(head) == name


def test_sniff_real_files(photo):
    for name in ("jpeg", "png", "webp"):
        assert sniff_compression(get_codec(name).encode(photo(8, 8, 3))) == name


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("cat.jpg", "jpeg"),
        ("CAT.JPEG", "jpeg"),
        ("a/b.jpe", "jpeg"),
        ("x.png", "png"),
        ("x.webp", "webp"),
        ("x.gif", "gif"),
        ("x.bmp", "bmp"),
        ("x.tif", "tiff"),
        ("x.TIFF", "tiff"),
        ("x.wav", "wav"),
        ("x.flac", "flac"),
        ("x.mp3", "mp3"),
        ("x.mp4", "mp4"),
        ("x.mkv", "mkv"),
        ("x.avi", "avi"),
        ("s3://bucket/dir.png/cat.jpg", "jpeg"),
        ("https://host/cat.png?sig=abc.jpg#frag", "png"),
        ("memory://x/y.webp", "webp"),
        (r"C:\data\cat.PNG", "png"),
        ("noext", None),
        ("archive.tar.gz", None),
        (".png", None),
        ("dir.jpg/file", None),
    ],
)
def test_compression_from_extension(path, name):
    assert compression_from_extension(path) == name


def test_every_known_name_has_an_extension_and_magic():
    assert set(KNOWN_COMPRESSIONS) == set(MAGIC)
    for name in KNOWN_COMPRESSIONS:
        assert canonical_compression(name.upper()) == name


@pytest.mark.parametrize(
    ("alias", "name"), [("jpg", "jpeg"), ("JPG", "jpeg"), (" tif ", "tiff"), ("nope", None)]
)
def test_canonical_compression(alias, name):
    assert canonical_compression(alias) == name
