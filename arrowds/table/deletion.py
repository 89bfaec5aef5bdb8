"""Deletion vectors as sorted, disjoint ``[start, stop)`` ranges of physical row offsets."""

from __future__ import annotations

import numpy as np

Ranges = tuple[tuple[int, int], ...]


def normalize(ranges: list[tuple[int, int]] | Ranges) -> Ranges:
    """Sort and merge overlapping or touching ranges; drop empty ones."""
    out: list[list[int]] = []
    for a, b in sorted((int(a), int(b)) for a, b in ranges if b > a):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return tuple((a, b) for a, b in out)


def from_offsets(offsets: np.ndarray) -> Ranges:
    """Ranges covering exactly the given offsets."""
    offs = np.unique(np.asarray(offsets, np.int64))
    if offs.size == 0:
        return ()
    breaks = np.flatnonzero(np.diff(offs) != 1) + 1
    starts = offs[np.r_[0, breaks]]
    stops = offs[np.r_[breaks - 1, offs.size - 1]] + 1
    return tuple(zip(starts.tolist(), stops.tolist()))


def union(a: Ranges, b: Ranges) -> Ranges:
    return normalize(list(a) + list(b))


def count(ranges: Ranges) -> int:
    return sum(b - a for a, b in ranges)


def keep_only(n: int, start: int, stop: int) -> Ranges:
    """The ranges that hide every row of ``[0, n)`` outside ``[start, stop)``."""
    return normalize([(0, start), (stop, n)])


def visible_offsets(n: int, ranges: Ranges) -> np.ndarray:
    """The physical offsets in ``[0, n)`` not covered by ``ranges``, ascending."""
    if not ranges:
        return np.arange(n, dtype=np.int64)
    keep = np.ones(n, bool)
    for a, b in ranges:
        keep[a:b] = False
    return np.flatnonzero(keep).astype(np.int64)
