"""PyTorch loading: an ``IterableDataset`` over a pinned version, and a resumable DataLoader.

How an epoch is cut up (so that every sample appears exactly once across DataLoader workers
and ``torch.distributed`` ranks, and every rank yields the same number of batches):

* the view's row positions are split into *blocks*: runs of rows in one fragment row group
  (at most ``block_rows`` rows); with ``shuffle=True`` the blocks are permuted with ``seed``
  and the epoch, identically in every process, and laid end to end: the epoch's sequence;
* ranks get equal contiguous shares of that sequence, over rows rather than blocks, the way
  ``torch.utils.data.DistributedSampler`` shares indices: when the length does not divide by
  the world size, ``drop_last=False`` repeats the first few samples of the sequence so every
  rank has ``ceil(n / world_size)`` samples, and ``drop_last=True`` leaves out the last few
  so every rank has ``floor(n / world_size)``. Equal shares mean equal batch counts, which
  DistributedDataParallel needs (a rank with one batch more waits for the others forever);
* a rank's share is cut into pieces of ``batch_size`` rows (``block_rows`` without batching)
  dealt to its DataLoader workers in turn, so batches come out in sequence order without
  shuffle, and a rank yields ``ceil(share / batch_size)`` batches (``floor`` with
  ``drop_last``) whatever the number of workers; a *unit* is one (worker, rank) pair,
  numbered ``worker * world_size + rank``;
* each unit reads its pieces in order (the next one prefetched by a background thread), passes
  the rows through a bounded shuffle buffer of ``buffer_size`` samples, and then, a batch at a
  time, gathers the batch's rows with NumPy, decodes media straight from the read buffer (into
  one preallocated array when the stored shapes are equal), applies ``transform`` and
  collates, all in the worker; ``ds.pytorch()``'s workers hand batches over in reusable
  shared-memory slots (:mod:`arrowds.integrations.torch_slots`).

A unit's output order is a pure function of (seed, epoch, unit), computed from positions alone,
so resuming mid-epoch (``loader.load_state_dict(state)``) skips the samples already delivered
without reading or decoding them.
"""

from __future__ import annotations

import gc
import json
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa

from arrowds._optional import import_optional
from arrowds.dataset import read
from arrowds.dataset.core import DatasetCore
from arrowds.dataset.dataset import Dataset, dataset_length
from arrowds.errors import TensorDoesNotExistError
from arrowds.integrations.torch_slots import Packed, SlotReader, SlotWriter
from arrowds.storage import open_storage
from arrowds.table.manifest import Manifest

torch = import_optional("torch", extra="torch", purpose="ds.pytorch()")

__all__ = ["DataLoader", "IterableDataset", "LoaderOptions", "default_collate", "make_loader"]

DEFAULT_BUFFER_SIZE = 2048
DEFAULT_BLOCK_ROWS = 256
_READ_ROWS = 1024  # rows a unit reads at once (the next read is prefetched)

Transform = Callable[[Any], Any] | dict[str, Callable[[Any], Any] | None] | None


@dataclass(frozen=True)
class LoaderOptions:
    """What an :class:`IterableDataset` yields and in which order (one object instead of a
    dozen parameters; ``ds.pytorch()`` fills it from its keywords)."""

    tensors: tuple[str, ...] | None = None
    transform: Transform = None
    shuffle: bool = False
    seed: int | None = None
    buffer_size: int = DEFAULT_BUFFER_SIZE
    decode: bool = True
    #: jpeg decode hint: ``(height, width)`` (or an int) for every image tensor, or a dict
    #: ``{tensor: size}``; each image decodes at the smallest reduced scale keeping that size
    decode_min_size: Any = None
    return_index: bool = False
    batch_size: int | None = None  # None: yield samples (for a user's own DataLoader)
    drop_last: bool = False
    collate_fn: Callable[[list[Any]], Any] | None = None
    block_rows: int = DEFAULT_BLOCK_ROWS
    rank: int | None = None  # None: torch.distributed's rank when initialised, else 0
    world_size: int | None = None


@dataclass(frozen=True)
class _Source:
    """Everything a worker process needs to reopen the pinned version (no open handles:
    descriptors and pyarrow file objects do not survive a fork)."""

    url: str
    storage_options: dict[str, Any]
    branch: str
    manifest: Manifest


class _Tagged(NamedTuple):
    """A batch with the unit that made it and how many samples that unit has delivered."""

    unit: int
    consumed: int
    batch: Any


@dataclass
class _Cursor:
    """Epoch and per-unit progress: what ``state_dict()`` saves."""

    epoch: int = 0
    consumed: dict[int, int] = field(default_factory=dict)


class IterableDataset(torch.utils.data.IterableDataset):
    """A ``torch.utils.data.IterableDataset`` over a dataset or view, pinned to the version it
    was made from. Yields sample dicts ``{tensor: value}`` (plus ``"index"`` with
    ``return_index=True``), or whole collated batches when ``batch_size`` is set.

    >>> it = ds.torch_dataset(tensors=["images", "labels"], shuffle=True, seed=0)   # doctest: +SKIP
    >>> loader = torch.utils.data.DataLoader(it, batch_size=32, num_workers=2)    # doctest: +SKIP

    Samples are split between DataLoader workers and ``torch.distributed`` ranks, each once
    per epoch; ranks get equal shares (``len()`` is the same on every rank: with a length that
    does not divide by the world size, ``drop_last=False`` repeats the first few samples of the
    epoch and ``drop_last=True`` leaves the last few out, as ``DistributedSampler`` does). Call
    ``set_epoch(e)`` for a new shuffle order each epoch (``ds.pytorch()``'s loader does this
    itself).
    """

    def __init__(self, ds: Dataset, options: LoaderOptions | None = None, **kw: Any):
        options = replace(options or LoaderOptions(), **kw)
        core = ds._core
        if core.dirty:
            if core.read_only or core.detached:
                raise ValueError(f"{ds.path}: the handle has unpublished changes; flush it first")
            ds.flush()
        rel = list(ds.tensors)
        names = list(options.tensors) if options.tensors is not None else rel
        for n in names:
            if n not in rel:
                raise TensorDoesNotExistError(n, rel)
        if isinstance(options.transform, dict):
            for n in options.transform:
                if n not in names:
                    raise TensorDoesNotExistError(n, names)
        sizes = options.decode_min_size
        for n, size in (sizes.items() if isinstance(sizes, dict) else [("every image", sizes)]):
            if isinstance(sizes, dict) and n not in names:
                raise TensorDoesNotExistError(n, names)
            read.min_size_of(size, f"decode_min_size for {n!r}")
        if options.shuffle and options.seed is None:
            options = replace(options, seed=int(torch.randint(0, 2**62, ()).item()))
        if options.buffer_size < 1 or options.block_rows < 1:
            raise ValueError("buffer_size and block_rows must be at least 1")
        rank, world = options.rank, options.world_size
        if rank is None or world is None:
            dist = torch.distributed
            on = dist.is_available() and dist.is_initialized()
            rank = rank if rank is not None else (dist.get_rank() if on else 0)
            world = world if world is not None else (dist.get_world_size() if on else 1)
        if not 0 <= rank < world:
            raise ValueError(f"rank {rank} is not in a world of {world}")
        self.options = replace(options, tensors=tuple(names), rank=rank, world_size=world)
        self._names = {n: ds._full(n) for n in names}
        self._source = _Source(ds.path, dict(getattr(core.storage.fs, "storage_options", {}) or {}),
                               core.branch, core.manifest)
        self._positions = ds._index.positions(dataset_length(core))
        self._blocks = self._make_blocks(core)
        self._cursor = _Cursor()
        self._opened: tuple[int, DatasetCore] | None = None
        #: set by arrowds' DataLoader, which takes batches tagged with their unit's progress
        #: (for ``state_dict()``), packed in this many shared-memory slots per worker (0:
        #: PyTorch's own hand-over); None: plain batches, for a user's own DataLoader
        self._slots: int | None = None
        _warm_pyarrow()

    # -- layout of an epoch ----------------------------------------------------------------
    def _make_blocks(self, core: DatasetCore) -> list[np.ndarray]:
        """Blocks of slots into ``self._positions``: runs of rows in one fragment row group, at
        most ``block_rows`` long (what a shuffle permutes, and what a unit reads at once)."""
        n = self._positions.size
        if n == 0:
            return []
        frag, phys = core.locator.locate(self._positions)
        rg = np.zeros_like(phys)
        for j in np.unique(frag).tolist():
            sel = frag == j
            rg[sel] = core.reader.layout(core.manifest.fragments[j].file).row_group_of(phys[sel])
        key = frag * (1 << 32) + rg
        cuts = np.flatnonzero(key[1:] != key[:-1]) + 1
        step = self.options.block_rows
        out = []
        for run in np.split(np.arange(n), cuts):
            out.extend(run[a:a + step] for a in range(0, run.size, step))
        return out

    def set_epoch(self, epoch: int) -> None:
        """Use ``epoch``'s shuffle order (and forget any resume point of another epoch)."""
        if epoch != self._cursor.epoch:
            self._cursor = _Cursor(epoch)

    def state_dict(self) -> dict[str, Any]:
        """Epoch and samples delivered so far (for iteration in this process)."""
        consumed = {str(k): v for k, v in self._cursor.consumed.items()}
        return {"epoch": self._cursor.epoch, "consumed": consumed, "seed": self.options.seed}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Resume at ``state``: the next iteration skips what was delivered."""
        if state.get("seed") != self.options.seed:
            self.options = replace(self.options, seed=state.get("seed"))
        self._cursor = _Cursor(int(state["epoch"]), {int(k): int(v) for k, v in state["consumed"].items()})

    def _worker(self) -> tuple[int, int]:
        """(this DataLoader worker, number of workers) for the calling process."""
        info = torch.utils.data.get_worker_info()
        return (info.id, info.num_workers) if info is not None else (0, 1)

    def _share(self) -> int:
        """Samples each rank gets per epoch (the same for every rank)."""
        n, world = self._positions.size, self.options.world_size
        return n // world if self.options.drop_last else -(-n // world)

    def _piece_rows(self) -> int:
        return self.options.batch_size or self.options.block_rows

    def _unit_sequence(self, worker: int, workers: int, epoch: int) -> list[np.ndarray]:
        """The slots a unit delivers this epoch, in reading order, cut into reads of
        ``_READ_ROWS`` rows (a few row groups each: pyarrow's cost is per call, and the
        media bytes of nearby rows come in one ranged read)."""
        blocks = self._blocks
        if not blocks:
            return []
        if self.options.shuffle:
            order = np.random.default_rng([self.options.seed, epoch]).permutation(len(blocks))
            blocks = [blocks[k] for k in order.tolist()]
        sequence = np.concatenate(blocks)
        share, world, rank = self._share(), self.options.world_size, self.options.rank
        if share * world != sequence.size:  # pad (repeat the first samples) or cut evenly
            sequence = np.resize(sequence, share * world)
        mine = sequence[rank * share:(rank + 1) * share]
        step = self._piece_rows()
        pieces = [mine[a:a + step] for a in range(worker * step, share, workers * step)]
        if not pieces:
            return []
        slots = np.concatenate(pieces)
        return [slots[a:a + _READ_ROWS] for a in range(0, slots.size, _READ_ROWS)]

    def _emission(self, sizes: list[int], unit: int, epoch: int) -> np.ndarray:
        """The order in which a unit emits its elements (0.. sum(sizes)-1, in block order
        before shuffling): a bounded shuffle buffer, simulated on element ids alone."""
        total = int(sum(sizes))
        if not self.options.shuffle:
            return np.arange(total)
        rng = np.random.default_rng([self.options.seed, epoch, unit, 1])
        cap = self.options.buffer_size
        draws = rng.random(total)
        buf: list[int] = []
        out = np.empty(total, np.int64)
        k = 0
        for e in range(total):
            if len(buf) < cap:
                buf.append(e)
                continue
            j = int(draws[e] * cap)
            out[k] = buf[j]
            buf[j] = e
            k += 1
        tail = np.asarray(buf, np.int64)
        rng.shuffle(tail)
        out[k:] = tail
        return out

    def __len__(self) -> int:
        """Samples (or batches, when batching) this rank yields per epoch: the same on every
        rank, whatever the number of DataLoader workers."""
        share, bs = self._share(), self.options.batch_size
        if bs is None:
            return share
        return share // bs if self.options.drop_last else -(-share // bs)

    # -- reading ---------------------------------------------------------------------------
    def _core(self) -> DatasetCore:
        """The pinned version, opened once per process."""
        if self._opened is None or self._opened[0] != os.getpid():
            src = self._source
            storage = open_storage(src.url, src.storage_options or None)
            self._opened = (os.getpid(), DatasetCore(storage, src.branch, None, src.manifest, read_only=True))
        return self._opened[1]

    def _read_block(self, core: DatasetCore, slots: np.ndarray) -> dict[str, Any]:
        """Stored values of the wanted tensors at the rows of ``slots`` (media still compressed,
        as views into one read), as columns: arrays with rows first, or lists. The stored
        shapes of media come along under ``(name, "shape")`` when decoding."""
        positions = self._positions[slots]
        out: dict[Any, Any] = {}
        for rel, full in self._names.items():
            spec = core.spec(full)
            if spec.layout is None:
                out[rel] = [np.zeros((0,), spec.dtype or "float64")] * positions.size
            elif spec.layout in ("scalar", "fixed", "list", "ragged"):
                out[rel] = read.read_numeric(core, spec, positions)
            elif spec.layout == "blob":
                out[rel] = read.read_blob_views(core, spec, positions)
                if self.options.decode and not read.uniform_shape(spec):
                    out[rel, "shape"] = read.read_shapes(core, spec, positions)
            else:
                out[rel] = read.read_values(core, spec, positions)
        return out

    def __iter__(self) -> Iterator[Any]:
        worker, workers = self._worker()
        unit = worker * self.options.world_size + self.options.rank
        cursor = self._cursor
        epoch, skip = cursor.epoch, cursor.consumed.get(unit, 0)
        core = self._core()
        pieces = self._unit_sequence(worker, workers, epoch)
        sizes = np.array([p.size for p in pieces], np.int64)
        order = self._emission(sizes.tolist(), unit, epoch)
        piece_of = np.repeat(np.arange(len(pieces)), sizes)
        starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        slot_of = np.concatenate(pieces) if pieces else np.zeros(0, np.int64)
        due = np.ones(order.size, bool)
        due[order[:skip]] = False  # delivered before a resume: never read
        ranks = np.concatenate([[0], np.cumsum(due)])
        row_of = ranks[:-1] - ranks[starts[piece_of]]  # element -> its row in its piece's read
        remaining = np.bincount(piece_of[order[skip:]], minlength=len(pieces))
        loaded: dict[int, dict[Any, Any]] = {}
        futures: dict[int, Future[dict[Any, Any]]] = {}
        next_piece = 0
        local = torch.utils.data.get_worker_info() is not None
        if local:
            _freeze_inherited()
        tagged = self._slots is not None
        writer = SlotWriter(self._slots) if local and self._slots and self.options.batch_size else None

        def load(p: int) -> dict[Any, Any]:
            return self._read_block(core, slot_of[starts[p]:starts[p + 1]][due[starts[p]:starts[p + 1]]])

        with ThreadPoolExecutor(1, thread_name_prefix="arrowds-prefetch") as pool:
            def request(p: int) -> None:
                if p < len(pieces) and p not in futures and p not in loaded and remaining[p]:
                    futures[p] = pool.submit(load, p)

            def gather(es: np.ndarray) -> dict[Any, Any]:
                """The stored columns of elements ``es`` (reading the pieces they are in)."""
                nonlocal next_piece
                of = piece_of[es]
                used = np.unique(of).tolist()
                while next_piece <= used[-1]:
                    request(next_piece)
                    next_piece += 1
                for p in used:
                    if p not in loaded:
                        loaded[p] = futures.pop(p).result()
                np.subtract.at(remaining, of, 1)
                nxt = next_piece
                while nxt < len(pieces) and not remaining[nxt]:
                    nxt += 1
                request(nxt)  # prefetch the next piece this unit will need
                rows = row_of[es]
                cols = {key: _take([loaded[p][key] for p in used], used, of, rows) for key in loaded[used[0]]}
                for p in used:
                    if not remaining[p]:
                        del loaded[p]
                return cols

            bs = self.options.batch_size
            rest = order[skip:]
            step = bs or self._piece_rows()
            emitted = skip
            for a in range(0, rest.size, step):
                es = rest[a:a + step]
                if bs is not None and es.size < bs and self.options.drop_last:
                    break
                if writer is not None:
                    writer.begin()
                out = self._finish(gather(es), self._positions[slot_of[es]], local, batch=bs is not None,
                                   alloc=writer.alloc if writer is not None else None)
                if bs is None:
                    for sample in out:
                        emitted += 1
                        self._note(unit, emitted, local)
                        yield sample
                else:
                    emitted += es.size
                    if not tagged:
                        yield out
                    else:
                        yield _Tagged(unit, emitted, writer.pack(out) if writer is not None else out)
        if not local:
            self._cursor = _Cursor(epoch + 1)

    def _note(self, unit: int, emitted: int, in_worker: bool) -> None:
        if not in_worker:
            self._cursor.consumed[unit] = emitted

    def _finish(self, cols: dict[Any, Any], positions: np.ndarray, in_worker: bool, batch: bool,
                alloc: Callable[[tuple[int, ...], np.dtype], np.ndarray] | None = None) -> Any:
        """Stored columns -> a collated batch (``batch``) or a list of samples: decode, add the
        index, apply the transform. Without a transform or collate_fn the columns become the
        batch directly (media decoded into arrays from ``alloc``, such as a worker's shared
        slot); sample dicts are made only for a transform or a collate_fn."""
        opt = self.options
        core = self._core()
        values: dict[str, Any] = {}
        columnar = batch and opt.transform is None and opt.collate_fn is None
        for rel, full in self._names.items():
            spec = core.spec(full)
            vals = cols[rel]
            if spec.layout == "blob":
                sizes = opt.decode_min_size
                min_size = read.min_size_of(sizes.get(rel) if isinstance(sizes, dict) else sizes,
                                            f"decode_min_size for {rel!r}")
                if opt.decode and min_size:  # reduced-size decodes do not fit a stored-shape batch
                    vals = (read.decode_many(spec, vals, positions, min_size) if not in_worker else
                            [read.decode(spec, v, p, min_size) for v, p in zip(vals, positions.tolist())])
                elif opt.decode:
                    # a batch made in a DataLoader worker decodes straight into shared memory:
                    # the hand-over to the main process then sends a handle, not a copy
                    made: list[Any] = []
                    into = (alloc or partial(_shared_array, made=made)) if in_worker and columnar else None
                    vals = read.decode_batch(spec, vals, positions, cols.get((rel, "shape")),
                                             parallel=not in_worker, alloc=into)
                    if made and made[0] is not None:
                        vals = made[0]
                else:
                    vals = [v if isinstance(v, bytes) else bytes(v) for v in vals]
            elif spec.layout == "json":
                vals = [json.loads(v) for v in vals]
            values[rel] = vals
        if opt.return_index:
            values["index"] = positions.astype(np.int64) if columnar else positions.tolist()
        if columnar:
            return {k: _column(v) for k, v in values.items()}
        keys = list(values)
        rows = zip(*values.values()) if keys else [()] * positions.size
        samples = [_apply(opt.transform, dict(zip(keys, row))) for row in rows]
        return self._collate(samples) if batch else samples

    def _collate(self, samples: list[Any]) -> Any:
        fn = self.options.collate_fn or default_collate
        return fn(samples)


_CONCAT_BYTES = 1 << 20

_FROZEN_IN: int | None = None


def _freeze_inherited() -> None:
    """In a DataLoader worker, move every object inherited from the parent (torch, pyarrow,
    the user's objects) to the garbage collector's permanent generation, once per process:
    its collections then walk only what the worker makes, instead of the whole inherited
    heap (whose walk also writes to, and so copies, the shared pages)."""
    global _FROZEN_IN
    if _FROZEN_IN != os.getpid():
        gc.freeze()
        _FROZEN_IN = os.getpid()


def _warm_pyarrow() -> None:
    """pyarrow imports pandas (when installed) the first time it converts to or from NumPy,
    ~0.1 s. Do it once in the process that makes the loader, so that the DataLoader workers
    forked from it every epoch inherit the import instead of each paying for it."""
    pa.array(np.zeros(1, np.int64)).to_numpy()


def _take(parts: list[Any], used: list[int], of: np.ndarray, rows: np.ndarray) -> Any:
    """Rows ``rows`` of pieces ``of`` (``parts[i]`` is piece ``used[i]``'s column): one array
    with NumPy when the column is an array, else a list."""
    first = parts[0]
    if isinstance(first, np.ndarray):
        if len(parts) == 1:
            return first[rows]
        if sum(part.nbytes for part in parts) <= _CONCAT_BYTES:  # small rows: one gather
            base = np.zeros(used[-1] + 1, np.int64)
            base[used] = np.cumsum([0] + [len(part) for part in parts[:-1]])
            return np.concatenate(parts)[base[of] + rows]
        return np.stack([parts[used.index(p)][r] for p, r in zip(of.tolist(), rows.tolist())])
    by_piece = dict(zip(used, parts))
    return [by_piece[p][r] for p, r in zip(of.tolist(), rows.tolist())]


def _shared_array(shape: tuple[int, ...], dtype: np.dtype, made: list[Any]) -> np.ndarray:
    """An uninitialised array in shared memory, for a batch column a DataLoader worker fills.
    Its tensor goes to ``made``: pickling that tensor to the main process sends a handle to
    the memory instead of copying it into a new shared segment (what torch's own
    ``default_collate`` does in workers). Dtypes that :func:`_column` would convert get plain
    memory (``None`` in ``made``)."""
    dtype = np.dtype(dtype)
    new_shared = getattr(torch.UntypedStorage, "_new_shared", None)  # private: may go away
    if new_shared is None or dtype.kind not in "biuf" or (dtype.kind == "u" and dtype.itemsize > 1):
        made.append(None)
        return np.empty(shape, dtype)
    tdtype = torch.from_numpy(np.empty(0, dtype)).dtype
    storage = new_shared(int(np.prod(shape)) * dtype.itemsize)
    tensor = torch.empty(0, dtype=tdtype).set_(storage, 0, shape)
    made.append(tensor)
    return tensor.numpy()


def _column(vals: Any) -> Any:
    """One column of a batch as ``default_collate`` would make it from its samples."""
    if isinstance(vals, torch.Tensor):  # decoded into shared memory already
        return vals
    if isinstance(vals, np.ndarray) and vals.dtype.kind in "biuf":
        if vals.dtype.kind == "u" and vals.dtype.itemsize > 1:
            vals = vals.astype(np.int64)
        return torch.from_numpy(vals)
    return _stack(list(vals)) if len(vals) else vals


def _apply(transform: Transform, sample: dict[str, Any]) -> Any:
    if transform is None:
        return sample
    if isinstance(transform, dict):
        for name, fn in transform.items():
            if fn is not None:
                sample[name] = fn(sample[name])
        return sample
    return transform(sample)


def default_collate(samples: list[Any]) -> Any:
    """Batch sample dicts: arrays of one shape are stacked into a tensor (unsigned integers
    wider than 8 bits become int64, which torch computes with), numbers become a tensor,
    anything else (str, bytes, arrays of different shapes) stays a list. Other samples
    (tuples from a transform, ...) go to ``torch.utils.data.default_collate``."""
    if not samples or not isinstance(samples[0], dict):
        return torch.utils.data.default_collate(samples)
    return {k: _stack([s[k] for s in samples]) for k in samples[0]}


def _stack(vals: list[Any]) -> Any:
    first = vals[0]
    if isinstance(first, torch.Tensor):
        if all(isinstance(v, torch.Tensor) and v.shape == first.shape for v in vals):
            return torch.stack(vals)
        return vals
    if isinstance(first, np.ndarray) and first.dtype.kind in "biuf":
        if all(isinstance(v, np.ndarray) and v.shape == first.shape and v.dtype == first.dtype for v in vals):
            arr = np.stack(vals)
            if arr.dtype.kind == "u" and arr.dtype.itemsize > 1:
                arr = arr.astype(np.int64)
            return torch.from_numpy(arr)
        return vals
    if isinstance(first, (bool, int, float, np.integer, np.floating)) and not isinstance(first, np.ndarray):
        if all(isinstance(v, (bool, int, float, np.integer, np.floating)) for v in vals):
            arr = np.asarray(vals)
            if arr.dtype.kind == "u":
                arr = arr.astype(np.int64)
            return torch.from_numpy(arr)
    return vals


def _identity(x: Any) -> Any:
    return x


class DataLoader(torch.utils.data.DataLoader):
    """A ``torch.utils.data.DataLoader`` over an :class:`IterableDataset` that batches in its
    workers, advances the shuffle epoch on every pass, and can resume mid-epoch:

    >>> loader = ds.pytorch(batch_size=32, shuffle=True, num_workers=2, seed=0)   # doctest: +SKIP
    >>> for step, batch in enumerate(loader):                                     # doctest: +SKIP
    ...     if step == 10: state = loader.state_dict(); break
    >>> loader.load_state_dict(state)   # the next pass delivers the rest of that epoch
    """

    def __init__(self, dataset: IterableDataset, num_workers: int = 0, **kw: Any):
        if dataset.options.batch_size is None:
            raise ValueError("arrowds' DataLoader needs an IterableDataset made with batch_size")
        if kw.get("persistent_workers"):
            raise ValueError("persistent_workers would keep the first epoch's order; leave it off")
        super().__init__(dataset, batch_size=None, num_workers=num_workers, collate_fn=_identity, **kw)
        self._cursor = _Cursor()
        self._resume: dict[int, int] = {}
        self._units = dataset.options.world_size * max(1, num_workers)
        self._slot_reader: SlotReader | None = None  # the last pass's (tests look at it)

    @property
    def epoch(self) -> int:
        """The epoch the next (or current) pass uses."""
        return self._cursor.epoch

    def set_epoch(self, epoch: int) -> None:
        self._cursor = _Cursor(epoch)
        self._resume = {}

    def __iter__(self) -> Iterator[Any]:  # type: ignore[override]
        ds: IterableDataset = self.dataset  # type: ignore[assignment]
        epoch = self._cursor.epoch
        ds._cursor = _Cursor(epoch, dict(self._resume))
        self._cursor = _Cursor(epoch, dict(self._resume))
        self._resume = {}
        # workers hand batches over in reusable shared slots (not with pinned memory: torch's
        # pinning thread would copy the slot records, not the batches)
        ds._slots = 0 if self.num_workers == 0 or self.pin_memory else (self.prefetch_factor or 2) + 3
        reader = self._slot_reader = SlotReader()
        try:
            for tagged in super().__iter__():
                self._cursor.consumed[tagged.unit] = tagged.consumed
                batch = tagged.batch
                yield reader.unpack(batch) if type(batch) is Packed else batch
        finally:
            reader.close()  # batches still held keep their own slots' memory
        self._cursor = _Cursor(epoch + 1)

    def state_dict(self) -> dict[str, Any]:
        """Where the loader is: the epoch and the samples each (rank, worker) unit delivered.
        JSON-serialisable."""
        ds: IterableDataset = self.dataset  # type: ignore[assignment]
        return {"epoch": self._cursor.epoch, "units": self._units, "seed": ds.options.seed,
                "rank": ds.options.rank,
                "consumed": {str(k): v for k, v in sorted(self._cursor.consumed.items())}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Make the next pass resume at ``state`` (same dataset, batch size, worker count and
        world size as when it was saved)."""
        ds: IterableDataset = self.dataset  # type: ignore[assignment]
        if int(state.get("units", self._units)) != self._units:
            raise ValueError(f"state was saved with {state['units']} (rank, worker) units; this loader "
                             f"has {self._units}: use the same num_workers and world size to resume")
        if state.get("seed") is not None and state["seed"] != ds.options.seed:
            ds.options = replace(ds.options, seed=state["seed"])
        self._cursor = _Cursor(int(state["epoch"]))
        self._resume = {int(k): int(v) for k, v in state.get("consumed", {}).items()}


def make_loader(ds: Dataset, *, batch_size: int = 1, shuffle: bool = False, num_workers: int = 0,
                transform: Transform = None, tensors: Sequence[str] | None = None, drop_last: bool = False,
                collate_fn: Callable[[list[Any]], Any] | None = None, seed: int | None = None,
                decode: bool = True, return_index: bool = False, buffer_size: int = DEFAULT_BUFFER_SIZE,
                **loader_kw: Any) -> DataLoader:
    """``ds.pytorch(...)``: see :meth:`arrowds.Dataset.pytorch`."""
    if batch_size is None or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    split = {k: loader_kw.pop(k) for k in ("rank", "world_size", "block_rows", "decode_min_size")
             if k in loader_kw}
    opts = LoaderOptions(tensors=tuple(tensors) if tensors is not None else None, transform=transform,
                         shuffle=shuffle, seed=seed, buffer_size=buffer_size, decode=decode,
                         return_index=return_index, batch_size=batch_size, drop_last=drop_last,
                         collate_fn=collate_fn, **split)
    return DataLoader(IterableDataset(ds, opts), num_workers=num_workers, **loader_kw)
