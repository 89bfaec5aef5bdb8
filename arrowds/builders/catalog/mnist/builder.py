"""MNIST from the upstream IDX gzip files (``train-images-idx3-ubyte.gz`` etc.).

Checksums (``checksums.tsv``) are the ones TensorFlow Datasets records for the same URLs, copied, not
verified by a download here (arrowds was written offline; see docs/builders.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from arrowds.builders import features
from arrowds.builders.builder import GeneratorBasedBuilder
from arrowds.builders.catalog._formats import iter_idx, write_idx
from arrowds.builders.download import DownloadManager
from arrowds.builders.info import DatasetInfo, Version

FILES = {"train_images": "train-images-idx3-ubyte.gz", "train_labels": "train-labels-idx1-ubyte.gz",
         "test_images": "t10k-images-idx3-ubyte.gz", "test_labels": "t10k-labels-idx1-ubyte.gz"}


class MNIST(GeneratorBasedBuilder):
    """The MNIST database of handwritten digits (60,000 train, 10,000 test)."""

    VERSION = Version("3.0.1")
    RELEASE_NOTES = {"3.0.1": "IDX gzip files parsed directly; images stored as PNG."}
    URL = "https://storage.googleapis.com/cvdf-datasets/mnist/"
    HOMEPAGE = "http://yann.lecun.com/exdb/mnist/"
    CLASS_NAMES: list[str] = [str(i) for i in range(10)]
    CITATION = """@article{lecun2010mnist,
  title={MNIST handwritten digit database},
  author={LeCun, Yann and Cortes, Corinna and Burges, CJ},
  journal={ATT Labs [Online]. Available: http://yann.lecun.com/exdb/mnist},
  volume={2},
  year={2010}
}"""

    def _info(self) -> DatasetInfo:
        return self.dataset_info_from_configs(
            features={"image": features.Image(shape=(28, 28, 1), encoding_format="png"),
                      "label": features.ClassLabel(names=self.CLASS_NAMES)},
            supervised_keys=("image", "label"), homepage=self.HOMEPAGE, citation=self.CITATION,
            description=(self.__doc__ or "").strip())

    def _split_generators(self, dl_manager: DownloadManager) -> dict[str, Any]:
        paths = dl_manager.download({k: self.URL + v for k, v in FILES.items()})
        return {split: self._generate_examples(paths[f"{split}_images"], paths[f"{split}_labels"])
                for split in ("train", "test")}

    def _generate_examples(self, images_path: Path, labels_path: Path) -> Iterator[tuple[int, Any]]:
        labels = iter_idx(labels_path)
        index = 0
        pending = np.zeros(0, np.uint8)
        for images in iter_idx(images_path):
            while len(pending) < len(images):
                more = next(labels, None)
                if more is None:
                    raise ValueError(f"{labels_path} has fewer labels than {images_path} has images")
                pending = np.concatenate([pending, more])
            for k in range(len(images)):
                yield index, {"image": images[k][..., None], "label": int(pending[k])}
                index += 1
            pending = pending[len(images):]
        if len(pending) or next(labels, None) is not None:
            raise ValueError(f"{labels_path} has more labels than {images_path} has images")


def write_dummy_data(path: Path, sizes: dict[str, int] | None = None, seed: int = 0) -> None:
    """MNIST-format IDX gzip files with random digits (``{"train": 3, "test": 2}`` by default)."""
    rng = np.random.default_rng(seed)
    path.mkdir(parents=True, exist_ok=True)
    for split, n in (sizes or {"train": 3, "test": 2}).items():
        write_idx(path / FILES[f"{split}_images"], rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        write_idx(path / FILES[f"{split}_labels"], rng.integers(0, 10, n, dtype=np.uint8))
