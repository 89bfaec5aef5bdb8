"""CIFAR-10 from ``cifar-10-binary.tar.gz`` (the binary version: nothing is unpickled).

The archive holds ``cifar-10-batches-bin/data_batch_{1..5}.bin``, ``test_batch.bin`` (records of
1 label byte + 3072 image bytes) and ``batches.meta.txt`` (class names, one per line).
Checksum (``checksums.tsv``): the one TensorFlow Datasets records for the same URL, copied, not
verified by a download here (arrowds was written offline; see docs/builders.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from arrowds.builders import features
from arrowds.builders.builder import GeneratorBasedBuilder, Shards
from arrowds.builders.catalog._formats import iter_cifar, write_cifar
from arrowds.builders.download import DownloadManager
from arrowds.builders.info import DatasetInfo, Version

FOLDER = "cifar-10-batches-bin"
TRAIN = [f"data_batch_{k}.bin" for k in range(1, 6)]
TEST = ["test_batch.bin"]
RECORD = 1 + 3072  # label byte + 32x32x3 image
NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


class Cifar10(GeneratorBasedBuilder):
    """CIFAR-10: 50,000 train and 10,000 test 32x32 colour images in 10 classes."""

    VERSION = Version("3.0.2")
    RELEASE_NOTES = {"3.0.2": "Binary-version files parsed directly; images stored as PNG."}
    URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
    CITATION = """@TECHREPORT{Krizhevsky09learningmultiple,
    author = {Alex Krizhevsky},
    title = {Learning multiple layers of features from tiny images},
    institution = {},
    year = {2009}
}"""

    def _info(self) -> DatasetInfo:
        return self.dataset_info_from_configs(
            features={"id": features.Text(),
                      "image": features.Image(shape=(32, 32, 3), encoding_format="png"),
                      "label": features.ClassLabel(names=NAMES)},
            supervised_keys=("image", "label"), homepage="https://www.cs.toronto.edu/~kriz/cifar.html",
            citation=self.CITATION, description=(self.__doc__ or "").strip())

    def _split_generators(self, dl_manager: DownloadManager) -> dict[str, Any]:
        root = Path(dl_manager.download_and_extract(self.URL)) / FOLDER
        meta = root / "batches.meta.txt"
        if meta.is_file():
            self.info.features["label"].set_names(  # type: ignore[union-attr]
                [n.strip() for n in meta.read_text().splitlines() if n.strip()])
        return {"train": self._shards(root, TRAIN, "train"), "test": self._shards(root, TEST, "test")}

    def _shards(self, root: Path, files: list[str], split: str) -> Shards:
        """One shard per file (an ``arrowds build --ray`` reads them in parallel), each knowing
        the running index its keys start at."""
        shards, first = [], 0
        for name in files:
            shards.append({"path": root / name, "split": split, "first": first})
            first += (root / name).stat().st_size // RECORD
        return Shards(self._generate_examples, shards)

    def _generate_examples(self, path: Path, split: str, first: int) -> Iterator[tuple[str, Any]]:
        index = first
        for labels, images in iter_cifar(path, 1):
            for k in range(len(images)):
                key = f"{split}_{index:05d}"
                yield key, {"id": key, "image": images[k], "label": int(labels[k, 0])}
                index += 1


def write_dummy_data(path: Path, per_file: int = 1, seed: int = 0) -> None:
    """``cifar-10-batches-bin/`` with ``per_file`` random records in each of the six files."""
    rng = np.random.default_rng(seed)
    folder = path / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    for name in TRAIN + TEST:
        write_cifar(folder / name, rng.integers(0, 10, (per_file, 1), dtype=np.uint8),
                    rng.integers(0, 256, (per_file, 32, 32, 3), dtype=np.uint8))
    (folder / "batches.meta.txt").write_text("\n".join(NAMES) + "\n\n")
