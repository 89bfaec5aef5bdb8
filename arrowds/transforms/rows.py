"""``sample_in`` for a dataset input: the row view ``ds[i]``, with ``.numpy()`` served from
blocks read ahead.

Reading one sample of a numeric or text column goes through pyarrow's row-group reader
(~0.2 ms of fixed cost each), which dominated transforms over datasets. A worker walks its
slice in order, so :class:`Prefetcher` reads each tensor ``BLOCK`` rows at a time with the
batch read path (one row-group read per block, media as stored bytes) and a row's
``tensor.numpy()``, ``.tobytes()`` and ``.text()`` take their value from there (decoding media
only for ``.numpy()``). Everything else (``.shape``, ``.info``, sub-indexing...) is delegated to
the real view, so ``sample_in`` behaves like ``ds[i]``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from arrowds import media
from arrowds.dataset import read
from arrowds.dataset.dataset import Dataset

#: Rows of a tensor read at once: media and arrays, and one-value samples (labels, text), whose
#: reads cost mostly their fixed overhead.
BLOCK = 64
SMALL_BLOCK = 1024
_FAST = ("scalar", "fixed", "list", "blob", "text")


class Prefetcher:
    """Stored values of ``ds``'s tensors at ``positions``, read a block at a time."""

    def __init__(self, ds: Dataset, positions: np.ndarray):
        self.ds = ds
        self.positions = positions
        self.blocks: dict[str, tuple[int, Any]] = {}  # full tensor name -> (first slot, values)
        self.specs = {s.name: s for s in ds._core.manifest.tensors}  # the pinned version's specs
        self.names: dict[tuple[str, str], tuple[str, bool]] = {}  # (group, name) -> (full, is tensor)
        self.decoders: dict[str, Any] = {}  # full name -> decode(stored bytes, slot) of a blob tensor

    def decoder(self, full: str) -> Any:
        """``decode(data, slot)`` for a media tensor: when every stored sample has one shape (the
        version's shape bounds say so), the codec's :meth:`~arrowds.media.Codec.decode_shaped`
        (no codec lookup or header walk per sample); anything else, or data that does not give
        that shape, goes through ``read.decode`` and its named errors."""
        got = self.decoders.get(full)
        if got is not None:
            return got
        spec, positions = self.specs[full], self.positions
        shape = read.uniform_shape(spec)
        shaped = media.get_codec(spec.sample_compression).decode_shaped

        def slow(data: Any, slot: int) -> np.ndarray:
            return read.decode(spec, data, int(positions[slot]))

        def fast(data: Any, slot: int) -> np.ndarray:
            arr = shaped(data, shape)
            return arr if arr is not None else slow(data, slot)

        got = self.decoders[full] = fast if shape is not None and spec.dtype in (None, "uint8") else slow
        return got

    def row(self, slot: int) -> RowView:
        return RowView(self, slot, self.ds._group)

    def value(self, full: str, slot: int) -> Any:
        got = self.blocks.get(full)
        if got is None or not got[0] <= slot < got[0] + len(got[1]):
            core = self.ds._core
            spec = self.specs[full]
            small = spec.layout == "scalar" or spec.layout == "text"
            pos = self.positions[slot: slot + (SMALL_BLOCK if small else BLOCK)]
            if spec.layout == "blob" or spec.layout == "text":
                values: Any = read.read_values(core, spec, pos)
            else:
                values = read.read_numeric(core, spec, pos)
            got = self.blocks[full] = (slot, values)
        return got[1][slot - got[0]]


class RowView:
    """One input row of a dataset (what ``ds[i]`` is), reading through a :class:`Prefetcher`.

    >>> sample_in.images.numpy(), sample_in["labels"].numpy()   # doctest: +SKIP
    """

    __slots__ = ("_pf", "_slot", "_group")

    def __init__(self, prefetcher: Prefetcher, slot: int, group: str):
        self._pf, self._slot, self._group = prefetcher, slot, group

    @property
    def view(self) -> Dataset:
        """The plain row view ``ds[i]``."""
        pf = self._pf
        return Dataset(pf.ds._core, pf.ds._index, self._group)[int(pf.positions[self._slot])]

    def __getitem__(self, name: str) -> Any:
        pf = self._pf
        got = pf.names.get((self._group, name))
        if got is None:
            full = f"{self._group}/{name.strip('/')}" if self._group else name.strip("/")
            if full in pf.specs:
                got = (full, True)
            elif any(n.startswith(full + "/") for n in pf.ds._core.manifest.tensor_names):
                got = (full, False)
            else:
                return self.view[name]  # raises TensorDoesNotExistError
            pf.names[(self._group, name)] = got
        return RowTensor(self, got[0]) if got[1] else RowView(pf, self._slot, got[0])

    def __getattr__(self, name: str) -> Any:
        got = self._pf.names.get((self._group, name))
        if got is not None and got[1]:  # a tensor seen before: the per-input path
            return RowTensor(self, got[0])
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            return getattr(self.view, name)

    def __len__(self) -> int:
        return 1

    def __repr__(self) -> str:
        return f"RowView({self.view!r})"


class RowTensor:
    """``sample_in.<tensor>``: ``.numpy()`` from the prefetched block, the rest from ``ds[i].<tensor>``."""

    __slots__ = ("_row", "_full")

    def __init__(self, row: RowView, full: str):
        self._row, self._full = row, full

    @property
    def tensor(self) -> Any:
        pf = self._row._pf
        return Dataset(pf.ds._core, pf.ds._index)[self._full][int(pf.positions[self._row._slot])]

    def numpy(self, aslist: bool = False, fetch_chunks: bool = False, *,
              min_size: int | tuple[int, int] | None = None) -> Any:
        pf = self._row._pf
        spec = pf.specs[self._full]
        if spec.layout not in _FAST:
            return self.tensor.numpy(aslist=aslist, min_size=min_size)
        value = pf.value(self._full, self._row._slot)
        if spec.layout == "blob":
            if min_size is None:
                return pf.decoder(self._full)(value, self._row._slot)
            return read.decode(spec, value, int(pf.positions[self._row._slot]), read.min_size_of(min_size))
        if spec.layout == "text":
            return np.array([value])
        return value

    def tobytes(self) -> bytes:
        """The stored bytes of a media sample (from the prefetched block)."""
        pf = self._row._pf
        if pf.specs[self._full].layout != "blob":
            return self.tensor.tobytes()  # raises: no compressed media
        return pf.value(self._full, self._row._slot)

    def text(self) -> str:
        """A text sample (from the prefetched block)."""
        pf = self._row._pf
        if pf.specs[self._full].layout != "text":
            return self.tensor.text()  # raises: not a text tensor
        return pf.value(self._full, self._row._slot)

    def __getitem__(self, item: Any) -> Any:
        return self.tensor[item]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.tensor, name)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        arr = np.asarray(self.numpy())
        return arr if dtype is None else arr.astype(dtype)

    def __repr__(self) -> str:
        return f"RowTensor({self._full!r}, row {int(self._row._pf.positions[self._row._slot])})"
