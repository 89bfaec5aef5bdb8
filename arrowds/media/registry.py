"""The codecs arrowds knows, by canonical name: ``get_codec("jpg")`` is the jpeg codec.

The registry is a plain dict built here; a new codec (audio, video) is added to ``_CODECS``.
"""

from __future__ import annotations

from arrowds.errors import UnsupportedCompressionError
from arrowds.media.av_codecs import AUDIO_CODECS, VIDEO_CODECS
from arrowds.media.codec import Codec
from arrowds.media.jpeg import JpegCodec
from arrowds.media.png import PngCodec
from arrowds.media.sniff import canonical_compression
from arrowds.media.webp import WebpCodec

__all__ = ["IMAGE_COMPRESSIONS", "codec_names", "get_codec"]

_CODECS: dict[str, Codec] = {
    codec.name: codec for codec in (JpegCodec(), PngCodec(), WebpCodec(), *AUDIO_CODECS, *VIDEO_CODECS)
}

#: Canonical names of the image codecs, for ``sample_compression`` of image tensors.
IMAGE_COMPRESSIONS: tuple[str, ...] = tuple(name for name, codec in _CODECS.items() if codec.kind == "image")


def codec_names() -> list[str]:
    """Canonical names of every codec arrowds can encode and decode."""
    return list(_CODECS)


def get_codec(name: str) -> Codec:
    """The codec for ``name`` (case-insensitive; ``jpg`` is ``jpeg``).

    Raises ``UnsupportedCompressionError`` listing the known names when there is no such codec.

        >>> get_codec("JPG").name
        'jpeg'
    """
    codec = _CODECS.get(name)  # already canonical: the common case, on every sample
    if codec is not None:
        return codec
    canonical = canonical_compression(name) if isinstance(name, str) else None
    if canonical in _CODECS:
        return _CODECS[canonical]
    known = ", ".join(_CODECS)
    if canonical is not None:
        raise UnsupportedCompressionError(
            f"arrowds has no {canonical} codec yet; supported compressions: {known} (jpg is an alias "
            f"of jpeg). Convert the data to one of them first."
        )
    raise UnsupportedCompressionError(
        f"Unknown compression {name!r}; supported compressions: {known} (jpg is an alias of jpeg)."
    )
