"""Google Cloud Storage through gcsfs: conditional puts with ``ifGenerationMatch=0``.

Retries are gcsfs's own (5xx, 408, 429 and connection errors, exponential backoff, 6 tries).
With an emulator or a custom endpoint, pass ``endpoint_url`` in ``storage_options``.
"""

from __future__ import annotations

from arrowds.storage.objectstore import ObjectStorage


class GCSStorage(ObjectStorage):
    """A dataset under ``gs://bucket/prefix`` (or ``gcs://``). ``storage_options`` are
    gcsfs's: ``token`` (a path, a dict of service-account fields, ``"anon"``, ...),
    ``project``, ``endpoint_url``, ..."""
