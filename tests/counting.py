"""A local filesystem that counts the bytes read through it (``countbytes://``)."""

from __future__ import annotations

import fsspec
from fsspec.implementations.local import LocalFileSystem


class _CountingFile:
    def __init__(self, f, path):
        self._f, self._path = f, path

    def read(self, n=-1):
        data = self._f.read(n)
        CountingFileSystem.count(self._path, len(data))
        return data

    def readinto(self, b):
        n = self._f.readinto(b)
        CountingFileSystem.count(self._path, n)
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
    by_path: dict[str, int] = {}

    @classmethod
    def count(cls, path: str, n: int) -> None:
        cls.bytes_read += n
        cls.by_path[path] = cls.by_path.get(path, 0) + n

    @classmethod
    def reset(cls) -> None:
        cls.bytes_read = 0
        cls.by_path = {}

    @classmethod
    def read_under(cls, root: str) -> int:
        """Bytes read from files under ``root`` since the last reset: immune to other tests'
        background readers (prefetch or server threads) touching their own files meanwhile."""
        root = root.split("://", 1)[-1].rstrip("/") + "/"
        return sum(n for p, n in dict(cls.by_path).items() if p.startswith(root))

    def _open(self, path, mode="rb", **kw):
        f = super()._open(path, mode, **kw)
        return _CountingFile(f, path) if "r" in mode else f


fsspec.register_implementation("countbytes", CountingFileSystem, clobber=True)
