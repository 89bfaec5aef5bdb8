"""Picking the Storage class for a URL, and opening it."""

from __future__ import annotations

import os
from typing import Any

import fsspec
from fsspec.implementations.local import LocalFileSystem
from fsspec.implementations.memory import MemoryFileSystem

from arrowds.errors import StorageError
from arrowds.storage.base import LocalStorage, MemoryStorage, Storage, normalize_url
from arrowds.storage.cache import CacheConfig, CachingStorage
from arrowds.storage.gcs import GCSStorage
from arrowds.storage.objectstore import ObjectStorage
from arrowds.storage.s3 import S3Storage
from arrowds.storage.secrets import Redactor

#: Object-store classes by URL protocol (after ``normalize_url``).
OBJECT_STORES: dict[str, type[ObjectStorage]] = {"s3": S3Storage, "s3a": S3Storage, "gs": GCSStorage}

_INSTALL_HINT = {"s3": "s3", "s3a": "s3", "gs": "gcs"}


def open_storage(url: str | os.PathLike[str], storage_options: dict[str, Any] | None = None,
                 cache: CacheConfig | str | os.PathLike[str] | dict[str, Any] | None = None) -> Storage:
    """The Storage for a dataset URL. ``storage_options`` go to fsspec and are kept only in
    memory; ``cache`` adds a local cache of immutable files for remote stores."""
    url = os.fspath(url)
    norm = normalize_url(url)
    protocol = norm.split("://", 1)[0] if "://" in norm else "file"
    options = dict(storage_options or {})
    redact = Redactor(options)
    cls = OBJECT_STORES.get(protocol)
    if cls is not None:
        options = cls.default_options(options)
    try:
        fs, root = fsspec.core.url_to_fs(norm, **options)
    except ImportError as e:
        extra = _INSTALL_HINT.get(protocol)
        hint = f" (pip install 'arrowds[{extra}]')" if extra else ""
        raise StorageError(f"cannot open storage for {url!r}: {redact(str(e))}{hint}") from None
    except (ValueError, TypeError) as e:
        raise StorageError(f"cannot open storage for {url!r}: {redact(str(e))}") from None
    storage: Storage
    if type(fs) is LocalFileSystem:  # exact: a subclass may wrap reads (caching, counting)
        storage = LocalStorage(fs, root, url, redact)
    elif type(fs) is MemoryFileSystem:
        storage = MemoryStorage(fs, root, url, redact)
    elif cls is not None:
        storage = cls(fs, root, url, redact)
    else:
        storage = Storage(fs, root, url, redact)
    if cache is not None and storage.remote:
        storage = CachingStorage(storage, CacheConfig.of(cache))
    return storage
