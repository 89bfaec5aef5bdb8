"""Fashion-MNIST: 70,000 28x28 grayscale clothing images, in MNIST's IDX gzip format."""

from arrowds.builders.catalog.fashion_mnist.builder import FashionMNIST

__all__ = ["FashionMNIST"]
