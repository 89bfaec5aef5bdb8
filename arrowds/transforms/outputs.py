"""``samples_out``: what a transform function appends its output samples to, and the rows a
pipeline stage hands to the next one.

A transform is ``fn(sample_in, samples_out, **kwargs)``. ``samples_out`` has the tensor names of
the target dataset (any names for an intermediate stage of ``ads.compose``) and collects zero,
one or many samples per input: ``samples_out.images.append(x)``, ``samples_out["boxes/xyxy"]
.extend(xs)``, ``samples_out.append({"images": x, "labels": 3})``. The samples are validated
later, in batches, against the target's tensor specs (``arrowds.dataset.samples.prepare``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from arrowds.errors import TensorDoesNotExistError


class TensorOut:
    """The samples one tensor received (``samples_out.<name>``)."""

    __slots__ = ("name", "values")

    def __init__(self, name: str):
        self.name = name
        self.values: list[Any] = []

    def append(self, sample: Any) -> None:
        """Add one sample."""
        self.values.append(sample)

    def extend(self, samples: Iterable[Any]) -> None:
        """Add several samples (a list, or an array whose first axis is the samples)."""
        self.values.extend(samples)

    def __len__(self) -> int:
        return len(self.values)

    def __repr__(self) -> str:
        return f"TensorOut({self.name!r}, {len(self.values)} samples)"


class SamplesOut:
    """Output samples of one transform stage, by tensor.

    ``names`` are the tensors allowed (the target dataset's, relative to its group); ``None``
    allows any name (intermediate stages of a pipeline).

    >>> out = SamplesOut(["images", "labels"])
    >>> out.labels.append(3); out.append({"images": np.zeros((2, 2, 3), np.uint8), "labels": 4})
    >>> len(out.labels)
    2
    """

    def __init__(self, names: Sequence[str] | None):
        object.__setattr__(self, "_open", names is None)
        object.__setattr__(self, "_tensors", {n: TensorOut(n) for n in names or ()})
        for n, t in self._tensors.items():  # samples_out.<name> without __getattr__ (hot path)
            if n.isidentifier() and not n.startswith("_") and not hasattr(SamplesOut, n):
                object.__setattr__(self, n, t)

    # -- access --------------------------------------------------------------------------
    def __getitem__(self, name: str) -> TensorOut | _GroupOut:
        name = name.strip("/")
        t = self._tensors.get(name)
        if t is not None:
            return t
        if any(n.startswith(name + "/") for n in self._tensors):
            return _GroupOut(self, name)
        if self._open:
            t = self._tensors[name] = TensorOut(name)
            return t
        raise TensorDoesNotExistError(name, list(self._tensors))

    def __getattr__(self, name: str) -> TensorOut | _GroupOut:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self[name]
        except TensorDoesNotExistError:
            raise AttributeError(f"samples_out has no tensor {name!r}; the target has "
                                 f"{sorted(self._tensors)}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"use samples_out.{name}.append(...) to add samples, not assignment")

    @property
    def tensors(self) -> dict[str, TensorOut]:
        return dict(self._tensors)

    def __contains__(self, name: str) -> bool:
        return name in self._tensors

    # -- rows ----------------------------------------------------------------------------
    def append(self, sample: dict[str, Any]) -> None:
        """Add one row: ``{tensor: sample}``."""
        for name, value in sample.items():
            self[name].append(value)

    def extend(self, samples: dict[str, Sequence[Any]]) -> None:
        """Add rows given as ``{tensor: sequence of samples}`` (all sequences equally long)."""
        counts = {k: len(v) for k, v in samples.items()}
        if len(set(counts.values())) > 1:
            raise ValueError(f"samples_out.extend needs as many samples for every tensor, got {counts}")
        for name, values in samples.items():
            self[name].extend(values)

    def lengths(self) -> dict[str, int]:
        return {n: len(t.values) for n, t in self._tensors.items()}

    def sizes(self) -> list[int]:
        """Samples collected per tensor, in the order of ``names`` (read once per input)."""
        return [len(t.values) for t in self._tensors.values()]

    def take(self) -> dict[str, list[Any]]:
        """Everything collected so far, by tensor, emptying the collector."""
        out = {}
        for n, t in self._tensors.items():
            out[n], t.values = t.values, []
        return out

    def rows(self) -> list[Sample]:
        """The collected samples as rows (for the next stage of a pipeline), emptying it."""
        got = {n: v for n, v in self.take().items() if v}
        counts = {n: len(v) for n, v in got.items()}
        if len(set(counts.values())) > 1:
            raise ValueError(f"a pipeline stage must give every tensor as many samples, got {counts}")
        n = next(iter(counts.values()), 0)
        return [Sample({k: v[i] for k, v in got.items()}) for i in range(n)]


class _GroupOut:
    """``samples_out.boxes`` when ``boxes/xyxy`` is a tensor: a prefix of names."""

    def __init__(self, out: SamplesOut, group: str):
        self._out, self._group = out, group

    def __getitem__(self, name: str) -> TensorOut | _GroupOut:
        return self._out[f"{self._group}/{name.strip('/')}"]

    def __getattr__(self, name: str) -> TensorOut | _GroupOut:
        if name.startswith("_"):
            raise AttributeError(name)
        return self[name]

    def append(self, sample: dict[str, Any]) -> None:
        self._out.append({f"{self._group}/{k}": v for k, v in sample.items()})


class Value:
    """One value of a row handed between pipeline stages, read like a dataset sample:
    ``.numpy()``, ``.text()``, ``.dict()``, ``.list()``, or ``.data()`` (``{"value": v}``, as a
    dataset sample gives it)."""

    __slots__ = ("_v",)

    def __init__(self, value: Any):
        self._v = value

    def numpy(self, aslist: bool = False) -> Any:
        v = self._v
        if hasattr(v, "numpy") and not isinstance(v, np.ndarray):
            return v.numpy()
        return v if isinstance(v, (str, dict)) else np.asarray(v)

    def data(self) -> dict[str, Any]:
        return {"value": self._v}

    def text(self) -> str:
        return str(self._v)

    def dict(self) -> Any:
        return self._v

    def list(self) -> list[Any]:
        return list(self._v)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        arr = np.asarray(self.numpy())
        return arr if dtype is None else arr.astype(dtype)

    def __repr__(self) -> str:
        return f"Value({self._v!r})"


class Sample:
    """A row between pipeline stages: ``row["images"]`` / ``row.images`` give a :class:`Value`
    (``.numpy()`` like a dataset sample); ``row.data()`` gives the plain ``{tensor: value}``.

    >>> Sample({"labels": 3}).labels.numpy()
    array(3)
    """

    __slots__ = ("_values",)

    def __init__(self, values: dict[str, Any]):
        object.__setattr__(self, "_values", values)

    def __getitem__(self, name: str) -> Value:
        try:
            return Value(self._values[name])
        except KeyError:
            raise TensorDoesNotExistError(name, list(self._values)) from None

    def __getattr__(self, name: str) -> Value:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self[name]
        except TensorDoesNotExistError:
            raise AttributeError(f"sample has no tensor {name!r}; it has {sorted(self._values)}") from None

    def __contains__(self, name: str) -> bool:
        return name in self._values

    def __iter__(self) -> Any:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def keys(self) -> list[str]:
        return list(self._values)

    def data(self) -> dict[str, Any]:
        return dict(self._values)

    def __repr__(self) -> str:
        return f"Sample({self._values!r})"
