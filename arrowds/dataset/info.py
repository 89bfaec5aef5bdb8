"""Info: a persisted, versioned dict of metadata (dataset-level or per tensor)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping
from typing import Any


class Info(MutableMapping[str, Any]):
    """Dict-like metadata; every change is written as a new version of the dataset.

    Keys read as attributes too: ``ds.labels.info.class_names``.
    """

    def __init__(self, get: Callable[[], dict[str, Any]], put: Callable[[dict[str, Any]], None]):
        object.__setattr__(self, "_get", get)
        object.__setattr__(self, "_put", put)

    def __getitem__(self, key: str) -> Any:
        return self._get()[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._put({**self._get(), key: value})

    def __delitem__(self, key: str) -> None:
        d = dict(self._get())
        del d[key]
        self._put(d)

    def __iter__(self) -> Iterator[str]:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())

    def update(self, *args: Any, **kw: Any) -> None:  # one write for many keys
        self._put({**self._get(), **dict(*args, **kw)})

    def __getattr__(self, key: str) -> Any:
        try:
            return self._get()[key]
        except KeyError:
            raise AttributeError(f"info has no key {key!r}") from None

    def __setattr__(self, key: str, value: Any) -> None:
        self[key] = value

    def __repr__(self) -> str:
        return f"Info({self._get()!r})"
