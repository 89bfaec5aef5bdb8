"""Differences between two versions, per tensor, from their manifests and row ids.

Rows are matched by row id. A row present only in the new version was added, only in the old
one deleted. A row in both whose stored cell lives at another place (a patch or a rewrite)
is compared by content, tensor by tensor, so a tensor counts as updated only if its value
really changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from arrowds.table.locate import RowLocator
from arrowds.table.manifest import Manifest
from arrowds.table.reader import FragmentReader


@dataclass
class RowMap:
    """Where every visible row of a version is: row id, fragment file and physical offset."""

    rowids: np.ndarray
    files: np.ndarray  # index into ``names``
    offsets: np.ndarray
    names: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, m: Manifest) -> RowMap:
        loc = RowLocator(m.fragments)
        n = loc.num_rows
        frag, phys = loc.locate(np.arange(n, dtype=np.int64))
        names = sorted({f.file for f in m.fragments})
        index = {name: i for i, name in enumerate(names)}
        file_of_frag = np.array([index[f.file] for f in m.fragments], np.int64)
        rowids = np.empty(n, np.int64)
        for j in np.unique(frag):
            sel = frag == j
            rowids[sel] = m.fragments[j].rowid_array()[phys[sel]]
        return cls(rowids, file_of_frag[frag] if n else np.zeros(0, np.int64), phys, names)


def _cells(reader: FragmentReader, m: Manifest, rows: RowMap, tensor: str, pos: np.ndarray) -> list[Any]:
    spec = m.spec(tensor)
    out: list[Any] = [None] * pos.size
    for fi in np.unique(rows.files[pos]):
        sel = np.flatnonzero(rows.files[pos] == fi)
        got = reader.read_columns(rows.names[fi], list(spec.columns), rows.offsets[pos[sel]])
        values = [got[c].to_pylist() if got[c] is not None else [None] * sel.size for c in spec.columns]
        for k, slot in enumerate(sel.tolist()):
            out[slot] = tuple(v[k] for v in values)
    return out


def diff(reader: FragmentReader, a: Manifest, b: Manifest) -> dict[str, dict[str, Any]]:
    """``{tensor: {created, removed, info_updated, added, updated, deleted}}`` from ``a`` to ``b``;
    ``added``/``updated`` are positions in ``b``, ``deleted`` positions in ``a``."""
    ra, rb = RowMap.of(a), RowMap.of(b)
    out: dict[str, dict[str, Any]] = {}
    for name in dict.fromkeys(a.tensor_names + b.tensor_names):
        sa, sb = a.spec(name), b.spec(name)
        la = a.lengths.get(name, 0) if sa else 0
        lb = b.lengths.get(name, 0) if sb else 0
        ids_a, ids_b = ra.rowids[:la], rb.rowids[:lb]
        in_a = np.isin(ids_b, ids_a)
        added = np.flatnonzero(~in_a)
        deleted = np.flatnonzero(~np.isin(ids_a, ids_b))
        updated: list[int] = []
        if sa and sb and in_a.any():
            pos_b = np.flatnonzero(in_a)
            order_a = np.argsort(ids_a, kind="stable")
            pos_a = order_a[np.searchsorted(ids_a, ids_b[pos_b], sorter=order_a)]
            fa = np.array(ra.names, dtype=object)[ra.files[pos_a]] if ra.names else np.zeros(0, object)
            fb = np.array(rb.names, dtype=object)[rb.files[pos_b]] if rb.names else np.zeros(0, object)
            moved = (fa != fb) | (ra.offsets[pos_a] != rb.offsets[pos_b])
            if moved.any():
                old = _cells(reader, a, ra, name, pos_a[moved])
                new = _cells(reader, b, rb, name, pos_b[moved])
                updated = [int(p) for p, x, y in zip(pos_b[moved].tolist(), old, new) if x != y]
        out[name] = {
            "created": sa is None and sb is not None,
            "removed": sa is not None and sb is None,
            "info_updated": a.tensor_info.get(name) != b.tensor_info.get(name),
            "added": added.tolist(),
            "updated": updated,
            "deleted": deleted.tolist(),
        }
    return out
