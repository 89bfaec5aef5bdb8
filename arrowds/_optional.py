"""Import optional dependencies where they are used, with the install hint on failure."""

from __future__ import annotations

import importlib
from types import ModuleType

from arrowds.errors import MissingDependencyError


def import_optional(module: str, *, extra: str, purpose: str = "") -> ModuleType:
    """Import ``module`` or raise MissingDependencyError naming the extra that provides it.

    >>> import_optional("json", extra="none").__name__
    'json'
    """
    try:
        return importlib.import_module(module)
    except ImportError as e:
        why = f" for {purpose}" if purpose else ""
        raise MissingDependencyError(
            f"{module!r} is needed{why} but is not installed: pip install 'arrowds[{extra}]'"
        ) from e
