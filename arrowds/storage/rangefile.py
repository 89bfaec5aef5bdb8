"""A read-only, seekable file over a window of a stored object, fetched by ranged reads.

Decoders (PyAV) and readers (pyarrow) want file objects; this one fetches only the byte ranges
they actually read, through ``Storage.read_range`` (so through any cache or retry the storage
adds). Wrap it in ``io.BufferedReader`` to batch small reads.
"""

from __future__ import annotations

import io
from typing import Any


class RangeFile(io.RawIOBase):
    """Bytes ``[start, start + length)`` of ``key`` in ``storage``, as a file (offsets relative
    to ``start``)."""

    def __init__(self, storage: Any, key: str, start: int, length: int):
        super().__init__()
        self._storage, self._key, self._start, self._length, self._pos = storage, key, start, length, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._length}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        n = min(len(view), self._length - self._pos)
        if n <= 0:
            return 0
        a = self._start + self._pos
        data = self._storage.read_range(self._key, a, a + n)
        view[: len(data)] = data
        self._pos += len(data)
        return len(data)


def open_range(storage: Any, key: str, start: int, length: int,
               buffer_size: int = 1 << 16) -> io.BufferedReader:
    """A buffered :class:`RangeFile`."""
    return io.BufferedReader(RangeFile(storage, key, start, length), buffer_size=buffer_size)
