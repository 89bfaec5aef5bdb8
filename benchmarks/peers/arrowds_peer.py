"""arrowds, through its public API only (spec/API.md sections 1-4)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..harness.data import EmbeddingData, ImageData
from .base import Decoder


def _ads():
    import arrowds as ads

    return ads


class _ImageReader:
    def __init__(self, path: Path) -> None:
        self.ds = _ads().load(str(path))

    def scan(self, decode: Decoder, batch_size: int) -> int:
        images = self.ds.images
        n, count = len(images), 0
        for start in range(0, n, batch_size):
            count += len(images[start:start + batch_size].numpy(aslist=True))
        return count

    def get(self, i: int, decode: Decoder) -> np.ndarray:
        return self.ds.images[i].numpy()

    def labels(self) -> np.ndarray:
        return self.ds.labels.numpy()


class ArrowdsImages:
    name = "arrowds"
    decoder = "arrowds (internal)"

    def setup(self) -> None:
        _ads()

    def ingest(self, data: ImageData, path: Path) -> None:
        ads = _ads()
        ds = ads.empty(str(path), overwrite=True)
        ds.create_tensor("images", htype="image", sample_compression="jpeg")
        ds.create_tensor("labels", htype="class_label")
        ds.create_tensor("captions", htype="text")
        with ds:
            ds.extend({
                "images": data.jpegs,  # JPEG file bytes, kept as they are (as ads.read(b) would)
                "labels": data.labels,
                "captions": data.captions,
            })

    def open(self, path: Path) -> _ImageReader:
        return _ImageReader(path)


class _EmbeddingReader:
    def __init__(self, path: Path) -> None:
        self.ds = _ads().load(str(path))

    def scan(self) -> np.ndarray:
        return self.ds.embedding.numpy()

    def row(self, i: int) -> np.ndarray:
        return self.ds.embedding[i].numpy()


class ArrowdsEmbeddings:
    name = "arrowds"
    is_limit = False

    def setup(self) -> None:
        _ads()

    def ingest(self, data: EmbeddingData, path: Path) -> None:
        ds = _ads().empty(str(path), overwrite=True)
        ds.create_tensor("ids", dtype="int64")
        ds.create_tensor("embedding", htype="embedding")
        ds.create_tensor("labels", htype="class_label")
        with ds:
            ds.extend({"ids": data.ids, "embedding": data.embedding, "labels": data.labels})

    def open(self, path: Path) -> _EmbeddingReader:
        return _EmbeddingReader(path)
