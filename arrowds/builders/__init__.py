"""TFDS-style dataset builders (L5): features, builders, splits, downloads, the catalog.

    import arrowds as ads
    builder = ads.builder("mnist", data_dir="/data")
    builder.download_and_prepare()
    train = ads.load("mnist", split="train[:80%]", data_dir="/data")

Catalog builders (``mnist``, ``fashion_mnist``, ``cifar10``, ``cifar100``, ``image_folder``) are
imported on first use by name, not by ``import arrowds``.
"""

from arrowds.builders import features
from arrowds.builders.builder import BuilderConfig, GeneratorBasedBuilder, Shards, Skip
from arrowds.builders.concat import ConcatTensor, ConcatView
from arrowds.builders.download import DownloadConfig, DownloadManager
from arrowds.builders.info import DatasetInfo, SplitInfo, Version
from arrowds.builders.loading import PreparedDataset, builder, load
from arrowds.builders.registry import list_builders

__all__ = [
    "BuilderConfig",
    "ConcatTensor",
    "ConcatView",
    "DatasetInfo",
    "DownloadConfig",
    "DownloadManager",
    "GeneratorBasedBuilder",
    "PreparedDataset",
    "Shards",
    "Skip",
    "SplitInfo",
    "Version",
    "builder",
    "features",
    "list_builders",
    "load",
]
