"""Commits: immutable records of sealed versions, and walking their history.

A commit is published inside the ref that seals it (see refs.py); ``commits/<id>.json`` is an
index written right after, so a commit can be found by id. If a crash lost the index file, the
commit is found by scanning the branch logs and the index is rewritten.
"""

from __future__ import annotations

import json
import secrets
from collections import deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from arrowds.errors import DatasetCorruptError
from arrowds.storage import Storage
from arrowds.table import refs

COMMITS = "commits"
#: Hub's constant id of a dataset's first commit.
FIRST_COMMIT_ID = "firstdbf9474d461a19e9333c2fd19b46115348f"


def new_commit_id() -> str:
    return secrets.token_hex(20)


@dataclass(frozen=True)
class Commit:
    """One sealed version: its manifest, parents (two for a merge), and who/when/why."""

    id: str
    parents: tuple[str, ...]
    manifest: str
    message: str
    time: float
    author: str
    branch: str

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["parents"] = list(self.parents)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Commit:
        return cls(str(d["id"]), tuple(d["parents"]), str(d["manifest"]), str(d.get("message", "")),
                   float(d["time"]), str(d.get("author", "")), str(d.get("branch", "")))

    def __getitem__(self, key: str) -> Any:  # Hub's log entries are dicts: keep c["message"] working
        return getattr(self, key)


def write_index(storage: Storage, commit: Commit) -> None:
    storage.write(f"{COMMITS}/{commit.id}.json", json.dumps(commit.to_dict()).encode())


def read(storage: Storage, commit_id: str) -> Commit | None:
    """The commit with this id, or None if no branch ever sealed it."""
    key = f"{COMMITS}/{commit_id}.json"
    try:
        data = storage.read(key)
    except FileNotFoundError:
        found = _scan_refs(storage, commit_id)
        if found is not None:
            write_index(storage, found)
        return found
    try:
        return Commit.from_dict(json.loads(data))
    except (ValueError, KeyError, TypeError) as e:
        raise DatasetCorruptError(f"{storage.key_url(key)} is not a valid commit: {e}") from e


def _scan_refs(storage: Storage, commit_id: str) -> Commit | None:
    for branch in refs.branch_names(storage):
        for seq in sorted(refs.ref_seqs(storage, branch), reverse=True):
            ref = refs.read_ref(storage, branch, seq)
            if ref.sealed and ref.sealed.get("id") == commit_id:
                return Commit.from_dict(ref.sealed)
    return None


def history(storage: Storage, head: str | None) -> Iterator[Commit]:
    """Commits reachable from ``head`` along first parents, newest first."""
    seen: set[str] = set()
    cid = head
    while cid and cid not in seen:
        seen.add(cid)
        c = read(storage, cid)
        if c is None:
            raise DatasetCorruptError(f"commit {cid} is referenced but cannot be found")
        yield c
        cid = c.parents[0] if c.parents else None


def ancestors(storage: Storage, head: str | None) -> dict[str, int]:
    """Every commit reachable from ``head`` (all parents) with its distance from it."""
    out: dict[str, int] = {}
    queue = deque([(head, 0)] if head else [])
    while queue:
        cid, d = queue.popleft()
        if cid in out:
            continue
        out[cid] = d
        c = read(storage, cid)
        if c is None:
            raise DatasetCorruptError(f"commit {cid} is referenced but cannot be found")
        queue.extend((p, d + 1) for p in c.parents)
    return out


def common_ancestor(storage: Storage, a: str | None, b: str | None) -> str | None:
    """The nearest commit that both ``a`` and ``b`` descend from (None if they share none)."""
    anc_a = ancestors(storage, a)
    best, best_d = None, None
    for cid, d in ancestors(storage, b).items():
        if cid in anc_a and (best_d is None or d + anc_a[cid] < best_d):
            best, best_d = cid, d + anc_a[cid]
    return best
