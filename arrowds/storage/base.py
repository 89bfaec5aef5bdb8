"""A dataset root on any fsspec filesystem: whole and ranged reads, atomic writes, put-if-absent."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from typing import Any, BinaryIO, TypeVar

import fsspec
import pyarrow as pa

from arrowds.errors import ArrowdsError, StorageError
from arrowds.storage.secrets import Redactor

_MEMORY_LOCK = threading.Lock()
#: Names of temporary files writers make beside their targets (never part of a dataset).
TMP_MARK = ".tmp-"
T = TypeVar("T")


def normalize_url(url: str) -> str:
    """Map arrowds' URL spellings onto fsspec's (``mem://x`` -> ``memory://x``, paths -> absolute).

    >>> normalize_url("mem://demo")
    'memory://demo'
    """
    url = os.fspath(url)
    if url.startswith("mem://"):
        return "memory://" + url[len("mem://"):]
    if url.startswith("gcs://"):
        return "gs://" + url[len("gcs://"):]
    if "://" not in url:
        return os.path.abspath(os.path.expanduser(url))
    return url


class Storage:
    """One dataset root on an fsspec filesystem, addressed by keys relative to the root.

    The base class works on every fsspec backend. Subclasses add what a backend can do
    better: a local disk reads ranges with ``pread`` and publishes with ``link``; memory
    publishes under a lock. ``put_if_absent`` is the one atomic step commits rely on.
    """

    #: True when put_if_absent is atomic against other processes and machines.
    atomic_put_if_absent = False
    #: True for stores reached over a network (object stores): worth a local cache.
    remote = False

    def __init__(self, fs: fsspec.AbstractFileSystem, root: str, url: str,
                 redactor: Redactor | None = None):
        self.fs = fs
        self.root = root.rstrip("/")
        self.url = url
        self.redact = redactor or Redactor()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"

    def path(self, key: str) -> str:
        """The filesystem path of a key."""
        return f"{self.root}/{key}" if key else self.root

    def key_url(self, key: str) -> str:
        """A URL for the key, for messages and for users (never holds credentials)."""
        return f"{self.url.rstrip('/')}/{key}"

    # -- errors --------------------------------------------------------------------------
    def _do(self, verb: str, key: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call the filesystem; turn its failures into errors that name the URL.

        FileNotFoundError and FileExistsError keep their type (callers act on them); every
        other failure the library did not retry away becomes StorageError, its text scrubbed
        of every secret in ``storage_options``.
        """
        try:
            return fn(*args, **kwargs)
        except FileNotFoundError as e:
            raise FileNotFoundError(f"{self.key_url(key)} does not exist") from e
        except FileExistsError:
            raise
        except ArrowdsError:
            raise
        except Exception as e:  # noqa: BLE001 - every backend library raises its own types
            raise self.storage_error(verb, key, e) from (None if self.redact.hides(str(e)) else e)

    def storage_error(self, verb: str, key: str, e: BaseException) -> StorageError:
        """One clear, secret-free StorageError for a failed ``verb`` on ``key``."""
        url = self.key_url(key) if key else self.url
        detail = self.redact(f"{type(e).__name__}: {e}".strip())
        if isinstance(e, PermissionError):
            return StorageError(f"permission denied to {verb} {url}: check the credentials in "
                                f"storage_options and the access policy of the bucket ({detail})")
        return StorageError(f"could not {verb} {url}: {detail}")

    # -- reads ---------------------------------------------------------------------------
    def read(self, key: str) -> bytes:
        """The whole object at ``key``; FileNotFoundError names the URL when absent."""
        return self._do("read", key, self.fs.cat_file, self.path(key))

    def read_range(self, key: str, start: int, end: int) -> bytes:
        """Bytes ``[start, end)`` of the object at ``key``."""
        return self._do("read", key, self.fs.cat_file, self.path(key), start=start, end=end)

    def read_ranges(self, key: str, starts: list[int], ends: list[int]) -> list[bytes]:
        """Several ranges of one object; backends coalesce nearby ranges into one request."""
        path = self.path(key)
        return self._do("read", key, self.fs.cat_ranges, [path] * len(starts), list(starts),
                        list(ends), on_error="raise")

    def open_input(self, key: str) -> BinaryIO:
        """A seekable binary file for readers (pyarrow) that want a file object."""
        return self._do("open", key, self.fs.open, self.path(key), "rb")

    def list_details(self, prefix: str) -> list[tuple[str, int, float]]:
        """``(name, size, modified time as a Unix timestamp)`` of the objects under ``prefix``."""
        try:
            entries = self._do("list", prefix, self.fs.ls, self.path(prefix), detail=True)
        except FileNotFoundError:
            return []
        out = []
        for e in entries:
            if e.get("type") == "directory":
                continue
            name = e["name"].rstrip("/").rsplit("/", 1)[-1]
            out.append((name, int(e.get("size") or 0), _mtime(e)))
        return sorted(out)

    def size(self, key: str) -> int:
        return int(self._do("read", key, self.fs.size, self.path(key)))

    def list_all(self, prefix: str = "") -> list[str]:
        """Every key under ``prefix``, recursively, sorted (writers' temporary files left out)."""
        try:
            found = self._do("list", prefix, self.fs.find, self.path(prefix))
        except FileNotFoundError:
            return []
        root = self.root + "/"
        keys = (p[len(root):] for p in found if p.startswith(root))
        return sorted(k for k in keys if TMP_MARK not in k.rsplit("/", 1)[-1])

    def exists(self, key: str) -> bool:
        return bool(self._do("read", key, self.fs.exists, self.path(key)))

    def list(self, prefix: str) -> list[str]:
        """Keys of the objects directly under the folder ``prefix`` (names only, sorted)."""
        try:
            entries = self._do("list", prefix, self.fs.ls, self.path(prefix), detail=False)
        except FileNotFoundError:
            return []
        return sorted(e.rstrip("/").rsplit("/", 1)[-1] for e in entries)

    # -- writes --------------------------------------------------------------------------
    def write(self, key: str, data: bytes) -> None:
        """Write a whole object. Readers never see it half-written on backends where a put
        is atomic (object stores); local disk writes aside and renames."""
        path = self.path(key)
        try:
            self._do("write", key, self.fs.pipe_file, path, bytes(data))
        except FileNotFoundError:  # a filesystem with real folders: make the parent, once
            self._do("write", key, self.fs.makedirs, path.rsplit("/", 1)[0], exist_ok=True)
            self._do("write", key, self.fs.pipe_file, path, bytes(data))

    @contextmanager
    def open_output(self, key: str) -> Iterator[pa.NativeFile]:
        """A pyarrow output stream whose bytes become the object ``key`` when the block ends
        without error (nothing is written otherwise); the same atomicity as ``write``."""
        sink = pa.BufferOutputStream()
        yield sink
        self.write(key, sink.getvalue())

    def put_if_absent(self, key: str, data: bytes) -> bool:
        """Write ``key`` only if nothing is there; return whether this call wrote it.

        Generic fallback: check, then write. It is atomic only against writers in this
        process (``atomic_put_if_absent`` is False): on such a backend run one writing
        process at a time. Backends with conditional writes override it.
        """
        with _MEMORY_LOCK:
            if self.exists(key):
                return False
            self.write(key, data)
            return True

    def delete(self, key: str) -> None:
        try:
            self._do("delete", key, self.fs.rm_file, self.path(key))
        except FileNotFoundError:
            pass

    def delete_all(self) -> None:
        """Remove the whole root."""
        if self._do("read", "", self.fs.exists, self.root):
            try:
                self._do("delete", "", self.fs.rm, self.root, recursive=True)
            except FileNotFoundError:
                pass

    def close(self) -> None:
        """Release cached handles. The storage stays usable."""


def _mtime(entry: dict[str, Any]) -> float:
    """A listing entry's modification time, whatever the backend calls it."""
    for k in ("mtime", "LastModified", "updated", "created", "timeCreated"):
        v = entry.get(k)
        if v is None:
            continue
        if isinstance(v, (int, float)):
            return float(v)
        if isinstance(v, datetime):
            return v.timestamp()
        try:
            return datetime.fromisoformat(str(v).replace("Z", "+00:00")).timestamp()
        except ValueError:
            continue
    return 0.0


class MemoryStorage(Storage):
    """fsspec's in-process memory filesystem: shared by every handle in this process, so a
    ``mem://`` dataset can be reopened by URL (unlike Hub's, which is private to a handle)."""

    atomic_put_if_absent = True


#: Local range reads: join ranges this close into one pread, up to this many bytes in all.
_COALESCE_GAP = 4096
_COALESCE_MAX = 16 << 20


class LocalStorage(Storage):
    """Local disk: ``pread`` on cached descriptors for ranges, write-aside-and-rename for
    whole objects, and ``link`` for an atomic put-if-absent across processes."""

    atomic_put_if_absent = True

    def __init__(self, fs: fsspec.AbstractFileSystem, root: str, url: str,
                 redactor: Redactor | None = None):
        super().__init__(fs, root, url, redactor)
        self._fds: dict[str, int] = {}
        self._fd_lock = threading.Lock()

    def _fd(self, key: str) -> int:
        fd = self._fds.get(key)
        if fd is None:
            with self._fd_lock:
                fd = self._fds.get(key)
                if fd is None:
                    try:
                        fd = os.open(self.path(key), os.O_RDONLY)
                    except FileNotFoundError as e:
                        raise FileNotFoundError(f"{self.key_url(key)} does not exist") from e
                    if len(self._fds) >= 512:
                        self._close_fds()
                    self._fds[key] = fd
        return fd

    def read(self, key: str) -> bytes:
        try:
            with open(self.path(key), "rb") as f:
                return f.read()
        except FileNotFoundError as e:
            raise FileNotFoundError(f"{self.key_url(key)} does not exist") from e

    def read_range(self, key: str, start: int, end: int) -> bytes:
        return os.pread(self._fd(key), end - start, start)

    def read_ranges(self, key: str, starts: list[int], ends: list[int]) -> list[bytes]:
        """One ``pread`` per run of ranges in ascending order with gaps under ``_COALESCE_GAP``
        (the samples of a batch of rows sit next to each other), then sliced apart."""
        fd = self._fd(key)
        out: list[bytes] = []
        i, n = 0, len(starts)
        while i < n:
            j, hi = i + 1, ends[i]
            while j < n and hi <= starts[j] <= hi + _COALESCE_GAP and ends[j] - starts[i] <= _COALESCE_MAX:
                hi = ends[j]
                j += 1
            if j == i + 1:
                out.append(os.pread(fd, ends[i] - starts[i], starts[i]))
            else:
                base = starts[i]
                run = memoryview(os.pread(fd, hi - base, base))
                out.extend(bytes(run[s - base:e - base]) for s, e in zip(starts[i:j], ends[i:j]))
            i = j
        return out

    def readinto(self, key: str, start: int, out: memoryview) -> None:
        """Fill ``out`` with the bytes at ``start``: the zero-copy path of big scans."""
        fd = self._fd(key)
        done = 0
        while done < len(out):
            n = os.preadv(fd, [out[done:]], start + done)
            if n <= 0:
                raise StorageError(f"{self.key_url(key)} ended early at byte {start + done}")
            done += n

    def open_input(self, key: str) -> BinaryIO:
        return open(self.path(key), "rb")

    def write(self, key: str, data: bytes) -> None:
        path = self.path(key)
        tmp = f"{path}{TMP_MARK}{os.getpid()}-{threading.get_ident()}"
        self._write_file(tmp, data)
        os.replace(tmp, path)
        self._forget(key)

    @contextmanager
    def open_output(self, key: str) -> Iterator[pa.NativeFile]:
        """Streams straight into a file beside ``key`` (no copy of the object in memory), then
        fsyncs it and renames it into place."""
        path = self.path(key)
        tmp = f"{path}{TMP_MARK}{os.getpid()}-{threading.get_ident()}"
        os.makedirs(os.path.dirname(path), exist_ok=True)
        sink = pa.OSFile(tmp, "wb")
        try:
            yield sink
            sink.flush()
            os.fsync(sink.fileno())
            sink.close()
            os.replace(tmp, path)
        except BaseException:
            sink.close()
            with suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        self._forget(key)

    def delete(self, key: str) -> None:
        super().delete(key)
        self._forget(key)

    def delete_all(self) -> None:
        self.close()
        super().delete_all()

    def _forget(self, key: str) -> None:
        """Close the cached descriptor of a key whose object was replaced or removed."""
        with self._fd_lock:
            fd = self._fds.pop(key, None)
            if fd is not None:
                os.close(fd)

    def put_if_absent(self, key: str, data: bytes) -> bool:
        path = self.path(key)
        tmp = f"{path}{TMP_MARK}{os.getpid()}-{threading.get_ident()}"
        self._write_file(tmp, data)
        try:
            os.link(tmp, path)
            return True
        except FileExistsError:
            return False
        finally:
            os.unlink(tmp)

    @staticmethod
    def _write_file(path: str, data: bytes) -> None:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())

    def _close_fds(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()

    def close(self) -> None:
        with self._fd_lock:
            self._close_fds()

    def __del__(self) -> None:  # descriptors are process resources; don't leak them
        try:
            self._close_fds()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass
