"""CIFAR-10: 60,000 32x32 colour images in 10 classes, from the binary version of the files."""

from arrowds.builders.catalog.cifar10.builder import Cifar10, write_dummy_data

__all__ = ["Cifar10", "write_dummy_data"]
