"""Media codecs and lazy media samples (layer L1: numpy, Pillow, simplejpeg and fsspec only).

``get_codec(name)`` gives the ``Codec`` for a ``sample_compression``; ``read(...)`` (``ads.read``)
gives a lazy ``MediaSample`` whose compressed bytes can be stored unchanged.

    >>> import numpy as np
    >>> from arrowds.media import get_codec, read
    >>> data = get_codec("png").encode(np.zeros((4, 5, 3), np.uint8))
    >>> read(data).shape
    (4, 5, 3)
"""

from __future__ import annotations

from arrowds.media.codec import Codec
from arrowds.media.registry import IMAGE_COMPRESSIONS, codec_names, get_codec
from arrowds.media.sample import MediaSample, read, transcode
from arrowds.media.sniff import compression_from_extension, sniff_compression

__all__ = [
    "IMAGE_COMPRESSIONS",
    "Codec",
    "MediaSample",
    "codec_names",
    "compression_from_extension",
    "get_codec",
    "read",
    "sniff_compression",
    "transcode",
]
