"""Hugging Face `datasets`: from_dict -> save_to_disk, reloaded with load_from_disk."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..harness.data import EMBEDDING_DIM, EmbeddingData, ImageData
from .base import Decoder


def _datasets():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import datasets

    datasets.disable_caching()
    datasets.disable_progress_bars()
    return datasets


class _ImageReader:
    def __init__(self, path: Path) -> None:
        hf = _datasets()
        # decode=False: the harness decodes the stored bytes with the same decoder as everyone else.
        self.ds = hf.load_from_disk(str(path)).cast_column("image", hf.Image(decode=False))

    def scan(self, decode: Decoder, batch_size: int) -> int:
        count = 0
        for batch in self.ds.select_columns(["image"]).iter(batch_size=batch_size):
            for item in batch["image"]:
                decode(item["bytes"])
                count += 1
        return count

    def get(self, i: int, decode: Decoder) -> np.ndarray:
        return decode(self.ds[i]["image"]["bytes"])

    def labels(self) -> np.ndarray:
        return self.ds.with_format("numpy")["label"][:]


class HFImages:
    name = "hf datasets"
    decoder = None

    def setup(self) -> None:
        _datasets()

    def ingest(self, data: ImageData, path: Path) -> None:
        hf = _datasets()
        features = hf.Features(
            {"image": hf.Image(), "label": hf.Value("uint32"), "caption": hf.Value("string")})
        ds = hf.Dataset.from_dict({
            "image": [{"bytes": b, "path": None} for b in data.jpegs],
            "label": data.labels,
            "caption": data.captions,
        }, features=features)
        ds.save_to_disk(str(path))

    def open(self, path: Path) -> _ImageReader:
        return _ImageReader(path)


class _EmbeddingReader:
    def __init__(self, path: Path) -> None:
        self.ds = _datasets().load_from_disk(str(path)).with_format("numpy")

    def scan(self) -> np.ndarray:
        return self.ds["embedding"][:]

    def row(self, i: int) -> np.ndarray:
        return self.ds[i]["embedding"]


class HFEmbeddings:
    name = "hf datasets"
    is_limit = False

    def setup(self) -> None:
        _datasets()

    def ingest(self, data: EmbeddingData, path: Path) -> None:
        hf = _datasets()
        features = hf.Features({
            "id": hf.Value("int64"),
            "embedding": hf.List(hf.Value("float32"), length=EMBEDDING_DIM),
            "label": hf.Value("uint32"),
        })
        ds = hf.Dataset.from_dict(
            {"id": data.ids, "embedding": data.embedding, "label": data.labels}, features=features)
        ds.save_to_disk(str(path))

    def open(self, path: Path) -> _EmbeddingReader:
        return _EmbeddingReader(path)
