"""Branch heads as append-only logs of numbered ref files, each written put-if-absent.

``refs/branches/<branch>/<seq>.json`` holds the manifest key of the branch head after the
``seq``-th publish. Publishing is writing ``seq + 1`` only if absent: of two writers racing on
the same head exactly one wins, and the loser learns it at once (FORMAT.md invariant 3).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from arrowds.errors import DatasetCorruptError
from arrowds.storage import Storage

BRANCHES = "refs/branches"
SEQ_DIGITS = 20


@dataclass(frozen=True)
class Ref:
    """One published head of a branch."""

    seq: int
    manifest: str  # key of the manifest file
    commit: str | None = None  # last sealed commit id on this branch (version control)
    time: float = 0.0

    def to_json(self) -> bytes:
        return json.dumps({"seq": self.seq, "manifest": self.manifest, "commit": self.commit,
                           "time": self.time}).encode()

    @classmethod
    def from_json(cls, data: bytes, where: str) -> Ref:
        try:
            d: dict[str, Any] = json.loads(data)
            return cls(int(d["seq"]), str(d["manifest"]), d.get("commit"), float(d.get("time", 0)))
        except (ValueError, KeyError, TypeError) as e:
            raise DatasetCorruptError(f"{where} is not a valid arrowds ref: {e}") from e


def ref_key(branch: str, seq: int) -> str:
    return f"{BRANCHES}/{branch}/{seq:0{SEQ_DIGITS}d}.json"


def branch_names(storage: Storage) -> list[str]:
    return storage.list(BRANCHES)


def head(storage: Storage, branch: str) -> Ref | None:
    """The latest published ref of ``branch``, or None if the branch does not exist."""
    names = [n for n in storage.list(f"{BRANCHES}/{branch}") if n.endswith(".json")]
    if not names:
        return None
    key = f"{BRANCHES}/{branch}/{names[-1]}"
    return Ref.from_json(storage.read(key), storage.key_url(key))


def publish(storage: Storage, branch: str, expected_seq: int, manifest_key: str,
            commit: str | None) -> Ref | None:
    """Make ``manifest_key`` the head of ``branch`` if its head is still ``expected_seq``
    (``-1`` for a new branch). Returns the new Ref, or None if another writer got there first."""
    ref = Ref(expected_seq + 1, manifest_key, commit, time.time())
    if storage.put_if_absent(ref_key(branch, ref.seq), ref.to_json()):
        return ref
    return None
