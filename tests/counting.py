"""A local filesystem that counts the bytes read through it (``countbytes://``)."""

from __future__ import annotations

import fsspec
from fsspec.implementations.local import LocalFileSystem


class _CountingFile:
    def __init__(self, f):
        self._f = f

    def read(self, n=-1):
        data = self._f.read(n)
        CountingFileSystem.bytes_read += len(data)
        return data

    def readinto(self, b):
        n = self._f.readinto(b)
        CountingFileSystem.bytes_read += n
        return n

    def __getattr__(self, name):
        return getattr(self._f, name)

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self._f.close()


class CountingFileSystem(LocalFileSystem):
    """The local disk, counting every byte read through fsspec's file objects, which its
    ``cat_file`` and ``cat_ranges`` use too (``countbytes://``). Shared by every test that
    proves a read is lazy; imported, never redefined, so one class holds the count."""

    protocol = "countbytes"
    bytes_read = 0

    def _open(self, path, mode="rb", **kw):
        f = super()._open(path, mode, **kw)
        return _CountingFile(f) if "r" in mode else f


fsspec.register_implementation("countbytes", CountingFileSystem, clobber=True)
