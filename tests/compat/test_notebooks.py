"""Every notebook's code cells run top to bottom (in a temporary folder)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_code_runs(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    assert cells, f"{path.name} has no code"
    scope: dict = {"__name__": "__notebook__"}
    for i, cell in enumerate(cells):
        src = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        exec(compile(src, f"{path.name}[cell {i}]", "exec"), scope)
