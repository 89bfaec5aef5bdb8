"""Plain Parquet written and read with pyarrow (default writer settings apart from row-group size)."""

from __future__ import annotations

import bisect
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..harness.data import EmbeddingData, ImageData
from .base import Decoder

FILE = "data.parquet"
EMBEDDING_ROW_GROUP = 10_000  # 5 MB of embeddings per group: one-row fetch reads one group


def fixed_size_list(matrix: np.ndarray) -> pa.FixedSizeListArray:
    return pa.FixedSizeListArray.from_arrays(pa.array(matrix.reshape(-1)), matrix.shape[1])


def fixed_size_list_to_numpy(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A FixedSizeList column as an (n, dim) array (one copy when there are several chunks)."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    dim = column.type.list_size
    return column.flatten().to_numpy(zero_copy_only=False).reshape(-1, dim)


class _RowGroups:
    """Maps a row index to (row group, offset inside it) from the footer."""

    def __init__(self, pf: pq.ParquetFile) -> None:
        sizes = [pf.metadata.row_group(g).num_rows for g in range(pf.num_row_groups)]
        self.starts = np.concatenate([[0], np.cumsum(sizes)]).tolist()

    def locate(self, i: int) -> tuple[int, int]:
        g = bisect.bisect_right(self.starts, i) - 1
        return g, i - self.starts[g]


class _ImageReader:
    def __init__(self, path: Path) -> None:
        self.path = path / FILE
        self.pf = pq.ParquetFile(self.path)
        self.groups = _RowGroups(self.pf)

    def scan(self, decode: Decoder, batch_size: int) -> int:
        count = 0
        for g in range(self.pf.num_row_groups):
            for blob in self.pf.read_row_group(g, columns=["image"]).column(0).to_pylist():
                decode(blob)
                count += 1
        return count

    def get(self, i: int, decode: Decoder) -> np.ndarray:
        g, k = self.groups.locate(i)
        return decode(self.pf.read_row_group(g, columns=["image"]).column(0)[k].as_py())

    def labels(self) -> np.ndarray:
        return pq.read_table(self.path, columns=["label"]).column(0).to_numpy()


class ParquetImages:
    decoder = None

    def __init__(self, row_group_size: int) -> None:
        self.row_group_size = row_group_size
        self.name = f"parquet rg={row_group_size}"

    def setup(self) -> None:
        """Nothing to import: pyarrow/NumPy are loaded with this module."""

    def ingest(self, data: ImageData, path: Path) -> None:
        table = pa.table({
            "image": pa.array(data.jpegs, pa.binary()),
            "label": pa.array(data.labels, pa.uint32()),
            "caption": pa.array(data.captions, pa.string()),
        })
        path.mkdir(parents=True)
        pq.write_table(table, path / FILE, row_group_size=self.row_group_size)

    def open(self, path: Path) -> _ImageReader:
        return _ImageReader(path)


class _EmbeddingReader:
    def __init__(self, path: Path) -> None:
        self.path = path / FILE
        self.pf = pq.ParquetFile(self.path)
        self.groups = _RowGroups(self.pf)

    def scan(self) -> np.ndarray:
        return fixed_size_list_to_numpy(pq.read_table(self.path, columns=["embedding"]).column(0))

    def row(self, i: int) -> np.ndarray:
        g, k = self.groups.locate(i)
        column = self.pf.read_row_group(g, columns=["embedding"]).column(0)
        return fixed_size_list_to_numpy(column.slice(k, 1))[0]


class ParquetEmbeddings:
    name = f"parquet rg={EMBEDDING_ROW_GROUP}"
    is_limit = False

    def setup(self) -> None:
        """Nothing to import: pyarrow/NumPy are loaded with this module."""

    def ingest(self, data: EmbeddingData, path: Path) -> None:
        table = pa.table({
            "id": pa.array(data.ids),
            "embedding": fixed_size_list(data.embedding),
            "label": pa.array(data.labels, pa.uint32()),
        })
        path.mkdir(parents=True)
        pq.write_table(table, path / FILE, row_group_size=EMBEDDING_ROW_GROUP)

    def open(self, path: Path) -> _EmbeddingReader:
        return _EmbeddingReader(path)
