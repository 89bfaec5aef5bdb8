"""A version as Arrow, pandas, Polars and DuckDB: the fragments are plain Parquet.

Every function here reads the version the handle has checked out (its manifest's fragments
minus deleted rows, restricted to the view's rows) and reads only the columns asked for:

    >>> ds.to_arrow(["labels"])                               # doctest: +SKIP
    >>> ds.sql("SELECT labels, count(*) FROM ds GROUP BY labels")   # doctest: +SKIP
    >>> ds.query("SELECT * WHERE labels = 3")                 # a view, through DuckDB  # doctest: +SKIP

Media columns come out as their compressed file bytes; numeric tensors as Arrow fixed-size
or variable lists; the ``_<tensor>_shape`` companion columns only when asked for.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
from fsspec.implementations.local import LocalFileSystem

from arrowds._optional import import_optional
from arrowds.dataset.dataset import Dataset, dataset_length
from arrowds.errors import TensorDoesNotExistError
from arrowds.format import TensorSpec
from arrowds.format import columns as cols

if TYPE_CHECKING:
    import pyarrow.dataset as pads

    from arrowds.dataset.core import DatasetCore

__all__ = ["filter_view", "fragments", "query", "sql", "to_arrow", "to_arrow_dataset", "to_pandas",
           "to_polars"]


# -- what to read ------------------------------------------------------------------------
def _specs(ds: Dataset, tensors: Sequence[str] | None) -> list[TensorSpec]:
    """Settled tensors of the dataset (or group), or those named, in creation order."""
    core = ds._core
    names = ds._names()
    if tensors is not None:
        wanted = []
        for t in tensors:
            full = ds._full(t)
            if full not in names:
                raise TensorDoesNotExistError(t, list(ds.tensors))
            wanted.append(full)
        names = wanted
    return [core.spec(n) for n in names if core.spec(n).settled]


def _columns(specs: list[TensorSpec], shapes: bool) -> list[pa.Field]:
    out = []
    for s in specs:
        fs = cols.fields(s)
        out.extend(fs if shapes else fs[:1])
    return out


def _positions(ds: Dataset) -> np.ndarray | None:
    """Row positions of a view in the version, or None for the whole dataset."""
    if ds._index.is_full:
        return None
    return ds._index.positions(dataset_length(ds._core))


def _url(core: DatasetCore, key: str) -> str:
    """A URL for a key that DuckDB, Polars and pyarrow accept (a plain path on local disk)."""
    fs, path = core.storage.fs, core.storage.path(key)
    return path if isinstance(fs, LocalFileSystem) and type(fs) is LocalFileSystem \
        else fs.unstrip_protocol(path)


def fragments(ds: Dataset) -> list[str]:
    """URLs of the Parquet files of the checked-out version, each once, in manifest order.

    >>> ds.fragments()                                        # doctest: +SKIP
    ['/data/animals/data/9f0c….parquet']
    """
    _check_flushed(ds)
    core = ds._core
    return list(dict.fromkeys(_url(core, f.file) for f in core.manifest.fragments))


def _check_flushed(ds: Dataset) -> None:
    """Analytics read the files: make pending writes of a writable handle durable first."""
    if ds._core.pending:
        ds.flush()


# -- Arrow -------------------------------------------------------------------------------
def to_arrow(ds: Dataset, tensors: Sequence[str] | None = None, shapes: bool = False) -> pa.Table:
    """The rows of the view as a ``pyarrow.Table``, one column per tensor (``tensors`` to
    read only some: the others' column chunks are never fetched).

    >>> ds.to_arrow(["labels"]).column("labels")             # doctest: +SKIP
    """
    _check_flushed(ds)
    core = ds._core
    fields = _columns(_specs(ds, tensors), shapes)
    names = [f.name for f in fields]
    positions = _positions(ds)
    n_rows = dataset_length(core)
    parts: list[pa.Table] = []
    if positions is None:
        cache: dict[str, pa.Table] = {}
        taken = 0
        for frag in core.manifest.fragments:
            if taken >= n_rows:
                break
            table = cache.get(frag.file)
            if table is None:
                present = [c for c in names if core.reader.has_column(frag.file, c)]
                table = cache[frag.file] = core.reader.read_table(frag.file, present)
            offsets = frag.visible_offsets()[: n_rows - taken]
            part = table if offsets.size == table.num_rows and not frag.deleted else table.take(offsets)
            parts.append(_conform(part, fields))
            taken += offsets.size
        return _concat(parts, fields)
    if positions.size == 0:
        return _concat([], fields)
    order: list[np.ndarray] = []
    for j, slots, phys in core.locator.groups(positions):
        file = core.manifest.fragments[j].file
        got = core.reader.read_columns(file, names, phys)
        parts.append(pa.table({f.name: got[f.name] if got[f.name] is not None else pa.nulls(phys.size, f.type)
                               for f in fields}, schema=pa.schema(fields)))
        order.append(slots)
    table = _concat([_conform(p, fields) for p in parts], fields)
    inverse = np.empty(positions.size, np.int64)
    inverse[np.concatenate(order)] = np.arange(positions.size)
    return table.take(pa.array(inverse))


def _conform(table: pa.Table, fields: list[pa.Field]) -> pa.Table:
    """The table with exactly ``fields`` (absent columns as nulls, types as the spec says)."""
    arrays = []
    for f in fields:
        if f.name in table.column_names:
            col = table.column(f.name)
            arrays.append(col if col.type == f.type else col.cast(f.type))
        else:
            arrays.append(pa.nulls(table.num_rows, f.type))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def _concat(parts: list[pa.Table], fields: list[pa.Field]) -> pa.Table:
    if not parts:
        return pa.schema(fields).empty_table()
    return pa.concat_tables(parts) if len(parts) > 1 else parts[0]


def to_arrow_dataset(ds: Dataset, tensors: Sequence[str] | None = None) -> pads.Dataset:
    """The view as a ``pyarrow.dataset.Dataset``.

    When the version is the plain concatenation of its files (no deleted rows, no file listed
    twice, the whole dataset) this is a lazy ``FileSystemDataset`` over the fragments, so
    projections and filters go down to the Parquet reader; otherwise the rows are read (only
    the columns asked for) into an in-memory dataset, which is the only way pyarrow can
    express deleted rows.

    >>> ds.to_arrow_dataset().to_table(columns=["labels"], filter=pc.field("labels") == 3)  # doctest: +SKIP
    """
    import pyarrow.dataset as pads

    _check_flushed(ds)
    core = ds._core
    m = core.manifest
    fields = _columns(_specs(ds, tensors), False)
    files = [f.file for f in m.fragments]
    plain = (ds._index.is_full and not any(f.deleted for f in m.fragments)
             and len(set(files)) == len(files) and dataset_length(core) == m.num_rows)
    if plain and files:
        return pads.dataset([core.storage.path(f) for f in files], schema=pa.schema(fields),
                            format="parquet", filesystem=core.storage.fs)
    return pads.dataset(to_arrow(ds, tensors))


# -- pandas and Polars -------------------------------------------------------------------
def to_pandas(ds: Dataset, tensors: Sequence[str] | None = None) -> Any:
    """The view as a ``pandas.DataFrame`` (media as bytes, vectors as arrays).

    >>> ds.to_pandas(["labels", "captions"]).head()           # doctest: +SKIP
    """
    import_optional("pandas", extra="analytics", purpose="ds.to_pandas()")
    return to_arrow(ds, tensors).to_pandas()


def to_polars(ds: Dataset, tensors: Sequence[str] | None = None, lazy: bool = False) -> Any:
    """The view as a ``polars.DataFrame``, or with ``lazy=True`` a ``polars.LazyFrame``.

    On local disk the lazy frame scans the fragments with ``polars.scan_parquet`` and hides
    deleted rows by row number, so Polars pushes projections and filters into the files
    itself (the same plan docs/format.md shows for plain Polars).

    >>> ds.to_polars(lazy=True).filter(pl.col("labels") == 3).select("labels").collect()  # doctest: +SKIP
    """
    pl = import_optional("polars", extra="analytics", purpose="ds.to_polars()")
    _check_flushed(ds)
    core = ds._core
    if not (ds._index.is_full and type(core.storage.fs) is LocalFileSystem):
        frame = pl.from_arrow(to_arrow(ds, tensors))
        return frame.lazy() if lazy else frame
    fields = _columns(_specs(ds, tensors), False)
    names = [f.name for f in fields]
    frames = []
    for frag in core.manifest.fragments:
        present = [c for c in names if core.reader.has_column(frag.file, c)]
        scan = pl.scan_parquet(core.storage.path(frag.file)).with_row_index("_row")
        keep = pl.lit(True)
        for a, b in frag.deleted:
            keep = keep & ~pl.col("_row").is_between(a, b - 1)
        frame = scan.filter(keep).select(present) if frag.deleted else scan.select(present)
        missing = [pl.lit(None, dtype=_polars_type(pl, f.type)).alias(f.name) for f in fields
                   if f.name not in present]
        frames.append(frame.with_columns(missing).select(names) if missing else frame)
    if frames:
        out = pl.concat(frames, how="vertical_relaxed")
    else:
        out = pl.from_arrow(pa.schema(fields).empty_table()).lazy()
    n = dataset_length(core)
    if n != core.manifest.num_rows:
        out = out.head(n)
    return out if lazy else out.collect()


def _polars_type(pl: Any, t: pa.DataType) -> Any:
    return pl.from_arrow(pa.nulls(0, t)).dtype


# -- DuckDB ------------------------------------------------------------------------------
_ROWS = "_arrowds_rows"


def _connect(ds: Dataset, tensors: Sequence[str] | None = None) -> tuple[Any, list[str]]:
    """A DuckDB connection with the view's rows as the view ``ds`` (tensor columns) and
    ``_arrowds_rows`` (the same plus ``_i``, the row's index in the view)."""
    duckdb = import_optional("duckdb", extra="analytics", purpose="ds.sql() / ds.query()")
    _check_flushed(ds)
    core = ds._core
    m = core.manifest
    con = duckdb.connect()
    fs = core.storage.fs
    if type(fs) is not LocalFileSystem:
        con.register_filesystem(fs)
        # DuckDB would read one Python file object from several threads at once, and fsspec
        # file objects (local wrappers, s3fs, gcsfs) are not safe for concurrent seek + read:
        # wrong bytes, seen as "ZSTD Decompression failure". The GIL serialises them anyway.
        con.execute("SET threads = 1")
        # Its prefetcher coalesces nearby column chunks (an adaptive gap): a few-KB labels chunk
        # would pull in the MB-sized image chunk beside it, and the coalesced range can run past
        # the end of a Python file ("Failed to read N bytes ... only M returned").
        con.execute("SET disable_parquet_prefetching = true")
    con.execute("SET parquet_prefetch_column_gap = 0")  # never read media to get at a label
    names = [f.name for f in _columns(_specs(ds, tensors), False)]
    urls = [_url(core, f.file) for f in m.fragments]
    present: set[str] = set()
    for f in dict.fromkeys(f.file for f in m.fragments):
        present.update(core.reader.layout(f).column_index)
    names = [c for c in names if c in present]
    starts = core.locator.starts[:-1]
    con.register("_arrowds_frags", pa.table({
        "k": pa.array(np.arange(len(m.fragments)), pa.int64()),
        "file": pa.array(urls, pa.string()),
        "start": pa.array(starts, pa.int64()),
        "deleted": pa.array([[list(r) for r in f.deleted] for f in m.fragments],
                            pa.list_(pa.list_(pa.int64()))),
    }))
    select = ", ".join(_quote(c) for c in names)
    if not urls or not names:
        schema_cols = ", ".join(f"NULL AS {_quote(c)}" for c in names)
        con.execute(f"CREATE VIEW {_ROWS} AS SELECT 0::BIGINT AS _i{', ' if names else ''}{schema_cols} "
                    "WHERE false")
    else:
        files = "[" + ", ".join(_literal(u) for u in dict.fromkeys(urls)) + "]"
        pos = ("fr.start + d.file_row_number - coalesce(list_sum([greatest(0, least(r[2], d.file_row_number)"
               " - r[1]) FOR r IN fr.deleted]), 0)")
        hidden = ("coalesce(list_bool_or([d.file_row_number >= r[1] AND d.file_row_number < r[2] "
                  "FOR r IN fr.deleted]), false)")
        base = (f"SELECT {pos} AS _pos, {', '.join('d.' + _quote(c) for c in names)} "
                f"FROM read_parquet({files}, filename = true, file_row_number = true, union_by_name = true) "
                f"AS d JOIN _arrowds_frags AS fr ON d.filename = fr.file WHERE NOT {hidden}")
        positions = _positions(ds)
        if positions is None:
            n = dataset_length(core)
            con.execute(f"CREATE VIEW {_ROWS} AS SELECT _pos AS _i, {select} FROM ({base}) WHERE _pos < {n}")
        else:
            con.register("_arrowds_view", pa.table({"i": np.arange(positions.size), "pos": positions}))
            picked = ", ".join("b." + _quote(c) for c in names)
            con.execute(f"CREATE VIEW {_ROWS} AS SELECT v.i AS _i, {picked} "
                        f"FROM ({base}) AS b JOIN _arrowds_view AS v ON b._pos = v.pos")
    con.execute(f"CREATE VIEW ds AS SELECT * EXCLUDE (_i) FROM {_ROWS} ORDER BY _i")
    return con, names


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def sql(ds: Dataset, query: str) -> pa.Table:
    """Run a DuckDB query in which the table ``ds`` is this view's rows; returns Arrow.

    DuckDB reads only the columns and row groups the query needs.

    >>> ds.sql("SELECT labels, count(*) AS n FROM ds GROUP BY labels ORDER BY labels")  # doctest: +SKIP
    """
    con, _ = _connect(ds)
    try:
        return con.sql(query).to_arrow_table()
    finally:
        con.close()


_SELECT = re.compile(r"(?is)^select\s+.*?(?=\bfrom\s+ds\b|\bwhere\b|\border\s+by\b|\blimit\b|$)")


def _positions_query(text: str) -> str:
    """``SELECT _i FROM _arrowds_rows <where/order/limit of the query>``."""
    s = text.strip().rstrip(";").strip()
    m = _SELECT.match(s)
    if m:
        rest = re.sub(r"(?is)^from\s+ds\b", "", s[m.end():].strip()).strip()
    elif re.match(r"(?is)^(where|order\s+by|limit)\b", s):
        rest = s
    else:
        rest = f"WHERE {s}"
    if not re.search(r"(?is)\border\s+by\b", rest):
        limit = re.search(r"(?is)\blimit\b.*$", rest)
        head, tail = (rest[:limit.start()], rest[limit.start():]) if limit else (rest, "")
        rest = f"{head} ORDER BY _i {tail}"
    return f"SELECT _i FROM {_ROWS} {rest}"


def query(ds: Dataset, text: str) -> Dataset:
    """The rows matching a query, as a view: ``SELECT * WHERE labels = 3`` (``FROM ds`` may
    be written or left out; the select list does not matter, a view has every tensor).
    ``ORDER BY`` and ``LIMIT`` are kept; without ``ORDER BY`` rows stay in dataset order.

    >>> threes = ds.query("SELECT * WHERE labels = 3"); len(threes)   # doctest: +SKIP
    """
    con, _ = _connect(ds)
    try:
        got = con.execute(_positions_query(text)).fetchnumpy()["_i"]
    finally:
        con.close()
    return ds[np.asarray(got, np.int64)]


def filter_view(ds: Dataset, fn_or_sql: Callable[[Dataset], bool] | str) -> Dataset:
    """A view of the rows for which ``fn(row)`` is true, or that match a SQL condition
    (``"labels = 3 AND split = 'train'"``, run by DuckDB like :func:`query`).

    >>> ds.filter(lambda row: row.labels.numpy()[0] == 3)     # doctest: +SKIP
    >>> ds.filter("labels = 3")                               # doctest: +SKIP
    """
    if isinstance(fn_or_sql, str):
        return query(ds, fn_or_sql)
    if not callable(fn_or_sql):
        raise TypeError(f"filter takes a callable on each row or a SQL condition, got {fn_or_sql!r}")
    keep = [i for i, row in enumerate(ds) if fn_or_sql(row)]
    return ds[np.asarray(keep, np.int64)]
