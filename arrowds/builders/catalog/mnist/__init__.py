"""MNIST: 70,000 28x28 grayscale handwritten digits from the upstream IDX gzip files."""

from arrowds.builders.catalog.mnist.builder import MNIST, write_dummy_data

__all__ = ["MNIST", "write_dummy_data"]
