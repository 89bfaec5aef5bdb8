"""Reusable shared-memory slots for the batches DataLoader workers hand to the main process.

PyTorch's own hand-over puts every tensor of every batch in a fresh shared-memory segment:
the worker faults in (and the kernel zero-fills) new pages for each batch, and the main
process receives a new file descriptor for each tensor (through ``multiprocessing``'s
resource sharer: a socket connection and an HMAC handshake per tensor). For a 3 MiB image
batch that is most of the cost above the decode itself.

Here each worker owns one *arena*: a shared segment cut into a few fixed-size *slots*, each
holding one batch. A worker decodes into (or copies into) a free slot and sends a small
:class:`Packed` record with the offsets of the batch's arrays in it; the arena itself goes
to the main process once, with the first batch. The main process rebuilds the batch as
tensors (or NumPy arrays) over the slot. The slot is reused only once every tensor of that
batch, and every view of one, is gone: each rebuilt batch holds a :class:`_Lease` whose
finaliser marks the slot free in the arena's header, which the worker reads before picking a
slot. A worker that finds no free slot (the user kept the batches) falls back to PyTorch's
hand-over, so keeping batches is always safe.

Slot flags: ``0`` free, ``1`` written by the worker or in the main process's hands; the
worker sets 1 before it writes, the main process sets 0 after the last reader is gone.
"""

from __future__ import annotations

import functools
import itertools
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from arrowds._optional import import_optional

torch = import_optional("torch", extra="torch", purpose="ds.pytorch()")

__all__ = ["Packed", "SlotReader", "SlotWriter"]

_HEADER = 4096  # the slot flags; the slots start page-aligned after it
_ALIGN = 64
_MAX_SLOT_BYTES = 256 << 20  # bigger batches use PyTorch's hand-over
_SLACK = 64 << 10
_tokens = itertools.count()


@dataclass(frozen=True)
class _InSlot:
    """Where one array of a batch lies in its slot (replaces the array in the sent batch)."""

    offset: int
    nbytes: int
    shape: tuple[int, ...]
    dtype: Any  # a torch.dtype for tensors, a np.dtype for arrays
    tensor: bool


@dataclass(frozen=True)
class Packed:
    """A batch as a worker sends it: its structure with the arrays in ``slot`` replaced by
    :class:`_InSlot` records; ``arena`` travels with the first batch of each arena only."""

    token: tuple[int, int, int]  # (pid, writer, arena number)
    slot: int
    payload: Any
    arena: Any = None


def _round(n: int, to: int) -> int:
    return -(-n // to) * to


def _placeable(obj: Any) -> bool:
    if type(obj) is torch.Tensor:
        return (obj.device.type == "cpu" and obj.layout == torch.strided and not obj.requires_grad
                and not obj.is_quantized)
    return type(obj) is np.ndarray and obj.dtype.kind in "biufc"


def _nbytes(obj: Any) -> int:
    return obj.numel() * obj.element_size() if isinstance(obj, torch.Tensor) else obj.nbytes


def _map(obj: Any, leaf: Any) -> Any:
    """``obj`` with ``leaf`` applied to everything that is not a dict, list, tuple or
    namedtuple (those are rebuilt, the way PyTorch's collate and pin_memory walk a batch)."""
    if type(obj) is dict:
        return {k: _map(v, leaf) for k, v in obj.items()}
    if type(obj) is list:
        return [_map(v, leaf) for v in obj]
    if type(obj) is tuple:
        return tuple(_map(v, leaf) for v in obj)
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # a namedtuple
        return type(obj)(*(_map(v, leaf) for v in obj))
    return leaf(obj)


def _sizes(obj: Any) -> int:
    """Bytes (with alignment) that the arrays of a batch take in a slot."""
    sizes: list[int] = []
    _map(obj, lambda o: sizes.append(_round(_nbytes(o), _ALIGN)) if _placeable(o) else None)
    return sum(sizes)


class SlotWriter:
    """A DataLoader worker's side: picks a free slot per batch, gives out room in it for
    arrays a batch decodes into (:meth:`alloc`), and packs the finished batch (:meth:`pack`).
    The arena is made with the first batch, its slots sized from that batch (1.5x), and made
    again, bigger, for a batch that does not fit."""

    def __init__(self, slots: int):
        if slots < 1:
            raise ValueError(f"slots must be at least 1, got {slots}")
        self.slots = slots
        self._writer = (os.getpid(), next(_tokens))
        self.token: tuple[int, int, int] | None = None  # which arena a batch is in
        self.arena: Any = None  # a uint8 tensor over the shared segment
        self._bytes: np.ndarray | None = None  # the same memory as NumPy
        self._flags: np.ndarray | None = None
        self._slot_bytes = 0
        self._slot: int | None = None  # the slot of the batch being made
        self._used = 0
        self._sent = False

    def begin(self) -> None:
        """Start a batch: take a free slot if there is one."""
        self._slot, self._used = None, 0
        if self._flags is not None:
            free = np.flatnonzero(self._flags == 0)
            if free.size:
                self._slot = int(free[0])
                self._flags[self._slot] = 1

    def _room(self, nbytes: int) -> int | None:
        """Offset (in the arena) of ``nbytes`` more bytes in this batch's slot, or None."""
        if self._slot is None or self._used + nbytes > self._slot_bytes:
            return None
        off = _HEADER + self._slot * self._slot_bytes + self._used
        self._used += _round(nbytes, _ALIGN)
        return off

    def alloc(self, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        """An uninitialised array for this batch: in its slot when there is room, else in
        ordinary memory (:meth:`pack` then copies it into the slot, or leaves it to PyTorch)."""
        dtype = np.dtype(dtype)
        nbytes = int(np.prod(shape)) * dtype.itemsize
        off = self._room(nbytes)
        if off is None or self._bytes is None:
            return np.empty(shape, dtype)
        return self._bytes[off:off + nbytes].view(dtype).reshape(shape)

    def pack(self, batch: Any) -> Any:
        """The batch to send: a :class:`Packed` when it went into a slot, else ``batch``
        unchanged (PyTorch's own hand-over)."""
        if self.arena is None or _sizes(batch) > self._slot_bytes:
            # the first batch, or one bigger than a slot (samples of varying shapes): a new
            # arena with slots that fit it; the main process keeps the old one while any of
            # its batches lives (arrays this batch decoded into it are copied over)
            if not self._make_arena(batch):
                if self._slot is not None and self._flags is not None:
                    self._flags[self._slot] = 0  # not used: free it again
                    self._slot = None
                return batch
            self.begin()
        if self._slot is None:
            return batch
        payload = self._place(batch)
        arena = None if self._sent else self.arena
        self._sent = True
        slot, self._slot = self._slot, None
        return Packed(self.token, slot, payload, arena)

    def _make_arena(self, batch: Any) -> bool:
        need = _sizes(batch)
        if need == 0:
            return False
        slot_bytes = _round(need + need // 2 + _SLACK, 4096)
        new_shared = getattr(torch.UntypedStorage, "_new_shared", None)  # private: may go away
        if slot_bytes > _MAX_SLOT_BYTES or new_shared is None:
            return False
        if self._flags is not None and self._slot is not None:
            self._flags[self._slot] = 0  # the slot begin() took in the old arena goes unused
        storage = new_shared(_HEADER + self.slots * slot_bytes)
        self.token, self._sent = (*self._writer, next(_tokens)), False
        self.arena = torch.empty(0, dtype=torch.uint8).set_(storage)
        self._bytes = self.arena.numpy()
        self._flags = self._bytes[:self.slots]
        self._flags[:] = 0
        self._slot_bytes = slot_bytes
        return True

    def _place(self, batch: Any) -> Any:
        return _map(batch, lambda o: self._place_array(o) if _placeable(o) else o)

    def _place_array(self, obj: Any) -> Any:
        assert self._bytes is not None
        nbytes = _nbytes(obj)
        is_tensor = isinstance(obj, torch.Tensor)
        ptr = obj.data_ptr() if is_tensor else obj.ctypes.data
        start = self._bytes.ctypes.data + _HEADER + self._slot * self._slot_bytes
        contiguous = obj.is_contiguous() if is_tensor else obj.flags.c_contiguous
        if contiguous and start <= ptr and ptr + nbytes <= start + self._slot_bytes:
            off = ptr - self._bytes.ctypes.data  # decoded in place: nothing to copy
        else:
            off = self._room(nbytes)
            if off is None:
                return obj
            dst = self._bytes[off:off + nbytes]
            if is_tensor:
                torch.from_numpy(dst).view(obj.dtype).view(obj.shape).copy_(obj)
            else:
                np.copyto(dst.view(obj.dtype).reshape(obj.shape), obj)
        return _InSlot(off, nbytes, tuple(obj.shape), obj.dtype, is_tensor)


class _Lease:
    """The memory of one slot, lent to the arrays of one batch; frees the slot when the last
    of them is gone (NumPy keeps it as their base; ``torch.from_numpy`` keeps the array)."""

    def __init__(self, arena: Any, flags: np.ndarray, slot: int):
        self.arena, self.flags, self.slot = arena, flags, slot  # the arena outlives the lease
        self.__array_interface__ = {"shape": (arena.numel(),), "typestr": "|u1", "version": 3,
                                    "data": (arena.data_ptr(), False)}

    def __del__(self) -> None:
        self.flags[self.slot] = 0


class SlotReader:
    """The main process's side: rebuilds packed batches over the arenas' memory."""

    def __init__(self) -> None:
        self._arenas: dict[tuple[int, int, int], tuple[Any, np.ndarray]] = {}
        self.packed = 0  # batches rebuilt from slots (for tests and benchmarks)

    def close(self) -> None:
        """Forget the arenas (the end of a pass); batches still held keep theirs mapped."""
        self._arenas.clear()

    def unpack(self, packed: Packed) -> Any:
        """The batch, its arrays over the slot's memory."""
        if packed.arena is not None:
            writer = packed.token[:2]
            for old in [t for t in self._arenas if t[:2] == writer]:
                # a worker's batches come in the order it made them: none of the older
                # arena's is still to come (those already out keep it mapped)
                del self._arenas[old]
            self._arenas[packed.token] = (packed.arena, packed.arena.numpy()[:_HEADER])
        if packed.token not in self._arenas:
            raise RuntimeError(f"a batch from arena {packed.token} arrived before the arena itself")
        arena, flags = self._arenas[packed.token]
        self.packed += 1
        # one lease per batch: no reference cycles here, so the slot frees as soon as the
        # batch's last array goes (a cycle would wait for the garbage collector)
        memory = np.asarray(_Lease(arena, flags, packed.slot))
        return _map(packed.payload, functools.partial(_restore, memory))


def _restore(memory: np.ndarray, obj: Any) -> Any:
    if type(obj) is not _InSlot:
        return obj
    raw = memory[obj.offset:obj.offset + obj.nbytes]
    if obj.tensor:
        return torch.from_numpy(raw).view(obj.dtype).view(obj.shape)
    return raw.view(obj.dtype).reshape(obj.shape)
