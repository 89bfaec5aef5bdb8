"""arrowds.media is layer L1: numpy, Pillow, simplejpeg, fsspec, the stdlib and arrowds.errors only."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import arrowds.media

ALLOWED_THIRD_PARTY = {"numpy", "PIL", "simplejpeg", "fsspec"}
ALLOWED_ARROWDS = ("arrowds.errors", "arrowds._optional", "arrowds.media")


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            if node.module == "arrowds":
                names.update(f"arrowds.{alias.name}" for alias in node.names)
    return names


def test_media_imports_only_its_layer():
    package = Path(arrowds.media.__file__).parent
    for path in sorted(package.rglob("*.py")):
        for name in _imports(path):
            top = name.split(".")[0]
            if top == "arrowds":
                assert name.startswith(ALLOWED_ARROWDS), f"{path.name} imports {name}"
            else:
                allowed = top in ALLOWED_THIRD_PARTY or top in sys.stdlib_module_names
                assert allowed, f"{path.name} imports {name}"
