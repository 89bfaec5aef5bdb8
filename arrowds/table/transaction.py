"""Publishing a new version of a branch: write the manifest, then one put-if-absent of the ref.

A crash before the ref is written leaves only orphan files (harmless, collected by gc); a crash
after leaves the new version complete. When another writer published first, a change made only
of appended fragments is rebased onto the new head; anything else raises CommitConflictError.
"""

from __future__ import annotations

import random
import time
import uuid
from dataclasses import dataclass, field

from arrowds.errors import CommitConflictError
from arrowds.format.spec import TensorSpec
from arrowds.storage import Storage
from arrowds.table import labels, refs
from arrowds.table.manifest import Fragment, Manifest
from arrowds.table.reader import FragmentReader

MANIFESTS = "manifests"
MAX_ATTEMPTS = 50


@dataclass
class Changes:
    """What a writer did since its base version: fragments appended at the end and the class
    names those appends added (both rebasable), and whether it did anything else (updates,
    deletes, schema or other info changes)."""

    appended: list[Fragment] = field(default_factory=list)
    specs: dict[str, TensorSpec] = field(default_factory=dict)  # as the appends left them
    class_names: dict[str, list[str]] = field(default_factory=dict)  # as the appends left them
    other: bool = False

    @property
    def empty(self) -> bool:
        return not self.appended and not self.other and not self.class_names


def load_manifest(storage: Storage, key: str) -> Manifest:
    return Manifest.from_json(storage.read(key), storage.key_url(key))


def write_manifest(storage: Storage, manifest: Manifest) -> str:
    key = f"{MANIFESTS}/{uuid.uuid4().hex}.json"
    storage.write(key, manifest.to_json())
    return key


def publish(storage: Storage, branch: str, base: refs.Ref | None, base_manifest: Manifest,
            new: Manifest, changes: Changes) -> tuple[refs.Ref, Manifest]:
    """Publish ``new`` (made from ``base_manifest`` by ``changes``) as the head of ``branch``."""
    head = base
    for attempt in range(MAX_ATTEMPTS):
        key = write_manifest(storage, new)
        ref = refs.publish(storage, branch, head.seq if head else -1, key,
                           commit=head.commit if head else None,
                           pending=head.pending if head else None, changed=True)
        if ref is not None:
            return ref, new
        storage.delete(key)
        theirs = refs.head(storage, branch)
        assert theirs is not None  # someone published, so the branch exists
        their_manifest = load_manifest(storage, theirs.manifest)
        new = rebase(storage, branch, base_manifest, their_manifest, changes,
                     head.seq if head else -1, theirs.seq)
        head, base_manifest = theirs, their_manifest
        time.sleep(random.uniform(0, 0.01 * (attempt + 1)))
    raise CommitConflictError(f"branch {branch!r} kept moving: gave up after {MAX_ATTEMPTS} attempts")


def rebase(storage: Storage, branch: str, base: Manifest, theirs: Manifest, changes: Changes,
           expected: int, found: int) -> Manifest:
    """Replay an append-only change onto another writer's head, or raise CommitConflictError.
    Class names both writers added are joined (theirs first) and the ids in our appended
    fragments renumbered to match (table/labels), in new files: the originals stay as they
    are for a later attempt."""
    moved = f"branch {branch!r} moved: expected head {expected}, found {found}"
    if changes.other:
        raise CommitConflictError(f"{moved}, and this change edits or deletes rows or changes "
                                  "tensors, so it cannot be rebased. Reload and retry.")
    if [s.name for s in theirs.tensors] != [s.name for s in base.tensors] or _ragged(theirs):
        raise CommitConflictError(f"{moved}, and the other writer changed the tensors. "
                                  "Reload and retry.")
    out = theirs
    for mine in changes.specs.values():  # settle layouts, widen shape bounds
        cur = out.spec(mine.name)
        if mine.layout != cur.layout and cur.layout is not None:
            raise CommitConflictError(f"{moved}, and tensor {mine.name!r} was given another layout.")
        merged = mine if cur.layout is None else cur
        if mine.min_shape is not None:
            merged = merged.with_shape_bounds(mine.min_shape, mine.max_shape)
        out = out.with_spec(merged)
    appended = changes.appended
    if changes.class_names:
        out, appended = _join_class_names(storage, out, changes, moved)
    for frag in appended:
        lengths = {name: n + frag.rows for name, n in out.lengths.items()}
        out = out.appended(frag, lengths)
    return out


def _join_class_names(storage: Storage, theirs: Manifest, changes: Changes,
                      moved: str) -> tuple[Manifest, list[Fragment]]:
    info = dict(theirs.tensor_info)
    renumber = {}
    for name, mine in changes.class_names.items():
        names, mapping = labels.union_names(list(info.get(name, {}).get("class_names", [])), mine)
        info[name] = {**info.get(name, {}), "class_names": names}
        if mapping is not None:
            if not labels.renumberable(theirs.spec(name)):
                raise CommitConflictError(f"{moved}, and both writers added class names to {name!r}, "
                                          "whose samples cannot be renumbered. Reload and retry.")
            renumber[name] = mapping
    out = theirs.replace(tensor_info=info)
    if not renumber:
        return out, list(changes.appended)
    reader = FragmentReader(storage)
    try:
        return out, [labels.relabel_fragment(storage, reader, out, f, renumber) for f in changes.appended]
    finally:
        reader.close()


def _ragged(m: Manifest) -> bool:
    return any(n != m.num_rows for n in m.lengths.values())
