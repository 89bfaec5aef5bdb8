"""The state behind a dataset handle: the branch head it stands on, the working manifest, the
write buffer, and the write operations (append, update, delete, schema/info changes).

Writes go buffer -> staged fragments (written, not yet visible) -> published version (one
put-if-absent of the branch ref). Outside ``with ds:`` every write call publishes before it
returns; inside, the outermost block publishes on a clean exit and discards on an exception.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import numpy as np
import pyarrow as pa

from arrowds import _config
from arrowds.dataset.samples import Prepared
from arrowds.errors import CommitConflictError, ReadOnlyModeError, SampleIndexError
from arrowds.format import TensorSpec
from arrowds.format import columns as cols
from arrowds.storage import Storage
from arrowds.table import commits, compact, deletion, patch, refs, transaction
from arrowds.table.locate import RowLocator
from arrowds.table.manifest import Fragment, Manifest
from arrowds.table.reader import FragmentReader


class DatasetCore:
    """Mutable head state shared by a dataset handle and all its views."""

    def __init__(self, storage: Storage, branch: str, ref: refs.Ref | None, manifest: Manifest,
                 read_only: bool = False):
        self.storage = storage
        self.reader = FragmentReader(storage)
        self.branch = branch
        self.read_only = read_only
        self.detached: str | None = None  # commit id when a commit, not a branch head, is out
        self.detached_ref: refs.Ref | None = None
        self.last_published_seq: int | None = None
        self.lock = threading.RLock()
        self.depth = 0
        self._committed: tuple[str, set[str]] | None = None  # the last commit's files
        self._reset_to(ref, manifest)

    def _reset_to(self, ref: refs.Ref | None, manifest: Manifest) -> None:
        self.base_ref = ref
        self.base_manifest = manifest
        self.manifest = manifest
        self.pending: dict[str, list[Prepared]] = {}
        self.pending_len: dict[str, int] = {}
        self.pending_bytes = 0
        self.changes = transaction.Changes()
        self._locator: RowLocator | None = None

    # -- queries -------------------------------------------------------------------------
    @property
    def locator(self) -> RowLocator:
        loc = self._locator
        if loc is None or loc.fragments is not self.manifest.fragments:
            loc = self._locator = RowLocator(self.manifest.fragments)
            self.reader.know_fragments(self.manifest.fragments)
        return loc

    def spec(self, name: str) -> TensorSpec:
        s = self.manifest.spec(name)
        assert s is not None, name
        return s

    def length(self, name: str) -> int:
        return self.manifest.lengths.get(name, 0) + self.pending_len.get(name, 0)

    def flushed_length(self, name: str) -> int:
        return self.manifest.lengths.get(name, 0)

    @property
    def dirty(self) -> bool:
        return bool(self.pending) or not self.changes.empty

    # -- write scaffolding ---------------------------------------------------------------
    def check_writable(self) -> None:
        if self.read_only:
            raise ReadOnlyModeError(f"({self.storage.url} is open read-only)")
        if self.detached:
            raise ReadOnlyModeError(
                f"(commit {self.detached} is not the head of a branch: check out a branch, or "
                "make one here with ds.checkout(name, create=True))")

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Wrap one public write call: publish at its end unless inside ``with ds:``."""
        self.check_writable()
        with self.lock:
            yield
            if self.depth == 0:
                self.flush()

    def enter(self) -> None:
        with self.lock:
            self.depth += 1

    def exit(self, failed: bool) -> None:
        with self.lock:
            self.depth -= 1
            if self.depth:
                return
            if failed:
                self.discard()
            elif not (self.read_only or self.detached):
                self.flush()

    def discard(self) -> None:
        """Drop everything not yet published (staged fragments become orphans for gc)."""
        with self.lock:
            self._reset_to(self.base_ref, self.base_manifest)

    def flush(self) -> None:
        """Stage the buffer and publish the working manifest if anything changed."""
        with self.lock:
            self.stage()
            if self.changes.empty:
                return
            appended_only = not self.changes.other
            ref, manifest = transaction.publish(
                self.storage, self.branch, self.base_ref, self.base_manifest, self.manifest,
                self.changes)
            self._reset_to(ref, manifest)
            self.last_published_seq = ref.seq
            if appended_only:
                self._compact_tail()

    def _compact_tail(self) -> None:
        """Merge small trailing fragments left by many small appends (table/compact), as a
        version of its own. Only while nobody else has published: if the branch moved, the
        merge is dropped (the data is already published; the new files are orphans for gc)."""
        frozen = self._committed_files()
        merged = compact.compact_tail(self.storage, self.reader, self.manifest, frozen)
        if merged is None:
            return
        try:
            ref, manifest = transaction.publish(
                self.storage, self.branch, self.base_ref, self.base_manifest, merged,
                transaction.Changes(other=True))
        except CommitConflictError:
            return
        self._reset_to(ref, manifest)
        self.last_published_seq = ref.seq

    def _committed_files(self) -> set[str]:
        """Files of the branch's last commit (cached per commit)."""
        commit = self.base_ref.commit if self.base_ref else None
        if commit is None:
            return set()
        if self._committed is None or self._committed[0] != commit:
            record = commits.read(self.storage, commit)
            if record is None:  # a ref names a commit that was never sealed: never rewrite
                return {f.file for f in self.manifest.fragments}
            files = {f.file for f in transaction.load_manifest(self.storage, record.manifest).fragments}
            self._committed = (commit, files)
        return self._committed[1]

    # -- schema and info -----------------------------------------------------------------
    def set_spec(self, spec: TensorSpec, info: dict[str, Any] | None = None) -> None:
        m = self.manifest.with_spec(spec)
        lengths = dict(m.lengths)
        lengths.setdefault(spec.name, 0)
        tinfo = dict(m.tensor_info)
        if info is not None:
            tinfo[spec.name] = info
        self.manifest = m.replace(lengths=lengths, tensor_info=tinfo)
        self.changes.other = True

    def set_info(self, tensor: str | None, info: dict[str, Any]) -> None:
        if tensor is None:
            self.manifest = self.manifest.replace(info=dict(info))
        else:
            tinfo = {**self.manifest.tensor_info, tensor: dict(info)}
            self.manifest = self.manifest.replace(tensor_info=tinfo)
        self.changes.other = True

    # -- appends -------------------------------------------------------------------------
    def append(self, batches: dict[str, Prepared]) -> None:
        """Add prepared batches at the end of their tensors (already validated)."""
        for name, prep in batches.items():
            self.manifest = self.manifest.with_spec(prep.spec)
            if prep.info is not None or prep.class_names is not None:
                info = dict(prep.info or self.manifest.tensor_info.get(name, {}))
                if prep.class_names is not None:
                    info["class_names"] = prep.class_names
                if prep.info is not None:
                    self.set_info(name, info)
                else:  # only new class names: a concurrent append can still be rebased
                    tinfo = {**self.manifest.tensor_info, name: info}
                    self.manifest = self.manifest.replace(tensor_info=tinfo)
                    self.changes.class_names[name] = list(prep.class_names)
            if len(prep):
                self.pending.setdefault(name, []).append(prep)
                self.pending_len[name] = self.pending_len.get(name, 0) + len(prep)
                self.pending_bytes += prep.nbytes
        if self.pending_bytes > _config.WRITE_BUFFER_BYTES:
            self.stage()

    def _pending_samples(self, name: str) -> list[Any]:
        out: list[Any] = []
        for prep in self.pending.get(name, []):
            out.extend(prep.as_samples())
        return out

    def pending_sample(self, name: str, k: int) -> Any:
        for prep in self.pending.get(name, []):
            if k < len(prep):
                return prep.sample(k)
            k -= len(prep)
        raise SampleIndexError(f"no pending sample {k} in tensor {name!r}")

    def _set_pending_sample(self, name: str, k: int, sample: Any) -> None:
        for prep in self.pending.get(name, []):
            if k < len(prep):
                prep.set_sample(k, sample)
                return
            k -= len(prep)

    def stage(self) -> None:
        """Write buffered samples as fragments (and patch rows for ragged tails); not published."""
        if not self.pending:
            return
        m = self.manifest
        rows = m.num_rows
        fills: dict[int, dict[str, Any]] = {}
        tail: dict[str, list[Prepared | list[Any]]] = {}
        new_rows = rows
        for name, preps in self.pending.items():
            flushed = m.lengths.get(name, 0)
            n_fill = max(0, min(self.pending_len[name], rows - flushed))
            if n_fill:
                for k, sample in enumerate(self._pending_samples(name)[:n_fill]):
                    fills.setdefault(flushed + k, {})[name] = sample
            tail[name] = _drop_front(preps, n_fill)
            new_rows = max(new_rows, flushed + self.pending_len[name])
        lengths = {n: m.lengths.get(n, 0) + self.pending_len.get(n, 0) for n in m.lengths}
        self.pending, self.pending_len, self.pending_bytes = {}, {}, 0
        if fills:
            self._apply_updates(fills)
        if new_rows > rows:
            table = self._table_for_new_rows(tail, new_rows - rows)
            for frag in self._write_parts(patch.split_table(table, os.cpu_count() or 1)):
                self.manifest = self.manifest.appended(frag, {})
                self.changes.appended.append(self.manifest.fragments[-1])
        self.manifest = self.manifest.replace(lengths=lengths)
        self.changes.specs = {s.name: s for s in self.manifest.tensors}
        if any(n != self.manifest.num_rows for n in lengths.values()):
            self.changes.other = True  # a ragged result cannot be rebased as plain appends

    def _write_parts(self, parts: list[pa.Table]) -> list[Fragment]:
        """Write fragments, several at once when there are several (pyarrow and file writes
        release the GIL), returned in order."""
        if len(parts) == 1:
            return [patch.write_fragment(self.storage, parts[0], self.manifest)]
        with ThreadPoolExecutor(min(len(parts), os.cpu_count() or 1)) as pool:
            return list(pool.map(lambda p: patch.write_fragment(self.storage, p, self.manifest), parts))

    def _table_for_new_rows(self, tail: dict[str, list[Any]], n: int) -> pa.Table:
        arrays: dict[str, pa.Array] = {}
        for spec in self.manifest.tensors:
            if not spec.settled:
                continue
            parts: list[pa.Array] = []
            count = 0
            for prep in tail.get(spec.name, []):
                parts.append(prep.to_arrow(spec))
                count += len(prep)
            if count < n:
                parts.append(cols.null_arrays(spec, n - count))
            for field in cols.fields(spec):
                chunks = [p[field.name] for p in parts]
                arrays[field.name] = chunks[0] if len(chunks) == 1 else pa.concat_arrays(
                    [c.cast(field.type) for c in chunks])
        return pa.table(arrays)

    # -- updates -------------------------------------------------------------------------
    def update(self, name: str, positions: np.ndarray, samples: list[Any]) -> None:
        """Replace the samples of one tensor at ``positions`` (already validated)."""
        flushed = self.flushed_length(name)
        updates: dict[int, dict[str, Any]] = {}
        for p, s in zip(positions.tolist(), samples):
            if p >= flushed:
                self._set_pending_sample(name, p - flushed, s)
            else:
                updates.setdefault(p, {})[name] = s
        if updates:
            self._apply_updates(updates)

    def _apply_updates(self, updates: dict[int, dict[str, Any]]) -> None:
        self.manifest = patch.apply_updates(self.storage, self.reader, self.manifest, updates)
        self.changes.other = True

    # -- deletes -------------------------------------------------------------------------
    def delete_rows(self, positions: np.ndarray) -> None:
        """Remove whole rows (every tensor's sample) at ``positions``."""
        self.stage()
        positions = np.unique(positions)
        m = self.manifest
        frags = list(m.fragments)
        for j, _, phys in self.locator.groups(positions):
            f = frags[j]
            frags[j] = f.replace(deleted=deletion.union(f.deleted, deletion.from_offsets(phys)))
        lengths = {n: int(L - np.count_nonzero(positions < L)) for n, L in m.lengths.items()}
        self.manifest = m.replace(fragments=tuple(frags), lengths=lengths)
        self.changes.other = True


def _drop_front(preps: list[Prepared], n: int) -> list[Prepared]:
    out = []
    for prep in preps:
        k = len(prep)
        if n >= k:
            n -= k
            continue
        if n:
            prep = prep.drop_front(n)
            n = 0
        out.append(prep)
    return out
