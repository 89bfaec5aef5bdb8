"""Object stores (S3, GCS): conditional puts, no folders, fresh listings, exact-range reads.

Every call still goes through fsspec (``cat_file(start=, end=)``, ``cat_ranges``,
``pipe_file(mode="create")``); this class adds only what a dataset on an object store needs:

* ``put_if_absent`` is a conditional write (S3 ``If-None-Match: *``, GCS
  ``ifGenerationMatch=0``), so publishing a version is atomic across machines.
* A conditional put the library retried after a lost response answers "already exists"
  although the first attempt wrote it; the object is read back and compared to tell the two
  apart (callers write content unique to the writer: a ref holds a fresh manifest name).
* Listings are never cached: the head of a branch is found by listing its refs, and another
  writer may have added one since.
* Writes never create buckets: a missing bucket is a StorageError naming the URL.
"""

from __future__ import annotations

from typing import Any, BinaryIO

from arrowds.errors import StorageError
from arrowds.storage.base import Storage

#: fsspec's random-access file settings for pyarrow's reads: read exactly what is asked.
_RANDOM_ACCESS = {"cache_type": "none", "block_size": 1 << 20}
#: Ranges of one object closer than this are fetched by one request (the gap is read and
#: dropped): a run of neighbouring samples, 4-byte length prefixes apart, costs one GET.
MERGE_GAP = 16 * 1024
#: ... as long as the merged request stays below this.
MERGE_MAX = 32 << 20


class ObjectStorage(Storage):
    """A dataset root in a bucket of an object store with conditional writes."""

    atomic_put_if_absent = True
    remote = True

    @classmethod
    def default_options(cls, storage_options: dict[str, Any]) -> dict[str, Any]:
        """``storage_options`` completed with arrowds' defaults (the user's values win)."""
        return {"use_listings_cache": False, **storage_options}

    def read(self, key: str) -> bytes:
        return self._do("read", key, self._read_whole, self.path(key))

    def _read_whole(self, path: str) -> bytes:
        return self.fs.cat_file(path)

    def read_ranges(self, key: str, starts: list[int], ends: list[int]) -> list[bytes]:
        """Several ranges of one object, neighbours merged into one request each."""
        if len(starts) <= 1:
            return super().read_ranges(key, starts, ends)
        spans = merge_ranges(starts, ends)
        got = super().read_ranges(key, [a for a, _ in spans], [b for _, b in spans])
        out = []
        j = 0
        for s, e in zip(starts, ends):
            j = _span_of(spans, s, e, j)
            a = spans[j][0]
            out.append(got[j][s - a:e - a])
        return out

    def open_input(self, key: str) -> BinaryIO:
        return self._do("open", key, self.fs.open, self.path(key), "rb", **_RANDOM_ACCESS)

    def write(self, key: str, data: bytes) -> None:
        try:
            self._do("write", key, self.fs.pipe_file, self.path(key), bytes(data))
        except FileNotFoundError:
            raise self._no_bucket(key) from None

    def put_if_absent(self, key: str, data: bytes) -> bool:
        data = bytes(data)
        try:
            self._do("write", key, self.fs.pipe_file, self.path(key), data, mode="create")
            return True
        except FileNotFoundError:
            raise self._no_bucket(key) from None
        except FileExistsError:
            pass
        try:  # ours (a retried request whose first attempt landed) or another writer's?
            return self.read(key) == data
        except FileNotFoundError:  # it was there a moment ago: only a delete can do that
            raise StorageError(f"{self.key_url(key)} was deleted while being written; "
                               "is another process deleting this dataset?") from None

    def _no_bucket(self, key: str) -> StorageError:
        bucket = self.root.split("/", 1)[0]
        return StorageError(f"cannot write {self.key_url(key)}: the bucket {bucket!r} does not exist "
                            "(create it first; arrowds never creates buckets)")

    def delete_all(self) -> None:
        keys = self.list_all()
        if keys:
            self._do("delete", "", self.fs.rm, [self.path(k) for k in keys])


def merge_ranges(starts: list[int], ends: list[int]) -> list[tuple[int, int]]:
    """Sorted, merged ``[start, end)`` spans covering every range, joining ranges less than
    MERGE_GAP apart while a span stays under MERGE_MAX.

    >>> merge_ranges([100, 0, 5000000], [200, 90, 5000010])
    [(0, 200), (5000000, 5000010)]
    """
    spans: list[tuple[int, int]] = []
    for s, e in sorted(zip(starts, ends)):
        if spans and s - spans[-1][1] <= MERGE_GAP and max(e, spans[-1][1]) - spans[-1][0] <= MERGE_MAX:
            spans[-1] = (spans[-1][0], max(e, spans[-1][1]))
        else:
            spans.append((s, e))
    return spans


def _span_of(spans: list[tuple[int, int]], s: int, e: int, hint: int) -> int:
    """The index of the span holding ``[s, e)`` (spans are sorted; ``hint`` is a guess)."""
    if spans[hint][0] <= s and e <= spans[hint][1]:
        return hint
    lo, hi = 0, len(spans) - 1
    while lo < hi:  # the last span starting at or before s
        mid = (lo + hi + 1) // 2
        if spans[mid][0] <= s:
            lo = mid
        else:
            hi = mid - 1
    return lo
