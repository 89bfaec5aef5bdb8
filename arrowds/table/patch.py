"""Writing fragments, and rewriting rows as patch fragments spliced in with deletion ranges.

An update never touches an existing file: the changed rows (whole rows, every column) are
written to a small *patch* fragment, and the manifest shows the old fragment around them
(deletion ranges) and the patch in their place. When most of a fragment changes, it is
rewritten whole instead. Rows keep their row ids either way.
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from arrowds import _config
from arrowds.format import columns as cols
from arrowds.format.parquet import check_direct, plan_direct, write_parquet_to
from arrowds.storage import Storage
from arrowds.table import deletion
from arrowds.table.locate import RowLocator
from arrowds.table.manifest import Fragment, Manifest
from arrowds.table.reader import FragmentReader

DATA = "data"


@dataclass(frozen=True)
class ArrowCell:
    """A tensor's stored value in one row, as Arrow arrays of length 1 (one per column):
    used to copy a cell between versions without decoding it."""

    arrays: dict[str, pa.Array]


def write_fragment(storage: Storage, table: pa.Table, manifest: Manifest) -> Fragment:
    """Write ``table`` as a new Parquet fragment (row ids are set by the caller)."""
    specs = {s.name: s for s in manifest.tensors if s.settled and s.column in table.column_names}
    direct = plan_direct(table, specs)
    while True:
        key = f"{DATA}/{uuid.uuid4().hex}.parquet"
        with storage.open_output(key) as sink:
            write_parquet_to(sink, table, specs, direct)
            size = sink.tell()
        tail = storage.read_range(key, size - 8, size)
        footer = struct.unpack("<I", tail[:4])[0] + 8
        if not direct:
            break
        md = pq.read_metadata(pa.BufferReader(storage.read_range(key, size - footer, size)))
        failed = check_direct(md, table, direct, lambda a, b, key=key: storage.read_range(key, a, b))
        if not failed:
            break
        storage.delete(key)  # pyarrow laid pages out differently: write again, read those via pyarrow
        direct = {c: k for c, k in direct.items() if c not in failed}
    return Fragment(file=key, rows=table.num_rows, size=size, first_rowid=0, footer=footer)


def split_table(table: pa.Table, parts: int = 1) -> list[pa.Table]:
    """Cut a table into fragment-sized pieces; into at least ``parts`` pieces of at least
    ``MIN_PARALLEL_FRAGMENT_BYTES`` when it is big enough (so several writers can share it)."""
    n = table.num_rows
    if not n:
        return []
    per_row = max(1, table.nbytes // n)
    rows = max(1, min(_config.MAX_FRAGMENT_ROWS, _config.MAX_FRAGMENT_BYTES // per_row))
    parts = max(1, min(parts, table.nbytes // _config.MIN_PARALLEL_FRAGMENT_BYTES))
    rows = min(rows, -(-n // parts))
    return [table.slice(s, rows) for s in range(0, n, rows)]


def read_rows(reader: FragmentReader, manifest: Manifest, frag: Fragment, offsets: np.ndarray) -> pa.Table:
    """Whole rows (every column of every settled tensor) of one fragment; absent columns null."""
    specs = [s for s in manifest.tensors if s.settled]
    names = [f.name for s in specs for f in cols.fields(s)]
    got = reader.read_columns(frag.file, names, offsets)
    arrays = {}
    for s in specs:
        for f in cols.fields(s):
            a = got[f.name]
            arrays[f.name] = pa.nulls(len(offsets), f.type) if a is None else a.cast(f.type)
    return pa.table(arrays)


def read_cells(reader: FragmentReader, manifest: Manifest, locator: RowLocator, tensor: str,
               positions: np.ndarray) -> list[ArrowCell]:
    """The stored cells of ``tensor`` at ``positions`` of ``manifest`` (for copying)."""
    spec = manifest.spec(tensor)
    out: list[ArrowCell | None] = [None] * len(positions)
    for j, slots, phys in locator.groups(np.asarray(positions, np.int64)):
        got = reader.read_columns(manifest.fragments[j].file, list(spec.columns), phys)
        for k, slot in enumerate(slots.tolist()):
            arrays = {}
            for f in cols.fields(spec):
                a = got[f.name]
                arrays[f.name] = pa.nulls(1, f.type) if a is None else a.slice(k, 1).cast(f.type)
            out[slot] = ArrowCell(arrays)
    return out  # type: ignore[return-value]


def apply_updates(storage: Storage, reader: FragmentReader, manifest: Manifest,
                  updates: dict[int, dict[str, Any]]) -> Manifest:
    """``manifest`` with the cells in ``updates`` ({position: {tensor: value}}) replaced; a value
    is a prepared sample (see format.columns) or an ArrowCell."""
    positions = np.array(sorted(updates), np.int64)
    locator = RowLocator(manifest.fragments)
    frags = list(manifest.fragments)
    replaced: dict[int, list[Fragment]] = {}
    for j, slots, phys in locator.groups(positions):
        frag = frags[j]
        rewrite = len(phys) > _config.REWRITE_FRACTION * max(1, frag.visible)
        offsets = frag.visible_offsets() if rewrite else np.sort(phys)
        table = read_rows(reader, manifest, frag, offsets)
        per_tensor: dict[str, tuple[list[int], list[Any]]] = {}
        for slot, off in zip(positions[slots].tolist(), phys.tolist()):
            row = int(np.searchsorted(offsets, off))
            for name, value in updates[slot].items():
                rows_, values_ = per_tensor.setdefault(name, ([], []))
                rows_.append(row)
                values_.append(value)
        table = _replace_rows(table, per_tensor, manifest)
        new = write_fragment(storage, table, manifest)
        new = with_rowids(new, frag.rowid_array()[offsets])
        replaced[j] = [new] if rewrite else _splice(frag, phys, new)
    out: list[Fragment] = []
    for j, f in enumerate(frags):
        out.extend(replaced.get(j, [f]))
    return manifest.replace(fragments=tuple(out))


def _new_arrays(spec: Any, values: list[Any]) -> dict[str, pa.Array]:
    if not any(isinstance(v, ArrowCell) for v in values):
        return cols.to_arrow(spec, values)
    out: dict[str, pa.Array] = {}
    for f in cols.fields(spec):
        parts = [v.arrays[f.name] if isinstance(v, ArrowCell) else cols.to_arrow(spec, [v])[f.name]
                 for v in values]
        out[f.name] = pa.concat_arrays([p.cast(f.type) for p in parts])
    return out


def _replace_rows(table: pa.Table, per_tensor: dict[str, tuple[list[int], list[Any]]],
                  m: Manifest) -> pa.Table:
    """``table`` with the given rows of each tensor's columns replaced (one take per column)."""
    n = table.num_rows
    for name, (rows, values) in per_tensor.items():
        spec = m.spec(name)
        new = _new_arrays(spec, values)
        idx = np.arange(n, dtype=np.int64)
        idx[np.asarray(rows, np.int64)] = n + np.arange(len(rows), dtype=np.int64)
        for field in cols.fields(spec):
            if field.name in table.column_names:
                col = table.column(field.name).combine_chunks()
            else:  # the tensor did not exist when these rows were written
                col = pa.nulls(n, field.type)
            both = pa.concat_arrays([col.cast(field.type), new[field.name].cast(field.type)])
            arr = both.take(pa.array(idx))
            if field.name in table.column_names:
                table = table.set_column(table.schema.get_field_index(field.name), field, arr)
            else:
                table = table.append_column(field, arr)
    return table


def with_rowids(frag: Fragment, rowids: np.ndarray) -> Fragment:
    if rowids.size and rowids[-1] - rowids[0] + 1 == rowids.size and np.all(np.diff(rowids) == 1):
        return frag.replace(first_rowid=int(rowids[0]), rowids=None)
    return frag.replace(first_rowid=None, rowids=tuple(rowids.tolist()))


def _keep(frag: Fragment, lo: int, hi: int) -> Fragment:
    """``frag`` showing only its physical rows ``[lo, hi)`` (minus those already deleted)."""
    return frag.replace(deleted=deletion.union(frag.deleted, deletion.keep_only(frag.rows, lo, hi)))


def _splice(frag: Fragment, phys: np.ndarray, patch: Fragment) -> list[Fragment]:
    """Entries that read like ``frag`` with the rows at ``phys`` taken from ``patch`` (whose
    row k replaces the k-th of ``phys``, in ascending order)."""
    phys = np.sort(phys)
    out: list[Fragment] = []
    visible = frag.visible_offsets()
    pos = 0  # next visible index of frag not yet emitted
    k = 0
    n = len(phys)
    while k < n:
        at = int(np.searchsorted(visible, phys[k]))
        if at > pos:
            out.append(_keep(frag, int(visible[pos]), int(visible[at - 1]) + 1))
        k0 = k
        while k + 1 < n and int(np.searchsorted(visible, phys[k + 1])) == at + (k + 1 - k0):
            k += 1
        k += 1
        out.append(patch.replace(deleted=deletion.keep_only(patch.rows, k0, k)))
        pos = at + (k - k0)
    if pos < len(visible):
        out.append(_keep(frag, int(visible[pos]), int(visible[-1]) + 1))
    return out
