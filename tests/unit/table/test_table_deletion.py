"""Deletion vectors (sorted, disjoint [start, stop) ranges) against a plain set-of-offsets model."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from arrowds.table import deletion

SETTINGS = settings(max_examples=200, deadline=None)

RANGE = st.tuples(st.integers(0, 60), st.integers(0, 60))
RANGES = st.lists(RANGE, max_size=8)
OFFSETS = st.lists(st.integers(0, 60), max_size=30)


def covered(ranges) -> set[int]:
    return {i for a, b in ranges for i in range(a, b)}


def assert_canonical(ranges: deletion.Ranges) -> None:
    """Sorted, non-empty, and neither overlapping nor touching (so equal sets compare equal)."""
    assert isinstance(ranges, tuple)
    for a, b in ranges:
        assert isinstance(a, int) and isinstance(b, int)
        assert a < b
    for (_, b0), (a1, _) in zip(ranges, ranges[1:]):
        assert b0 < a1


@SETTINGS
@given(RANGES)
def test_normalize_covers_the_same_offsets_canonically(ranges) -> None:
    out = deletion.normalize(ranges)
    assert covered(out) == covered(ranges)
    assert_canonical(out)
    assert deletion.normalize(out) == out


@SETTINGS
@given(OFFSETS)
def test_from_offsets_covers_exactly_the_offsets(offsets) -> None:
    out = deletion.from_offsets(np.array(offsets, np.int64))
    assert covered(out) == set(offsets)
    assert_canonical(out)
    assert deletion.count(out) == len(set(offsets))


@SETTINGS
@given(RANGES, RANGES)
def test_union_is_set_union(a, b) -> None:
    na, nb = deletion.normalize(a), deletion.normalize(b)
    out = deletion.union(na, nb)
    assert covered(out) == covered(a) | covered(b)
    assert_canonical(out)
    assert out == deletion.union(nb, na)


@SETTINGS
@given(OFFSETS, OFFSETS)
def test_equal_sets_give_equal_ranges(a, b) -> None:
    """The canonical form makes equality of deletion vectors mean equality of sets."""
    ra, rb = deletion.from_offsets(np.array(a, np.int64)), deletion.from_offsets(np.array(b, np.int64))
    assert (ra == rb) == (set(a) == set(b))
    assert deletion.union(ra, rb) == deletion.from_offsets(np.array(a + b, np.int64))


@SETTINGS
@given(st.integers(0, 40), RANGES)
def test_visible_offsets_is_the_complement(n, ranges) -> None:
    ranges = deletion.normalize(ranges)
    got = deletion.visible_offsets(n, ranges)
    assert got.dtype == np.int64
    assert got.tolist() == sorted(set(range(n)) - covered(ranges))


@SETTINGS
@given(st.integers(0, 40), st.data())
def test_keep_only_hides_everything_outside(n, data) -> None:
    start = data.draw(st.integers(0, n))
    stop = data.draw(st.integers(start, n))
    out = deletion.keep_only(n, start, stop)
    assert_canonical(out)
    assert covered(out) == set(range(n)) - set(range(start, stop))
    assert deletion.visible_offsets(n, out).tolist() == list(range(start, stop))


def test_examples() -> None:
    assert deletion.normalize([(5, 7), (0, 2), (2, 3), (7, 7), (6, 9)]) == ((0, 3), (5, 9))
    assert deletion.from_offsets(np.array([4, 1, 2, 2, 9])) == ((1, 3), (4, 5), (9, 10))
    assert deletion.from_offsets(np.array([], np.int64)) == ()
    assert deletion.count(((1, 3), (4, 5))) == 3
    assert deletion.keep_only(5, 0, 5) == ()
    assert deletion.visible_offsets(5, ((1, 3),)).tolist() == [0, 3, 4]
