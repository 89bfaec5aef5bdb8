"""Class-label ids where two numberings meet.

A class-label tensor stores ids into ``info.class_names``, and appending an unknown string
adds its name at the end. Two writers that start from the same names and each discover new
ones (the slices of a parallel transform, the two sides of a merge) number those new names
in their own order, so the same stored id can name different classes. Where they meet, the
names become one list, the first side's (every id of the first side keeps its meaning) then
the names of the second side it lacks, and the second side's stored ids are rewritten to
match: its fragments are written again with the ids replaced, with the same row ids.
"""

from __future__ import annotations

import numpy as np

from arrowds.format import TensorSpec
from arrowds.format import columns as cols
from arrowds.storage import Storage
from arrowds.table import patch
from arrowds.table.manifest import Fragment, Manifest
from arrowds.table.reader import FragmentReader

RENUMBERABLE = ("scalar", "fixed", "list")  # layouts whose stored values are the ids themselves


def union_names(first: list[str], second: list[str]) -> tuple[list[str], np.ndarray | None]:
    """The names of ``first`` followed by those of ``second`` it lacks (in ``second``'s
    order), and the new id of each id of ``second``; None when ``second``'s ids already mean
    the same names in the union."""
    names = list(first)
    index: dict[str, int] = {}
    for i, n in enumerate(names):
        index.setdefault(n, i)
    for n in second:
        if n not in index:
            index[n] = len(names)
            names.append(n)
    mapping = np.array([index[n] for n in second], np.int64)
    if np.array_equal(mapping, np.arange(len(second))):
        return names, None
    return names, mapping


def renumberable(spec: TensorSpec) -> bool:
    """Whether the stored values of ``spec`` are the label ids (not compressed media)."""
    return spec.layout in RENUMBERABLE


def relabel_cell(spec: TensorSpec, cell: patch.ArrowCell, mapping: np.ndarray) -> patch.ArrowCell:
    """A copied cell of a class-label tensor with its ids renumbered."""
    arrays = dict(cell.arrays)
    arrays[spec.column] = cols.map_ids(arrays[spec.column], mapping)
    return patch.ArrowCell(arrays)


def relabel_fragment(storage: Storage, reader: FragmentReader, manifest: Manifest, frag: Fragment,
                     mappings: dict[str, np.ndarray], offsets: np.ndarray | None = None) -> Fragment:
    """``frag`` written again as a new file with the ids of the tensors in ``mappings``
    (``{tensor: new id of each old id}``) renumbered: every physical row and its deletions,
    or only the rows at ``offsets`` (then none deleted). Same row ids; ``manifest`` is the
    version the fragment belongs to."""
    keep = np.arange(frag.rows) if offsets is None else np.asarray(offsets, np.int64)
    table = patch.read_rows(reader, manifest, frag, keep)
    for name, mapping in mappings.items():
        spec = manifest.spec(name)
        i = table.schema.get_field_index(spec.column)
        table = table.set_column(i, table.schema.field(i), cols.map_ids(table.column(i), mapping))
    new = patch.with_rowids(patch.write_fragment(storage, table, manifest), frag.rowid_array()[keep])
    return new.replace(deleted=frag.deleted if offsets is None else ())
