"""Garbage collection: delete data and manifest files that no version references.

What is kept: the latest head of every branch, every commit (and so every tag), and each of
their fragments. Files younger than ``older_than`` seconds are kept too, because a writer may
have written its fragments and manifest and not yet published them (FORMAT.md invariant 3:
orphans are harmless until gc, and gc must never take a file a publish is about to reference).
Ref files are never deleted: a missing old ref would let a stale writer re-use its number.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from arrowds.storage import Storage
from arrowds.table import commits, refs, transaction
from arrowds.table.patch import DATA

TMP_MARK = ".tmp-"


@dataclass
class GcReport:
    """What gc deleted (or would delete, with ``dry_run``)."""

    files: list[str] = field(default_factory=list)
    bytes: int = 0
    kept_manifests: int = 0
    kept_fragments: int = 0


def live_manifests(storage: Storage) -> set[str]:
    """Keys of the manifests of every branch head and every commit."""
    keep: set[str] = set()
    for branch in refs.branch_names(storage):
        seqs = refs.ref_seqs(storage, branch)
        for seq in seqs:
            ref = refs.read_ref(storage, branch, seq)
            if seq == max(seqs):
                keep.add(ref.manifest)
            if ref.sealed:
                keep.add(ref.sealed["manifest"])
    for name in storage.list(commits.COMMITS):
        if name.endswith(".json"):
            c = commits.read(storage, name[:-5])
            if c is not None:
                keep.add(c.manifest)
    return keep


def collect(storage: Storage, older_than: float = 3600.0, dry_run: bool = False) -> GcReport:
    """Delete unreferenced files older than ``older_than`` seconds."""
    manifests = live_manifests(storage)
    fragments = set()
    for key in manifests:
        fragments.update(f.file for f in transaction.load_manifest(storage, key).fragments)
    report = GcReport(kept_manifests=len(manifests), kept_fragments=len(fragments))
    cutoff = time.time() - older_than
    for folder, live in ((DATA, fragments), (transaction.MANIFESTS, manifests)):
        for name, size, mtime in storage.list_details(folder):
            key = f"{folder}/{name}"
            if key in live or mtime > cutoff:
                continue
            report.files.append(key)
            report.bytes += size
            if not dry_run:
                storage.delete(key)
    return report
