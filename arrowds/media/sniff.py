"""Tell a media format from its first bytes or from a file name.

Knows more formats than arrowds has codecs for (gif, tiff, audio, video), so that an error can say
"this file is a gif" rather than "cannot decode", and so the audio/video codecs can reuse it.

    >>> sniff_compression(b"\\x89PNG\\r\\n\\x1a\\n...")
    'png'
    >>> compression_from_extension("s3://bucket/cat.JPG")
    'jpeg'
"""

from __future__ import annotations

import posixpath
from urllib.parse import urlsplit

__all__ = [
    "EXTENSIONS",
    "KNOWN_COMPRESSIONS",
    "SNIFF_BYTES",
    "canonical_compression",
    "compression_from_extension",
    "sniff_compression",
]

#: File-name suffixes of each known format, canonical name first in the mapping's order.
EXTENSIONS: dict[str, tuple[str, ...]] = {
    "jpeg": (".jpg", ".jpeg", ".jpe", ".jfif"),
    "png": (".png",),
    "webp": (".webp",),
    "gif": (".gif",),
    "bmp": (".bmp", ".dib"),
    "tiff": (".tif", ".tiff"),
    "wav": (".wav", ".wave"),
    "flac": (".flac",),
    "mp3": (".mp3",),
    "mp4": (".mp4", ".m4v"),
    "mkv": (".mkv", ".webm"),
    "avi": (".avi",),
}

#: Every format name this module can return, canonical spelling.
KNOWN_COMPRESSIONS: tuple[str, ...] = tuple(EXTENSIONS)

#: How many leading bytes ``sniff_compression`` needs to decide.
SNIFF_BYTES = 16

_ALIASES = {"jpg": "jpeg", "tif": "tiff"}
_BY_EXTENSION = {ext: name for name, exts in EXTENSIONS.items() for ext in exts}
# ISO-BMFF brands that hold still images, not video: an AVIF/HEIC file is not an "mp4".
_IMAGE_BRANDS = {b"avif", b"avis", b"heic", b"heix", b"heim", b"heis", b"hevc", b"mif1", b"msf1"}


def canonical_compression(name: str) -> str | None:
    """The canonical spelling of a format name (``"JPG"`` -> ``"jpeg"``), or None if unknown."""
    if name in EXTENSIONS:
        return name
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    return key if key in EXTENSIONS else None


def sniff_compression(data: bytes | bytearray | memoryview) -> str | None:
    """The canonical format of ``data`` read from its magic bytes, or None if not recognised.

    Only the first ``SNIFF_BYTES`` bytes are looked at, so a prefix of a file is enough.
    """
    head = bytes(memoryview(data)[:SNIFF_BYTES])
    if head[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if head[:4] == b"RIFF":
        return {b"WEBP": "webp", b"WAVE": "wav", b"AVI ": "avi"}.get(head[8:12])
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "mkv"
    if head[4:8] == b"ftyp":
        return None if head[8:12] in _IMAGE_BRANDS else "mp4"
    if head[:3] == b"ID3" or _is_mpeg_audio_layer3(head):
        return "mp3"
    if head[:2] == b"BM" and len(head) >= 14:
        return "bmp"
    return None


def _is_mpeg_audio_layer3(head: bytes) -> bool:
    """An MPEG audio frame header: 11 sync bits, layer III, a valid bitrate and sample rate."""
    if len(head) < 3 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version, layer = (head[1] >> 3) & 3, (head[1] >> 1) & 3
    bitrate, rate = head[2] >> 4, (head[2] >> 2) & 3
    return version != 1 and layer == 1 and bitrate not in (0, 15) and rate != 3


def compression_from_extension(path: str) -> str | None:
    """The canonical format named by the suffix of a path or URL (case-insensitive), or None.

    A URL's query string and fragment are ignored (``https://host/a.png?sig=...`` -> ``"png"``).
    """
    if "://" in path:
        path = urlsplit(path).path
    _, ext = posixpath.splitext(path.replace("\\", "/"))
    return _BY_EXTENSION.get(ext.lower())
