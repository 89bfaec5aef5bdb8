"""``ads.copy``: a whole dataset, every version, from any backend to any other.

Fragments and manifests are immutable and every version is files under the root, so copying
the files copies the history: no data is decoded or rewritten. The order makes a copy cut
short harmless: data, then manifests and commit records, then tags and branch refs (what
versions point at exists before the pointer), and the marker ``arrowds.json`` last, so an
unfinished copy does not look like a dataset.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from arrowds.dataset.api import MARKER, _read_marker, load
from arrowds.dataset.dataset import Dataset
from arrowds.errors import DatasetExistsError, PathNotEmptyError
from arrowds.storage import Storage, open_storage

#: Files copied at once. Each is held in memory while in flight (fragments are <= 128 MiB).
WORKERS = 8
_ORDER = ("data/", "manifests/", "commits/", "refs/tags/", "refs/branches/")


def copy(src: str, dst: str, src_storage_options: dict[str, Any] | None = None,
         dst_storage_options: dict[str, Any] | None = None, overwrite: bool = False,
         progress: Callable[[int, int], None] | None = None) -> Dataset:
    """Copy the dataset at ``src`` with all its branches, tags and commits to ``dst``.

    Either side may be any backend (local, ``mem://``, ``s3://``, ``gs://``, ...). Raises
    DatasetNotFoundError if there is no dataset at ``src``, DatasetExistsError if there is one
    at ``dst`` (unless ``overwrite=True``), PathNotEmptyError if ``dst`` holds other files.
    ``progress(done, total)`` is called after each file. Returns the copy, opened at ``main``.

    >>> ads.copy("./animals", "s3://bucket/animals")   # doctest: +SKIP
    """
    source = open_storage(src, src_storage_options)
    _read_marker(source)  # DatasetNotFoundError / FormatVersionError before anything is written
    target = open_storage(dst, dst_storage_options)
    _clear_target(target, dst, overwrite)
    keys = [k for k in source.list_all() if k != MARKER]
    groups = [[k for k in keys if _group(k) == g] for g in range(len(_ORDER) + 1)]
    total, done = len(keys) + 1, 0

    def one(key: str) -> None:
        target.write(key, source.read(key))

    with ThreadPoolExecutor(WORKERS) as pool:
        for group in groups:
            for _ in pool.map(one, group):
                done += 1
                if progress is not None:
                    progress(done, total)
    target.write(MARKER, source.read(MARKER))
    if progress is not None:
        progress(total, total)
    return load(dst, storage_options=dst_storage_options)


def _group(key: str) -> int:
    for i, prefix in enumerate(_ORDER):
        if key.startswith(prefix):
            return i
    return len(_ORDER)


def _clear_target(target: Storage, dst: str, overwrite: bool) -> None:
    if target.exists(MARKER):
        if not overwrite:
            raise DatasetExistsError(dst)
        target.delete(MARKER)
        target.delete_all()
    elif target.list_all():
        raise PathNotEmptyError(f"{dst!r} holds files that are not an arrowds dataset; refusing to "
                                "copy a dataset there (pick an empty or new URL)")
