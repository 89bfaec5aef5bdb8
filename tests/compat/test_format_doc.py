"""docs/format.md's DuckDB query reads exactly what arrowds reads (the doc executes)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import arrowds as ads

duckdb = pytest.importorskip("duckdb")
DOC = Path(__file__).resolve().parents[2] / "docs" / "format.md"


def _query(marker: str, lang: str = "sql") -> str:
    text = DOC.read_text()
    m = re.search(rf"<!-- test: {marker} -->\s*```{lang}\n(.*?)```", text, re.S)
    assert m, f"no sql block marked {marker} in {DOC}"
    return m.group(1)


def _edited(root) -> ads.Dataset:
    """Two fragments' worth of rows, one update (a patch), deletes, and a late append."""
    ds = ads.empty(str(root))
    ds.create_tensor("labels", htype="class_label")
    ds.create_tensor("captions", htype="text")
    ds.create_tensor("emb", htype="embedding")
    with ds:
        ds.extend({"labels": list(range(50)), "captions": [f"s{i}" for i in range(50)],
                   "emb": np.arange(150, dtype=np.float32).reshape(50, 3)})
    ds.labels[7] = 700
    ds.captions[20:22] = ["x", "y"]
    ds.pop([3, 40])
    ds.extend({"labels": [1000], "captions": ["last"], "emb": np.zeros((1, 3), np.float32)})
    return ds


def test_duckdb_reads_the_head_like_arrowds(tmp_path):
    root = tmp_path / "ds"
    ds = _edited(root)
    con = duckdb.connect()
    *setup, final = [s for s in _query("duckdb-head").replace("ROOT", str(root)).split(";") if s.strip()]
    for stmt in setup:
        con.execute(stmt)
    rows = con.execute(final).fetchall()
    cols = [c[0] for c in con.description]
    got = {c: [r[i] for r in rows] for i, c in enumerate(cols)}
    assert got["labels"] == ds.labels.numpy().ravel().tolist()
    assert got["captions"] == ds.captions.text()
    assert np.allclose(np.array(got["emb"], np.float32), ds.emb.numpy())


def test_polars_reads_the_head_like_arrowds(tmp_path):
    pytest.importorskip("polars")
    root = tmp_path / "ds"
    ds = _edited(root)
    scope: dict = {}
    exec(_query("polars-head", "python").replace("ROOT", str(root)), scope)  # the doc's own code
    frame = scope["frame"]
    assert frame["labels"].to_list() == ds.labels.numpy().ravel().tolist()
    assert frame["captions"].to_list() == ds.captions.text()
    assert np.allclose(np.array(frame["emb"].to_list(), np.float32), ds.emb.numpy())
    assert not [c for c in frame.columns if c.startswith("_")]
