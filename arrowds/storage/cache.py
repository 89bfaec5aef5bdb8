"""A local disk cache of a remote dataset's immutable files, in fixed-size blocks.

Fragments (``data/``) and manifests (``manifests/``) are never rewritten under the same name
(uuid names, FORMAT.md invariant 2), so a cached copy is true forever: no invalidation. Refs,
tags and the marker change and are always read from the store.

* Ranged reads are served from aligned blocks (1 MiB by default): a miss fetches the missing
  blocks of the range, coalesced into one ranged request per run, so reading one sample costs
  at most a block or two, never the whole fragment.
* Safe for concurrent readers, threads or processes: a block is written aside and renamed into
  place, and a block evicted under a reader's feet is just a miss.
* Bounded: when the cache grows past ``max_bytes``, the least recently used blocks are deleted
  down to 80% of it (hits refresh a block's modification time).
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from arrowds.storage.base import TMP_MARK, Storage
from arrowds.storage.rangefile import open_range

_IMMUTABLE = ("data/", "manifests/")
_STALE_TMP_S = 3600.0


@dataclass(frozen=True)
class CacheConfig:
    """Where the cache lives and how big it may grow.

    >>> CacheConfig.of("/tmp/arrowds-cache").max_bytes
    10737418240
    """

    path: str
    max_bytes: int = 10 << 30
    block_size: int = 1 << 20

    @classmethod
    def of(cls, value: CacheConfig | str | os.PathLike[str] | Mapping[str, Any]) -> CacheConfig:
        """Accept a CacheConfig, a folder, or a dict of CacheConfig's fields."""
        if isinstance(value, CacheConfig):
            return value
        if isinstance(value, Mapping):
            fields = dict(value)
            fields["path"] = os.fspath(fields["path"])
            return cls(**fields)
        return cls(os.fspath(value))


class CachingStorage(Storage):
    """A Storage that serves immutable files of ``inner`` from a local block cache."""

    def __init__(self, inner: Storage, config: CacheConfig):
        super().__init__(inner.fs, inner.root, inner.url, inner.redact)
        self.inner = inner
        self.config = config
        self.atomic_put_if_absent = inner.atomic_put_if_absent
        self.remote = inner.remote
        self.dir = Path(config.path).expanduser()
        self.dir.mkdir(parents=True, exist_ok=True)
        self._added = 0
        self._lock = threading.Lock()
        #: hits and misses counted in blocks (whole objects count one), for tests and tuning
        self.hits = 0
        self.misses = 0

    def __repr__(self) -> str:
        return f"CachingStorage({self.url!r}, cache={str(self.dir)!r})"

    # -- cached reads --------------------------------------------------------------------
    def read(self, key: str) -> bytes:
        if not key.startswith(_IMMUTABLE):
            return self.inner.read(key)
        name = self._name(key, "all")
        data = self._get(name)
        if data is None:
            data = self.inner.read(key)
            self._put(name, data)
        return data

    def read_range(self, key: str, start: int, end: int) -> bytes:
        return self.read_ranges(key, [start], [end])[0]

    def read_ranges(self, key: str, starts: list[int], ends: list[int]) -> list[bytes]:
        if not key.startswith(_IMMUTABLE):
            return self.inner.read_ranges(key, starts, ends)
        bs = self.config.block_size
        wanted = sorted({b for s, e in zip(starts, ends) if e > s for b in range(s // bs, (e - 1) // bs + 1)})
        blocks: dict[int, bytes] = {}
        missing = []
        for b in wanted:
            data = self._get(self._name(key, str(b)))
            if data is None:
                missing.append(b)
            else:
                blocks[b] = data
        if missing:
            runs = _runs(missing)
            got = self.inner.read_ranges(key, [r0 * bs for r0, _ in runs], [(r1 + 1) * bs for _, r1 in runs])
            for (r0, r1), data in zip(runs, got):
                for b in range(r0, r1 + 1):
                    part = data[(b - r0) * bs:(b - r0 + 1) * bs]
                    blocks[b] = part
                    self._put(self._name(key, str(b)), part)
        out = []
        for s, e in zip(starts, ends):
            if e <= s:
                out.append(b"")
                continue
            b0, b1 = s // bs, (e - 1) // bs
            joined = b"".join(blocks[b] for b in range(b0, b1 + 1))
            out.append(joined[s - b0 * bs:e - b0 * bs])
        return out

    def open_input(self, key: str) -> BinaryIO:
        if not key.startswith(_IMMUTABLE):
            return self.inner.open_input(key)
        return open_range(self, key, 0, self.inner.size(key))

    # -- everything else goes to the store -----------------------------------------------
    def size(self, key: str) -> int:
        return self.inner.size(key)

    def exists(self, key: str) -> bool:
        return self.inner.exists(key)

    def list(self, prefix: str) -> list[str]:
        return self.inner.list(prefix)

    def list_details(self, prefix: str) -> list[tuple[str, int, float]]:
        return self.inner.list_details(prefix)

    def list_all(self, prefix: str = "") -> list[str]:
        return self.inner.list_all(prefix)

    def write(self, key: str, data: bytes) -> None:
        self.inner.write(key, data)

    def put_if_absent(self, key: str, data: bytes) -> bool:
        return self.inner.put_if_absent(key, data)

    def delete(self, key: str) -> None:
        self.inner.delete(key)

    def delete_all(self) -> None:
        self.inner.delete_all()

    def close(self) -> None:
        self.inner.close()

    # -- the cache folder ----------------------------------------------------------------
    def _name(self, key: str, part: str) -> Path:
        digest = hashlib.sha256(f"{self.url}\0{key}".encode()).hexdigest()[:40]
        return self.dir / digest[:2] / f"{digest}.{part}"

    def _get(self, path: Path) -> bytes | None:
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            self.misses += 1
            return None
        self.hits += 1
        try:
            os.utime(path)  # recently used: evicted last
        except FileNotFoundError:
            pass
        return data

    def _put(self, path: Path, data: bytes) -> None:
        path.parent.mkdir(exist_ok=True)
        tmp = path.with_name(f"{path.name}{TMP_MARK}{os.getpid()}-{threading.get_ident()}")
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
        with self._lock:
            self._added += len(data)
            due = self._added > self.config.max_bytes // 10
            if due:
                self._added = 0
        if due:
            self.evict()

    def evict(self) -> int:
        """Delete the least recently used blocks until the cache holds at most 80% of
        ``max_bytes``; returns the bytes it now holds. Other processes may evict at once:
        a file already gone is skipped."""
        entries = []
        now = time.time()
        for sub in self.dir.iterdir():
            if not sub.is_dir():
                continue
            for e in os.scandir(sub):
                try:
                    st = e.stat()
                except FileNotFoundError:
                    continue
                if TMP_MARK in e.name and now - st.st_mtime < _STALE_TMP_S:
                    continue  # another writer's block in flight
                entries.append((st.st_mtime, st.st_size, e.path))
        total = sum(size for _, size, _ in entries)
        if total <= self.config.max_bytes:
            return total
        target = int(self.config.max_bytes * 0.8)
        for _, size, p in sorted(entries):
            if total <= target:
                break
            try:
                os.unlink(p)
            except FileNotFoundError:
                pass
            total -= size
        return total


def _runs(blocks: list[int]) -> list[tuple[int, int]]:
    """Sorted block numbers as inclusive runs: [1, 2, 3, 7] -> [(1, 3), (7, 7)]."""
    runs: list[tuple[int, int]] = []
    for b in blocks:
        if runs and runs[-1][1] == b - 1:
            runs[-1] = (runs[-1][0], b)
        else:
            runs.append((b, b))
    return runs
