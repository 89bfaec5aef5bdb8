"""The documentation site builds with ``mkdocs build --strict``: warnings (a broken link, a missing
page, a docstring mkdocstrings cannot render) are errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_mkdocs_build_strict(tmp_path):
    pytest.importorskip("mkdocs", reason="mkdocs is not installed (pip install -e '.[docs]')")
    pytest.importorskip("material", reason="mkdocs-material is not installed (pip install -e '.[docs]')")
    pytest.importorskip("mkdocstrings", reason="mkdocstrings is not installed (pip install -e '.[docs]')")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    r = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-f",
                        str(ROOT / "mkdocs.yml"), "-d", str(tmp_path / "site")],
                       cwd=ROOT, capture_output=True, text=True, timeout=240, env=env)
    assert r.returncode == 0, f"mkdocs build --strict failed:\n{r.stdout}\n{r.stderr}"
    site = tmp_path / "site"
    for page in ["index", "concepts", "storage", "versions", "builders", "loaders", "viewer",
                 "performance", "comparison", "design", "format", "reference"]:
        path = site / ("index.html" if page == "index" else f"{page}/index.html")
        assert path.is_file(), f"{page} was not built"
    # the API reference really rendered the docstrings
    reference = (site / "reference" / "index.html").read_text()
    for name in ["Dataset", "Tensor", "GeneratorBasedBuilder", "commit", "pytorch"]:
        assert name in reference, f"{name} is missing from the API reference"
