"""TensorSpec: the frozen, JSON-round-tripping description of one tensor."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

#: How a tensor's samples map onto Parquet columns (see docs/format.md):
#: scalar - one value per sample in a plain column; fixed - FixedSizeList of one shape;
#: list - flattened values in a large_list plus a shape column; blob - compressed file bytes
#: plus a shape column; text/json - a string column; strlist - list<string>; ragged - a list of
#: arrays of points with their own lengths (polygons) as list<list<fixed_size_list<d>>>.
LAYOUTS = ("scalar", "fixed", "list", "blob", "text", "json", "strlist", "ragged")


@dataclass(frozen=True)
class TensorSpec:
    """What is fixed about a tensor. ``layout``, ``dtype`` and ``ndim`` may be ``None`` until
    the first sample settles them; ``min_shape``/``max_shape`` bound every stored sample."""

    name: str
    htype: str
    dtype: str | None
    sample_compression: str | None = None
    chunk_compression: str | None = "zstd"
    layout: str | None = None
    ndim: int | None = None
    shape: tuple[int | None, ...] | None = None
    min_shape: tuple[int, ...] | None = None
    max_shape: tuple[int, ...] | None = None

    @property
    def column(self) -> str:
        """The Parquet column holding the samples (the tensor's name)."""
        return self.name

    @property
    def shape_column(self) -> str | None:
        """The companion column with each sample's shape, for layouts that need one."""
        return f"_{self.name}_shape" if self.layout in ("list", "blob") else None

    @property
    def columns(self) -> tuple[str, ...]:
        sc = self.shape_column
        return (self.column, sc) if sc else (self.column,)

    @property
    def settled(self) -> bool:
        return self.layout is not None

    def replace(self, **changes: Any) -> TensorSpec:
        return dataclasses.replace(self, **changes)

    def with_shape_bounds(self, lo: tuple[int, ...], hi: tuple[int, ...]) -> TensorSpec:
        """Widen min/max shape to cover ``lo``..``hi``."""
        if self.min_shape is None or len(self.min_shape) != len(lo):
            return self.replace(min_shape=tuple(lo), max_shape=tuple(hi))
        return self.replace(
            min_shape=tuple(min(a, b) for a, b in zip(self.min_shape, lo)),
            max_shape=tuple(max(a, b) for a, b in zip(self.max_shape, hi)),
        )

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        for k in ("shape", "min_shape", "max_shape"):
            if d[k] is not None:
                d[k] = list(d[k])
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TensorSpec:
        known = {f.name for f in dataclasses.fields(cls)}
        kw = {k: v for k, v in d.items() if k in known}
        for k in ("shape", "min_shape", "max_shape"):
            if kw.get(k) is not None:
                kw[k] = tuple(kw[k])
        return cls(**kw)
