"""arrowds: AI datasets as named tensors on Apache Arrow/Parquet.

    import arrowds as ads
    ds = ads.empty("./animals")
    ds.create_tensor("images", htype="image", sample_compression="jpeg")
    ds.create_tensor("labels", htype="class_label", class_names=["cat", "dog"])
    with ds:
        ds.append({"images": ads.read("cat.jpg"), "labels": "cat"})
    ds.images[0].numpy()
"""

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
from arrowds.dataset import Dataset, Tensor, dataset, delete, empty, exists, load
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
    TensorAlreadyExistsError,
    TensorDoesNotExistError,
    TensorDtypeMismatchError,
    UnsupportedCompressionError,
    UnsupportedHtypeError,
)
from arrowds.format.htypes import HTYPES
from arrowds.media import MediaSample, read

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
    "MediaSample",
    "MergeConflictError",
    "ReadOnlyModeError",
    "SampleDecodeError",
    "SampleIndexError",
    "SampleShapeError",
    "Tensor",
    "TensorAlreadyExistsError",
    "TensorDoesNotExistError",
    "TensorDtypeMismatchError",
    "UnsupportedCompressionError",
    "UnsupportedHtypeError",
    "__version__",
    "dataset",
    "delete",
    "empty",
    "errors",
    "exists",
    "htypes",
    "load",
    "read",
]
