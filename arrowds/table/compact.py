"""Compaction: rewrite runs of small fragments (and patch splices) into few large ones.

Rows, their order and their row ids stay the same, so the new version reads exactly like the
old one and ``diff`` reports no change; the old files stay for older versions until gc.

:func:`compact` is ``ds.optimize()``. :func:`compact_tail` runs after every published append:
many small appends (one row each, outside ``with ds:``) would otherwise leave one fragment
each. It merges the last :data:`TAIL_FANIN` fragments when they are of the same size tier
(rows in ``[8^k, 8^(k+1))``), repeatedly, like a size-tiered LSM tree: a row is rewritten
about ``log8(n)`` times and ``n`` single-row appends leave at most ``7 * log8(n)`` fragments.
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


TAIL_FANIN = 8
TAIL_MAX_BYTES = 4 << 20  # bigger fragments come from bulk writes: never merged after a publish


def _tier(rows: int) -> int:
    tier = 0
    while rows >= TAIL_FANIN:
        rows //= TAIL_FANIN
        tier += 1
    return tier


def compact_tail(storage: Storage, reader: FragmentReader, manifest: Manifest, frozen: set[str],
                 max_bytes: int = TAIL_MAX_BYTES) -> Manifest | None:
    """``manifest`` with its small trailing fragments merged by size tier (see the module
    docstring), or None when there is nothing to merge. Fragments in ``frozen`` (the files
    of the last commit: rewriting them would only duplicate bytes that commit keeps), with
    hidden rows, or over ``max_bytes`` are left alone, as are versions whose tensors differ
    in length."""
    if len(set(manifest.lengths.values())) > 1:
        return None
    frags = manifest.fragments
    merged = False
    while len(frags) >= TAIL_FANIN:
        run = frags[-TAIL_FANIN:]
        if any(f.file in frozen or f.visible != f.rows or f.size > max_bytes for f in run):
            break
        if len({_tier(f.rows) for f in run}) != 1:
            break
        frags = frags[:-TAIL_FANIN] + tuple(_rewrite(storage, reader, manifest, run))
        merged = True
    return manifest.replace(fragments=frags) if merged else None


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
