"""Fashion-MNIST from the upstream IDX gzip files; same format and file names as MNIST.

Checksums (``checksums.tsv``) are the ones TensorFlow Datasets records for the same URLs, copied, not
verified by a download here (arrowds was written offline; see docs/builders.md).
"""

from __future__ import annotations

from arrowds.builders.catalog.mnist.builder import MNIST
from arrowds.builders.info import Version


class FashionMNIST(MNIST):
    """Zalando's article images: 60,000 train and 10,000 test, 10 classes."""

    VERSION = Version("3.0.1")
    RELEASE_NOTES = {"3.0.1": "IDX gzip files parsed directly; images stored as PNG."}
    URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
    HOMEPAGE = "https://github.com/zalandoresearch/fashion-mnist"
    CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot"]
    CITATION = """@article{DBLP:journals/corr/abs-1708-07747,
  author    = {Han Xiao and Kashif Rasul and Roland Vollgraf},
  title     = {Fashion-MNIST: a Novel Image Dataset for Benchmarking Machine Learning Algorithms},
  journal   = {CoRR},
  volume    = {abs/1708.07747},
  year      = {2017},
  url       = {http://arxiv.org/abs/1708.07747},
}"""
