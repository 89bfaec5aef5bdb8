"""Storage: a thin layer over fsspec that adds what arrowds needs (L1).

Only this package talks to fsspec. Everything above it addresses objects by *key*
(a ``/``-separated path relative to the dataset root).
"""

from arrowds.storage.base import Storage, normalize_url
from arrowds.storage.cache import CacheConfig
from arrowds.storage.registry import open_storage

__all__ = ["CacheConfig", "Storage", "open_storage", "normalize_url"]
