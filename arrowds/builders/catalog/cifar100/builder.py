"""CIFAR-100 from ``cifar-100-binary.tar.gz`` (the binary version: nothing is unpickled).

The archive holds ``cifar-100-binary/train.bin`` and ``test.bin`` (records of 1 coarse label
byte + 1 fine label byte + 3072 image bytes), ``fine_label_names.txt`` and
``coarse_label_names.txt`` (class names, one per line, read into the ClassLabels).
Checksum (``checksums.tsv``): the one TensorFlow Datasets records for the same URL, copied, not
verified by a download here (arrowds was written offline; see docs/builders.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from arrowds.builders import features
from arrowds.builders.builder import GeneratorBasedBuilder
from arrowds.builders.catalog._formats import iter_cifar, write_cifar
from arrowds.builders.catalog.cifar10.builder import Cifar10
from arrowds.builders.download import DownloadManager
from arrowds.builders.info import DatasetInfo, Version

FOLDER = "cifar-100-binary"


class Cifar100(GeneratorBasedBuilder):
    """CIFAR-100: 50,000 train and 10,000 test 32x32 colour images; 100 fine classes in 20
    coarse superclasses."""

    VERSION = Version("3.0.2")
    RELEASE_NOTES = {"3.0.2": "Binary-version files parsed directly; images stored as PNG."}
    URL = "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz"

    def _info(self) -> DatasetInfo:
        return self.dataset_info_from_configs(
            features={"id": features.Text(),
                      "image": features.Image(shape=(32, 32, 3), encoding_format="png"),
                      "label": features.ClassLabel(num_classes=100),
                      "coarse_label": features.ClassLabel(num_classes=20)},
            supervised_keys=("image", "label"), homepage="https://www.cs.toronto.edu/~kriz/cifar.html",
            citation=Cifar10.CITATION, description=(self.__doc__ or "").strip())

    def _split_generators(self, dl_manager: DownloadManager) -> dict[str, Any]:
        root = Path(dl_manager.download_and_extract(self.URL)) / FOLDER
        feats = self.info.features
        assert feats is not None
        for feature, fname in (("label", "fine_label_names.txt"), ("coarse_label", "coarse_label_names.txt")):
            if (root / fname).is_file():
                feats[feature].set_names(  # type: ignore[attr-defined]
                    [n.strip() for n in (root / fname).read_text().splitlines() if n.strip()])
        return {"train": self._generate_examples(root / "train.bin", "train"),
                "test": self._generate_examples(root / "test.bin", "test")}

    def _generate_examples(self, path: Path, split: str) -> Iterator[tuple[str, Any]]:
        index = 0
        for labels, images in iter_cifar(path, 2):
            for k in range(len(images)):
                key = f"{split}_{index:05d}"
                yield key, {"id": key, "image": images[k], "label": int(labels[k, 1]),
                            "coarse_label": int(labels[k, 0])}
                index += 1


def write_dummy_data(path: Path, sizes: dict[str, int] | None = None, seed: int = 0) -> None:
    """``cifar-100-binary/`` with random records (``{"train": 3, "test": 2}`` by default) and
    placeholder class-name files."""
    rng = np.random.default_rng(seed)
    folder = path / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in (sizes or {"train": 3, "test": 2}).items():
        labels = np.stack([rng.integers(0, 20, n), rng.integers(0, 100, n)], 1).astype(np.uint8)
        write_cifar(folder / f"{split}.bin", labels, rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8))
    (folder / "fine_label_names.txt").write_text("".join(f"fine_{k}\n" for k in range(100)))
    (folder / "coarse_label_names.txt").write_text("".join(f"coarse_{k}\n" for k in range(20)))
