"""``patch._splice``: the manifest entries that stand for a fragment with some rows replaced by a
patch fragment must read back, in order, as the old rows with the patched ones swapped in."""

from __future__ import annotations

import uuid

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import arrowds as ads
from arrowds import _config
from arrowds.table import deletion
from arrowds.table.manifest import Fragment
from arrowds.table.patch import _splice, split_table

SETTINGS = settings(max_examples=300, deadline=None)


@st.composite
def cases(draw: st.DrawFn) -> tuple[Fragment, np.ndarray]:
    rows = draw(st.integers(1, 30))
    gone = draw(st.lists(st.integers(0, rows - 1), max_size=rows - 1))
    frag = Fragment("F", rows, 0, first_rowid=0, deleted=deletion.from_offsets(np.array(gone, np.int64)))
    visible = frag.visible_offsets().tolist()
    if not visible:
        frag = frag.replace(deleted=())
        visible = list(range(rows))
    phys = draw(st.lists(st.sampled_from(visible), min_size=1, max_size=len(visible), unique=True))
    return frag, np.array(phys, np.int64)


def read_back(entries: list[Fragment]) -> list[tuple[str, int]]:
    return [(f.file, off) for f in entries for off in f.visible_offsets().tolist()]


@SETTINGS
@given(cases())
def test_splice_reads_like_the_fragment_with_rows_replaced(case) -> None:
    frag, phys = case
    patch = Fragment("P", len(phys), 0, rowids=tuple(range(100, 100 + len(phys))))
    entries = _splice(frag, phys, patch)
    order = sorted(phys.tolist())  # patch row k replaces the k-th of the ascending offsets
    want = [("P", order.index(v)) if v in order else ("F", v) for v in frag.visible_offsets().tolist()]
    assert read_back(entries) == want
    for e in entries:
        assert e.file in ("F", "P")
        assert e.visible > 0, "no entry that shows nothing"
        assert deletion.normalize(e.deleted) == e.deleted
        assert e.rows == (frag.rows if e.file == "F" else patch.rows)
    assert sum(e.visible for e in entries) == frag.visible


def test_splice_example() -> None:
    frag = Fragment("F", 6, 0, first_rowid=0, deleted=((1, 2),))  # visible 0 2 3 4 5
    patch = Fragment("P", 2, 0, rowids=(9, 9))
    entries = _splice(frag, np.array([4, 2]), patch)
    assert read_back(entries) == [("F", 0), ("P", 0), ("F", 3), ("P", 1), ("F", 5)]


def test_updates_in_big_fragments_read_back(monkeypatch) -> None:
    """Through a dataset: few updated rows in a large fragment take the patch path (no rewrite)."""
    monkeypatch.setattr(_config, "REWRITE_FRACTION", 0.5)
    ds = ads.empty(f"mem://splice-{uuid.uuid4().hex}")
    ds.create_tensor("x", dtype="int64")
    ds.create_tensor("t", htype="text")
    n = 40
    ds.extend({"x": list(range(n)), "t": [f"s{i}" for i in range(n)]})
    ds.pop([3, 4, 20])
    xs = [i for i in range(n) if i not in (3, 4, 20)]
    ts = [f"s{i}" for i in xs]
    files_before = {f.file for f in ds._core.manifest.fragments}
    ds.x[[0, 5, 6, -1]] = [100, 105, 106, 199]
    for i, v in zip([0, 5, 6, -1], [100, 105, 106, 199]):
        xs[i] = v
    ds.t[10] = "ten"
    ts[10] = "ten"
    assert files_before <= {f.file for f in ds._core.manifest.fragments}, "patched, not rewritten"
    for d in (ds, ads.load(ds.path)):
        assert d.x.numpy().reshape(-1).tolist() == xs
        assert d.t.text() == ts


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 400), width=st.integers(1, 64), parts=st.integers(1, 4),
       max_bytes=st.integers(64, 4096), min_parallel=st.integers(64, 4096))
def test_split_table_cuts_in_order_within_bounds(n, width, parts, max_bytes, min_parallel):
    table = pa.table({"x": np.arange(n, dtype=np.int64), "pad": pa.array([b"\0" * width] * n, pa.binary())})
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_config, "MAX_FRAGMENT_BYTES", max_bytes)
        mp.setattr(_config, "MIN_PARALLEL_FRAGMENT_BYTES", min_parallel)
        pieces = split_table(table, parts)
    assert sum(p.num_rows for p in pieces) == n
    if n:
        assert pa.concat_tables(pieces).column("x").to_pylist() == list(range(n))
    cap = max(1, max_bytes // max(1, table.nbytes // max(1, n)))
    assert all(p.num_rows <= cap for p in pieces)  # never past the fragment size
    wanted = max(1, min(parts, table.nbytes // min_parallel))
    if n >= wanted:
        assert len(pieces) >= wanted  # big enough: at least one piece per writer
