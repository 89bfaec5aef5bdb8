"""Every notebook runs top to bottom in a Jupyter kernel (nbclient), in a temporary folder, in under
a minute; an error in any cell fails the test with that cell's traceback.

Where nbclient or ipykernel is not installed (they are in the ``dev`` extra) the code cells are
exec'd in order in this process instead, so a broken notebook still fails.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
TIME_LIMIT_S = 60


def test_the_notebooks_are_there():
    assert {p.stem for p in NOTEBOOKS} >= {"quickstart", "version_control", "builder", "analytics"}


def _have_nbclient() -> bool:
    try:
        import ipykernel  # noqa: F401
        import nbclient  # noqa: F401
        import nbformat  # noqa: F401
    except ImportError:
        return False
    return True


def _run_with_exec(path: Path) -> None:
    cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    assert cells, f"{path.name} has no code"
    scope: dict = {"__name__": "__notebook__"}
    for i, cell in enumerate(cells):
        src = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        exec(compile(src, f"{path.name}[cell {i}]", "exec"), scope)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    start = time.monotonic()
    if not _have_nbclient():
        _run_with_exec(path)
    else:
        import nbclient
        import nbformat

        # the kernel is a child process: it must import this checkout's arrowds
        paths = [str(ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p]
        monkeypatch.setenv("PYTHONPATH", os.pathsep.join(paths))
        nb = nbformat.read(path, as_version=4)
        client = nbclient.NotebookClient(nb, timeout=TIME_LIMIT_S, kernel_name="python3",
                                         resources={"metadata": {"path": str(tmp_path)}})
        client.execute()
        outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
        assert not [o for o in outputs if o.get("output_type") == "error"]
    assert time.monotonic() - start < TIME_LIMIT_S, f"{path.name} took over {TIME_LIMIT_S} s"
