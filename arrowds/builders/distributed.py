"""Build a split on Ray (``arrowds build --ray``, ``download_and_prepare(scheduler="ray")``).

The same split a local build writes (same rows, same order, same stored bytes), made by Ray tasks:

1. **Generate and encode (map).** A split given as :class:`~arrowds.builders.Shards` runs each
   shard's generator in its own Ray task (a streaming task that encodes its examples in batches
   and yields each batch's table and order columns), so reading the upstream files is spread
   too. Any other generator runs in the driver (generators do not travel), which hands its
   examples in batches of ``BATCH_EXAMPLES`` (a ``RecordBatch`` alone) to encoding tasks.
   Encoding is the local build's own code (``SplitWriter``: features' ``encode_example`` /
   ``encode_arrow``, TFDS key hashing); the encoded tables stay in Ray's object store (spilled to
   disk by Ray when it fills) and only the order columns come to the driver.
2. **Order.** The driver numbers the examples in generation order (shard after shard; keyless
   record batches take their running index as key, as locally), holds 32 bytes per example,
   finds duplicate keys and computes the final order exactly as ``SplitWriter.finalize`` does.
3. **Write (reduce).** The final order is cut into contiguous ranges of about ``RANGE_BYTES``
   (at least one per worker). Each range is one input of an ``@ads.compute`` transform run with
   the ``"ray"`` scheduler: a task gathers its rows from the encoded tables and writes them as
   fragments straight into the split's dataset, and the driver appends every range's fragments
   in order and publishes once, all or nothing.

The version folder is still built aside and renamed into place by the builder, so a failed
distributed build leaves nothing, like a local one; the folder must be on a file system every
Ray node sees (one machine, or a shared mount). A builder module that Ray workers cannot import
(a folder imported by path) is sent to them by value.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from arrowds import media
from arrowds.builders.builder import Shards, _limited, yielded
from arrowds.builders.features import FeaturesDict
from arrowds.builders.info import SplitInfo
from arrowds.builders.writer import SplitWriter, hash_key, normalize_key
from arrowds.dataset.encoded import Encoded
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
        shape_col = f"_{name}_shape"  # SplitWriter's name for a leaf's shape column
        shapes = rows.column(shape_col).combine_chunks() if shape_col in rows.column_names else None
        samples_out[name].extend(_as_samples(leaf.encoded(rows.column(name).combine_chunks(), shapes)))


def _as_samples(enc: Encoded) -> Any:
    """Stored columns back as what ``samples_out`` takes: file bytes as ``ads.read`` samples
    (kept as they are on write), numbers as arrays, strings as they are."""
    if enc.layout == "blob":
        return [media.read(b, compression=enc.compression) for b in enc.data.to_pylist()]
    if enc.layout in ("scalar", "fixed"):
        flat = (enc.data if enc.layout == "scalar" else enc.data.flatten()).to_numpy(zero_copy_only=False)
        return flat.reshape((len(enc.data), *(enc.shape or ())))
    if enc.layout == "list":
        flat = enc.data.flatten().to_numpy(zero_copy_only=False)
        offsets = enc.data.offsets.to_numpy()
        dims = enc.shapes.flatten().to_numpy().reshape(len(enc.data), -1)
        return [flat[offsets[k]:offsets[k + 1]].reshape(dims[k]) for k in range(len(enc.data))]
    return enc.data.to_pylist()  # text, strlist


def write_split(ds: Any, features: FeaturesDict, split: str, examples: Iterable[Any], *,
                shuffle: bool, ignore_duplicates: bool, limit: int | None, progress: Any,
                ray_address: str | None = None, num_workers: int | None = None) -> SplitInfo:
    """Write ``examples`` (what ``_generate_examples`` yields, or :class:`Shards`) into the empty
    split dataset ``ds`` on Ray, publishing once; returns the split's info. See the module
    docstring."""
    ray = connect_ray(ray_address)
    workers = num_workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
    for leaf in features.leaves.values():  # a builder's own feature classes travel by value too
        _pickle_by_value(ray, type(leaf))
    if isinstance(examples, Shards) and limit is None:
        metas, tables, num_skipped = _generate_shards(ray, examples, features, split, shuffle,
                                                      workers, progress)
    else:  # max_examples_per_split counts across shards: generate in order, here
        metas, tables, num_skipped = _generate_here(ray, examples, features, split, shuffle, limit,
                                                    workers, progress)
    if not tables:
        return SplitInfo(split, num_examples=0, num_skipped=num_skipped)
    order, batch_of, offsets = _final_order(ray, metas, tables, split, shuffle, ignore_duplicates)
    total = int(sum(int(m["bytes"][0]) for m in metas))
    ranges = _ranges(tables, batch_of[order], offsets[order], total, workers)
    try:
        _write_range(features=features).eval(ranges, ds, num_workers=min(workers, len(ranges)),
                                             scheduler="ray", progressbar=False,
                                             ray_address=ray_address)
    except TransformError as e:
        raise BuilderError(f"writing split {split!r} on Ray failed: {e}") from e
    return SplitInfo(split, num_examples=int(order.size), num_skipped=num_skipped)


def _items(examples: Iterable[Any], split: str) -> Iterator[tuple[str, Any]]:
    """``builder.yielded``, with each key checked at its example (a bad key fails there)."""
    for kind, item in yielded(examples, split):
        if kind == "example":
            normalize_key(item[0])
        yield kind, item


def _batches(examples: Iterable[Any], split: str, counts: list[int]) -> Iterator[list[Any] | pa.RecordBatch]:
    """Examples grouped into encoding batches (BATCH_EXAMPLES or BATCH_BYTES; a RecordBatch
    alone); ``counts[0]`` counts the skipped ones."""
    batch: list[Any] = []
    nbytes = 0
    for kind, item in _items(examples, split):
        if kind == "skip":
            counts[0] += 1
        elif kind == "batch":
            if batch:
                yield batch
                batch, nbytes = [], 0
            if item.num_rows:
                yield item
        else:
            batch.append(item)
            nbytes += _approx_bytes(item[1])
            if len(batch) >= BATCH_EXAMPLES or nbytes >= BATCH_BYTES:
                yield batch
                batch, nbytes = [], 0
    if batch:
        yield batch


def _generate_here(ray: Any, examples: Iterable[Any], features: FeaturesDict, split: str,
                   shuffle: bool, limit: int | None, workers: int,
                   progress: Any) -> tuple[list[dict[str, np.ndarray]], list[Any], int]:
    """Run the generator in the driver and encode its batches in Ray tasks (at most two per
    worker in flight); returns each batch's order columns and table ref, and the skipped count."""
    encode = ray.remote(num_cpus=1, num_returns=2, max_retries=0)(_encode)
    features_ref = ray.put(features)
    tables: list[Any] = []
    got: dict[int, dict[str, np.ndarray]] = {}
    inflight: list[tuple[int, Any]] = []
    skipped = [0]
    count = 0

    def drain(at_least: int) -> None:
        done, _ = ray.wait([m for _, m in inflight], num_returns=min(at_least, len(inflight)))
        ready = set(done)
        for b, m in [x for x in inflight if x[1] in ready]:
            got[b] = _get(ray, m, split)
            progress.update(int(got[b][_SEQ].size))
        inflight[:] = [x for x in inflight if x[1] not in ready]

    try:
        for items in _batches(_limited(examples, limit), split, skipped):
            meta, table = encode.remote(features_ref, split, shuffle, count, items)
            inflight.append((len(tables), meta))
            tables.append(table)
            count += items.num_rows if isinstance(items, pa.RecordBatch) else len(items)
            while len(inflight) > 2 * workers:
                drain(1)
        while inflight:
            drain(len(inflight))
    except BaseException:
        for _, m in inflight:
            ray.cancel(m, force=True)
        raise
    return [got[b] for b in range(len(tables))], tables, skipped[0]


def _shard_task(shards: Shards, k: int, features: FeaturesDict, split: str,
                shuffle: bool) -> Iterator[Any]:
    """Ray generator task: run shard ``k`` and encode it batch by batch; yields each batch's
    table, then its order columns (numbered from 0 within the shard, with which rows take their
    order or key from that number), and last the number of skipped examples."""
    counts = [0]
    first = 0
    for items in _batches(shards.fn(**shards.shards[k]), split, counts):
        meta, table = _encode(features, split, shuffle, first, items)
        if isinstance(items, pa.RecordBatch):
            n = items.num_rows
            keyless = np.full(n, "__key__" not in items.schema.names)
            keys = items.column("__key__").to_pylist() if not keyless.all() else range(first, first + n)
        else:
            n = len(items)
            keyless = np.zeros(n, bool)
            keys = [key for key, _ in items]
        meta["by_count"] = np.array([keyless[j] or not _int_key(key) for j, key in enumerate(keys)], bool)
        meta["keyless"] = keyless
        first += n
        yield table
        yield meta
    yield counts[0]


def _int_key(key: Any) -> bool:
    """Whether SplitWriter orders this key by its value (an int key) rather than by its number."""
    return isinstance(key, (int, np.integer)) and not isinstance(key, bool) and -(1 << 63) <= key < 1 << 63


def _generate_shards(ray: Any, shards: Shards, features: FeaturesDict, split: str, shuffle: bool,
                     workers: int, progress: Any) -> tuple[list[dict[str, np.ndarray]], list[Any], int]:
    """Generate and encode every shard in its own Ray task (at most two per worker at once),
    then number the examples in generation order (shard by shard) as a local build does."""
    _pickle_by_value(ray, shards.fn)
    task = ray.remote(num_cpus=1, num_returns="streaming", max_retries=0)(_shard_task)
    shards_ref, features_ref = ray.put(shards), ray.put(features)
    running = [task.remote(shards_ref, k, features_ref, split, shuffle)
               for k in range(min(len(shards), 2 * workers))]
    metas: list[dict[str, np.ndarray]] = []
    tables: list[Any] = []
    skipped = count = 0
    try:
        for k in range(len(shards)):
            gen = running[k]
            refs = list(_drain_generator(ray, gen, split))
            if len(running) < len(shards):  # keep two shards per worker going
                running.append(task.remote(shards_ref, len(running), features_ref, split, shuffle))
            skipped += _get(ray, refs[-1], split)
            start = count  # the shard's first example in generation order
            for t in range(0, len(refs) - 1, 2):
                meta = _get(ray, refs[t + 1], split)
                n = int(meta[_SEQ].size)
                meta[_SEQ] = meta[_SEQ] + start
                meta[_ORDER] = np.where(meta["by_count"], meta[_SEQ], meta[_ORDER])
                meta[_HI], meta[_LO] = meta[_HI].copy(), meta[_LO].copy()  # ray.get gives read-only
                for j in np.flatnonzero(meta["keyless"]):  # keyless batch: the running index is the key
                    h = hash_key(split, int(meta[_SEQ][j]))
                    meta[_HI][j], meta[_LO][j] = h >> 64, h & 0xFFFFFFFFFFFFFFFF
                metas.append(meta)
                tables.append(refs[t])
                count += n
                progress.update(n)
    except BaseException:
        for gen in running:
            try:
                ray.cancel(gen, force=True)
            except Exception:  # noqa: BLE001 - a finished task cannot be cancelled; nothing to do
                pass
        raise
    return metas, tables, skipped


def _pickle_by_value(ray: Any, fn: Any) -> None:
    """Send the builder's module to the workers by value: a builder folder imported by path
    (``arrowds build ./my_ds``) is not importable there. Installed packages go by reference."""
    module = sys.modules.get(getattr(fn, "__module__", None) or "")
    path = getattr(module, "__file__", None)
    if module is None or module.__name__.split(".")[0] == "arrowds" or not path:
        return
    if any(part in ("site-packages", "dist-packages") for part in Path(path).parts):
        return
    ray.cloudpickle.register_pickle_by_value(module)


def _drain_generator(ray: Any, gen: Any, split: str) -> Iterator[Any]:
    """The object refs a streaming task yields (its error, raised as a local build would)."""
    while True:
        try:
            ref = next(gen)
        except StopIteration:
            return
        except ray.exceptions.RayError as e:
            _raise_task_error(ray, e, split)
        yield ref


def _get(ray: Any, ref: Any, split: str) -> Any:
    """A task's result; an encoding error comes back as the error the local build raises."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayError as e:
        _raise_task_error(ray, e, split)


def _raise_task_error(ray: Any, e: BaseException, split: str) -> None:
    cause = getattr(e, "cause", None)
    if isinstance(e, ray.exceptions.RayTaskError) and isinstance(cause, Exception):
        raise cause from None
    raise BuilderError(f"a Ray task generating or encoding examples of split {split!r} failed: "
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
