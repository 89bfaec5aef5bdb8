"""Write one split: examples stream in, are encoded and spilled to disk in sorted runs, then
merged into an arrowds dataset in their final order, with bounded memory.

Order. With shuffling (the default) the stored order is ascending
``int(md5(split_name + key_bytes).hexdigest(), 16)``, TFDS's order, so it depends only on the
split name and the keys, never on generation order or machine. With ``disable_shuffling`` it
is ascending key when the key is an int, else generation order (TFDS).

Memory. Encoded examples are batched into Arrow record batches and collected into a *run* of
at most ``run_bytes``; a full run is sorted by the order key and written as an Arrow IPC file of
small record batches. Per example only its 128-bit hash, its order key and its run are kept in
memory (32 bytes). At the end one ``lexsort`` of those gives the final order; since every run is
sorted by the same key, each run is then read front to back, one small record batch at a time,
while output chunks of ``chunk_bytes`` are assembled and appended with
``dataset.encoded.extend_encoded``. Peak memory is bounded by ``run_bytes`` + ``chunk_bytes`` + one
record batch per run + the dataset write buffer, whatever the number of examples.

Encoding once. The run files hold every tensor in its *stored* Arrow layout (the data column and,
for blobs and ragged arrays, the shape column; docs/format.md), made by the features when an
example is encoded, so the merged chunks go to the dataset's write buffer as Arrow arrays: the
dataset checks them with vectorised checks and never parses or re-validates a sample again.

Keys. Every key must be unique in its split: a duplicate raises ``DuplicateKeysError`` naming
both keys and the split (after generation, before anything is published), unless
``ignore_duplicates`` keeps the first example generated for each key.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from arrowds.builders.features import FeaturesDict, Image
from arrowds.builders.info import SplitInfo
from arrowds.dataset.encoded import Encoded, extend_encoded
from arrowds.errors import DuplicateKeysError

_HI, _LO, _ORDER, _SEQ, _KEY = "__hash_hi", "__hash_lo", "__order", "__seq", "__key"


def normalize_key(key: Any) -> bytes:
    """Key bytes as TFDS hashes them: int -> ``str(int)``; str -> UTF-8 with ``\\`` -> ``/``;
    a one-element ndarray -> its item."""
    if isinstance(key, np.ndarray):
        if key.size != 1:
            raise TypeError(f"an array key must hold one value, got shape {key.shape}")
        key = key.item()
    if isinstance(key, np.generic):
        key = key.item()
    if isinstance(key, bool):
        raise TypeError(f"keys may be str, bytes or int, not bool ({key!r})")
    if isinstance(key, int):
        return str(key).encode()
    if isinstance(key, bytes):
        return key
    if isinstance(key, str):
        return key.replace("\\", "/").encode("utf-8")
    raise TypeError(f"keys may be str, bytes, int or a one-element array, not {type(key).__name__}")


def hash_key(split: str, key: Any) -> int:
    """TFDS's 128-bit key hash: ``int(md5(split_name + key_bytes).hexdigest(), 16)``."""
    return int(hashlib.md5(split.encode() + normalize_key(key)).hexdigest(), 16)


class SplitWriter:
    """Collect one split's examples and write them as the arrowds dataset ``ds``.

    >>> w = SplitWriter(ds, features, "train", spill_dir)   # doctest: +SKIP
    >>> w.add("k1", {"label": 1}); info = w.finalize()       # doctest: +SKIP
    """

    def __init__(self, ds: Any, features: FeaturesDict, split: str, spill_dir: Path, *,
                 shuffle: bool = True, ignore_duplicates: bool = False,
                 run_bytes: int = 32 << 20, batch_bytes: int = 4 << 20, chunk_bytes: int = 8 << 20,
                 flush_bytes: int = 32 << 20, progress: Callable[[int], Any] | None = None,
                 encode_workers: int | None = None, encode_batch: int = 256):
        self.ds = ds
        self.features = features
        self.leaves = features.leaves
        self.split = split
        self.spill_dir = Path(spill_dir)
        self.spill_dir.mkdir(parents=True, exist_ok=True)
        self.shuffle = shuffle
        self.ignore_duplicates = ignore_duplicates
        self.run_bytes, self.batch_bytes = run_bytes, batch_bytes
        self.chunk_bytes, self.flush_bytes = chunk_bytes, flush_bytes
        self.progress = progress
        self.num_skipped = 0
        self._count = 0
        self._rows: dict[str, list[Any]] = {name: [] for name in self.leaves}
        self._meta: dict[str, list[Any]] = {_HI: [], _LO: [], _ORDER: [], _SEQ: [], _KEY: []}
        self._rows_bytes = 0
        self._formats: dict[str, str] = {}  # image tensors: the split's format (its first image's)
        self._shape_cols: dict[str, str] = {}  # tensors spilled with a shape column: its name
        self._run: list[pa.RecordBatch] = []
        self._run_nbytes = 0
        self._runs: list[_Run] = []
        self._total_bytes = 0
        # Encoding (PNG/JPEG compression) releases the GIL, so examples may be encoded in batches
        # by a few threads (``encode_workers``); results keep generation order and errors name
        # their example. Off by default: on 2 busy cores two threads were 2x slower than one.
        workers = encode_workers if encode_workers is not None else 1
        self._workers = workers
        self._pool = ThreadPoolExecutor(workers) if workers > 1 else None
        self._encode_batch = encode_batch
        self._raw: list[tuple[Any, bytes, Mapping[str, Any]]] = []
        self._prefix = split.encode()

    # -- input ---------------------------------------------------------------------------
    def add(self, key: Any, example: Mapping[str, Any]) -> None:
        """Queue one example; examples are encoded in batches (``_encode_pending``), raising
        ValueError naming the example and the feature if one does not fit."""
        self._raw.append((key, normalize_key(key), example))  # a bad key fails here, at its example
        if len(self._raw) >= self._encode_batch:
            self._encode_pending()

    def _encode_pending(self) -> None:
        raw, self._raw = self._raw, []
        if not raw:
            return
        encode = self.features.encode_cells
        if self._pool is not None and len(raw) > 1:
            # one task per worker, each a contiguous slice: per-example futures cost more than
            # a small image's encode
            n = self._workers
            step = -(-len(raw) // n)
            parts = self._pool.map(lambda part: [encode(ex) for _, _, ex in part],
                                   [raw[i:i + step] for i in range(0, len(raw), step)])
            encoded = [enc for part in parts for enc in part]
        else:
            encoded = [encode(ex) for _, _, ex in raw]
        rows = self._rows
        for (key, key_bytes, _), enc in zip(raw, encoded):
            for name, value in enc.items():
                rows[name].append(value)
                self._rows_bytes += _approx_size(value)
            self._add_meta(key, key_bytes)
        if self._rows_bytes >= self.batch_bytes:
            self._seal_batch()

    def close(self) -> None:
        """Stop the encoding threads (``finalize`` does it; call it when giving up)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def add_batch(self, batch: pa.RecordBatch) -> None:
        """Add a record batch whose columns are the features' tensors (``"a/b"`` names). A
        ``__key__`` column gives the keys; without one, the key is the running example index."""
        self._encode_pending()
        self._seal_batch()
        names = set(batch.schema.names) - {"__key__"}
        if names != set(self.leaves):
            raise ValueError(f"split {self.split!r}: record batch columns {sorted(names)} do not match "
                             f"the features {sorted(self.leaves)}")
        cols: dict[str, Encoded] = {}
        for name, leaf in self.leaves.items():
            try:
                cols[name] = leaf.encode_arrow(batch.column(name))
            except (ValueError, TypeError, pa.ArrowInvalid) as e:
                raise ValueError(f"Failed to encode record batch of split {self.split!r}\nIn "
                                 f"<{type(leaf).__name__}> with name {name!r}:\n{e}") from None
        keys = batch.column("__key__").to_pylist() if "__key__" in batch.schema.names else \
            list(range(self._count, self._count + batch.num_rows))
        for key in keys:
            self._add_meta(key)
        self._append_batch(cols)

    def skip(self) -> None:
        """Count one example the builder skipped as corrupt (recorded as ``num_skipped``)."""
        self.num_skipped += 1

    def _add_meta(self, key: Any, key_bytes: bytes | None = None) -> None:
        if key_bytes is None:
            key_bytes = normalize_key(key)
        h = int.from_bytes(hashlib.md5(self._prefix + key_bytes).digest(), "big")  # == hash_key
        self._meta[_HI].append(h >> 64)
        self._meta[_LO].append(h & 0xFFFFFFFFFFFFFFFF)
        if self.shuffle:
            order = 0
        elif isinstance(key, (int, np.integer)) and not isinstance(key, bool) and -(1 << 63) <= key < 1 << 63:
            order = int(key)
        else:
            order = self._count
        self._meta[_ORDER].append(order)
        self._meta[_SEQ].append(self._count)
        self._meta[_KEY].append(repr(key))
        self._count += 1
        if self.progress is not None:
            self.progress(1)

    def _seal_batch(self) -> None:
        if not self._meta[_SEQ]:
            return
        cols = {name: leaf.to_encoded(self._rows[name]) for name, leaf in self.leaves.items()}
        self._rows = {name: [] for name in self.leaves}
        self._rows_bytes = 0
        self._append_batch(cols)

    def _append_batch(self, encoded: dict[str, Encoded]) -> None:
        cols: dict[str, pa.Array] = {}
        for name, enc in encoded.items():
            leaf = self.leaves[name]
            if isinstance(leaf, Image) and enc.compression is not None:
                fmt = self._formats.setdefault(name, enc.compression)
                enc = leaf.with_format(enc, fmt)
            cols[name] = enc.data
            if enc.shapes is not None:
                self._shape_cols[name] = f"_{name}_shape"
                cols[f"_{name}_shape"] = enc.shapes
        meta = {
            _HI: pa.array(self._meta[_HI], pa.uint64()), _LO: pa.array(self._meta[_LO], pa.uint64()),
            _ORDER: pa.array(self._meta[_ORDER], pa.int64()), _SEQ: pa.array(self._meta[_SEQ], pa.int64()),
            _KEY: pa.array(self._meta[_KEY], pa.string()),
        }
        self._meta = {k: [] for k in self._meta}
        batch = pa.RecordBatch.from_pydict({**cols, **meta})
        self._run.append(batch)
        self._run_nbytes += batch.nbytes
        self._total_bytes += batch.nbytes
        if self._run_nbytes >= self.run_bytes:
            self._spill_run()

    def _spill_run(self) -> None:
        if not self._run:
            return
        table = pa.Table.from_batches(self._run)
        self._run, self._run_nbytes = [], 0
        hi = table.column(_HI).to_numpy()
        lo = table.column(_LO).to_numpy()
        order = table.column(_ORDER).to_numpy()
        perm = np.lexsort((lo, hi)) if self.shuffle else np.argsort(order, kind="stable")
        table = table.take(pa.array(perm)).combine_chunks()
        path = self.spill_dir / f"run-{len(self._runs):05d}.arrow"
        rows_per_batch = max(16, int(len(table) * (1 << 20) / max(1, table.nbytes)))  # ~1 MiB
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as w:
            for batch in table.to_batches(max_chunksize=rows_per_batch):
                w.write_batch(batch)
        bounds = np.append(np.arange(0, len(table), rows_per_batch), len(table))
        self._runs.append(_Run(path, bounds, hi[perm], lo[perm], order[perm],
                               table.column(_SEQ).to_numpy()))

    # -- output --------------------------------------------------------------------------
    def finalize(self) -> SplitInfo:
        """Check keys, write every example in its final order into the dataset, and commit."""
        self._encode_pending()
        self.close()
        self._seal_batch()
        self._spill_run()
        runs = self._runs
        n = sum(len(r) for r in runs)
        hi = _cat([r.hi for r in runs], np.uint64)
        lo = _cat([r.lo for r in runs], np.uint64)
        starts = np.cumsum([0] + [len(r) for r in runs])
        keep = self._check_duplicates(hi, lo, _cat([r.seq for r in runs], np.int64), starts)
        if self.shuffle:
            order = np.lexsort((lo, hi))
        else:
            order = np.argsort(_cat([r.order for r in runs], np.int64), kind="stable")
        if keep is not None:
            order = order[keep[order]]
        run_of = np.searchsorted(starts, order, side="right") - 1
        offset = order - starts[run_of]
        row_bytes = max(1, self._total_bytes // max(1, n))
        chunk = max(64, self.chunk_bytes // row_bytes)
        readers = [_RunReader(r) for r in runs]
        since_flush = 0
        with self.ds:
            for a in range(0, len(order), chunk):
                table = _gather(readers, run_of[a:a + chunk], offset[a:a + chunk])
                extend_encoded(self.ds, {name: self._encoded(table, name) for name in self.leaves})
                since_flush += table.nbytes
                if since_flush >= self.flush_bytes:
                    self.ds.flush()
                    since_flush = 0
        for r in readers:
            r.close()
        shutil.rmtree(self.spill_dir, ignore_errors=True)
        return SplitInfo(self.split, num_examples=len(order), num_skipped=self.num_skipped)

    def _encoded(self, table: pa.Table, name: str) -> Encoded:
        shape_col = self._shape_cols.get(name)
        shapes = table.column(shape_col).combine_chunks() if shape_col else None
        return self.leaves[name].encoded(table.column(name).combine_chunks(), shapes,
                                         self._formats.get(name))

    def _check_duplicates(self, hi: np.ndarray, lo: np.ndarray, seq: np.ndarray,
                          starts: np.ndarray) -> np.ndarray | None:
        """None when every key is unique; with ``ignore_duplicates`` a mask keeping the first
        generated example of each key; else DuplicateKeysError naming two of the keys."""
        by_hash = np.lexsort((seq, lo, hi))
        same = (hi[by_hash][1:] == hi[by_hash][:-1]) & (lo[by_hash][1:] == lo[by_hash][:-1])
        if not same.any():
            return None
        if not self.ignore_duplicates:
            k = int(np.argmax(same))
            first, second = (self._key_at(int(g), starts) for g in (by_hash[k], by_hash[k + 1]))
            raise DuplicateKeysError(self.split, first, second, int(same.sum()))
        keep = np.ones(len(hi), bool)
        keep[by_hash[1:][same]] = False
        return keep

    def _key_at(self, g: int, starts: np.ndarray) -> str:
        r = int(np.searchsorted(starts, g, side="right") - 1)
        reader = _RunReader(self._runs[r])
        try:
            return reader.read(g - int(starts[r]), g - int(starts[r]) + 1).column(_KEY)[0].as_py()
        finally:
            reader.close()


class _Run:
    """One sorted spill file and its keys, kept in memory for the final sort."""

    def __init__(self, path: Path, bounds: np.ndarray, hi: np.ndarray, lo: np.ndarray,
                 order: np.ndarray, seq: np.ndarray):
        self.path, self.bounds = path, bounds  # bounds: first row of each record batch, then the end
        self.hi, self.lo, self.order, self.seq = hi, lo, order, seq

    def __len__(self) -> int:
        return len(self.hi)


class _RunReader:
    """Reads row ranges of a spill file front to back, holding one record batch at a time."""

    def __init__(self, run: _Run):
        self._file = pa.OSFile(str(run.path), "rb")
        self._reader = pa.ipc.open_file(self._file)
        self._bounds = run.bounds
        self._cached: tuple[int, pa.RecordBatch] | None = None

    def _batch(self, i: int) -> pa.RecordBatch:
        if self._cached is None or self._cached[0] != i:
            self._cached = (i, self._reader.get_batch(i))
        return self._cached[1]

    def read(self, start: int, stop: int) -> pa.Table:
        """Rows ``[start, stop)``."""
        first = int(np.searchsorted(self._bounds, start, side="right") - 1)
        parts, i = [], first
        while i < len(self._bounds) - 1 and self._bounds[i] < stop:
            b = self._batch(i)
            lo = max(start - self._bounds[i], 0)
            hi = min(stop - self._bounds[i], b.num_rows)
            parts.append(b.slice(lo, hi - lo))
            i += 1
        return pa.Table.from_batches(parts)

    def close(self) -> None:
        self._file.close()


def _gather(readers: list[_RunReader], run_of: np.ndarray, offset: np.ndarray) -> pa.Table:
    """The rows ``(run_of[k], offset[k])`` in that order: each run's rows in a chunk come in
    increasing offsets, so one range read per run serves them."""
    pieces, base = [], {}
    at = 0
    for r in np.unique(run_of):
        offs = offset[run_of == r]
        lo, hi = int(offs.min()), int(offs.max()) + 1
        pieces.append(readers[r].read(lo, hi))
        base[int(r)] = at - lo
        at += hi - lo
    table = pa.concat_tables(pieces)
    locs = offset + np.array([base[int(r)] for r in run_of], np.int64) if len(run_of) else offset
    return table.take(pa.array(locs))


def _cat(arrays: list[np.ndarray], dtype: Any) -> np.ndarray:
    return np.concatenate(arrays) if arrays else np.zeros(0, dtype)


def _approx_size(value: Any) -> int:
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, (bytes, str)):
        return len(value)
    if isinstance(value, tuple):  # an image cell: (bytes, shape, format)
        return len(value[0])
    if isinstance(value, list):
        return 8 * len(value) + sum(len(v) for v in value if isinstance(v, str))
    return 8
