"""Three-way merge of two versions by row ids: their appends, updates and deletes since the
common ancestor are applied to ours; cells both sides changed are conflicts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arrowds.errors import MergeConflictError
from arrowds.storage import Storage
from arrowds.table import deletion, labels, patch
from arrowds.table.diff import RowMap, diff
from arrowds.table.locate import RowLocator
from arrowds.table.manifest import Manifest
from arrowds.table.reader import FragmentReader


@dataclass
class Sides:
    base: Manifest
    ours: Manifest
    theirs: Manifest


def _check_even(m: Manifest, which: str) -> None:
    rows = m.num_rows
    ragged = {n: v for n, v in m.lengths.items() if v != rows}
    if ragged:
        raise MergeConflictError(f"cannot merge: {which} has tensors of different lengths {ragged} "
                                 f"(rows: {rows}); fill them to the same length first")


def merge(storage: Storage, reader: FragmentReader, s: Sides, resolution: str | None) -> Manifest:
    """Our manifest with their changes since ``base`` applied."""
    if resolution not in (None, "ours", "theirs"):
        raise ValueError(f"conflict_resolution must be None, 'ours' or 'theirs', got {resolution!r}")
    for m, which in ((s.base, "the common ancestor"), (s.ours, "this branch"), (s.theirs, "the other side")):
        _check_even(m, which)
    mine, theirs = diff(reader, s.base, s.ours), diff(reader, s.base, s.theirs)
    rb, ro, rt = RowMap.of(s.base), RowMap.of(s.ours), RowMap.of(s.theirs)
    conflicts: dict[str, list[int]] = {}
    take: dict[str, list[int]] = {}  # tensor -> rowids whose cell comes from theirs
    drop: set[int] = set()  # rowids they deleted that we keep
    for name, d in theirs.items():
        if d["removed"]:
            continue
        t_upd = set(rt.rowids[d["updated"]].tolist())
        if d["created"]:  # a tensor they made: its cells on rows the base already had are theirs
            t_upd = set(rt.rowids[: s.theirs.lengths.get(name, 0)].tolist()) & set(rb.rowids.tolist())
        o = mine.get(name, {"updated": [], "deleted": []})
        o_upd = set(ro.rowids[o["updated"]].tolist())
        o_del = set(rb.rowids[o["deleted"]].tolist())
        clash = (t_upd & o_upd) | (set() if d["created"] else t_upd & o_del)
        if clash and resolution is None:
            conflicts[name] = sorted(clash)
        chosen = t_upd - o_del - (o_upd if resolution != "theirs" else set())
        take[name] = sorted(chosen)
        t_del = set(rb.rowids[d["deleted"]].tolist())
        clash_del = t_del & o_upd
        if clash_del and resolution is None:
            conflicts.setdefault(name, []).extend(sorted(clash_del))
        drop |= t_del - (o_upd if resolution == "ours" else set())
    if conflicts:
        where = {n: _positions(ro, ids) for n, ids in conflicts.items()}
        raise MergeConflictError(
            f"Unable to merge, tensors {sorted(conflicts)} have conflicts (rows of this branch: "
            f"{where}) and conflict resolution argument was not provided. Use "
            "conflict_resolution='theirs' or conflict_resolution='ours' to resolve the conflict.")
    out = s.ours
    for spec in s.theirs.tensors:  # tensors they created
        if out.spec(spec.name) is None:
            out = out.with_spec(spec).replace(
                tensor_info={**out.tensor_info, spec.name: s.theirs.tensor_info.get(spec.name, {})},
                lengths={**out.lengths, spec.name: out.num_rows})
    for name in s.theirs.tensor_names:  # tensor info they changed and we did not
        if theirs[name]["info_updated"] and not mine.get(name, {}).get("info_updated"):
            out = out.replace(tensor_info={**out.tensor_info, name: s.theirs.tensor_info.get(name, {})})
    if s.theirs.info != s.base.info and s.ours.info == s.base.info:
        out = out.replace(info=dict(s.theirs.info))
    out, renumber = _union_class_names(out, s.theirs)
    out = _copy_cells(storage, reader, out, s.theirs, rt, take, renumber)
    out = _delete_rowids(out, drop)
    return _append_rows(storage, reader, out, s.base, s.theirs, rb, rt, renumber)


def _union_class_names(out: Manifest, theirs: Manifest) -> tuple[Manifest, dict[str, np.ndarray]]:
    """Both sides may have added class names, each numbering its new ones from the end of the
    common list: ours keep their ids, their new names go after ours (see table/labels), and
    the ids of their rows that come over are renumbered (returned: tensor -> new id of each
    of their ids)."""
    renumber: dict[str, np.ndarray] = {}
    info = dict(out.tensor_info)
    for spec in theirs.tensors:
        mine, their = info.get(spec.name, {}).get("class_names"), theirs.tensor_info.get(spec.name, {}).get(
            "class_names")
        if mine is None or their is None or mine == their:
            continue
        names, mapping = labels.union_names(list(mine), list(their))
        info[spec.name] = {**info[spec.name], "class_names": names}
        if mapping is not None:
            if not labels.renumberable(spec):
                raise MergeConflictError(
                    f"cannot merge tensor {spec.name!r}: both sides added class names in different "
                    f"orders ({list(mine)} vs {list(their)}) and its samples ({spec.layout} layout) "
                    "cannot be renumbered")
            renumber[spec.name] = mapping
    return out.replace(tensor_info=info), renumber


def _positions(rows: RowMap, rowids: list[int]) -> list[int]:
    return np.flatnonzero(np.isin(rows.rowids, rowids)).tolist()


def _copy_cells(storage: Storage, reader: FragmentReader, out: Manifest, theirs: Manifest,
                rt: RowMap, take: dict[str, list[int]], renumber: dict[str, np.ndarray]) -> Manifest:
    ro = RowMap.of(out)
    pos_in_ours = {int(r): i for i, r in enumerate(ro.rowids.tolist())}
    updates: dict[int, dict] = {}
    loc_t = RowLocator(theirs.fragments)
    pos_in_theirs = {int(r): i for i, r in enumerate(rt.rowids.tolist())}
    for name, ids in take.items():
        ids = [i for i in ids if i in pos_in_ours]
        if not ids:
            continue
        cells = patch.read_cells(reader, theirs, loc_t, name, np.array([pos_in_theirs[i] for i in ids]))
        if name in renumber:
            cells = [labels.relabel_cell(theirs.spec(name), c, renumber[name]) for c in cells]
        for rid, cell in zip(ids, cells):
            updates.setdefault(pos_in_ours[rid], {})[name] = cell
    return patch.apply_updates(storage, reader, out, updates) if updates else out


def _delete_rowids(out: Manifest, drop: set[int]) -> Manifest:
    if not drop:
        return out
    ro = RowMap.of(out)
    positions = np.flatnonzero(np.isin(ro.rowids, sorted(drop)))
    frags = list(out.fragments)
    for j, _, phys in RowLocator(out.fragments).groups(positions):
        frags[j] = frags[j].replace(deleted=deletion.union(frags[j].deleted, deletion.from_offsets(phys)))
    rows = out.num_rows - positions.size
    return out.replace(fragments=tuple(frags), lengths={n: rows for n in out.lengths})


def _append_rows(storage: Storage, reader: FragmentReader, out: Manifest, base: Manifest, theirs: Manifest,
                 rb: RowMap, rt: RowMap, renumber: dict[str, np.ndarray]) -> Manifest:
    """Their rows that the base lacks, appended in their order, with the same row ids (the
    same files, or new ones where their label ids are renumbered)."""
    new_ids = set(rt.rowids[~np.isin(rt.rowids, rb.rowids)].tolist())
    if not new_ids:
        return out
    frags = list(out.fragments)
    added = 0
    for f in theirs.fragments:
        visible = f.visible_offsets()
        keep = visible[np.isin(f.rowid_array()[visible], list(new_ids))]
        if keep.size == 0:
            continue
        present = {n: m for n, m in renumber.items() if reader.has_column(f.file, theirs.spec(n).column)}
        if present:
            frags.append(labels.relabel_fragment(storage, reader, theirs, f, present, keep))
        else:
            hide = np.setdiff1d(np.arange(f.rows), keep)
            frags.append(f.replace(deleted=deletion.from_offsets(hide)))
        added += keep.size
    rows = out.num_rows + added
    # their rows keep their ids: every branch allocates ids in its own range (see checkout)
    return out.replace(fragments=tuple(frags), lengths={n: rows for n in out.lengths})
