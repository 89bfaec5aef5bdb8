"""Split strings (``"train[10%:20%]+test[:5]"``) to absolute row ranges, as TFDS reads them.

Pure: no I/O. ``parse(split)`` gives ``ReadInstruction``s; ``to_ranges(split, sizes)`` resolves
them against the number of examples of each split. Percent boundaries round to the nearest
example with Python's ``round`` (banker's rounding: 2.5 -> 2, 3.5 -> 4), as TFDS's default
``rounding="closest"`` does; ``"pct1_dropremainder"`` uses ``boundary * (n // 100)``.

    >>> to_ranges("train[80%:]+test[:2]", {"train": 20, "test": 7})
    [SplitRange(split='train', start=16, stop=20), SplitRange(split='test', start=0, stop=2)]
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_DOC = "https://www.tensorflow.org/datasets/splits"
#: TFDS's grammar of one term; terms are joined by ``+``.
_TERM = re.compile(r"^(?P<split_name>[\w-]+)(\[(?P<split_selector>[\d\w%:.-]+)\])?$")
_BOUND = re.compile(r"^(?P<val>-?\d+(\.\d+)?)?(?P<unit>%|shard)?$")
ROUNDINGS = ("closest", "pct1_dropremainder")


@dataclass(frozen=True)
class ReadInstruction:
    """One term of a split string: a split name and an optional ``[from_:to]`` slice.

    ``unit`` is ``"abs"`` (examples) or ``"%"``; ``from_``/``to`` may be negative (from the end)
    or None (open).
    """

    split_name: str
    from_: float | None = None
    to: float | None = None
    unit: str = "abs"
    rounding: str = "closest"

    def __post_init__(self) -> None:
        if self.unit not in ("abs", "%"):
            raise ValueError(f"unit must be 'abs' or '%', got {self.unit!r}")
        if self.rounding not in ROUNDINGS:
            raise ValueError(f"rounding must be one of {ROUNDINGS}, got {self.rounding!r}")
        if self.unit == "abs" and any(b is not None and b != int(b) for b in (self.from_, self.to)):
            raise ValueError(f"absolute slice bounds must be integers: {self}")
        if self.unit == "%" and any(b is not None and abs(b) > 100 for b in (self.from_, self.to)):
            raise ValueError(f"percent slice bounds must be within [-100, 100]: {self}")


@dataclass(frozen=True)
class SplitRange:
    """Rows ``[start, stop)`` of split ``split``."""

    split: str
    start: int
    stop: int

    @property
    def num_examples(self) -> int:
        return self.stop - self.start


def _parse_error(split: str) -> ValueError:
    return ValueError(f"Error parsing split {split!r}. See format at: {_DOC}")


def parse(split: str, rounding: str = "closest") -> list[ReadInstruction]:
    """The ``ReadInstruction``s of a split string; ``ValueError`` (TFDS's text) if malformed."""
    if not isinstance(split, str) or not split:
        raise _parse_error(str(split))
    out = []
    for term in split.split("+"):
        m = _TERM.match(term.strip())
        if m is None:
            raise _parse_error(split)
        name, selector = m.group("split_name"), m.group("split_selector")
        if selector is None:
            out.append(ReadInstruction(name, rounding=rounding))
            continue
        if name == "all":
            raise NotImplementedError(f"Error parsing split {split!r}: slicing 'all' is not supported. "
                                      f"See format at: {_DOC}")
        parts = selector.split(":")
        if len(parts) != 2:  # "train[0]" and "train[::2]" are not slices TFDS accepts
            raise _parse_error(split)
        bounds, units = [], set()
        for p in parts:
            b = _BOUND.match(p)
            if b is None or (b.group("val") is None and b.group("unit")):
                raise _parse_error(split)
            if b.group("unit") == "shard":
                raise NotImplementedError(f"Error parsing split {split!r}: arrowds splits are not sharded, "
                                          f"so the 'shard' unit does not apply. See format at: {_DOC}")
            val = b.group("val")
            bounds.append(None if val is None else float(val))
            if val is not None:
                units.add(b.group("unit") or "abs")
        if len(units) > 1:
            raise _parse_error(split)
        unit = units.pop() if units else "abs"
        if unit == "abs" and any(v is not None and v != int(v) for v in bounds):
            raise _parse_error(split)
        try:
            out.append(ReadInstruction(name, bounds[0], bounds[1], unit, rounding))
        except ValueError:
            raise _parse_error(split) from None
    return out


def _abs_bound(value: float | None, n: int, unit: str, rounding: str) -> int | None:
    if value is None:
        return None
    if unit == "abs":
        return int(value)
    if rounding == "closest":
        return int(round(value * n / 100))
    return int(value) * (n // 100)


def _slice_text(ins: ReadInstruction) -> str:
    def fmt(v: float | None) -> str:
        if v is None:
            return ""
        s = str(int(v)) if v == int(v) else str(v)
        return s + ("%" if ins.unit == "%" else "")
    return f"[{fmt(ins.from_)}:{fmt(ins.to)}]"


def resolve(ins: ReadInstruction, sizes: dict[str, int]) -> list[SplitRange]:
    """The row ranges one instruction names (``all`` names every split, in ``sizes`` order)."""
    if ins.split_name == "all":
        return [SplitRange(s, 0, n) for s, n in sizes.items()]
    if ins.split_name not in sizes:
        raise ValueError(f"Unknown split {ins.split_name!r}. Should be one of {list(sizes)}.")
    n = sizes[ins.split_name]
    if ins.unit == "%" and ins.rounding == "pct1_dropremainder" and n < 100:
        raise ValueError('Using "pct1_dropremainder" rounding on a split with less than 100 elements '
                         "is forbidden: it always results in an empty dataset.")
    a = _abs_bound(ins.from_, n, ins.unit, ins.rounding)
    b = _abs_bound(ins.to, n, ins.unit, ins.rounding)
    if ins.unit == "abs" and any(v is not None and not -n <= v <= n for v in (a, b)):
        raise ValueError(f"Requested slice {_slice_text(ins)} incompatible with {n} examples.")
    start, stop, _ = slice(a, b).indices(n)
    return [SplitRange(ins.split_name, start, max(start, stop))]


def to_ranges(split: str, sizes: dict[str, int], rounding: str = "closest") -> list[SplitRange]:
    """Row ranges of every term of ``split``; ``sizes`` maps split name -> number of examples.

    An empty result raises TFDS's ``Instruction [] corresponds to no data!``; terms that select
    nothing are dropped.
    """
    out = [r for ins in parse(split, rounding) for r in resolve(ins, sizes) if r.num_examples]
    if not out:
        raise ValueError("Instruction [] corresponds to no data!")
    return out


def even_sizes(total: int, n: int) -> list[int]:
    """Sizes of ``n`` near-equal parts of ``total`` examples, the remainder going to the first
    parts (TFDS ``even_splits``: 20 into 3 -> ``[7, 7, 6]``)."""
    if n <= 0:
        raise ValueError(f"n must be positive, got {n}")
    q, r = divmod(total, n)
    return [q + (1 if k < r else 0) for k in range(n)]
