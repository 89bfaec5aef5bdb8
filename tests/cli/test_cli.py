"""The arrowds command, run as a user runs it: a real process, its output and exit status."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import arrowds as ads


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "arrowds.cli.main", *args],
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    url = str(tmp_path_factory.mktemp("cli") / "ds")
    ds = ads.empty(url)
    ds.create_tensor("labels", htype="class_label", class_names=["a", "b"])
    ds.create_tensor("emb", htype="embedding")
    ds.extend({"labels": [0, 1, 1], "emb": np.ones((3, 2), np.float32)})
    ds.commit("first")
    ds.labels[0] = 1
    ds.extend({"labels": [0], "emb": np.zeros((1, 2), np.float32)})
    ds.commit("second")
    return url


def test_info(url):
    r = run("info", url)
    assert r.returncode == 0, r.stderr
    assert "labels" in r.stdout and "class_label" in r.stdout and "(4, 1)" in r.stdout
    assert "branch: main" in r.stdout and "rows: 4" in r.stdout


def test_log(url):
    r = run("log", url)
    assert r.returncode == 0, r.stderr
    assert r.stdout.index("second") < r.stdout.index("first")
    assert r.stdout.count("\ncommit ") == 2


def test_diff(url):
    first = ads.load(url).log()[-1].id
    r = run("diff", url, first, "main", "--rows")
    assert r.returncode == 0, r.stderr
    assert "labels  +1 ~1 -0" in r.stdout and "added: 3" in r.stdout and "updated: 0" in r.stdout


def test_gc(url):
    r = run("gc", url, "--dry-run")
    assert r.returncode == 0 and r.stdout.startswith("would delete 0 files"), r.stdout + r.stderr


def test_errors_are_one_line_with_nonzero_status(tmp_path):
    r = run("info", str(tmp_path / "missing"))
    assert r.returncode == 1
    assert r.stderr.strip().count("\n") == 0 and "DatasetNotFoundError" in r.stderr
    assert "Traceback" not in r.stderr
    r = run("--debug", "info", str(tmp_path / "missing"))
    assert r.returncode != 0 and "Traceback" in r.stderr
