"""Every code block marked runnable in README.md and docs/*.md runs, so the docs cannot drift
from the code.

A block is runnable when the line before its opening fence is ``<!-- exec -->``::

    <!-- exec -->
    ```python
    import arrowds as ads
    ```

The blocks of one page run in order, in one namespace (a later block may use what an earlier one
made), in a fresh Python process whose working folder is an empty temporary folder; a failing
block's traceback names the page and its line. Blocks must not use the network: they write under
the working folder or to ``mem://`` and make their own data.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MARKER = "<!-- exec -->"
FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>```+|~~~+)\s*(?P<lang>[\w+-]*)")

RUNNER = r"""
import json, sys
blocks = json.loads(sys.stdin.read())
scope = {"__name__": "__main__"}
for page, line, src in blocks:
    # pad with blank lines so tracebacks give the line number in the page
    exec(compile("\n" * line + src, page, "exec"), scope)
"""


def runnable_blocks(path: Path) -> list[tuple[int, str]]:
    """(line of the first code line, 0-based; code) of every marked block of a page."""
    lines = path.read_text().splitlines()
    blocks, i = [], 0
    while i < len(lines):
        if lines[i].strip() == MARKER:
            j = i + 1
            while j < len(lines) and not lines[j].strip():
                j += 1
            m = FENCE.match(lines[j]) if j < len(lines) else None
            if not m or m["lang"] not in ("python", "py"):
                raise AssertionError(f"{path.name}:{i + 1}: {MARKER} must precede a ```python block")
            end = j + 1
            while end < len(lines) and not lines[end].strip().startswith(m["fence"]):
                end += 1
            if end == len(lines):
                raise AssertionError(f"{path.name}:{j + 1}: unclosed code block")
            indent = len(m["indent"])
            blocks.append((j + 1, "\n".join(line[indent:] for line in lines[j + 1:end])))
            i = end
        i += 1
    return blocks


PAGES_WITH_BLOCKS = [p for p in PAGES if runnable_blocks(p)]


def test_the_readme_and_the_docs_have_runnable_blocks():
    names = {p.name for p in PAGES_WITH_BLOCKS}
    assert {"README.md", "index.md", "versions.md", "builders.md", "loaders.md"} <= names, names


@pytest.mark.parametrize("page", PAGES_WITH_BLOCKS, ids=[p.name for p in PAGES_WITH_BLOCKS])
def test_runnable_blocks_run(page, tmp_path):
    blocks = [(str(page.relative_to(ROOT)), line, src) for line, src in runnable_blocks(page)]
    # the child imports this checkout's arrowds whatever its working folder
    paths = [str(ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths), "ARROWDS_DATA_DIR": str(tmp_path / "data"),
           "MPLBACKEND": "Agg"}
    r = subprocess.run([sys.executable, "-c", RUNNER], input=json.dumps(blocks), cwd=tmp_path,
                       capture_output=True, text=True, timeout=240, env=env)
    assert r.returncode == 0, f"a runnable block of {page.name} failed:\n{r.stderr[-6000:]}"
