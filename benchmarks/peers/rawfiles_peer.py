"""One .jpg file per image in a folder, labels in a .npy file and captions in a JSON list."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..harness.data import ImageData
from .base import Decoder

IMAGES = "images"


def _image_path(root: Path, i: int) -> Path:
    return root / IMAGES / f"{i:07d}.jpg"


class _ImageReader:
    def __init__(self, path: Path) -> None:
        self.root = path
        self.n = len(json.loads((path / "captions.json").read_text()))

    def _read(self, i: int) -> bytes:
        return _image_path(self.root, i).read_bytes()

    def scan(self, decode: Decoder, batch_size: int) -> int:
        for i in range(self.n):
            decode(self._read(i))
        return self.n

    def get(self, i: int, decode: Decoder) -> np.ndarray:
        return decode(self._read(i))

    def labels(self) -> np.ndarray:
        return np.load(self.root / "labels.npy")


class RawFileImages:
    name = "raw files"
    decoder = None

    def setup(self) -> None:
        """Nothing to import."""

    def ingest(self, data: ImageData, path: Path) -> None:
        (path / IMAGES).mkdir(parents=True)
        for i, blob in enumerate(data.jpegs):
            _image_path(path, i).write_bytes(blob)
        np.save(path / "labels.npy", data.labels)
        (path / "captions.json").write_text(json.dumps(data.captions))

    def open(self, path: Path) -> _ImageReader:
        return _ImageReader(path)
