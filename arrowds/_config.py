"""Defaults and environment variables, in one place."""

from __future__ import annotations

import os
from pathlib import Path

#: Major.minor of the on-disk format this library writes. A reader refuses a newer major.
FORMAT_VERSION = "1.0"

#: Target uncompressed size of one row group when a fragment holds media columns. Reading one
#: sample reads at most one row group of the columns asked for (FORMAT.md invariant 5).
MEDIA_ROW_GROUP_BYTES = 1 << 20
#: Target uncompressed size of one row group for fragments of numeric/text columns only.
NUMERIC_ROW_GROUP_BYTES = 8 << 20
#: Row-count bounds of a row group, whatever the row size.
MIN_ROW_GROUP_ROWS = 16
MAX_ROW_GROUP_ROWS = 1 << 16
#: A fragment (one Parquet file) is closed past this many bytes or rows.
MAX_FRAGMENT_BYTES = 128 << 20
MAX_FRAGMENT_ROWS = 1 << 21
#: A write big enough to cut into one fragment per core only makes pieces of at least this size.
MIN_PARALLEL_FRAGMENT_BYTES = 32 << 20

#: Pending (unwritten) samples inside ``with ds:`` are written as a fragment past this size.
WRITE_BUFFER_BYTES = 128 << 20

#: Updates touching more than this share of a fragment's rows rewrite the whole fragment
#: instead of writing patch rows.
REWRITE_FRACTION = 0.25


def default_data_dir() -> Path:
    """Where builders put prepared datasets: ``$ARROWDS_DATA_DIR`` or ``~/arrowds_datasets``."""
    return Path(os.environ.get("ARROWDS_DATA_DIR", "~/arrowds_datasets")).expanduser()
