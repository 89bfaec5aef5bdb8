"""Lazy media samples: ``read("cat.jpg")`` keeps a file's compressed bytes and decodes on demand.

Appending a ``MediaSample`` to a tensor whose ``sample_compression`` matches stores its bytes as they
are (no re-encode); its ``shape`` and ``dtype`` come from the header, so that costs no pixel decode.

    >>> sample = read("s3://bucket/cat.jpg", storage_options={"anon": True})   # no I/O yet
    >>> sample.shape                                                           # fetches, reads header
    (480, 640, 3)
"""

from __future__ import annotations

import errno
import os
from typing import Any

import fsspec
import numpy as np

from arrowds.errors import SampleDecodeError, SampleError, UnsupportedCompressionError
from arrowds.media.codec import BytesLike, Codec
from arrowds.media.registry import get_codec
from arrowds.media.sniff import (
    KNOWN_COMPRESSIONS,
    canonical_compression,
    compression_from_extension,
    sniff_compression,
)

__all__ = ["MediaSample", "claimed_buffers", "read", "transcode"]

# Formats whose files always start with their magic bytes, so content that sniffs as nothing is
# certainly not one of them. (mp3/mp4 files may start otherwise.)
_ALWAYS_SNIFFABLE = frozenset({"jpeg", "png", "webp", "gif", "bmp", "tiff"})


class MediaSample:
    """One media file (path, URL or in-memory bytes) and its compression, read lazily.

    Constructing it does no I/O. The bytes are fetched once, through fsspec, on first use.
    ``compression`` is the ``compression`` argument, else the one the file extension names, else the
    one sniffed from the content.
    """

    def __init__(
        self,
        source: str | os.PathLike[str] | BytesLike,
        compression: str | None = None,
        storage_options: dict[str, Any] | None = None,
    ):
        if type(source) is bytes:  # the common case first: nothing to copy or check
            self._path: str | None = None
            self._buffer: bytes | None = source
        elif isinstance(source, (bytes, bytearray, memoryview)):
            self._path = None
            self._buffer = bytes(source)
        elif isinstance(source, (str, os.PathLike)):
            self._path = os.fspath(source)
            self._buffer = None
        else:
            raise TypeError(f"read() takes a path, URL or bytes, not {type(source).__name__}")
        self._storage_options = dict(storage_options) if storage_options else None
        self._claimed: str | None = None
        self._claimed_from = ""
        if compression is not None:
            self._claimed = canonical_compression(compression) if isinstance(compression, str) else None
            self._claimed_from = "the compression argument"
            if self._claimed is None:
                raise UnsupportedCompressionError(
                    f"Unknown compression {compression!r} given for {self._where}; known: "
                    f"{', '.join(KNOWN_COMPRESSIONS)}."
                )
        elif self._path is not None:
            self._claimed = compression_from_extension(self._path)
            self._claimed_from = "its extension"
        self._validated: str | None = None
        self._header: tuple[tuple[int, ...], np.dtype] | None = None

    @property
    def path(self) -> str | None:
        """The path or URL given to ``read``, or None for in-memory bytes."""
        return self._path

    @property
    def compression(self) -> str | None:
        """Canonical compression name, or None when the content is of no known format."""
        if self._claimed is not None:
            return self._claimed
        return sniff_compression(self.buffer)

    @property
    def buffer(self) -> bytes:
        """The file's exact bytes, fetched on first access and kept."""
        if self._buffer is None:
            self._buffer = self._fetch()
        return self._buffer

    def tobytes(self) -> bytes:
        """The file's exact bytes (same as ``buffer``)."""
        return self.buffer

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the decoded array, read from the header without decoding."""
        return self._read_header()[0]

    @property
    def dtype(self) -> np.dtype:
        """Dtype of the decoded array, read from the header without decoding."""
        return self._read_header()[1]

    def numpy(self) -> np.ndarray:
        """Decode the whole sample."""
        codec = self._codec()
        try:
            return codec.decode(self.buffer)
        except SampleError as exc:
            raise _renamed(exc, self._where) from exc

    def validate(self) -> str:
        """Check the content is the format claimed (by argument or extension); return the format.

        Raises ``SampleDecodeError`` naming the file, the claimed and the actual format when they
        differ, and ``UnsupportedCompressionError`` when no format is claimed nor recognised.
        """
        if self._validated is not None:
            return self._validated
        data = self.buffer
        actual = sniff_compression(data)
        claimed = self._claimed
        if claimed is None:
            if actual is None:
                raise UnsupportedCompressionError(
                    f"Cannot tell the format of {self._where}: its first bytes {data[:12]!r} match no "
                    f"known format ({', '.join(KNOWN_COMPRESSIONS)}). Pass compression= if it is one."
                )
            claimed = actual
        elif actual != claimed and (actual is not None or claimed in _ALWAYS_SNIFFABLE):
            raise SampleDecodeError(
                f"{self._where} is {claimed} according to {self._claimed_from}, but its content is "
                f"{actual or 'no known format'} (starts with {data[:12]!r}).",
                codec=claimed,
            )
        self._validated = claimed
        return claimed

    def _codec(self) -> Codec:
        compression = self.validate()
        try:
            return get_codec(compression)
        except UnsupportedCompressionError as exc:
            raise UnsupportedCompressionError(f"{self._where}: {exc}") from exc

    def _read_header(self) -> tuple[tuple[int, ...], np.dtype]:
        if self._header is None:
            codec = self._codec()
            try:
                self._header = codec.header(self.buffer)
            except SampleError as exc:
                raise _renamed(exc, self._where) from exc
        return self._header

    def _fetch(self) -> bytes:
        assert self._path is not None
        try:
            with fsspec.open(self._path, "rb", **(self._storage_options or {})) as f:
                return f.read()
        except FileNotFoundError as exc:
            raise FileNotFoundError(errno.ENOENT, "No such media file", self._path) from exc

    @property
    def _where(self) -> str:
        if self._path is not None:
            return f"file {self._path!r}"
        return f"in-memory bytes ({len(self._buffer or b'')} bytes)"

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        array = self.numpy()
        return array if dtype is None else array.astype(dtype, copy=False)

    def __repr__(self) -> str:
        known = self._claimed or (self._buffer is not None and sniff_compression(self._buffer)) or None
        where = f"path={self._path!r}" if self._path is not None else f"bytes={len(self._buffer or b'')}"
        return f"MediaSample({where}, compression={known!r})"


def claimed_buffers(values: Any, compression: str) -> list[bytes] | None:
    """The bytes of every sample in ``values`` when each is a ``MediaSample`` claiming
    ``compression`` (by argument or extension); else None. Lets a batch append read all the
    headers in one pass (which also checks the magic bytes) instead of one sample at a time.
    """
    out = []
    for v in values:
        if type(v) is not MediaSample or v._claimed != compression:
            return None
        out.append(v.buffer)
    return out


def read(
    path_or_url_or_bytes: str | os.PathLike[str] | BytesLike,
    compression: str | None = None,
    storage_options: dict[str, Any] | None = None,
) -> MediaSample:
    """A lazy media sample from a local path, any fsspec URL, or bytes (this is ``ads.read``).

    >>> read("images/cat.jpg").numpy().shape
    (480, 640, 3)
    >>> read(png_bytes).compression
    'png'
    """
    return MediaSample(path_or_url_or_bytes, compression=compression, storage_options=storage_options)


def transcode(sample: MediaSample | BytesLike, to: str, **options: Any) -> bytes:
    """The sample re-encoded as ``to`` (``options`` go to that codec's ``encode``, e.g. quality=).

    A sample already in ``to`` comes back unchanged: re-encoding would only lose quality.
    """
    if not isinstance(sample, MediaSample):
        sample = MediaSample(sample)
    codec = get_codec(to)
    if sample.validate() == codec.name:
        return sample.tobytes()
    array = sample.numpy()
    if codec.kind in ("audio", "video"):  # keep the source's rate unless told otherwise
        src = get_codec(sample.validate()).info(sample.tobytes())
        key = "sample_rate" if codec.kind == "audio" else "fps"
        if options.get(key) is None and src.get(key):
            options = {**options, key: round(src[key]) if key == "fps" else src[key]}
    try:
        return codec.encode(array, **options)
    except SampleError as exc:
        raise _renamed(exc, sample._where) from exc


def _renamed(exc: SampleError, where: str) -> SampleError:
    """A copy of ``exc`` whose message starts with the file it is about."""
    message = f"{where}: {exc.message}"
    if isinstance(exc, SampleDecodeError):
        return SampleDecodeError(message, codec=exc.codec, tensor=exc.tensor, index=exc.index)
    return type(exc)(message, tensor=exc.tensor, index=exc.index)
