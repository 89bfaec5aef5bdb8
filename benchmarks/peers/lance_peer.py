"""Lance (`pylance`): write_dataset, take() for one row, to_batches()/to_table() for scans."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from ..harness.data import EmbeddingData, ImageData
from .base import Decoder
from .parquet_peer import fixed_size_list, fixed_size_list_to_numpy


def _lance():
    import lance

    return lance


class _ImageReader:
    def __init__(self, path: Path) -> None:
        self.ds = _lance().dataset(str(path))

    def scan(self, decode: Decoder, batch_size: int) -> int:
        count = 0
        for batch in self.ds.to_batches(columns=["image"], batch_size=batch_size):
            for blob in batch.column(0).to_pylist():
                decode(blob)
                count += 1
        return count

    def get(self, i: int, decode: Decoder) -> np.ndarray:
        return decode(self.ds.take([i], columns=["image"]).column(0)[0].as_py())

    def labels(self) -> np.ndarray:
        return self.ds.to_table(columns=["label"]).column(0).to_numpy()


class LanceImages:
    name = "lance"
    decoder = None

    def setup(self) -> None:
        _lance()

    def ingest(self, data: ImageData, path: Path) -> None:
        table = pa.table({
            "image": pa.array(data.jpegs, pa.binary()),
            "label": pa.array(data.labels, pa.uint32()),
            "caption": pa.array(data.captions, pa.string()),
        })
        _lance().write_dataset(table, str(path))

    def open(self, path: Path) -> _ImageReader:
        return _ImageReader(path)


class _EmbeddingReader:
    def __init__(self, path: Path) -> None:
        self.ds = _lance().dataset(str(path))

    def scan(self) -> np.ndarray:
        return fixed_size_list_to_numpy(self.ds.to_table(columns=["embedding"]).column(0))

    def row(self, i: int) -> np.ndarray:
        return fixed_size_list_to_numpy(self.ds.take([i], columns=["embedding"]).column(0))[0]


class LanceEmbeddings:
    name = "lance"
    is_limit = False

    def setup(self) -> None:
        _lance()

    def ingest(self, data: EmbeddingData, path: Path) -> None:
        table = pa.table({
            "id": pa.array(data.ids),
            "embedding": fixed_size_list(data.embedding),
            "label": pa.array(data.labels, pa.uint32()),
        })
        _lance().write_dataset(table, str(path))

    def open(self, path: Path) -> _EmbeddingReader:
        return _EmbeddingReader(path)
