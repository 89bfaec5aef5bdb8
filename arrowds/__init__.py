"""arrowds: AI datasets as named tensors on Apache Arrow/Parquet.

    import arrowds as ads
    ds = ads.empty("./animals")
    ds.create_tensor("images", htype="image", sample_compression="jpeg")
    ds.create_tensor("labels", htype="class_label", class_names=["cat", "dog"])
    with ds:
        ds.append({"images": ads.read("cat.jpg"), "labels": "cat"})
    ds.images[0].numpy()
"""

from typing import TYPE_CHECKING, Any

from arrowds import builders, errors, testing
from arrowds.builders import (
    BuilderConfig,
    DatasetInfo,
    DownloadConfig,
    DownloadManager,
    Version,
    builder,
    features,
)
from arrowds.dataset import Dataset, Tensor, copy, dataset, delete, empty, exists, load
from arrowds.errors import (
    ArrowdsError,
    CheckoutError,
    CommitConflictError,
    DatasetCorruptError,
    DatasetExistsError,
    DatasetNotFoundError,
    DynamicTensorNumpyError,
    EmptyCommitError,
    FormatVersionError,
    MergeConflictError,
    ReadOnlyModeError,
    SampleDecodeError,
    SampleIndexError,
    SampleShapeError,
    StorageError,
    TensorAlreadyExistsError,
    TensorDoesNotExistError,
    TensorDtypeMismatchError,
    TransformError,
    UnsupportedCompressionError,
    UnsupportedHtypeError,
)
from arrowds.format.htypes import HTYPES
from arrowds.integrations.convert import from_arrow, from_pandas
from arrowds.integrations.huggingface import from_huggingface
from arrowds.media import MediaSample, read
from arrowds.transforms import compose, compute

if TYPE_CHECKING:
    from arrowds.integrations.ray import from_ray
    from arrowds.integrations.torch import IterableDataset

__version__ = "0.1.0"

htypes = sorted(HTYPES)

__all__ = [
    "ArrowdsError",
    "BuilderConfig",
    "DatasetInfo",
    "DownloadConfig",
    "DownloadManager",
    "Version",
    "builder",
    "builders",
    "features",
    "testing",
    "CheckoutError",
    "CommitConflictError",
    "Dataset",
    "DatasetCorruptError",
    "DatasetExistsError",
    "DatasetNotFoundError",
    "DynamicTensorNumpyError",
    "EmptyCommitError",
    "FormatVersionError",
    "IterableDataset",
    "MediaSample",
    "MergeConflictError",
    "ReadOnlyModeError",
    "SampleDecodeError",
    "SampleIndexError",
    "SampleShapeError",
    "StorageError",
    "Tensor",
    "TensorAlreadyExistsError",
    "TensorDoesNotExistError",
    "TensorDtypeMismatchError",
    "TransformError",
    "UnsupportedCompressionError",
    "UnsupportedHtypeError",
    "__version__",
    "compose",
    "compute",
    "copy",
    "dataset",
    "delete",
    "empty",
    "errors",
    "exists",
    "from_arrow",
    "from_huggingface",
    "from_pandas",
    "from_ray",
    "htypes",
    "load",
    "read",
]


def __getattr__(name: str) -> Any:
    """``ads.IterableDataset`` needs torch, ``ads.from_ray`` ray: import them only when asked for."""
    if name == "IterableDataset":
        from arrowds.integrations.torch import IterableDataset

        return IterableDataset
    if name == "from_ray":
        from arrowds.integrations.ray import from_ray

        return from_ray
    raise AttributeError(f"module 'arrowds' has no attribute {name!r}")
