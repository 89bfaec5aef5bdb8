"""What the harness needs from each system."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np

from ..harness.data import EmbeddingData, ImageData

Decoder = Callable[[bytes], np.ndarray]


class ImageReader(Protocol):
    def scan(self, decode: Decoder, batch_size: int) -> int:
        """Read and decode every image in order; return how many were decoded."""

    def get(self, i: int, decode: Decoder) -> np.ndarray:
        """Fetch and decode one image."""

    def labels(self) -> np.ndarray:
        """All labels as a NumPy array."""


class ImagePeer(Protocol):
    name: str
    decoder: str | None  # None: the harness decoder; otherwise the system decodes itself

    def setup(self) -> None:
        """Import the system's library (kept out of every timing)."""

    def ingest(self, data: ImageData, path: Path) -> None:
        """From the in-memory JPEG bytes to a durable dataset at ``path``."""

    def open(self, path: Path) -> ImageReader: ...


class EmbeddingReader(Protocol):
    def scan(self) -> np.ndarray:
        """The whole embedding column as an (n, dim) float32 array."""

    def row(self, i: int) -> np.ndarray:
        """One embedding row as a (dim,) array."""


class EmbeddingPeer(Protocol):
    name: str
    is_limit: bool  # a reference ceiling, not a competitor

    def setup(self) -> None:
        """Import the system's library (kept out of every timing)."""

    def ingest(self, data: EmbeddingData, path: Path) -> None: ...

    def open(self, path: Path) -> EmbeddingReader: ...
