"""Lazy NumPy-like row selection, kept symbolic until a length resolves it (pure, no I/O).

An :class:`Index` is the chain of selections a view was made with (``ds[5:10][[1, 3]]``). It
resolves against the length the view sees *at read time*, so ``ds[5:]`` grows with ``ds``.
Semantics follow NumPy on a 1-D array: ints (negative from the end), slices with steps,
integer lists/arrays (repeats and any order allowed) and boolean masks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from arrowds.errors import SampleIndexError

Entry = int | slice | np.ndarray
Positions = range | np.ndarray


def normalize_entry(item: Any) -> Entry:
    """Turn a user index into an entry: int, slice, or int64 array (masks become positions
    later, once the length is known, so they stay boolean here)."""
    if isinstance(item, (bool, np.bool_)):
        raise TypeError(f"a boolean is not a valid index: {item!r}")
    if isinstance(item, (int, np.integer)):
        return int(item)
    if isinstance(item, slice):
        for part in (item.start, item.stop, item.step):
            if part is not None and not isinstance(part, (int, np.integer)):
                raise TypeError(f"slice bounds must be integers, got {item!r}")
        if item.step == 0:
            raise ValueError("slice step cannot be zero")
        return item
    if isinstance(item, range):
        return np.arange(item.start, item.stop, item.step, dtype=np.int64)
    arr = np.asarray(item)
    if arr.dtype == bool:
        if arr.ndim != 1:
            raise TypeError(f"a boolean mask must be 1-D, got shape {arr.shape}")
        return arr
    if arr.size == 0:
        return np.zeros(0, np.int64)
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"index must be an int, slice, or 1-D list of ints/bools; got {item!r}")
    return arr.astype(np.int64, copy=False)


def apply(current: Positions, entry: Entry, what: str = "dataset") -> Positions | int:
    """Select ``entry`` from ``current`` (the positions chosen so far)."""
    n = len(current)
    if isinstance(entry, int):
        i = entry + n if entry < 0 else entry
        if not 0 <= i < n:
            raise SampleIndexError(f"Index {entry} is out of range for {what} with length {n}")
        return int(current[i])
    if isinstance(entry, slice):
        return current[entry]
    if entry.dtype == bool:
        if entry.size != n:
            raise SampleIndexError(f"boolean mask of length {entry.size} does not match {what} "
                                   f"with length {n}")
        entry = np.flatnonzero(entry)
    bad = (entry < -n) | (entry >= n)
    if bad.any():
        raise SampleIndexError(
            f"Index {int(entry[np.argmax(bad)])} is out of range for {what} with length {n}")
    entry = np.where(entry < 0, entry + n, entry)
    if isinstance(current, range):
        return current.start + entry * current.step
    return current[entry]


@dataclass(frozen=True)
class Index:
    """A chain of selections; empty means "everything"."""

    entries: tuple[Entry, ...] = ()

    @property
    def is_scalar(self) -> bool:
        """Whether the chain ends in a single position (an int selection)."""
        return bool(self.entries) and isinstance(self.entries[-1], int)

    @property
    def is_full(self) -> bool:
        return not self.entries

    def __getitem__(self, item: Any) -> Index:
        if self.is_scalar:
            raise SampleIndexError("cannot index a single row further")
        return Index(self.entries + (normalize_entry(item),))

    def resolve(self, length: int, what: str = "dataset") -> Positions | int:
        """Positions selected out of ``range(length)``; an int when the index is scalar."""
        cur: Positions | int = range(length)
        for e in self.entries:
            cur = apply(cur, e, what)
        return cur

    def positions(self, length: int, what: str = "dataset") -> np.ndarray:
        """The selected positions as an int64 array (a scalar index gives one position)."""
        cur = self.resolve(length, what)
        if isinstance(cur, int):
            return np.array([cur], np.int64)
        if isinstance(cur, range):
            return np.arange(cur.start, cur.stop, cur.step, dtype=np.int64)
        return cur

    def length(self, length: int) -> int:
        cur = self.resolve(length)
        return 1 if isinstance(cur, int) else len(cur)

    def __repr__(self) -> str:
        def fmt(e: Entry) -> str:
            if isinstance(e, slice):
                return f"slice({e.start}, {e.stop}, {e.step})"
            if isinstance(e, np.ndarray):
                return repr(e.tolist()) if e.size <= 8 else f"[{e.size} positions]"
            return str(e)
        return f"Index([{', '.join(fmt(e) for e in self.entries)}])"
