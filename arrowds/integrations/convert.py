"""Arrow tables and pandas frames in, arrowds datasets out (``ads.from_arrow``, ``ads.from_pandas``).

Each column becomes a tensor chosen from its Arrow type, unless ``htypes`` says otherwise:

| Arrow type | tensor |
| --- | --- |
| integer, float, bool | ``generic`` of that dtype (one value per row) |
| dictionary of strings (pandas ``category``) | ``class_label`` with the dictionary as ``class_names`` |
| string | ``text`` |
| binary of jpeg/png/webp files, or a struct ``{bytes, path}`` (HF) | ``image``, bytes unchanged |
| fixed-size list of numbers | ``generic`` with that fixed shape (``embedding`` for float32) |
| list of numbers | ``generic`` of varying length |
| list of strings | ``list`` |
| list of lists of fixed-size lists of 2 numbers | ``polygon`` (what arrowds writes for polygons) |
| anything else (structs, maps, nested lists) | ``json`` |
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from arrowds import media
from arrowds._optional import import_optional
from arrowds.dataset.api import empty
from arrowds.dataset.dataset import Dataset

__all__ = ["ColumnPlan", "from_arrow", "from_pandas", "ingest_batches", "plan_column"]

_BATCH_ROWS = 4096


@dataclass(frozen=True)
class ColumnPlan:
    """How one Arrow column becomes a tensor: ``create_tensor`` arguments and a converter from
    an Arrow array to the list/array ``ds.extend`` takes."""

    column: str
    tensor: str
    create: dict[str, Any]
    convert: Callable[[pa.Array], Any]


def _sniff_first(arr: pa.Array) -> str | None:
    for v in arr:
        b = v.as_py()
        if b:
            return media.sniff_compression(b)
    return None


def _media(kind: str, compression: str) -> Callable[[pa.Array], Any]:
    def convert(arr: pa.Array) -> list[Any]:
        if pa.types.is_struct(arr.type):
            arr = _struct_bytes(arr)
        return [media.read(b, compression=compression) for b in arr.to_pylist()]
    return convert


def _struct_bytes(arr: pa.Array) -> pa.Array:
    """The bytes of ``{bytes, path}`` structs (HF image/audio storage); a missing ``bytes``
    is read from ``path``."""
    data = arr.field("bytes").to_pylist()
    paths = arr.field("path").to_pylist() if arr.type.get_field_index("path") >= 0 else [None] * len(data)
    out = []
    for b, p in zip(data, paths):
        if b is None and p is not None:
            with open(p, "rb") as f:
                b = f.read()
        out.append(b)
    return pa.array(out, pa.binary())


def _numbers(arr: pa.Array) -> np.ndarray:
    return arr.to_numpy(zero_copy_only=False)


def _fixed(shape: tuple[int, ...]) -> Callable[[pa.Array], Any]:
    def convert(arr: pa.Array) -> np.ndarray:
        flat = arr.flatten().to_numpy(zero_copy_only=False)
        return flat.reshape((len(arr), *shape))
    return convert


def _ragged(arr: pa.Array) -> list[np.ndarray]:
    return [np.asarray(v) for v in arr.to_numpy(zero_copy_only=False)]


def _polygons(arr: pa.Array) -> list[list[np.ndarray]]:
    """Rows of ``list<list<fixed_size_list<2>>>`` as lists of ``(k, 2)`` arrays."""
    arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
    out = []
    for row in arr:
        polys = row.values if row.is_valid else None
        out.append([] if polys is None else
                   [np.asarray(p.values.flatten().to_numpy(zero_copy_only=False)).reshape(-1, 2)
                    for p in polys])
    return out


def _is_polygons(t: pa.DataType) -> bool:
    inner = t.value_type.value_type if pa.types.is_list(t) and pa.types.is_list(t.value_type) else None
    return (inner is not None and pa.types.is_fixed_size_list(inner) and inner.list_size == 2
            and _numeric(inner.value_type))


def _pylist(arr: pa.Array) -> list[Any]:
    return arr.to_pylist()


def _dictionary(arr: pa.Array) -> np.ndarray:
    return arr.indices.to_numpy(zero_copy_only=False).astype(np.uint32)


def plan_column(name: str, arr: pa.Array, htype: str | None = None) -> ColumnPlan:
    """The tensor an Arrow column becomes (see the module table); ``htype`` forces one."""
    t = arr.type
    tensor = name.replace(".", "_")
    if pa.types.is_dictionary(t) and pa.types.is_string(t.value_type) or \
            pa.types.is_dictionary(t) and pa.types.is_large_string(t.value_type):
        names = [str(x) for x in arr.dictionary.to_pylist()] if len(arr) else []
        return ColumnPlan(name, tensor, {"htype": htype or "class_label", "class_names": names}, _dictionary)
    is_struct_media = pa.types.is_struct(t) and t.get_field_index("bytes") >= 0
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or is_struct_media:
        probe = _struct_bytes(arr) if is_struct_media else arr
        comp = _sniff_first(probe)
        if comp in media.IMAGE_COMPRESSIONS:
            return ColumnPlan(name, tensor, {"htype": htype or "image", "sample_compression": comp},
                              _media("image", comp))
        if comp is not None:
            return ColumnPlan(name, tensor, {"htype": htype or "audio", "sample_compression": comp},
                              _media("audio", comp))
        raise TypeError(f"column {name!r} holds bytes that are not an image arrowds knows "
                        f"(jpeg, png, webp); pass htypes={{{name!r}: ...}} or convert it first")
    if _is_polygons(t) and htype in (None, "polygon"):
        dtype = np.dtype(t.value_type.value_type.value_type.to_pandas_dtype()).name
        return ColumnPlan(name, tensor, {"htype": "polygon", "dtype": dtype}, _polygons)
    if htype is not None and htype not in ("generic", "class_label", "text", "json", "list", "embedding"):
        raise TypeError(f"column {name!r} of type {t} cannot become a {htype!r} tensor")
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t):
        dtype = np.dtype(t.to_pandas_dtype()).name
        h = htype or "generic"
        kw: dict[str, Any] = {"htype": h}
        if h == "generic":
            kw["dtype"] = dtype
        return ColumnPlan(name, tensor, kw, _numbers)
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return ColumnPlan(name, tensor, {"htype": htype or "text"}, _pylist)
    if pa.types.is_fixed_size_list(t) and _numeric(t.value_type):
        shape = (t.list_size,)
        dtype = np.dtype(t.value_type.to_pandas_dtype()).name
        h = htype or ("embedding" if dtype == "float32" else "generic")
        kw = {"htype": h, "dtype": dtype}
        if h == "generic":
            kw["shape"] = shape
        return ColumnPlan(name, tensor, kw, _fixed(shape))
    if (pa.types.is_list(t) or pa.types.is_large_list(t)) and _numeric(t.value_type):
        dtype = np.dtype(t.value_type.to_pandas_dtype()).name
        return ColumnPlan(name, tensor, {"htype": htype or "generic", "dtype": dtype}, _ragged)
    if (pa.types.is_list(t) or pa.types.is_large_list(t)) and pa.types.is_string(t.value_type):
        return ColumnPlan(name, tensor, {"htype": htype or "list"}, _pylist)
    return ColumnPlan(name, tensor, {"htype": htype or "json"}, _pylist)


def _numeric(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t)


def ingest_batches(ds: Dataset, plans: list[ColumnPlan],
                   batches: Iterable[pa.Table | pa.RecordBatch]) -> None:
    """Create the planned tensors and append every batch, all inside one ``with ds:``."""
    with ds:
        for plan in plans:
            ds.create_tensor(plan.tensor, **plan.create)
        for batch in batches:
            if batch.num_rows == 0:
                continue
            cols = {}
            for plan in plans:
                col = batch.column(plan.column)
                if isinstance(col, pa.ChunkedArray):
                    col = col.combine_chunks()
                cols[plan.tensor] = plan.convert(col)
            ds.extend(cols)


def from_arrow(table: pa.Table | pa.RecordBatch, url: str, *, htypes: dict[str, str] | None = None,
               overwrite: bool = False, storage_options: dict[str, Any] | None = None) -> Dataset:
    """A new dataset at ``url`` with one tensor per column of ``table`` (see the module table;
    ``htypes={"col": "text", ...}`` overrides the choice). Image bytes are stored as they are.

    >>> ds = ads.from_arrow(pa.table({"labels": [1, 2], "captions": ["a", "b"]}), "mem://t")  # doctest: +SKIP
    """
    if isinstance(table, pa.RecordBatch):
        table = pa.Table.from_batches([table])
    htypes = dict(htypes or {})
    unknown = set(htypes) - set(table.column_names)
    if unknown:
        raise KeyError(f"htypes names columns the table does not have: {sorted(unknown)}")
    head = table.slice(0, _BATCH_ROWS)
    plans = [plan_column(c, head.column(c).combine_chunks(), htypes.get(c)) for c in table.column_names]
    ds = empty(url, overwrite=overwrite, storage_options=storage_options)
    ingest_batches(ds, plans, table.to_batches(max_chunksize=_BATCH_ROWS))
    return ds


def from_pandas(df: Any, url: str, *, htypes: dict[str, str] | None = None, overwrite: bool = False,
                storage_options: dict[str, Any] | None = None) -> Dataset:
    """A new dataset at ``url`` with one tensor per column of a ``pandas.DataFrame`` (ints and
    floats become ``generic``, str ``text``, ``category`` ``class_label``, image bytes ``image``).

    >>> df = pd.DataFrame({"labels": [1, 2], "captions": ["a", "b"]})   # doctest: +SKIP
    >>> ds = ads.from_pandas(df, "mem://p")                    # doctest: +SKIP
    """
    import_optional("pandas", extra="analytics", purpose="ads.from_pandas()")
    table = pa.Table.from_pandas(df, preserve_index=False)
    return from_arrow(table, url, htypes=htypes, overwrite=overwrite, storage_options=storage_options)
