"""Branch heads as append-only logs of numbered ref files, each written put-if-absent; tags.

``refs/branches/<branch>/<seq>.json`` holds the branch head after its ``seq``-th publish: the
manifest, the last commit, the id the next commit will get, and whether the head differs from
that commit. A ref written by a commit also carries the commit record itself (``sealed``), so
publishing a commit is the same single atomic step as publishing data. Of two writers racing
on the same head exactly one wins, and the loser learns it at once (FORMAT.md invariant 3).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from arrowds.errors import CheckoutError, DatasetCorruptError
from arrowds.storage import Storage

BRANCHES = "refs/branches"
TAGS = "refs/tags"
SEQ_DIGITS = 20


@dataclass(frozen=True)
class Ref:
    """One published head of a branch."""

    seq: int
    manifest: str  # key of the manifest file
    commit: str | None = None  # last sealed commit id on this branch
    pending: str | None = None  # the id the next commit of this branch will get
    changed: bool = False  # whether the head differs from ``commit``
    time: float = 0.0
    sealed: dict[str, Any] | None = field(default=None, compare=False)  # commit record, if any

    def to_json(self) -> bytes:
        d = {"seq": self.seq, "manifest": self.manifest, "commit": self.commit,
             "pending": self.pending, "changed": self.changed, "time": self.time}
        if self.sealed is not None:
            d["sealed"] = self.sealed
        return json.dumps(d).encode()

    @classmethod
    def from_json(cls, data: bytes, where: str) -> Ref:
        try:
            d: dict[str, Any] = json.loads(data)
            return cls(int(d["seq"]), str(d["manifest"]), d.get("commit"), d.get("pending"),
                       bool(d.get("changed", False)), float(d.get("time", 0)), d.get("sealed"))
        except (ValueError, KeyError, TypeError) as e:
            raise DatasetCorruptError(f"{where} is not a valid arrowds ref: {e}") from e


def ref_key(branch: str, seq: int) -> str:
    return f"{BRANCHES}/{branch}/{seq:0{SEQ_DIGITS}d}.json"


def branch_names(storage: Storage) -> list[str]:
    return storage.list(BRANCHES)


def ref_seqs(storage: Storage, branch: str) -> list[int]:
    return [int(n[:-5]) for n in storage.list(f"{BRANCHES}/{branch}")
            if n.endswith(".json") and n[:-5].isdigit()]


def read_ref(storage: Storage, branch: str, seq: int) -> Ref:
    key = ref_key(branch, seq)
    return Ref.from_json(storage.read(key), storage.key_url(key))


def _hint_key(branch: str) -> str:
    return f"{BRANCHES}/{branch}/HEAD"


def head(storage: Storage, branch: str) -> Ref | None:
    """The latest published ref of ``branch``, or None if the branch does not exist.

    Reads the ``HEAD`` hint (the seq some writer last published) and probes forward for newer
    refs, so finding the head costs a few small requests however long the log is. The hint is
    only a hint: it may lag (probing catches up) and is never trusted past a missing ref; with
    no usable hint the log folder is listed.
    """
    seq = _read_hint(storage, branch)
    if seq is None or not storage.exists(ref_key(branch, seq)):
        seqs = ref_seqs(storage, branch)
        if not seqs:
            return None
        seq = max(seqs)
    while storage.exists(ref_key(branch, seq + 1)):
        seq += 1
    return read_ref(storage, branch, seq)


def _read_hint(storage: Storage, branch: str) -> int | None:
    try:
        return int(storage.read(_hint_key(branch)))
    except (FileNotFoundError, ValueError):
        return None


def _write_hint(storage: Storage, branch: str, seq: int) -> None:
    """Best effort: a lost or out-of-order hint only costs readers a few more probes."""
    try:
        storage.write(_hint_key(branch), str(seq).encode())
    except OSError:
        pass


def publish(storage: Storage, branch: str, expected_seq: int, manifest_key: str, *,
            commit: str | None, pending: str | None, changed: bool,
            sealed: dict[str, Any] | None = None) -> Ref | None:
    """Make ``manifest_key`` the head of ``branch`` if its head is still ``expected_seq``
    (``-1`` for a new branch). Returns the new Ref, or None if another writer got there first."""
    ref = Ref(expected_seq + 1, manifest_key, commit, pending, changed, time.time(), sealed)
    if storage.put_if_absent(ref_key(branch, ref.seq), ref.to_json()):
        _write_hint(storage, branch, ref.seq)
        return ref
    return None


# -- tags ------------------------------------------------------------------------------------
def tag_names(storage: Storage) -> list[str]:
    return [n[:-5] for n in storage.list(TAGS) if n.endswith(".json")]


def read_tag(storage: Storage, name: str) -> str | None:
    """The commit id a tag points at, or None."""
    key = f"{TAGS}/{name}.json"
    try:
        data = storage.read(key)
    except FileNotFoundError:
        return None
    try:
        return str(json.loads(data)["commit"])
    except (ValueError, KeyError, TypeError) as e:
        raise DatasetCorruptError(f"{storage.key_url(key)} is not a valid tag: {e}") from e


def create_tag(storage: Storage, name: str, commit: str) -> None:
    if not storage.put_if_absent(f"{TAGS}/{name}.json", json.dumps({"commit": commit}).encode()):
        raise CheckoutError(f"Tag {name!r} already exists.")
