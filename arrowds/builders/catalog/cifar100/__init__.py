"""CIFAR-100: 60,000 32x32 colour images in 100 classes (20 superclasses), binary version."""

from arrowds.builders.catalog.cifar100.builder import Cifar100, write_dummy_data

__all__ = ["Cifar100", "write_dummy_data"]
