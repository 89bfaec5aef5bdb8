"""A memory-mapped .npy file: the practical ceiling for reading a dense float32 matrix."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..harness.data import EmbeddingData

FILE = "embedding.npy"


class _EmbeddingReader:
    def __init__(self, path: Path) -> None:
        self.arr = np.load(path / FILE, mmap_mode="r")

    def scan(self) -> np.ndarray:
        return np.array(self.arr)

    def row(self, i: int) -> np.ndarray:
        return self.arr[i].copy()


class NpyEmbeddings:
    name = "mmap .npy (limit)"
    is_limit = True

    def setup(self) -> None:
        """Nothing to import: pyarrow/NumPy are loaded with this module."""

    def ingest(self, data: EmbeddingData, path: Path) -> None:
        path.mkdir(parents=True)
        np.save(path / FILE, data.embedding)

    def open(self, path: Path) -> _EmbeddingReader:
        return _EmbeddingReader(path)
