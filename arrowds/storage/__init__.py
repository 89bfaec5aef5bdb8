"""Storage: a thin layer over fsspec that adds what arrowds needs (L1).

Only this package talks to fsspec. Everything above it addresses objects by *key*
(a ``/``-separated path relative to the dataset root).
"""

from arrowds.storage.base import Storage, normalize_url, open_storage

__all__ = ["Storage", "open_storage", "normalize_url"]
