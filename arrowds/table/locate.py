"""Map a version's row positions to (fragment, physical offset), from the manifest alone."""

from __future__ import annotations

import numpy as np

from arrowds.table.manifest import Fragment


class RowLocator:
    """Row position -> fragment and offset, with no data file read (FORMAT.md invariant 5)."""

    def __init__(self, fragments: tuple[Fragment, ...]):
        self.fragments = fragments
        counts = np.fromiter((f.visible for f in fragments), np.int64, len(fragments))
        self.starts = np.zeros(len(fragments) + 1, np.int64)
        np.cumsum(counts, out=self.starts[1:])
        self._offsets: dict[int, np.ndarray] = {}

    @property
    def num_rows(self) -> int:
        return int(self.starts[-1])

    def _visible(self, j: int) -> np.ndarray:
        offs = self._offsets.get(j)
        if offs is None:
            offs = self._offsets[j] = self.fragments[j].visible_offsets()
        return offs

    def locate(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Fragment index and physical offset of each position (positions must be in range)."""
        positions = np.asarray(positions, np.int64)
        frag = np.searchsorted(self.starts, positions, side="right") - 1
        local = positions - self.starts[frag]
        phys = local.copy()
        for j in np.unique(frag):
            f = self.fragments[j]
            if f.deleted:
                sel = frag == j
                phys[sel] = self._visible(int(j))[local[sel]]
        return frag, phys

    def groups(self, positions: np.ndarray) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """Positions grouped by fragment: ``(fragment index, output slots, physical offsets)``,
        in ascending fragment order, so callers read each fragment once."""
        frag, phys = self.locate(positions)
        if frag.size == 0:
            return []
        if frag.size == 1 or np.all(frag[1:] >= frag[:-1]):
            bounds = np.flatnonzero(np.diff(frag)) + 1
            slots = np.arange(frag.size)
            return [(int(frag[s[0]]), s, phys[s]) for s in np.split(slots, bounds)]
        order = np.argsort(frag, kind="stable")
        sf = frag[order]
        bounds = np.flatnonzero(np.diff(sf)) + 1
        return [(int(sf[s[0]]), order[s], phys[order[s]])
                for s in np.split(np.arange(sf.size), bounds)]

    def rowids(self, positions: np.ndarray) -> np.ndarray:
        frag, phys = self.locate(positions)
        out = np.empty(frag.size, np.int64)
        for j in np.unique(frag):
            sel = frag == j
            out[sel] = self.fragments[j].rowid_array()[phys[sel]]
        return out
