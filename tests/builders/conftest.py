"""Builders defined once for the builder tests."""

from __future__ import annotations

import numpy as np
import pytest

import arrowds as ads
from arrowds.builders import features as F


class Toy(ads.builders.GeneratorBasedBuilder):
    """20 train and 7 test examples with an image, a label and the example number."""

    VERSION = ads.Version("1.0.0")
    SUPPORTED_VERSIONS = ["0.9.0"]
    RELEASE_NOTES = {"1.0.0": "first"}
    fail_in: str | None = None
    sizes = {"train": 20, "test": 7}

    def _info(self):
        return self.dataset_info_from_configs(
            features={"image": F.Image(shape=(8, 8, 3)), "label": F.ClassLabel(names=["a", "b", "c"]),
                      "n": F.Scalar(np.int64)},
            supervised_keys=("image", "label"), homepage="https://example.org")

    def _split_generators(self, dl_manager):
        return {split: self._generate_examples(split, n) for split, n in self.sizes.items()}

    def _generate_examples(self, split, n):
        rng = np.random.default_rng(n)
        for i in range(n):
            if split == self.fail_in and i == n // 2:
                raise RuntimeError("upstream file is corrupt")
            yield f"k{i}", {"image": rng.integers(0, 255, (8, 8, 3), dtype=np.uint8),
                            "label": i % 3, "n": i}


@pytest.fixture
def toy():
    Toy.fail_in = None
    return Toy
