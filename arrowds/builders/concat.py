"""``ConcatView``: rows of several dataset views one after the other (``split="train+test"``).

A small read-only object, not a ``Dataset``: it supports ``len``, iteration over rows,
``view[i]`` (that row, as a one-row ``Dataset`` view of its part), ``view[a:b]`` (a
``ConcatView`` again), ``view["tensor"]`` (a ``ConcatTensor`` with ``len`` and ``numpy()``) and
``numpy()``. ``parts`` gives the underlying views for anything else (loaders, SQL).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np


class ConcatView:
    """Read-only concatenation of dataset views (see the module docstring)."""

    def __init__(self, parts: list[Any]):
        self.parts = list(parts)
        self._starts = np.cumsum([0] + [len(p) for p in self.parts])

    def __len__(self) -> int:
        return int(self._starts[-1])

    def __repr__(self) -> str:
        return f"ConcatView({len(self.parts)} parts, {len(self)} rows)"

    @property
    def tensors(self) -> dict[str, ConcatTensor]:
        names = list(self.parts[0].tensors) if self.parts else []
        return {n: self[n] for n in names}

    def _locate(self, i: int) -> tuple[int, int]:
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"index {i} out of range for a ConcatView of {n} rows")
        i %= n
        k = int(np.searchsorted(self._starts, i, side="right") - 1)
        return k, i - int(self._starts[k])

    def __getitem__(self, item: Any) -> Any:
        if isinstance(item, str):
            return ConcatTensor([p[item] for p in self.parts])
        if isinstance(item, (int, np.integer)):
            k, j = self._locate(int(item))
            return self.parts[k][j]
        if isinstance(item, slice):
            start, stop, step = item.indices(len(self))
            if step != 1:
                raise ValueError("ConcatView slices take no step")
            out = []
            for k, p in enumerate(self.parts):
                a, b = int(self._starts[k]), int(self._starts[k + 1])
                lo, hi = max(start, a), min(stop, b)
                if lo < hi:
                    out.append(p[lo - a:hi - a])
            return ConcatView(out)
        raise TypeError(f"ConcatView takes an int, a slice or a tensor name, not {type(item).__name__}")

    def __getattr__(self, name: str) -> ConcatTensor:
        if name.startswith("_") or not self.parts or name not in self.parts[0].tensors:
            raise AttributeError(name)
        return self[name]

    def __iter__(self) -> Iterator[Any]:
        for p in self.parts:
            yield from p

    def numpy(self, aslist: bool = False) -> dict[str, Any]:
        """Every tensor as ``{name: array}`` (lists with ``aslist=True``)."""
        return {n: t.numpy(aslist=aslist) for n, t in self.tensors.items()}


class ConcatTensor:
    """One tensor across the parts of a ``ConcatView``."""

    def __init__(self, parts: list[Any]):
        self.parts = parts

    def __len__(self) -> int:
        return sum(len(p) for p in self.parts)

    def numpy(self, aslist: bool = False) -> Any:
        got = [p.numpy(aslist=aslist) for p in self.parts]
        if aslist:
            return [x for g in got for x in g]
        return np.concatenate(got) if got else np.zeros(0)
