"""Builder names: registration by import, the catalog, and ``name/config:version`` strings.

A ``GeneratorBasedBuilder`` subclass registers itself when its module is imported, under the
snake_case of its class name (``OrderedDs`` -> ``ordered_ds``), or under its package folder
when the class is called ``Builder`` (``my_ds/my_ds_dataset_builder.py`` -> ``my_ds``), as
TFDS does. Catalog builders (``arrowds/builders/catalog/<name>/``) are imported on first use,
so ``import arrowds`` does not import them.
"""

from __future__ import annotations

import difflib
import importlib
import re
from dataclasses import dataclass

_REGISTRY: dict[str, type] = {}

#: Builders shipped with arrowds: name -> module, imported when the name is first asked for.
CATALOG: dict[str, str] = {
    "mnist": "arrowds.builders.catalog.mnist",
    "fashion_mnist": "arrowds.builders.catalog.fashion_mnist",
    "cifar10": "arrowds.builders.catalog.cifar10",
    "cifar100": "arrowds.builders.catalog.cifar100",
    "image_folder": "arrowds.builders.catalog.image_folder",
}

_NAME = re.compile(r"^(?P<name>[A-Za-z_][\w-]*)(/(?P<config>[\w.-]+))?(:(?P<version>\d+\.\d+\.\d+))?$")


@dataclass(frozen=True)
class ParsedName:
    """A ``name[/config][:version]`` string, split."""

    name: str
    config: str | None = None
    version: str | None = None


def parse_name(text: str) -> ParsedName | None:
    """``"my_ds/small:1.0.0"`` -> ``ParsedName("my_ds", "small", "1.0.0")``; None if ``text`` is
    not of that form (a path or URL)."""
    m = _NAME.match(text) if isinstance(text, str) else None
    if m is None:
        return None
    return ParsedName(m["name"], m["config"], m["version"])


def snake_case(name: str) -> str:
    """``"OrderedDs"`` -> ``"ordered_ds"``, ``"MNIST"`` -> ``"mnist"``, ``"Cifar10"`` -> ``"cifar10"``."""
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    s = re.sub(r"([a-z\d])([A-Z])", r"\1_\2", s)
    return s.lower()


def builder_name(cls: type) -> str:
    """The registered name of a builder class (see the module docstring)."""
    if cls.__name__ != "Builder":
        return snake_case(cls.__name__)
    parts = cls.__module__.split(".")
    last = parts[-1]
    if last.endswith("_dataset_builder"):
        return last[: -len("_dataset_builder")]
    if len(parts) > 1 and last in ("builder", "__init__"):
        return parts[-2]
    return snake_case(last)


def register(cls: type) -> None:
    """Make ``cls`` findable by its ``name``; a later class of the same name replaces it
    (re-importing a builder module while developing it)."""
    _REGISTRY[cls.name] = cls  # type: ignore[attr-defined]


def registered(name: str) -> type | None:
    """The builder class called ``name``: registered by import, or from the catalog."""
    if name not in _REGISTRY and name in CATALOG:
        importlib.import_module(CATALOG[name])
    return _REGISTRY.get(name)


def list_builders() -> list[str]:
    """Names of every builder known now (the catalog and those imported)."""
    return sorted(set(_REGISTRY) | set(CATALOG))


def close_names(name: str, names: list[str]) -> list[str]:
    """Up to five of ``names`` that look like ``name`` (for "did you mean" hints)."""
    return difflib.get_close_matches(name, names, n=5)
