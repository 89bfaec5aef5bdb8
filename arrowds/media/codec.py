"""The ``Codec`` interface every media codec implements (image now; audio and video later).

A codec turns one sample's array into compressed bytes and back, and can read a sample's shape and
dtype from the header alone, so that appending a compressed file never has to decode its pixels.
"""

from __future__ import annotations

import abc
from typing import ClassVar

import numpy as np

__all__ = ["BytesLike", "Codec"]

#: Anything with the buffer protocol that holds a whole encoded sample.
BytesLike = bytes | bytearray | memoryview


class Codec(abc.ABC):
    """Encode, decode and inspect one compressed media format.

    Subclasses set the class attributes and implement the three methods. Decoding errors are
    ``SampleDecodeError(..., codec=self.name)``; arrays a codec cannot store raise
    ``SampleShapeError`` or ``TensorDtypeMismatchError`` saying what the codec accepts.
    """

    #: Canonical name, as stored in tensor metadata ("jpeg", "png", "webp").
    name: ClassVar[str]
    #: What the samples are: "image" (later "audio", "video").
    kind: ClassVar[str]
    #: True when ``decode(encode(a))`` gives back ``a`` exactly with the default options.
    lossless: ClassVar[bool]
    #: File-name suffixes of this format, lowercase with the dot.
    extensions: ClassVar[tuple[str, ...]]

    @abc.abstractmethod
    def encode(self, array: np.ndarray) -> bytes:
        """Compress one sample; codecs add keyword-only options with defaults (``quality=``...)."""

    @abc.abstractmethod
    def decode(self, data: BytesLike) -> np.ndarray:
        """Decompress one whole sample."""

    @abc.abstractmethod
    def header(self, data: BytesLike) -> tuple[tuple[int, ...], np.dtype]:
        """The ``(shape, dtype)`` that ``decode`` would return, read without decoding the samples."""

    def image_shapes(self, data: np.ndarray, offsets: np.ndarray) -> np.ndarray | None:
        """Shapes ``(n, 3)`` (H, W, channels) of ``n`` encoded images laid end to end in ``data``
        (uint8; image ``k`` is ``data[offsets[k]:offsets[k + 1]]``), read from their headers in one
        vectorised pass. None when the codec has no batch reader or when any image needs the
        one-at-a-time ``header`` (an unusual layout or bad data, which ``header`` then explains).
        """
        return None

    def decode_shaped(self, data: BytesLike, shape: tuple[int, ...]) -> np.ndarray | None:
        """Decode a sample whose stored shape is known (H, W, C with C 1 or 3 for images), into an
        array of that shape, without reading the header first (transforms decode every sample
        this way). None when this codec cannot (the default) or the data does not give that
        shape; the caller then decodes with :meth:`decode`, which also reports corrupt data."""
        return None

    def decode_into(self, data: BytesLike, out: np.ndarray) -> bool:
        """Decode straight into ``out``, a preallocated array of the sample's stored shape (batch
        loaders decode a whole batch into one array this way). True when ``out`` now holds the
        sample; False when this codec cannot (the default) or the data does not fit ``out``, and
        the caller decodes with :meth:`decode` instead, which also reports corrupt data."""
        return False

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"
