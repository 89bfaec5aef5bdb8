"""Build a split on Ray (``arrowds build --ray``, ``download_and_prepare(scheduler="ray")``).

The same split a local build writes (same rows, same order), made by Ray tasks:

1. **Encode (map).** The driver runs the builder's generator (generators do not travel) and
   hands its examples, in batches of ``BATCH_EXAMPLES`` (a ``RecordBatch`` is a batch of its
   own), to Ray tasks. Each task encodes its batch with the local build's own code
   (``SplitWriter``: features' ``encode_example``/``encode_arrow``, TFDS key hashing, running
   indices as keys of keyless record batches) and returns a small array of order keys to the
   driver; the encoded Arrow table stays in Ray's object store (spilled to disk by Ray when it
   fills).
2. **Order.** The driver holds 32 bytes per example (128-bit key hash, order key, generation
   index), finds duplicate keys and computes the final order exactly as ``SplitWriter.finalize``
   does (ascending md5 of split + key, or key/generation order with ``disable_shuffling``).
3. **Write (reduce).** The final order is cut into contiguous ranges of about ``RANGE_BYTES``
   (at least one per worker). Each range is one input of an ``@ads.compute`` transform run with
   the ``"ray"`` scheduler: a task gathers its rows from the encoded tables and writes them as
   fragments straight into the split's dataset, and the driver appends every range's fragments
   in order and publishes once, all or nothing.

The version folder is still built aside and renamed into place by the builder, so a failed
distributed build leaves nothing, like a local one; the folder must be on a file system every
Ray node sees (one machine, or a shared mount).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from typing import Any

import numpy as np
import pyarrow as pa

from arrowds.builders.builder import Skip, _limited
from arrowds.builders.features import FeaturesDict
from arrowds.builders.info import SplitInfo
from arrowds.builders.writer import SplitWriter, normalize_key
from arrowds.errors import BuilderError, DuplicateKeysError, TransformError
from arrowds.transforms.compute import compute
from arrowds.transforms.schedulers import connect_ray

#: Examples handed to one encoding task (fewer when they hold more than BATCH_BYTES).
BATCH_EXAMPLES = 1024
BATCH_BYTES = 16 << 20
#: Encoded bytes written by one range of the final order (one transform input).
RANGE_BYTES = 64 << 20
_HI, _LO, _ORDER, _SEQ, _KEY = "__hash_hi", "__hash_lo", "__order", "__seq", "__key"
_META = (_HI, _LO, _ORDER, _SEQ, _KEY)


class _BatchEncoder(SplitWriter):
    """A ``SplitWriter`` that stops before sorting: it encodes one batch of examples, numbered
    from ``first`` (the batch's place in generation order), and returns them as one table."""

    def __init__(self, features: FeaturesDict, split: str, spill_dir: str, shuffle: bool, first: int):
        super().__init__(None, features, split, spill_dir, shuffle=shuffle, run_bytes=1 << 62)
        self._count = first

    def table(self) -> pa.Table:
        self._encode_pending()
        self.close()
        self._seal_batch()
        return pa.Table.from_batches(self._run)


def _encode(features: FeaturesDict, split: str, shuffle: bool, first: int,
            items: list[Any] | pa.RecordBatch) -> tuple[dict[str, np.ndarray], pa.Table]:
    """Ray task: encode one batch; returns the order columns (for the driver) and the table."""
    with tempfile.TemporaryDirectory(prefix="arrowds-encode-") as spill:
        enc = _BatchEncoder(features, split, spill, shuffle, first)
        if isinstance(items, pa.RecordBatch):
            enc.add_batch(items)
        else:
            for key, example in items:
                enc.add(key, example)
        table = enc.table()
    meta = {k: table.column(k).to_numpy() for k in (_HI, _LO, _ORDER, _SEQ)}
    meta["bytes"] = np.array([table.nbytes], np.int64)
    return meta, table


class _Range:
    """One contiguous piece of the final order: rows ``offsets[k]`` of table ``batch_of[k]``."""

    def __init__(self, tables: list[Any], batch_of: np.ndarray, offsets: np.ndarray):
        self.tables = tables  # ObjectRefs of the encoded tables this range reads
        self.batch_of, self.offsets = batch_of, offsets


@compute
def _write_range(rng: _Range, samples_out: Any, features: FeaturesDict) -> None:
    """Reduce: gather one range's encoded rows in final order and emit them as samples."""
    import ray

    tables = ray.get(rng.tables)
    pieces, base, at = [], np.zeros(len(tables), np.int64), 0
    for t, table in enumerate(tables):
        offs = rng.offsets[rng.batch_of == t]
        if not len(offs):
            continue
        lo, hi = int(offs.min()), int(offs.max()) + 1
        pieces.append(table.slice(lo, hi - lo))
        base[t] = at - lo
        at += hi - lo
    rows = pa.concat_tables(pieces).take(pa.array(rng.offsets + base[rng.batch_of]))
    for name, leaf in features.leaves.items():
        samples_out[name].extend(leaf.from_arrow(rows.column(name).combine_chunks()))


def write_split(ds: Any, features: FeaturesDict, split: str, examples: Iterable[Any], *,
                shuffle: bool, ignore_duplicates: bool, limit: int | None, progress: Any,
                ray_address: str | None = None, num_workers: int | None = None) -> SplitInfo:
    """Write ``examples`` (what ``_generate_examples`` yields) into the empty split dataset
    ``ds`` on Ray, publishing once; returns the split's info. See the module docstring."""
    ray = connect_ray(ray_address)
    workers = num_workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
    encode = ray.remote(num_cpus=1, num_returns=2, max_retries=0)(_encode)
    features_ref = ray.put(features)
    metas: dict[int, Any] = {}  # batch number -> meta ref, until fetched
    tables: list[Any] = []
    got: dict[int, dict[str, np.ndarray]] = {}
    inflight: list[tuple[int, Any]] = []
    num_skipped = count = 0

    def submit(items: list[Any] | pa.RecordBatch, n: int) -> None:
        nonlocal count
        meta, table = encode.remote(features_ref, split, shuffle, count, items)
        metas[len(tables)] = meta
        inflight.append((len(tables), meta))
        tables.append(table)
        count += n
        while len(inflight) > 2 * workers:
            drain(1)

    def drain(at_least: int) -> None:
        done, _ = ray.wait([m for _, m in inflight], num_returns=min(at_least, len(inflight)))
        ready = set(done)
        for b, m in [x for x in inflight if x[1] in ready]:
            got[b] = _get(ray, m, split)
            progress.update(int(got[b][_SEQ].size))
        inflight[:] = [x for x in inflight if x[1] not in ready]

    try:
        batch: list[Any] = []
        nbytes = 0
        for item in _limited(examples, limit):
            if isinstance(item, pa.RecordBatch):
                if batch:
                    submit(batch, len(batch))
                    batch, nbytes = [], 0
                if item.num_rows:
                    submit(item, item.num_rows)
                continue
            try:
                key, example = item
            except (TypeError, ValueError):
                raise BuilderError(f"split {split!r}: _generate_examples must yield (key, example) or "
                                   f"pyarrow.RecordBatch, got {type(item).__name__}") from None
            if isinstance(example, Skip):
                num_skipped += 1
                continue
            normalize_key(key)  # a bad key fails here, at its example
            batch.append((key, example))
            nbytes += _approx_bytes(example)
            if len(batch) >= BATCH_EXAMPLES or nbytes >= BATCH_BYTES:
                submit(batch, len(batch))
                batch, nbytes = [], 0
        if batch:
            submit(batch, len(batch))
        while inflight:
            drain(len(inflight))
    except BaseException:
        for _, m in inflight:
            ray.cancel(m, force=True)
        raise
    if not tables:
        return SplitInfo(split, num_examples=0, num_skipped=num_skipped)
    metas_in_order = [got[b] for b in range(len(tables))]
    order, batch_of, offsets = _final_order(ray, metas_in_order, tables, split, shuffle,
                                            ignore_duplicates)
    total = int(sum(int(m["bytes"][0]) for m in metas_in_order))
    ranges = _ranges(tables, batch_of[order], offsets[order], total, workers)
    try:
        _write_range(features=features).eval(ranges, ds, num_workers=min(workers, len(ranges)),
                                             scheduler="ray", progressbar=False,
                                             ray_address=ray_address)
    except TransformError as e:
        raise BuilderError(f"writing split {split!r} on Ray failed: {e}") from e
    return SplitInfo(split, num_examples=int(order.size), num_skipped=num_skipped)


def _get(ray: Any, ref: Any, split: str) -> Any:
    """A task's result; an encoding error comes back as the error the local build raises."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as e:
        cause = getattr(e, "cause", None)
        if isinstance(cause, Exception):
            raise cause from None
        raise BuilderError(f"encoding examples of split {split!r} on Ray failed: {e}") from e
    except ray.exceptions.RayError as e:
        raise BuilderError(f"a Ray task encoding examples of split {split!r} failed: "
                           f"{type(e).__name__}: {str(e).strip()[:500]}") from e


def _final_order(ray: Any, metas: list[dict[str, np.ndarray]], tables: list[Any], split: str,
                 shuffle: bool, ignore_duplicates: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The final order (indices into the concatenated batches, duplicates dropped), and each
    example's batch and row in its table (``SplitWriter.finalize``'s ordering)."""
    hi = np.concatenate([m[_HI] for m in metas])
    lo = np.concatenate([m[_LO] for m in metas])
    seq = np.concatenate([m[_SEQ] for m in metas])
    sizes = [m[_SEQ].size for m in metas]
    batch_of = np.repeat(np.arange(len(metas)), sizes)
    offsets = np.concatenate([np.arange(n) for n in sizes])
    by_hash = np.lexsort((seq, lo, hi))
    same = (hi[by_hash][1:] == hi[by_hash][:-1]) & (lo[by_hash][1:] == lo[by_hash][:-1])
    keep = None
    if same.any():
        if not ignore_duplicates:
            k = int(np.argmax(same))
            first, second = (_key_at(ray, tables, int(batch_of[g]), int(offsets[g]))
                             for g in (by_hash[k], by_hash[k + 1]))
            raise DuplicateKeysError(split, first, second, int(same.sum()))
        keep = np.ones(hi.size, bool)
        keep[by_hash[1:][same]] = False
    if shuffle:
        order = np.lexsort((lo, hi))
    else:
        order = np.argsort(np.concatenate([m[_ORDER] for m in metas]), kind="stable")
    if keep is not None:
        order = order[keep[order]]
    return order, batch_of, offsets


def _key_at(ray: Any, tables: list[Any], b: int, row: int) -> str:
    return ray.get(tables[b]).column(_KEY)[row].as_py()


def _ranges(tables: list[Any], batch_of: np.ndarray, offsets: np.ndarray, total_bytes: int,
            workers: int) -> list[_Range]:
    """Cut the final order into contiguous ranges of about RANGE_BYTES, at least one per worker."""
    n = batch_of.size
    count = max(1, min(n, max(workers, -(-total_bytes // RANGE_BYTES))))
    bounds = np.linspace(0, n, count + 1).round().astype(int)
    out = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        if b <= a:
            continue
        used = np.unique(batch_of[a:b])
        local = np.searchsorted(used, batch_of[a:b])
        out.append(_Range([tables[int(t)] for t in used], local, offsets[a:b]))
    return out


def _approx_bytes(example: Any) -> int:
    if isinstance(example, dict):
        return sum(_approx_bytes(v) for v in example.values())
    if isinstance(example, np.ndarray):
        return example.nbytes
    if isinstance(example, (bytes, str)):
        return len(example)
    return 8


__all__ = ["write_split"]
