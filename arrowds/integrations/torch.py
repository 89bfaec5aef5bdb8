"""PyTorch loading: an ``IterableDataset`` over a pinned version, and a resumable DataLoader.

How an epoch is cut up (so that every sample appears exactly once across DataLoader workers
and ``torch.distributed`` ranks):

* the view's row positions are split into *blocks*: runs of rows in one fragment row group
  (at most ``block_rows`` rows) when shuffling, or consecutive runs of ``batch_size`` rows
  when not (so that with several workers batches still come out in dataset order);
* with ``shuffle=True`` the blocks are permuted with ``seed`` and the epoch, identically in
  every process; block ``k`` then belongs to *unit* ``k % units``, where a unit is one
  (worker, rank) pair numbered ``worker * world_size + rank`` (so ranks get alternate blocks
  and differ by at most one block);
* each unit reads its blocks in order (the next one prefetched by a background thread),
  passes the rows through a bounded shuffle buffer of ``buffer_size`` samples, decodes media
  and applies ``transform`` in the worker, and collates batches there.

A unit's output order is a pure function of (seed, epoch, unit), computed from positions alone,
so resuming mid-epoch (``loader.load_state_dict(state)``) skips the samples already delivered
without reading or decoding them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

import numpy as np

from arrowds._optional import import_optional
from arrowds.dataset import read
from arrowds.dataset.core import DatasetCore
from arrowds.dataset.dataset import Dataset, dataset_length
from arrowds.errors import TensorDoesNotExistError
from arrowds.format import TensorSpec
from arrowds.storage import open_storage
from arrowds.table.manifest import Manifest

torch = import_optional("torch", extra="torch", purpose="ds.pytorch()")

__all__ = ["DataLoader", "IterableDataset", "LoaderOptions", "default_collate", "make_loader"]

DEFAULT_BUFFER_SIZE = 2048
DEFAULT_BLOCK_ROWS = 256

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
    per epoch; call ``set_epoch(e)`` for a new shuffle order each epoch (``ds.pytorch()``'s
    loader does this itself).
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
        self._num_workers = 1  # set by DataLoader; only used by __len__

    # -- layout of an epoch ----------------------------------------------------------------
    def _make_blocks(self, core: DatasetCore) -> list[np.ndarray]:
        """Blocks of slots into ``self._positions``."""
        n = self._positions.size
        opt = self.options
        if n == 0:
            return []
        if not opt.shuffle:
            step = opt.batch_size or opt.block_rows
            return [np.arange(a, min(a + step, n)) for a in range(0, n, step)]
        frag, phys = core.locator.locate(self._positions)
        rg = np.zeros_like(phys)
        for j in np.unique(frag).tolist():
            sel = frag == j
            rg[sel] = core.reader.layout(core.manifest.fragments[j].file).row_group_of(phys[sel])
        key = frag * (1 << 32) + rg
        cuts = np.flatnonzero(key[1:] != key[:-1]) + 1
        out = []
        for run in np.split(np.arange(n), cuts):
            out.extend(run[a:a + opt.block_rows] for a in range(0, run.size, opt.block_rows))
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

    def _units(self) -> tuple[int, int]:
        """(this unit, number of units) for the calling process."""
        info = torch.utils.data.get_worker_info()
        wid, nw = (info.id, info.num_workers) if info is not None else (0, 1)
        # consecutive blocks go to consecutive ranks, so ranks differ by at most one block
        return wid * self.options.world_size + self.options.rank, self.options.world_size * nw

    def _unit_blocks(self, unit: int, units: int, epoch: int) -> list[np.ndarray]:
        order = np.arange(len(self._blocks))
        if self.options.shuffle:
            order = np.random.default_rng([self.options.seed, epoch]).permutation(order)
        return [self._blocks[k] for k in order[unit::units].tolist()]

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

    def _unit_length(self, unit: int, units: int) -> int:
        return int(sum(self._blocks[k].size for k in range(unit, len(self._blocks), units)))

    def __len__(self) -> int:
        """Samples (or batches, when batching) this rank yields per epoch with the worker
        count its DataLoader uses."""
        nw = max(1, self._num_workers)
        units = self.options.world_size * nw
        world = self.options.world_size
        counts = [self._unit_length(w * world + self.options.rank, units) for w in range(nw)]
        bs = self.options.batch_size
        if bs is None:
            return sum(counts)
        if self.options.shuffle:
            return sum(c // bs if self.options.drop_last else -(-c // bs) for c in counts)
        return sum(counts) // bs if self.options.drop_last else -(-sum(counts) // bs)

    # -- reading ---------------------------------------------------------------------------
    def _core(self) -> DatasetCore:
        """The pinned version, opened once per process."""
        if self._opened is None or self._opened[0] != os.getpid():
            src = self._source
            storage = open_storage(src.url, src.storage_options or None)
            self._opened = (os.getpid(), DatasetCore(storage, src.branch, None, src.manifest, read_only=True))
        return self._opened[1]

    def _read_block(self, core: DatasetCore, slots: np.ndarray) -> dict[str, Any]:
        """Stored values of the wanted tensors at the block's rows (media still compressed)."""
        positions = self._positions[slots]
        out: dict[str, Any] = {}
        for rel, full in self._names.items():
            spec = core.spec(full)
            if spec.layout is None:
                out[rel] = [np.zeros((0,), spec.dtype or "float64")] * positions.size
            elif spec.layout in ("scalar", "fixed", "list", "ragged"):
                out[rel] = read.read_numeric(core, spec, positions)
            else:
                out[rel] = read.read_values(core, spec, positions)
        return out

    def __iter__(self) -> Iterator[Any]:
        unit, units = self._units()
        cursor = self._cursor
        epoch, skip = cursor.epoch, cursor.consumed.get(unit, 0)
        core = self._core()
        blocks = self._unit_blocks(unit, units, epoch)
        sizes = [b.size for b in blocks]
        order = self._emission(sizes, unit, epoch)
        block_of = np.repeat(np.arange(len(blocks)), sizes)
        starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        done = np.zeros(order.size, bool)
        done[order[:skip]] = True
        remaining = np.bincount(block_of[order[skip:]], minlength=len(blocks))
        loaded: dict[int, tuple[np.ndarray, dict[str, Any], np.ndarray]] = {}
        futures: dict[int, Future[tuple[np.ndarray, dict[str, Any], np.ndarray]]] = {}
        next_block = 0
        local = torch.utils.data.get_worker_info() is not None

        def load(b: int) -> tuple[np.ndarray, dict[str, Any], np.ndarray]:
            need = np.flatnonzero(~done[starts[b]:starts[b + 1]])  # offsets in the block still due
            where = np.full(starts[b + 1] - starts[b], -1, np.int64)  # block offset -> row read
            where[need] = np.arange(need.size)
            return need, self._read_block(core, blocks[b][need]), where

        with ThreadPoolExecutor(1, thread_name_prefix="arrowds-prefetch") as pool:
            def request(b: int) -> None:
                if b < len(blocks) and b not in futures and b not in loaded and remaining[b]:
                    futures[b] = pool.submit(load, b)

            def element(e: int) -> dict[str, Any]:
                nonlocal next_block
                b = int(block_of[e])
                if b not in loaded:
                    while next_block <= b:
                        request(next_block)
                        next_block += 1
                    loaded[b] = futures.pop(b).result()
                    nb = next_block
                    while nb < len(blocks) and not remaining[nb]:
                        nb += 1
                    request(nb)  # prefetch the next block this unit will need
                need, data, where = loaded[b]
                k = int(where[e - starts[b]])
                row = {name: vals[k] for name, vals in data.items()}
                remaining[b] -= 1
                if not remaining[b]:
                    del loaded[b]
                slot = int(blocks[b][need[k]])
                return {"_slot": slot, **row}

            bs = self.options.batch_size
            emitted = skip
            pending: list[dict[str, Any]] = []
            for e in order[skip:].tolist():
                pending.append(element(e))
                if bs is None:
                    emitted += 1
                    self._note(unit, emitted, local)
                    yield self._finish(pending, local)[0]
                    pending = []
                elif len(pending) == bs:
                    emitted += bs
                    yield _Tagged(unit, emitted, self._collate(self._finish(pending, local)))
                    pending = []
            if pending and bs is not None and not self.options.drop_last:
                emitted += len(pending)
                yield _Tagged(unit, emitted, self._collate(self._finish(pending, local)))
        if not local:
            self._cursor = _Cursor(epoch + 1)

    def _note(self, unit: int, emitted: int, in_worker: bool) -> None:
        if not in_worker:
            self._cursor.consumed[unit] = emitted

    def _finish(self, rows: list[dict[str, Any]], in_worker: bool) -> list[Any]:
        """Decode, add the index, apply the transform: stored rows -> samples."""
        opt = self.options
        slots = np.fromiter((r.pop("_slot") for r in rows), np.int64, len(rows))
        positions = self._positions[slots]
        core = self._core()
        for rel, full in self._names.items():
            spec = core.spec(full)
            vals = [r[rel] for r in rows]
            sizes = opt.decode_min_size
            hint = sizes.get(rel) if isinstance(sizes, dict) else sizes
            new = _values(spec, vals, positions, opt.decode, parallel=not in_worker,
                          min_size=read.min_size_of(hint, f"decode_min_size for {rel!r}"))
            for r, v in zip(rows, new):
                r[rel] = v
        out = []
        for r, p in zip(rows, positions.tolist()):
            if opt.return_index:
                r["index"] = p
            out.append(_apply(opt.transform, r))
        return out

    def _collate(self, samples: list[Any]) -> Any:
        fn = self.options.collate_fn or default_collate
        return fn(samples)


def _values(spec: TensorSpec, vals: list[Any], positions: np.ndarray, decode: bool,
            parallel: bool, min_size: tuple[int, int] | None = None) -> list[Any]:
    """Stored values -> sample values: decoded media, str, JSON values, lists of str."""
    layout = spec.layout
    if layout == "blob":
        if not decode:
            return vals
        if parallel:
            return read.decode_many(spec, vals, positions, min_size)
        return [read.decode(spec, v, p, min_size) for v, p in zip(vals, positions.tolist())]
    if layout == "json":
        return [json.loads(v) for v in vals]
    return vals


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
        dataset._num_workers = max(1, num_workers)
        self._cursor = _Cursor()
        self._resume: dict[int, int] = {}
        self._units = dataset.options.world_size * max(1, num_workers)

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
        for tagged in super().__iter__():
            self._cursor.consumed[tagged.unit] = tagged.consumed
            yield tagged.batch
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
