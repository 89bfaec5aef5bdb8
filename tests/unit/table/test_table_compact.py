"""``compact.compact_tail``: which trailing fragments merge after an append, and that a merge
keeps rows, order and row ids."""

from __future__ import annotations

import uuid

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import arrowds as ads
from arrowds.table import compact


def _committed_rows(sizes: list[int]) -> ads.Dataset:
    """One fragment per entry of ``sizes`` (each append committed, so none merged yet)."""
    ds = ads.empty(f"mem://compact-{uuid.uuid4().hex}")
    ds.create_tensor("x")
    start = 0
    for n in sizes:
        ds.x.extend(list(range(start, start + n)))
        ds.commit(f"{n} rows")
        start += n
    assert [f.rows for f in ds._core.manifest.fragments] == sizes
    return ds


def _tail(ds: ads.Dataset, frozen: set[str] | None = None, **kw):
    core = ds._core
    return compact.compact_tail(core.storage, core.reader, core.manifest, frozen or set(), **kw)


def test_tiers():
    assert [compact._tier(n) for n in (0, 1, 7, 8, 63, 64, 511, 512)] == [0, 0, 0, 1, 1, 2, 2, 3]


def test_eight_of_a_tier_merge_and_cascade():
    ds = _committed_rows([8] * 7 + [1] * 8)
    merged = _tail(ds)
    assert [f.rows for f in merged.fragments] == [64]  # 8 singles -> 8, then 8 eights -> 64
    ids = np.concatenate([f.rowid_array() for f in merged.fragments])
    assert ids.tolist() == list(range(64))


def test_what_stays():
    assert _tail(_committed_rows([1] * 7)) is None  # too few
    assert _tail(_committed_rows([8] + [1] * 7)) is None  # two tiers in the last eight
    ds = _committed_rows([1] * 8)
    assert _tail(ds, frozen={ds._core.manifest.fragments[3].file}) is None  # a committed file
    assert _tail(ds, max_bytes=100) is None  # too big
    ds.pop(2)
    assert _tail(ds) is None  # hidden rows: optimize() is for those
    ragged = _committed_rows([1] * 8)
    ragged.create_tensor("y")
    ragged.y.append(1)
    assert _tail(ragged) is None


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 12), min_size=1, max_size=40))
def test_uncommitted_appends_read_back_in_order(sizes):
    ds = ads.empty(f"mem://compact-{uuid.uuid4().hex}")
    ds.create_tensor("x")
    start = 0
    for n in sizes:
        ds.x.extend(list(range(start, start + n)))
        start += n
    frags = ds._core.manifest.fragments
    assert ds.x.numpy().ravel().tolist() == list(range(start))
    assert np.concatenate([f.rowid_array() for f in frags]).tolist() == list(range(start))
    tail = frags[-compact.TAIL_FANIN:]
    assert len(frags) < compact.TAIL_FANIN or len({compact._tier(f.rows) for f in tail}) > 1
