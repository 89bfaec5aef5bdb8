"""Parquet writer options, row-group sizing, and the *direct* layout of media/vector columns.

A column is written *direct* when it has no nulls and is a binary (``blob``) or uncompressed
fixed-size-list (``fixed``) column: then each row group's column chunk is one uncompressed
PLAIN data page with no dictionary, whose values end exactly where the chunk ends. With the
sample byte lengths (kept in the footer's key-value metadata) a reader computes the byte range
of any sample from the footer alone and reads exactly those bytes: one ranged read, no page
decoding. The writer verifies the layout on the bytes it produced and lists in the footer only
the columns that passed; every other column (and every file written by other tools) is read
through pyarrow. The file stays ordinary Parquet either way.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from arrowds import _config
from arrowds.format.spec import TensorSpec

DIRECT_KEY = b"arrowds.direct"
LENGTHS_KEY = b"arrowds.blob_lengths"
_HUGE = 1 << 40


def rows_per_row_group(table: pa.Table, has_media: bool) -> int:
    """Rows per row group so one group of the table is about the target size."""
    target = _config.MEDIA_ROW_GROUP_BYTES if has_media else _config.NUMERIC_ROW_GROUP_BYTES
    avg = max(1, table.nbytes // max(1, table.num_rows))
    return int(min(_config.MAX_ROW_GROUP_ROWS, max(_config.MIN_ROW_GROUP_ROWS, target // avg)))


def plan_direct(table: pa.Table, specs: dict[str, TensorSpec]) -> dict[str, str]:
    """The columns to write *direct* (column -> ``"blob"``/``"fixed"``): no nulls, and a blob or
    an uncompressed non-bool fixed layout."""
    out: dict[str, str] = {}
    if not table.num_rows:
        return out
    for spec in specs.values():
        col = table.column(spec.column)
        if col.null_count:
            continue
        if spec.layout == "blob":
            out[spec.column] = "blob"
        elif spec.layout == "fixed" and spec.chunk_compression is None and spec.dtype != "bool":
            out[spec.column] = "fixed"
    return out


def write_parquet(table: pa.Table, specs: dict[str, TensorSpec]) -> pa.Buffer:
    """Serialise ``table`` (columns of the tensors in ``specs``) as one Parquet file in memory."""
    direct = plan_direct(table, specs)
    while True:
        sink = pa.BufferOutputStream()
        write_parquet_to(sink, table, specs, direct)
        buf = sink.getvalue()
        reader = pa.BufferReader(buf)
        failed = check_direct(pq.read_metadata(reader), table, direct,
                              lambda a, b, buf=buf: buf[a:b].to_pybytes())
        if not failed:
            return buf
        direct = {c: k for c, k in direct.items() if c not in failed}


def write_parquet_to(sink: pa.NativeFile, table: pa.Table, specs: dict[str, TensorSpec],
                     direct: dict[str, str]) -> None:
    """Write ``table`` into ``sink`` as one Parquet file, with the ``direct`` columns laid out
    direct (check them afterwards with ``check_direct``: pyarrow decides the page layout)."""
    compression: dict[str, str] = {}
    dictionary: list[str] = []
    statistics: list[str] = []
    has_media = False
    for spec in specs.values():
        data_codec = spec.chunk_compression or "none"
        if spec.layout == "blob":
            data_codec, has_media = "none", True
        elif spec.layout in ("scalar", "text", "json", "strlist"):
            dictionary.append(spec.column)
            statistics.append(spec.column)
        compression[spec.column] = "none" if spec.column in direct else data_codec
        if spec.shape_column:
            compression[spec.shape_column] = "zstd"
            dictionary.append(spec.shape_column)
    meta = dict(table.schema.metadata or {})
    meta[DIRECT_KEY] = json.dumps(direct).encode()
    lengths = {
        c: base64.b64encode(_blob_lengths(table.column(c)).astype("<u4").tobytes()).decode()
        for c, k in direct.items() if k == "blob"
    }
    meta[LENGTHS_KEY] = json.dumps(lengths).encode()
    # Direct columns have no nulls: declared required, pyarrow skips computing their definition
    # levels (half the write time of a fixed-size-list column).
    schema = pa.schema([f.with_nullable(False) if f.name in direct else f for f in table.schema],
                       metadata=meta)
    table = table.cast(schema) if schema != table.schema else table.replace_schema_metadata(meta)
    with pq.ParquetWriter(
        sink, table.schema, compression=compression, use_dictionary=dictionary or False,
        write_statistics=statistics or False, data_page_size=_HUGE, max_rows_per_page=1 << 30,
    ) as w:
        w.write_table(table, row_group_size=rows_per_row_group(table, has_media))


def _blob_lengths(col: pa.ChunkedArray) -> np.ndarray:
    return np.asarray(pc.binary_length(col).to_numpy(zero_copy_only=False), np.int64)


def check_direct(md: pq.FileMetaData, table: pa.Table, direct: dict[str, str],
                 read: Callable[[int, int], bytes]) -> list[str]:
    """The ``direct`` columns whose written bytes are not where the footer says: for the first row
    of every row group, the computed byte range (read with ``read(start, end)``) must hold the
    value (and, for blobs, be preceded by its 4-byte PLAIN length)."""
    if not direct:
        return []
    layout = FileLayout.from_metadata(md)
    failed = []
    for column, kind in direct.items():
        col = table.column(column)
        for g in range(md.num_row_groups):
            row = int(layout.rg_starts[g])
            start, end = layout.byte_range(column, row)
            if kind == "blob":
                want = col[row].as_py()
                got = read(start - 4, end)
                ok = int.from_bytes(got[:4], "little") == len(want) and got[4:] == want
            else:
                want = np.asarray(col[row].values.to_numpy(zero_copy_only=False)).tobytes()
                ok = read(start, end) == want
            if not ok:
                failed.append(column)
                break
    return failed


@dataclass
class FileLayout:
    """What a reader needs from one Parquet file's footer, parsed once and cached."""

    metadata: pq.FileMetaData
    rg_starts: np.ndarray  # first row of each row group, plus the total at the end
    column_index: dict[str, int]  # top-level column name -> leaf column index
    blob: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    fixed: dict[str, tuple[np.ndarray, int]] = field(default_factory=dict)

    @property
    def num_rows(self) -> int:
        return int(self.rg_starts[-1])

    @classmethod
    def from_metadata(cls, md: pq.FileMetaData) -> FileLayout:
        counts = [md.row_group(g).num_rows for g in range(md.num_row_groups)]
        rg_starts = np.zeros(len(counts) + 1, np.int64)
        np.cumsum(counts, out=rg_starts[1:])
        column_index: dict[str, int] = {}
        for j in range(md.num_columns):
            top = md.schema.column(j).path.split(".", 1)[0]
            column_index.setdefault(top, j)
        layout = cls(md, rg_starts, column_index)
        kv = md.metadata or {}
        direct = json.loads(kv.get(DIRECT_KEY, b"{}"))
        lengths = json.loads(kv.get(LENGTHS_KEY, b"{}"))
        for col, kind in direct.items():
            j = column_index[col]
            ends = np.array([
                md.row_group(g).column(j).data_page_offset + md.row_group(g).column(j).total_compressed_size
                for g in range(md.num_row_groups)
            ], np.int64)
            if kind == "blob":
                lens = np.frombuffer(base64.b64decode(lengths[col]), "<u4").astype(np.int64)
                starts = np.empty_like(lens)
                for g in range(md.num_row_groups):
                    a, b = rg_starts[g], rg_starts[g + 1]
                    seg = lens[a:b] + 4
                    suffix = np.cumsum(seg[::-1])[::-1]
                    starts[a:b] = ends[g] - suffix + 4
                layout.blob[col] = (starts, lens)
            else:
                col_schema = md.schema.column(j)
                itemsize = (col_schema.length if col_schema.physical_type == "FIXED_LEN_BYTE_ARRAY"
                            else _PHYSICAL_SIZE[col_schema.physical_type])
                n_values = md.row_group(0).column(j).num_values if md.num_row_groups else 0
                per_row = n_values // counts[0] if counts and counts[0] else 0
                layout.fixed[col] = (ends, per_row * itemsize)
        return layout

    def row_group_of(self, rows: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.rg_starts, rows, side="right") - 1

    def byte_range(self, column: str, row: int) -> tuple[int, int]:
        """Bytes ``[start, end)`` of one value of a direct column."""
        if column in self.blob:
            starts, lens = self.blob[column]
            return int(starts[row]), int(starts[row] + lens[row])
        ends, width = self.fixed[column]
        g = int(self.row_group_of(np.array([row]))[0])
        start = int(ends[g] - (self.rg_starts[g + 1] - row) * width)
        return start, start + width

    def fixed_runs(self, column: str, start: int, stop: int) -> list[tuple[int, int, int]]:
        """For a direct fixed column: ``(first_row, byte_start, byte_end)`` runs covering rows
        ``[start, stop)``, one per row group touched."""
        ends, width = self.fixed[column]
        out = []
        g = int(self.row_group_of(np.array([start]))[0])
        while start < stop:
            hi = min(stop, int(self.rg_starts[g + 1]))
            first = int(ends[g] - (self.rg_starts[g + 1] - start) * width)
            out.append((start, first, first + (hi - start) * width))
            start, g = hi, g + 1
        return out


_PHYSICAL_SIZE = {"FLOAT": 4, "DOUBLE": 8, "INT32": 4, "INT64": 8, "BOOLEAN": 0, "INT96": 12}
