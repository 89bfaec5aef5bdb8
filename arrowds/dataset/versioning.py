"""Version control on a dataset handle: commit, checkout, log, tag, reset, diff, merge.

Branch heads, commits and tags live in the table layer (refs.py, commits.py); this module
moves a handle's DatasetCore between them with Hub's semantics, improved where noted:
checking out a commit that is no branch head gives a read-only version (no silent branch).
"""

from __future__ import annotations

import getpass
import os
import random
import re
import time

from arrowds.dataset.core import DatasetCore
from arrowds.errors import CheckoutError, CommitConflictError, EmptyCommitError, ReadOnlyModeError
from arrowds.table import commits, refs, transaction
from arrowds.table.commits import Commit
from arrowds.table.manifest import Manifest

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def author() -> str:
    """``$ARROWDS_AUTHOR``, else the login name."""
    try:
        return os.environ.get("ARROWDS_AUTHOR") or getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        return "unknown"


def commit(core: DatasetCore, message: str = "", allow_empty: bool = False,
           extra_parent: str | None = None) -> str:
    """Seal the branch head as a commit and return its id."""
    core.check_writable()
    with core.lock:
        core.flush()
        for _ in range(transaction.MAX_ATTEMPTS):
            head = refs.head(core.storage, core.branch)
            assert head is not None
            if not head.changed and not allow_empty and extra_parent is None:
                mine = core.last_published_seq
                if mine is not None and head.commit and head.seq > mine:
                    # another writer's commit already sealed what this handle published
                    _move_to(core, head)
                    return head.commit
                raise EmptyCommitError("There are no changes, commit is not done. "
                                       "Try again with allow_empty=True.")
            parents = tuple(p for p in (head.commit, extra_parent) if p)
            c = Commit(head.pending or commits.new_commit_id(), parents, head.manifest, message,
                       time.time(), author(), core.branch)
            ref = refs.publish(core.storage, core.branch, head.seq, head.manifest, commit=c.id,
                               pending=commits.new_commit_id(), changed=False, sealed=c.to_dict())
            if ref is not None:
                commits.write_index(core.storage, c)
                _move_to(core, ref)
                core.last_published_seq = None
                return c.id
            time.sleep(random.uniform(0, 0.01))
    raise CommitConflictError(f"branch {core.branch!r} kept moving: commit gave up")


def _move_to(core: DatasetCore, ref: refs.Ref) -> None:
    manifest = (core.manifest if ref.manifest == (core.base_ref.manifest if core.base_ref else None)
                else transaction.load_manifest(core.storage, ref.manifest))
    core._reset_to(ref, manifest)


def resolve(core: DatasetCore, address: str) -> tuple[str, str | None, refs.Ref | None]:
    """``(kind, commit id, branch head)`` for a branch name, tag or commit id."""
    head = refs.head(core.storage, address) if _NAME.match(address) else None
    if head is not None:
        return "branch", head.commit, head
    tagged = refs.read_tag(core.storage, address) if _NAME.match(address) else None
    if tagged is not None:
        return "tag", tagged, None
    if re.fullmatch(r"[0-9a-zA-Z]{8,64}", address) and commits.read(core.storage, address):
        return "commit", address, None
    raise CheckoutError(f"Address {address!r} not found. If you want to create a new branch, "
                        "use checkout with create=True")


def manifest_of(core: DatasetCore, address: str | None) -> Manifest:
    """The manifest of a branch head (uncommitted changes included), tag or commit."""
    if address is None:
        return core.manifest
    kind, cid, head = resolve(core, address)
    if head is not None:
        return transaction.load_manifest(core.storage, head.manifest)
    c = commits.read(core.storage, cid)
    return transaction.load_manifest(core.storage, c.manifest)


def checkout(core: DatasetCore, address: str, create: bool = False) -> str | None:
    """Move the handle to a branch head (writable), or a tag/commit (read-only)."""
    with core.lock:
        if core.dirty and not (core.read_only or core.detached):
            core.flush()
        if create:
            return _create_branch(core, address)
        kind, cid, head = resolve(core, address)
        if head is not None:
            core.branch, core.detached = address, None
            _move_to(core, head)
            return cid
        c = commits.read(core.storage, cid)
        manifest = transaction.load_manifest(core.storage, c.manifest)
        core._reset_to(None, manifest)
        core.detached = cid
        core.detached_ref = refs.Ref(-1, c.manifest, cid, None, False)
        return cid


def _create_branch(core: DatasetCore, name: str) -> str | None:
    if core.read_only:
        raise ReadOnlyModeError(f"({core.storage.url} is open read-only: cannot create a branch)")
    if not _NAME.match(name):
        raise CheckoutError(f"invalid branch name {name!r}: use letters, digits, '.', '_' or '-'")
    if refs.head(core.storage, name) is not None:
        raise CheckoutError(f"Can't create new branch, {name!r} already exists.")
    source = current_ref(core)
    # a branch allocates row ids in its own range, so rows added on two branches never share ids
    manifest = core.manifest.replace(next_rowid=random.getrandbits(30) << 32)
    key = transaction.write_manifest(core.storage, manifest)
    ref = refs.publish(core.storage, name, -1, key, commit=source.commit,
                       pending=commits.new_commit_id(), changed=source.changed)
    if ref is None:
        raise CheckoutError(f"Can't create new branch, {name!r} already exists.")
    core.branch, core.detached = name, None
    core._reset_to(ref, manifest)
    return source.commit


def current_ref(core: DatasetCore) -> refs.Ref:
    if core.detached:
        return core.detached_ref
    return core.base_ref


def log(core: DatasetCore) -> list[Commit]:
    """Commits of the current branch (or commit), newest first."""
    return list(commits.history(core.storage, current_ref(core).commit))


def tag(core: DatasetCore, name: str) -> str:
    """Name the current commit; returns its id."""
    if not _NAME.match(name):
        raise CheckoutError(f"invalid tag name {name!r}: use letters, digits, '.', '_' or '-'")
    cid = current_ref(core).commit
    if cid is None:
        raise CheckoutError("nothing to tag: the dataset has no commit yet (call ds.commit() first)")
    if refs.head(core.storage, name) is not None:
        raise CheckoutError(f"{name!r} is a branch; pick another tag name")
    refs.create_tag(core.storage, name, cid)
    return cid


def reset(core: DatasetCore) -> None:
    """Drop every uncommitted change of the branch head (published or buffered)."""
    with core.lock:
        core.discard()
        if core.detached:
            return
        core.check_writable()
        for _ in range(transaction.MAX_ATTEMPTS):
            head = refs.head(core.storage, core.branch)
            if not head.changed:
                _move_to(core, head)
                return
            if head.commit:
                c = commits.read(core.storage, head.commit)
                key, manifest = c.manifest, transaction.load_manifest(core.storage, c.manifest)
            else:
                manifest = Manifest()
                key = transaction.write_manifest(core.storage, manifest)
            ref = refs.publish(core.storage, core.branch, head.seq, key, commit=head.commit,
                               pending=head.pending, changed=False)
            if ref is not None:
                core._reset_to(ref, manifest)
                return
    raise CommitConflictError(f"branch {core.branch!r} kept moving: reset gave up")


def diff(core: DatasetCore, a: str | None, b: str | None) -> dict[str, dict]:
    """See Dataset.diff."""
    from arrowds.table import diff as table_diff

    if a is None:
        cid = current_ref(core).commit
        old = (transaction.load_manifest(core.storage, commits.read(core.storage, cid).manifest)
               if cid else Manifest())
    else:
        old = manifest_of(core, a)
    if core.pending and not (core.read_only or core.detached):
        core.stage()
    new = manifest_of(core, b)
    return table_diff.diff(core.reader, old, new)


def merge(core: DatasetCore, target: str, conflict_resolution: str | None = None) -> str:
    """See Dataset.merge."""
    from arrowds.table import merge as table_merge

    core.check_writable()
    with core.lock:
        core.flush()
        if core.base_ref.changed:
            raise CommitConflictError(f"branch {core.branch!r} has uncommitted changes: commit or "
                                      "reset them before merging")
        kind, their_commit, their_head = resolve(core, target)
        if their_commit is None:
            raise CheckoutError(f"{target!r} has no commit to merge")
        ours_commit = core.base_ref.commit
        base_id = commits.common_ancestor(core.storage, ours_commit, their_commit)
        if base_id == their_commit:
            return ours_commit  # already contains everything of theirs
        base = (transaction.load_manifest(core.storage, commits.read(core.storage, base_id).manifest)
                if base_id else Manifest())
        theirs = transaction.load_manifest(core.storage, commits.read(core.storage, their_commit).manifest)
        merged = table_merge.merge(core.storage, core.reader,
                                   table_merge.Sides(base, core.manifest, theirs), conflict_resolution)
        core.manifest = merged
        core.changes.other = True
        core.flush()
        return commit(core, f"Merge {their_commit} into {core.branch}", extra_parent=their_commit)
