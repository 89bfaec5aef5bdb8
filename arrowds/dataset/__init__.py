"""The Hub-like user API (L3): Dataset, Tensor, views, info, and dataset lifecycle."""

from arrowds.dataset.api import dataset, delete, empty, exists, load
from arrowds.dataset.copy import copy
from arrowds.dataset.dataset import Dataset
from arrowds.dataset.tensor import Tensor

__all__ = ["Dataset", "Tensor", "copy", "dataset", "delete", "empty", "exists", "load"]
