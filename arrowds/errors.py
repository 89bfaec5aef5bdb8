"""Every error arrowds raises, under one root.

Each error also subclasses the built-in a caller would catch without knowing arrowds
(``KeyError`` for a missing tensor, ``IndexError`` for an index out of range, ...), and
every message names the thing it is about: the tensor, the index, the URL, the commit.

    ArrowdsError
    ├── DatasetExistsError (FileExistsError)
    ├── PathNotEmptyError (FileExistsError)
    ├── DatasetNotFoundError (FileNotFoundError)
    ├── DatasetCorruptError (ValueError)
    │   └── FormatVersionError
    ├── ReadOnlyModeError (PermissionError)
    ├── TensorDoesNotExistError (KeyError)
    ├── TensorAlreadyExistsError (ValueError)
    ├── InvalidTensorNameError (ValueError)
    ├── UnsupportedHtypeError (ValueError)
    ├── UnsupportedCompressionError (ValueError)
    ├── SampleError (ValueError)
    │   ├── SampleShapeError
    │   ├── TensorDtypeMismatchError (also TypeError)
    │   └── SampleDecodeError
    ├── DynamicTensorNumpyError (ValueError)
    ├── SampleIndexError (IndexError)
    ├── VersionControlError
    │   ├── CheckoutError (ValueError)
    │   ├── CommitConflictError (RuntimeError)
    │   ├── EmptyCommitError (ValueError)
    │   └── MergeConflictError (ValueError)
    ├── StorageError (OSError)
    ├── TransformError (RuntimeError)
    ├── MissingDependencyError (ImportError)
    ├── BuilderError (ValueError)             builders: unknown config or version, bad split data
    │   └── DuplicateKeysError                two examples of a split share a key
    ├── DownloadError (OSError)               a URL could not be fetched (after retries)
    │   └── NetworkAccessError (also ConnectionError)  a builder test reached for the network
    ├── DummyDataError (FileNotFoundError)    a builder test's dummy data lacks a file it maps a URL to
    ├── NonMatchingChecksumError (ValueError) a download's size/sha256 differ from checksums.tsv
    ├── MissingChecksumError (ValueError)     no registered checksum while validation is forced
    ├── UnsafeArchiveError (ValueError)       an archive entry would land outside its folder
    └── ManualDirError (FileNotFoundError)    the manual_dir is missing, empty, or not declared
"""

from __future__ import annotations

import pickle
from typing import Any


class ArrowdsError(Exception):
    """Root of every error raised by arrowds."""


class DatasetExistsError(ArrowdsError, FileExistsError):
    """A dataset is already stored at the URL given to ``ads.empty``."""

    def __init__(self, url: str):
        super().__init__(
            f"A dataset already exists at {url!r}. Use overwrite=True to replace it, "
            "another URL to create a new one, or ads.load() to open it."
        )
        self.url = url


class PathNotEmptyError(ArrowdsError, FileExistsError):
    """``ads.empty`` was pointed at a non-empty folder that is not a dataset."""


class DatasetNotFoundError(ArrowdsError, FileNotFoundError):
    """No dataset is stored at the URL (or no prepared builder dataset of that name)."""

    def __init__(self, url: str, hint: str | None = None):
        msg = f"No arrowds dataset exists at {url!r}."
        msg += " " + (hint or "Check the URL, or create one with ads.empty().")
        super().__init__(msg)
        self.url = url


class DatasetCorruptError(ArrowdsError, ValueError):
    """A metadata file of the dataset cannot be parsed or is inconsistent."""


class FormatVersionError(DatasetCorruptError):
    """The dataset was written by a newer, incompatible arrowds format."""


class ReadOnlyModeError(ArrowdsError, PermissionError):
    """A write was attempted on a dataset or version opened read-only."""

    def __init__(self, reason: str = ""):
        msg = "Modification when in read-only mode is not supported!"
        super().__init__(f"{msg} {reason}".strip())


class TensorDoesNotExistError(ArrowdsError, KeyError):
    """The named tensor is not in the dataset."""

    def __init__(self, name: str, available: list[str] | None = None):
        msg = f"Tensor {name!r} does not exist."
        if available is not None:
            msg += f" Available tensors: {sorted(available)}."
        super().__init__(msg)
        self.name = name

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return str(self.args[0])


class TensorAlreadyExistsError(ArrowdsError, ValueError):
    """``create_tensor`` was given a name that is taken."""

    def __init__(self, name: str):
        super().__init__(f"Tensor {name!r} already exists. Pick another name or delete it first.")
        self.name = name


class InvalidTensorNameError(ArrowdsError, ValueError):
    """A tensor name is empty, reserved, or clashes with a group or attribute."""


class UnsupportedHtypeError(ArrowdsError, ValueError):
    """``create_tensor`` was given an htype arrowds does not know."""


class UnsupportedCompressionError(ArrowdsError, ValueError):
    """A compression is unknown, or not allowed for the tensor's htype."""


class SampleError(ArrowdsError, ValueError):
    """A sample cannot be stored in, or read from, its tensor.

    ``tensor`` and ``index`` say where; they are filled in by the dataset layer when a
    lower layer (a codec, a converter) raised without knowing them.
    """

    def __init__(self, message: str, *, tensor: str | None = None, index: int | None = None):
        super().__init__(message)
        self.message = message
        self.tensor = tensor
        self.index = index

    def __str__(self) -> str:
        where = []
        if self.tensor is not None:
            where.append(f"tensor {self.tensor!r}")
        if self.index is not None:
            where.append(f"index {self.index}")
        return f"{self.message} ({', '.join(where)})" if where else self.message

    def at(self, tensor: str | None, index: int | None) -> SampleError:
        """Fill in where the error happened, keeping what is already known."""
        if self.tensor is None:
            self.tensor = tensor
        if self.index is None:
            self.index = index
        return self


class SampleShapeError(SampleError):
    """A sample's shape (or ndim) does not fit the tensor."""


class TensorDtypeMismatchError(SampleError, TypeError):
    """A sample's dtype cannot be stored in the tensor without losing data."""


class SampleDecodeError(SampleError):
    """Stored or given media bytes cannot be decoded by their codec."""

    def __init__(self, message: str, *, codec: str | None = None, tensor: str | None = None,
                 index: int | None = None):
        super().__init__(message, tensor=tensor, index=index)
        self.codec = codec

    def __str__(self) -> str:
        base = super().__str__()
        return f"{base} [codec {self.codec}]" if self.codec else base


class DynamicTensorNumpyError(ArrowdsError, ValueError):
    """``.numpy()`` was asked to stack samples whose shapes differ."""


class SampleIndexError(ArrowdsError, IndexError):
    """An index is out of range for the tensor or view it is applied to."""


class VersionControlError(ArrowdsError):
    """Root of the version-control errors."""


class CheckoutError(VersionControlError, ValueError):
    """A branch, tag or commit id cannot be checked out (or created)."""


class CommitConflictError(VersionControlError, RuntimeError):
    """Another writer moved the branch and the changes overlap, so no rebase is possible."""


class EmptyCommitError(VersionControlError, ValueError):
    """``commit()`` was called with nothing to commit."""


class MergeConflictError(VersionControlError, ValueError):
    """Both sides of a merge changed the same rows of the same tensor."""


class StorageError(ArrowdsError, OSError):
    """A storage backend failed permanently (no bucket, no permission, ...). Names the URL."""


class TransformError(ArrowdsError, RuntimeError):
    """A transform (``ads.compute``) failed; nothing was written to its target dataset.

    ``index`` is the position in ``data_in`` of the input sample being transformed (None when
    the failure is not tied to one sample), ``original`` the error the transform raised (when it
    could be carried back from its worker) and ``original_type``/``worker_traceback`` describe it
    in any case.
    """

    def __init__(self, message: str, *, index: int | None = None, original: BaseException | None = None,
                 original_type: str | None = None, worker_traceback: str | None = None):
        super().__init__(message)
        self.message = message
        self.index = index
        self.original = original
        self.original_type = original_type or (type(original).__name__ if original is not None else None)
        self.worker_traceback = worker_traceback

    def __reduce__(self) -> Any:
        """Pickle (to come back from a worker process) even when the original error cannot."""
        original = self.original
        if original is not None:
            try:
                pickle.dumps(original)
            except Exception:  # noqa: BLE001 - any unpicklable error: keep only its text
                original = None
        return (_rebuild_transform_error, (self.message, self.index, original, self.original_type,
                                           self.worker_traceback))


def _rebuild_transform_error(message: str, index: int | None, original: BaseException | None,
                             original_type: str | None, worker_traceback: str | None) -> TransformError:
    return TransformError(message, index=index, original=original, original_type=original_type,
                          worker_traceback=worker_traceback)


class MissingDependencyError(ArrowdsError, ImportError):
    """An optional dependency is needed; the message says which extra to install."""


class BuilderError(ArrowdsError, ValueError):
    """A builder cannot do what was asked: unknown config or version, malformed split data."""


class DuplicateKeysError(BuilderError):
    """Two examples of one split share a key (TFDS: ``Two examples share the same hashed key!``)."""

    def __init__(self, split: str, first: str, second: str, count: int = 1):
        more = f" ({count} duplicated keys in all)" if count > 1 else ""
        super().__init__(
            f"Failed to finalize writing of split {split!r}: Two examples share the same hashed key! "
            f"Keys {first} and {second} are the same key{more}. Keys must be unique within a split; "
            "pass DownloadConfig(ignore_duplicates=True) to keep the first example of each key.")
        self.split, self.keys = split, (first, second)


class DownloadError(ArrowdsError, OSError):
    """A URL could not be downloaded (after retries); names the URL."""


class NetworkAccessError(DownloadError, ConnectionError):
    """``DatasetBuilderTestCase`` refused a connection to (or a name lookup of) a host other than
    this machine: builder tests read dummy data only. Names the builder and the host."""


class DummyDataError(ArrowdsError, FileNotFoundError):
    """``DatasetBuilderTestCase``: ``DL_EXTRACT_RESULT``/``DL_DOWNLOAD_RESULT`` maps a URL to a
    path that the dummy data folder does not hold. Names the URL and the path."""


class NonMatchingChecksumError(ArrowdsError, ValueError):
    """A downloaded file's size or sha256 differ from the one registered in ``checksums.tsv``."""

    def __init__(self, url: str, path: str, expected: str, got: str):
        super().__init__(
            f"Artifact {url}, downloaded to {path}, has wrong checksum:\n* Expected: {expected}\n"
            f"* Got: {got}\nThe file changed upstream or the download is corrupt: delete it and retry, "
            "or re-record with --register_checksums if the change is expected.")
        self.url = url


class MissingChecksumError(ArrowdsError, ValueError):
    """No checksum is registered for a URL while checksum validation is forced."""


class UnsafeArchiveError(ArrowdsError, ValueError):
    """An archive member would be written outside the extraction folder (absolute path, ``..``,
    or a link pointing out); nothing of the archive is extracted."""


class ManualDirError(ArrowdsError, FileNotFoundError):
    """The builder needs files placed by hand in ``manual_dir`` and they are not there."""
