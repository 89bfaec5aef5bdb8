"""Ray Data in and out: ``ds.to_ray()`` and ``ads.from_ray(ray_ds, url)``.

``to_ray`` reads the version's Parquet fragments in Ray (media stay compressed bytes, like
``to_arrow``): when the version is the plain concatenation of its files it is
``ray.data.read_parquet`` of ``ds.fragments()``; when rows are deleted (updates, pops) each
fragment is read by a Ray task that drops its deleted rows; a view is read here and handed over.
Row order follows the files; set ``ray.data.DataContext.get_current().execution_options
.preserve_order = True`` to keep it through Ray's execution.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from arrowds._optional import import_optional
from arrowds.dataset.api import empty
from arrowds.dataset.dataset import Dataset, dataset_length
from arrowds.errors import TensorDoesNotExistError
from arrowds.format import columns as cols
from arrowds.integrations import analytics
from arrowds.integrations.convert import ingest_batches, plan_column
from arrowds.storage import open_storage
from arrowds.table import deletion
from arrowds.table.manifest import Fragment

__all__ = ["from_ray", "to_ray"]

_BATCH_ROWS = 4096


def _ray() -> Any:
    ray = import_optional("ray", extra="ray", purpose="ds.to_ray() / ads.from_ray()")
    import_optional("ray.data", extra="ray", purpose="ds.to_ray() / ads.from_ray()")
    return ray


def _fields(ds: Dataset, tensors: Sequence[str] | None) -> list[pa.Field]:
    names = ds._names()
    if tensors is not None:
        wanted = []
        for t in tensors:
            if ds._full(t) not in names:
                raise TensorDoesNotExistError(t, list(ds.tensors))
            wanted.append(ds._full(t))
        names = wanted
    specs = [ds._core.spec(n) for n in names if ds._core.spec(n).settled]
    return [cols.fields(s)[0] for s in specs]


def _read_fragment(url: str, storage_options: dict[str, Any], frag: Fragment,
                   fields: list[pa.Field]) -> pa.Table:
    """The visible rows of one fragment, with exactly ``fields`` (runs in a Ray task)."""
    import pyarrow.parquet as pq

    storage = open_storage(url, storage_options or None)
    with storage.open_input(frag.file) as f:
        pf = pq.ParquetFile(f)
        present = [fl.name for fl in fields if fl.name in pf.schema_arrow.names]
        table = pf.read(columns=present)
    offsets = deletion.visible_offsets(frag.rows, frag.deleted)
    if offsets.size != table.num_rows:
        table = table.take(pa.array(offsets))
    arrays = [table.column(fl.name).cast(fl.type) if fl.name in present else pa.nulls(table.num_rows, fl.type)
              for fl in fields]
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def to_ray(ds: Dataset, tensors: Sequence[str] | None = None) -> Any:
    """The rows of the checked-out version (or view) as a ``ray.data.Dataset``.

    >>> ds.to_ray(["labels"]).groupby("labels").count().take_all()   # doctest: +SKIP
    """
    ray = _ray()
    if ds._core.pending:
        ds.flush()
    core = ds._core
    m = core.manifest
    fields = _fields(ds, tensors)
    names = [f.name for f in fields]
    if not fields or not m.fragments:
        return ray.data.from_arrow(pa.schema(fields).empty_table())
    whole = ds._index.is_full and dataset_length(core) == m.num_rows
    if not whole:
        return ray.data.from_arrow(analytics.to_arrow(ds, tensors))
    files = [f.file for f in m.fragments]
    plain = (not any(f.deleted for f in m.fragments) and len(set(files)) == len(files)
             and all(core.reader.has_column(f, c) for f in files for c in names))
    if plain:
        paths = [core.storage.path(f) for f in files]
        rds = ray.data.read_parquet(paths, filesystem=_arrow_fs(core.storage.fs))
        return rds.select_columns(names)
    opts = dict(getattr(core.storage.fs, "storage_options", {}) or {})
    read = ray.remote(_read_fragment)
    refs = [read.remote(ds.path, opts, f, fields) for f in m.fragments if f.visible]
    return ray.data.from_arrow_refs(refs)


def _arrow_fs(fs: Any) -> Any:
    """A pyarrow filesystem for an fsspec one (local disk: pyarrow's own)."""
    from fsspec.implementations.local import LocalFileSystem
    from pyarrow.fs import FSSpecHandler, PyFileSystem
    from pyarrow.fs import LocalFileSystem as ArrowLocal

    if type(fs) is LocalFileSystem:
        return ArrowLocal()
    return PyFileSystem(FSSpecHandler(fs))


def from_ray(ray_ds: Any, url: str, *, htypes: dict[str, str] | None = None, overwrite: bool = False,
             storage_options: dict[str, Any] | None = None) -> Dataset:
    """A new dataset at ``url`` from a ``ray.data.Dataset``: one tensor per column, chosen from its
    Arrow type as in ``ads.from_arrow`` (``htypes`` overrides), rows in the order Ray yields them.

    >>> ds = ads.from_ray(ray.data.from_items([{"x": 1}, {"x": 2}]), "./x")   # doctest: +SKIP
    """
    _ray()
    batches = iter(ray_ds.iter_batches(batch_size=_BATCH_ROWS, batch_format="pyarrow"))
    first = next((b for b in batches if b.num_rows), None)
    ds = empty(url, overwrite=overwrite, storage_options=storage_options)
    if first is None:
        return ds
    htypes = dict(htypes or {})
    unknown = set(htypes) - set(first.column_names)
    if unknown:
        raise KeyError(f"htypes names columns the Ray dataset does not have: {sorted(unknown)}")
    plans = [plan_column(c, first.column(c).combine_chunks() if isinstance(first.column(c), pa.ChunkedArray)
                         else first.column(c), htypes.get(c)) for c in first.column_names]
    ingest_batches(ds, plans, itertools.chain([first], batches))
    return ds
