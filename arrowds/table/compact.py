"""Compaction: rewrite runs of small fragments (and patch splices) into few large ones.

Rows, their order and their row ids stay the same, so the new version reads exactly like the
old one and ``diff`` reports no change; the old files stay for older versions until gc.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from arrowds import _config
from arrowds.storage import Storage
from arrowds.table import patch
from arrowds.table.manifest import Fragment, Manifest
from arrowds.table.reader import FragmentReader


def _small(f: Fragment, target: int) -> bool:
    """Worth rewriting: small, or mostly hidden rows (spliced or deleted)."""
    return f.size < target // 4 or f.visible < f.rows // 2


def compact(storage: Storage, reader: FragmentReader, manifest: Manifest,
            target_bytes: int = _config.MAX_FRAGMENT_BYTES) -> tuple[Manifest, int]:
    """The manifest with every run of two or more small fragments rewritten; and how many
    fragments were replaced."""
    frags = manifest.fragments
    out: list[Fragment] = []
    replaced = 0
    i = 0
    while i < len(frags):
        j = i
        while j < len(frags) and _small(frags[j], target_bytes):
            j += 1
        if j - i >= 2 or (j - i == 1 and frags[i].visible < frags[i].rows):
            out.extend(_rewrite(storage, reader, manifest, frags[i:j]))
            replaced += j - i
            i = j
        else:
            out.append(frags[i])
            i = max(i + 1, j)
    return manifest.replace(fragments=tuple(out)), replaced


def _rewrite(storage: Storage, reader: FragmentReader, manifest: Manifest,
             run: tuple[Fragment, ...]) -> list[Fragment]:
    tables, rowids = [], []
    for f in run:
        offsets = f.visible_offsets()
        if offsets.size:
            tables.append(patch.read_rows(reader, manifest, f, offsets))
            rowids.append(f.rowid_array()[offsets])
    if not tables:
        return []
    table = pa.concat_tables(tables).combine_chunks()
    ids = np.concatenate(rowids)
    out, start = [], 0
    for part in patch.split_table(table):
        new = patch.write_fragment(storage, part, manifest)
        out.append(patch.with_rowids(new, ids[start:start + part.num_rows]))
        start += part.num_rows
    return out
