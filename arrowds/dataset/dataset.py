"""Dataset: named tensors over Parquet fragments, with views, groups and buffered writes."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import numpy as np

from arrowds.dataset import versioning
from arrowds.dataset.core import DatasetCore
from arrowds.dataset.index import Index
from arrowds.dataset.info import Info
from arrowds.dataset.samples import check_coords, prepare
from arrowds.dataset.tensor import Tensor
from arrowds.errors import (
    InvalidTensorNameError,
    ReadOnlyModeError,
    TensorAlreadyExistsError,
    TensorDoesNotExistError,
    UnsupportedCompressionError,
)
from arrowds.format import TensorSpec, get_htype
from arrowds.format.htypes import AUTO, CHUNK_COMPRESSIONS
from arrowds.table import compact, gc, refs
from arrowds.table.commits import Commit
from arrowds.table.gc import GcReport

log = logging.getLogger("arrowds")
_DEFAULT = object()


def dataset_length(core: DatasetCore) -> int:
    """Rows of the dataset: the length of its shortest tensor (Hub's rule)."""
    names = core.manifest.tensor_names
    if not names:
        return 0
    lengths = [core.length(n) for n in names]
    lo = min(lengths)
    if lo != max(lengths) and not getattr(core, "_warned_ragged", False):
        core._warned_ragged = True  # type: ignore[attr-defined]
        log.warning("The length of tensors in the dataset is different. len(ds) returns the length "
                    "of the smallest tensor; use ds.max_len for the longest.")
    return lo


class Dataset:
    """A dataset of named tensors, or a view of some of its rows.

    >>> ds = ads.empty("mem://demo")                         # doctest: +SKIP
    >>> ds.create_tensor("labels", htype="class_label", class_names=["cat", "dog"])
    >>> ds.labels.append("dog"); ds.labels.numpy()          # doctest: +SKIP
    array([[1]], dtype=uint32)
    """

    def __init__(self, core: DatasetCore, index: Index = Index(), group: str = ""):
        object.__setattr__(self, "_core", core)
        object.__setattr__(self, "_index", index)
        object.__setattr__(self, "_group", group)

    # -- identity ------------------------------------------------------------------------
    @property
    def path(self) -> str:
        return self._core.storage.url

    url = path

    @property
    def read_only(self) -> bool:
        """True when opened read-only, or when a commit (not a branch head) is checked out."""
        return self._core.read_only or bool(self._core.detached)

    @read_only.setter
    def read_only(self, value: bool) -> None:
        self._core.read_only = bool(value)

    # -- version control (see dataset/versioning.py) ------------------------------------
    @property
    def branch(self) -> str:
        """The branch checked out (the branch a checked-out commit was reached from)."""
        return self._core.branch

    @property
    def branches(self) -> list[str]:
        return refs.branch_names(self._core.storage)

    @property
    def commit_id(self) -> str | None:
        """The last commit of the branch (or the checked-out commit); None before the first."""
        return versioning.current_ref(self._core).commit

    @property
    def pending_commit_id(self) -> str | None:
        """The id the next commit of this branch will get (None on a checked-out commit)."""
        return None if self._core.detached else self._core.base_ref.pending

    @property
    def has_head_changes(self) -> bool:
        core = self._core
        return not core.detached and (core.base_ref.changed or core.dirty)

    def commit(self, message: str = "", allow_empty: bool = False) -> str:
        """Seal the current state of the branch; returns the commit id.

        EmptyCommitError when nothing changed since the last commit (unless ``allow_empty``).
        """
        return versioning.commit(self._core, message, allow_empty)

    def checkout(self, address: str, create: bool = False) -> str | None:
        """Switch to a branch (writable), or to a tag or commit id (read-only); with
        ``create=True`` make a new branch at the current state. Returns the commit id."""
        return versioning.checkout(self._core, address, create)

    def log(self) -> list[Commit]:
        """Commits of the current branch, newest first (``.id``, ``.message``, ``.time``, ``.author``)."""
        return versioning.log(self._core)

    def tag(self, name: str) -> str:
        """Name the current commit; ``ds.checkout(name)`` / ``ads.load(url, version=name)`` find it."""
        return versioning.tag(self._core, name)

    def reset(self) -> None:
        """Drop every uncommitted change of the branch (published or not)."""
        versioning.reset(self._core)

    def diff(self, a: str | None = None, b: str | None = None) -> dict[str, dict[str, Any]]:
        """Per tensor: rows added, updated and deleted from version ``a`` to ``b``.

        Defaults: ``a`` = the last commit, ``b`` = the current state. Positions of added and
        updated rows are in ``b``; of deleted rows, in ``a``.
        """
        return versioning.diff(self._core, a, b)

    def merge(self, target: str, conflict_resolution: str | None = None) -> str:
        """Merge a branch, tag or commit into this branch and commit the result.

        Rows both sides changed in the same tensor raise MergeConflictError unless
        ``conflict_resolution`` is ``"ours"`` or ``"theirs"``.
        """
        return versioning.merge(self._core, target, conflict_resolution)

    @property
    def index(self) -> Index:
        return self._index

    @property
    def is_view(self) -> bool:
        return not self._index.is_full

    def __repr__(self) -> str:
        idx = f", index={self._index}" if self.is_view else ""
        grp = f", group={self._group!r}" if self._group else ""
        return f"Dataset(path={self.path!r}{idx}{grp}, tensors={list(self.tensors)})"

    # -- context and durability ----------------------------------------------------------
    def __enter__(self) -> Dataset:
        self._core.enter()
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self._core.exit(failed=exc_type is not None)

    def flush(self) -> None:
        """Make every pending write durable and visible now."""
        if not self._core.read_only:
            self._core.flush()

    def close(self) -> None:
        """Flush, then release cached file handles."""
        self.flush()
        self._core.reader.close()
        self._core.storage.close()

    def optimize(self) -> int:
        """Rewrite runs of small fragments (from many small writes, updates or deletes) into
        large ones; the data, its order and row ids are unchanged. Returns how many fragments
        were replaced. Old files stay readable by older versions until ``gc``."""
        self._check_not_view("optimize")
        core = self._core
        with core.writing():
            core.stage()
            core.manifest, replaced = compact.compact(core.storage, core.reader, core.manifest)
            if replaced:
                core.changes.other = True
        return replaced

    def gc(self, older_than: float = 3600.0, dry_run: bool = False) -> GcReport:
        """Delete files no version references (and older than ``older_than`` seconds, so
        writers still publishing are safe). Every branch head, commit and tag stays readable."""
        if self._core.read_only:
            raise ReadOnlyModeError(f"({self.path} is open read-only: gc deletes files)")
        return gc.collect(self._core.storage, older_than, dry_run)

    # -- tensors -------------------------------------------------------------------------
    def _full(self, name: str) -> str:
        return f"{self._group}/{name}" if self._group else name

    def _names(self) -> list[str]:
        """Full names of the tensors under this group."""
        pre = f"{self._group}/" if self._group else ""
        return [n for n in self._core.manifest.tensor_names if n.startswith(pre)]

    @property
    def tensors(self) -> dict[str, Tensor]:
        """Tensors by name (relative to this group), as views when this is a view."""
        cut = len(self._group) + 1 if self._group else 0
        return {n[cut:]: self._tensor(n) for n in self._names()}

    @property
    def groups(self) -> dict[str, Dataset]:
        cut = len(self._group) + 1 if self._group else 0
        heads = sorted({n[cut:].split("/", 1)[0] for n in self._names() if "/" in n[cut:]})
        return {g: Dataset(self._core, self._index, self._full(g)) for g in heads}

    def _tensor(self, full: str) -> Tensor:
        return Tensor(self._core, full, dataset_index=self._index)

    def __getitem__(self, item: Any) -> Tensor | Dataset:
        if isinstance(item, str):
            full = self._full(item.strip("/"))
            if self._core.manifest.spec(full) is not None:
                return self._tensor(full)
            if any(n.startswith(full + "/") for n in self._core.manifest.tensor_names):
                return Dataset(self._core, self._index, full)
            raise TensorDoesNotExistError(item, list(self.tensors))
        if isinstance(item, tuple):
            raise TypeError("index a dataset with one int, slice or list; index tensors for more")
        return Dataset(self._core, self._index[item], self._group)

    def __getattr__(self, name: str) -> Tensor | Dataset:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self[name]
        except TensorDoesNotExistError:
            raise AttributeError(f"Dataset has no attribute or tensor {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "read_only":
            object.__setattr__(self, name, value)
            return
        raise AttributeError(f"cannot set {name!r}; use ds.create_tensor() or ds[{name!r}].append()")

    def __setitem__(self, item: Any, value: Any) -> None:
        if isinstance(item, str):
            raise TypeError("create tensors with ds.create_tensor(); assign samples with ds.t[i] = x")
        if not isinstance(value, dict):
            raise TypeError("assign a row as a dict {tensor: sample}")
        view = self[item]
        for k, v in value.items():
            view[k]._assign(v)

    def __iter__(self) -> Iterator[Dataset]:
        for i in range(len(self)):
            yield self[i]

    def __len__(self) -> int:
        n = dataset_length(self._core)
        if self._index.is_full:
            return n
        if self._index.is_scalar:
            return 1
        return self._index.length(n)

    @property
    def min_len(self) -> int:
        return min((self._core.length(n) for n in self._names()), default=0)

    @property
    def max_len(self) -> int:
        return max((self._core.length(n) for n in self._names()), default=0)

    num_samples = property(lambda self: len(self))

    @property
    def info(self) -> Info:
        """Persisted, versioned metadata of the dataset."""
        core = self._core

        def put(d: dict[str, Any]) -> None:
            with core.writing():
                core.set_info(None, d)

        return Info(lambda: core.manifest.info, put)

    # -- schema --------------------------------------------------------------------------
    def create_tensor(self, name: str, htype: str = "generic", dtype: Any = None,
                      sample_compression: Any = _DEFAULT, chunk_compression: Any = _DEFAULT,
                      class_names: list[str] | None = None, shape: tuple[int | None, ...] | None = None,
                      exist_ok: bool = False, **info: Any) -> Tensor:
        """Create a tensor. ``htype`` sets sensible defaults (dtype, compression); ``shape``
        fixes the sample shape (None for a varying dimension); extra keywords go to its info."""
        self._check_not_view("create tensors in")
        core = self._core
        core.check_writable()
        full = self._full(name)
        _check_name(full, core.manifest.tensor_names)
        if core.manifest.spec(full) is not None:
            if exist_ok:
                return self._tensor(full)
            raise TensorAlreadyExistsError(full)
        spec = _new_spec(full, htype, dtype, sample_compression, chunk_compression, shape)
        tinfo = dict(info)
        if htype == "bbox":
            tinfo["coords"] = check_coords(tinfo.get("coords", {}))
        if class_names is not None:
            if not get_htype(htype).class_names:
                raise ValueError(f"class_names apply to class_label or segment_mask tensors, not {htype!r}")
            tinfo["class_names"] = list(class_names)
        elif get_htype(htype).class_names:
            tinfo["class_names"] = []
        with core.writing():
            core.set_spec(spec, tinfo)
        return self._tensor(full)

    # -- rows ----------------------------------------------------------------------------
    def _check_not_view(self, what: str) -> None:
        if self.is_view:
            raise ValueError(f"cannot {what} a view; use the dataset itself")

    def append(self, sample: dict[str, Any] | Dataset, skip_ok: bool = False) -> None:
        """Append one row: a sample for every tensor (``skip_ok=True`` to leave some out), as a
        dict or as a row of another dataset (``ds.append(other[3])``)."""
        if isinstance(sample, Dataset):
            if not sample._index.is_scalar:
                raise ValueError(f"append takes one row (other[i]); this view of {sample.path} has "
                                 f"{len(sample)} rows: use extend")
            sample = {name: sample[name]._appendable() for name in sample.tensors}
        self.extend({k: [v] for k, v in sample.items()}, skip_ok=skip_ok)

    def extend(self, samples: dict[str, Any] | Dataset, skip_ok: bool = False,
               progressbar: bool = False) -> None:
        """Append rows given as ``{tensor: sequence of samples}``, all sequences equally long,
        or as another dataset or view (its tensors by name: media pass through in their stored
        compression, class labels keep their names). Every sample is validated before anything
        is written: a bad one appends nothing."""
        self._check_not_view("append to")
        if isinstance(samples, Dataset):
            samples = {name: samples[name]._appendable() for name in samples.tensors}
        core = self._core
        names = self._names()
        full = {self._full(k): v for k, v in samples.items()}
        unknown = [k for k in full if k not in names]
        if unknown:
            raise TensorDoesNotExistError(unknown[0], list(self.tensors))
        missing = sorted(set(names) - set(full))
        if missing and not skip_ok:
            raise KeyError(f"Required tensors not provided: {missing}. Pass `skip_ok=True` to "
                           "leave them out.")
        counts = {k: len(v) for k, v in full.items()}
        if len(set(counts.values())) > 1:
            raise ValueError(f"extend needs the same number of samples for every tensor, got {counts}")
        with core.writing():
            preps = {n: prepare(core.spec(n), v, core.manifest.tensor_info.get(n, {}), core.length(n))
                     for n, v in full.items()}
            core.append(preps)

    def pop(self, index: int | list[int] | None = None) -> None:
        """Delete rows (every tensor's sample) at ``index`` (default: the last row)."""
        self._check_not_view("pop from")
        core = self._core
        n = len(self)
        if index is None:
            index = n - 1
        positions = Index()[index].positions(n)
        with core.writing():
            core.delete_rows(positions)

    # -- display -------------------------------------------------------------------------
    def summary(self) -> None:
        """Print a table of the tensors: htype, shape, dtype, compression."""
        print(self._summary_text())

    def _summary_text(self) -> str:
        rows = [("tensor", "htype", "shape", "dtype", "compression")]
        for name, t in self.tensors.items():
            spec = t.spec
            rows.append((name, spec.htype, t.shape_interval, str(spec.dtype),
                         str(spec.sample_compression or spec.chunk_compression)))
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        lines = [repr(self), ""]
        for k, r in enumerate(rows):
            lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
            if k == 0:
                lines.append("  ".join("-" * w for w in widths))
        return "\n".join(lines)

    def visualize(self, width: int | str = "100%", height: int = 640, port: int = 0) -> Any:
        """Show this dataset (or view) in the local web viewer: in a notebook, an IPython
        ``IFrame`` of a server started in a background thread (shown when it is the cell's
        value); without IPython, the page's URL. Read-only; binds 127.0.0.1.

        >>> ds.visualize()                                        # doctest: +SKIP
        """
        from arrowds.viewer import notebook

        return notebook.visualize(self, width=width, height=height, port=port)

    def numpy(self, aslist: bool = False) -> dict[str, Any]:
        """Every tensor of the view as ``{name: array}``."""
        return {k: t.numpy(aslist=aslist) for k, t in self.tensors.items()}

    # -- loaders (arrowds/integrations/torch.py, tensorflow.py) --------------------------
    # The integration modules are imported inside each method: the one allowed upward edge.
    def pytorch(self, batch_size: int = 1, shuffle: bool = False, num_workers: int = 0,
                transform: Any = None, tensors: list[str] | None = None, drop_last: bool = False,
                collate_fn: Any = None, seed: int | None = None, decode: bool = True,
                return_index: bool = False, buffer_size: int = 2048, **loader_kw: Any) -> Any:
        """A ``torch.utils.data.DataLoader`` over this dataset or view, pinned to the current
        version. Batches are dicts keyed by tensor name (plus ``index`` with
        ``return_index=True``). Every sample appears once per epoch across workers and
        ``torch.distributed`` ranks, and every rank yields the same number of batches (when the
        length does not divide by the world size, ``drop_last=False`` repeats up to
        ``world_size - 1`` samples and ``drop_last=True`` leaves as many out, as PyTorch's
        ``DistributedSampler`` does); ``shuffle`` permutes row-group blocks and mixes them in
        a buffer of ``buffer_size`` samples, reproducibly from ``seed`` and differently each
        epoch. ``transform`` is a callable on the sample dict or ``{tensor: callable}``.
        ``loader.state_dict()`` / ``load_state_dict()`` resume mid-epoch. Extra keywords go
        to the DataLoader (``pin_memory``, ``prefetch_factor``, ...), ``rank`` /
        ``world_size`` override torch.distributed, and ``decode_min_size=(h, w)`` (or
        ``{tensor: (h, w)}``) lets jpeg images decode at a reduced scale that keeps at least
        that size, for transforms that resize down (2-4x faster decode + resize on big images).

        >>> for batch in ds.pytorch(batch_size=32, shuffle=True, num_workers=2, seed=0):  # doctest: +SKIP
        ...     images, labels = batch["images"], batch["labels"]
        """
        from arrowds.integrations import torch as torch_integration

        return torch_integration.make_loader(
            self, batch_size=batch_size, shuffle=shuffle, num_workers=num_workers, transform=transform,
            tensors=tensors, drop_last=drop_last, collate_fn=collate_fn, seed=seed, decode=decode,
            return_index=return_index, buffer_size=buffer_size, **loader_kw)

    def torch_dataset(self, tensors: list[str] | None = None, transform: Any = None, shuffle: bool = False,
                      seed: int | None = None, decode: bool = True, return_index: bool = False,
                      buffer_size: int = 2048, **options: Any) -> Any:
        """An ``ads.IterableDataset`` yielding sample dicts, for building your own DataLoader.

        >>> it = ds.torch_dataset(shuffle=True)                    # doctest: +SKIP
        >>> loader = torch.utils.data.DataLoader(it, batch_size=8)  # doctest: +SKIP
        """
        from arrowds.integrations import torch as torch_integration

        return torch_integration.IterableDataset(
            self, tensors=tuple(tensors) if tensors is not None else None, transform=transform,
            shuffle=shuffle, seed=seed, decode=decode, return_index=return_index,
            buffer_size=buffer_size, **options)

    def tensorflow(self, tensors: list[str] | None = None, decode: bool = True) -> Any:
        """A ``tf.data.Dataset`` of sample dicts (needs TensorFlow: ``pip install tensorflow``).

        >>> ds.tensorflow().batch(32)                             # doctest: +SKIP
        """
        from arrowds.integrations import tensorflow as tf_integration

        return tf_integration.to_tensorflow(self, tensors=tensors, decode=decode)

    def to_ray(self, tensors: list[str] | None = None) -> Any:
        """The rows as a ``ray.data.Dataset`` over the version's Parquet fragments, deleted rows
        left out (needs ``pip install 'arrowds[ray]'``).

        >>> ds.to_ray(["labels"]).count()                        # doctest: +SKIP
        """
        from arrowds.integrations import ray as ray_integration

        return ray_integration.to_ray(self, tensors)

    # -- analytics (arrowds/integrations/analytics.py) -----------------------------------
    def fragments(self) -> list[str]:
        """URLs of the Parquet files of the checked-out version (each once, in manifest order)."""
        from arrowds.integrations import analytics

        return analytics.fragments(self)

    def to_arrow(self, tensors: list[str] | None = None, shapes: bool = False) -> Any:
        """The rows as a ``pyarrow.Table`` (media as compressed bytes; ``shapes=True`` adds the
        ``_<tensor>_shape`` columns). Reads only the columns of ``tensors``.

        >>> ds.to_arrow(["labels"]).num_rows                      # doctest: +SKIP
        """
        from arrowds.integrations import analytics

        return analytics.to_arrow(self, tensors, shapes)

    def to_arrow_dataset(self, tensors: list[str] | None = None) -> Any:
        """The rows as a ``pyarrow.dataset.Dataset`` (lazy over the files when the version has
        no deleted rows)."""
        from arrowds.integrations import analytics

        return analytics.to_arrow_dataset(self, tensors)

    def to_pandas(self, tensors: list[str] | None = None) -> Any:
        """The rows as a ``pandas.DataFrame``."""
        from arrowds.integrations import analytics

        return analytics.to_pandas(self, tensors)

    def to_polars(self, tensors: list[str] | None = None, lazy: bool = False) -> Any:
        """The rows as a ``polars.DataFrame`` (``lazy=True``: a ``LazyFrame`` scanning the files)."""
        from arrowds.integrations import analytics

        return analytics.to_polars(self, tensors, lazy)

    def sql(self, query: str) -> Any:
        """Run DuckDB SQL where the table ``ds`` is these rows; returns a ``pyarrow.Table``.

        >>> ds.sql("SELECT labels, count(*) FROM ds GROUP BY labels")   # doctest: +SKIP
        """
        from arrowds.integrations import analytics

        return analytics.sql(self, query)

    def query(self, query: str) -> Dataset:
        """A view of the rows a query selects, through DuckDB: ``ds.query("SELECT * WHERE labels = 3")``."""
        from arrowds.integrations import analytics

        return analytics.query(self, query)

    def filter(self, function: Any) -> Dataset:
        """A view of the rows for which ``function(row)`` is true, or that match a SQL
        condition string (``ds.filter("labels = 3")``)."""
        from arrowds.integrations import analytics

        return analytics.filter_view(self, function)

    def to_huggingface(self, tensors: list[str] | None = None) -> Any:
        """A ``datasets.Dataset`` with the same rows; image/audio bytes are passed through."""
        from arrowds.integrations import huggingface

        return huggingface.to_huggingface(self, tensors)


def _check_name(name: str, existing: list[str]) -> None:
    if not name or not isinstance(name, str):
        raise InvalidTensorNameError(f"tensor name must be a non-empty str, got {name!r}")
    parts = name.split("/")
    if any(not p for p in parts) or "." in name:
        raise InvalidTensorNameError(f"tensor name {name!r} may not contain '.' or empty '/' parts")
    if any(p.startswith("_") for p in parts):
        raise InvalidTensorNameError(f"tensor name {name!r}: parts starting with '_' are reserved")
    for other in existing:
        if other.startswith(name + "/") or name.startswith(other + "/"):
            raise InvalidTensorNameError(f"tensor name {name!r} clashes with tensor {other!r} "
                                         "(a name cannot be both a tensor and a group)")


def _new_spec(name: str, htype: str, dtype: Any, sample_compression: Any, chunk_compression: Any,
              shape: tuple[int | None, ...] | None) -> TensorSpec:
    h = get_htype(htype)
    if sample_compression is _DEFAULT:
        sample_compression = h.default_compression
    if isinstance(sample_compression, str):
        sample_compression = sample_compression.lower()
        sample_compression = "jpeg" if sample_compression == "jpg" else sample_compression
    if sample_compression is not None:
        if h.kind != "media":
            raise UnsupportedCompressionError(
                f"Compression {sample_compression!r} is not supported for {htype} htype; "
                "use chunk_compression= for Parquet column compression.")
        if sample_compression != AUTO and sample_compression not in h.compressions:
            raise UnsupportedCompressionError(
                f"Compression {sample_compression!r} is not supported for {htype} htype. "
                f"Supported: {list(h.compressions)} or None.")
    if chunk_compression is _DEFAULT:
        chunk_compression = h.chunk_compression
    if chunk_compression is not None and chunk_compression not in CHUNK_COMPRESSIONS:
        raise UnsupportedCompressionError(
            f"chunk_compression {chunk_compression!r} is not supported; use one of "
            f"{list(CHUNK_COMPRESSIONS)} or None.")
    if dtype is not None:
        dtype = np.dtype(dtype).name
    elif h.dtype not in (None, "str", "json", "list"):
        dtype = h.dtype
    else:
        dtype = h.dtype
    layout, ndim = None, None
    if h.kind == "text":
        layout = "text"
    elif h.kind == "json":
        layout = "json"
    elif h.kind == "strlist":
        layout = "strlist"
    elif h.kind == "media" and sample_compression not in (None, AUTO):
        layout = "blob"
    if shape is not None:
        shape = tuple(None if d is None else int(d) for d in shape)
        ndim = len(shape)
        if layout is None:
            layout = "fixed" if all(d is not None for d in shape) else "list"
    elif h.ndim is not None and layout is None and not h.fixed_shape:
        ndim = h.ndim
    return TensorSpec(name=name, htype=htype, dtype=dtype, sample_compression=sample_compression,
                      chunk_compression=chunk_compression, layout=layout, ndim=ndim, shape=shape)

