"""Per-system result record; every step is isolated so one failure does not hide the other figures."""

from __future__ import annotations

import re
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass
class SystemResult:
    system: str
    metrics: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    tracebacks: dict[str, str] = field(default_factory=dict)

    def step(self, name: str, fn: Callable[[], T]) -> T | None:
        """Run one measurement step; on failure record the error under ``name`` and return None."""
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - a failing system must not crash the run
            self.errors[name] = f"{type(exc).__name__}: {exc}"
            self.tracebacks[name] = traceback.format_exc()
            return None

    @property
    def ok(self) -> bool:
        return not self.errors


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
