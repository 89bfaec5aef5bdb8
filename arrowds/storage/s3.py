"""S3 and S3-compatible stores through s3fs: conditional puts with ``If-None-Match: *``.

Retries are botocore's own ("standard" mode: 5xx answers, throttling, dropped and timed-out
connections, with jittered exponential backoff); s3fs adds its own for a body cut off mid-read.
"""

from __future__ import annotations

from typing import Any

from arrowds.storage.objectstore import ObjectStorage

#: botocore attempts per request (1 + retries); a user's ``config_kwargs["retries"]`` wins.
MAX_ATTEMPTS = 10


class S3Storage(ObjectStorage):
    """A dataset under ``s3://bucket/prefix``. ``storage_options`` are s3fs's:
    ``key``, ``secret``, ``token``, ``endpoint_url``, ``anon``, ``config_kwargs``, ..."""

    @classmethod
    def default_options(cls, storage_options: dict[str, Any]) -> dict[str, Any]:
        opts = super().default_options(storage_options)
        config = dict(opts.get("config_kwargs") or {})
        config.setdefault("retries", {"total_max_attempts": MAX_ATTEMPTS, "mode": "standard"})
        opts["config_kwargs"] = config
        return opts

    def _read_whole(self, path: str) -> bytes:
        # one GET: without max_concurrency=1 s3fs first asks for the size (a HEAD)
        return self.fs.cat_file(path, max_concurrency=1)
