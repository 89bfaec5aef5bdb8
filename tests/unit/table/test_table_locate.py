"""RowLocator: row position -> (fragment, physical offset) from the manifest alone, checked
against a brute-force list of every visible row, over random fragments with deletions."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from arrowds.table import deletion
from arrowds.table.locate import RowLocator
from arrowds.table.manifest import Fragment

SETTINGS = settings(max_examples=200, deadline=None)


@st.composite
def fragment_lists(draw: st.DrawFn) -> tuple[Fragment, ...]:
    """Fragments of 0-8 rows; some rows deleted, some fragments wholly deleted or empty."""
    out = []
    next_id = 0
    for j in range(draw(st.integers(0, 6))):
        rows = draw(st.integers(0, 8))
        gone = draw(st.lists(st.integers(0, max(rows - 1, 0)), max_size=rows)) if rows else []
        if rows and draw(st.integers(0, 5)) == 0:
            gone = list(range(rows))
        out.append(Fragment(file=f"f{j}.parquet", rows=rows, size=0, first_rowid=next_id,
                            deleted=deletion.from_offsets(np.array(gone, np.int64))))
        next_id += rows
    return tuple(out)


def visible_rows(frags: tuple[Fragment, ...]) -> list[tuple[int, int]]:
    """The model: every visible row as (fragment index, physical offset), in version order."""
    return [(j, off) for j, f in enumerate(frags) for off in range(f.rows)
            if not any(a <= off < b for a, b in f.deleted)]


@st.composite
def cases(draw: st.DrawFn) -> tuple[tuple[Fragment, ...], np.ndarray]:
    frags = draw(fragment_lists())
    n = len(visible_rows(frags))
    if n == 0:
        return frags, np.zeros(0, np.int64)
    kind = draw(st.sampled_from(["any", "sorted", "range"]))
    pos = draw(st.lists(st.integers(0, n - 1), max_size=20))
    if kind == "sorted":
        pos = sorted(set(pos))
    elif kind == "range":
        a = draw(st.integers(0, n - 1))
        pos = list(range(a, draw(st.integers(a, n))))
    return frags, np.array(pos, np.int64)


@SETTINGS
@given(cases())
def test_locate_matches_brute_force(case) -> None:
    frags, positions = case
    model = visible_rows(frags)
    loc = RowLocator(frags)
    assert loc.num_rows == len(model)
    frag, phys = loc.locate(positions)
    assert list(zip(frag.tolist(), phys.tolist())) == [model[p] for p in positions.tolist()]


@SETTINGS
@given(cases())
def test_groups_partition_positions_by_fragment(case) -> None:
    frags, positions = case
    model = visible_rows(frags)
    groups = RowLocator(frags).groups(positions)
    seen_frags = [j for j, _, _ in groups]
    assert len(seen_frags) == len(set(seen_frags)), "each fragment is read once"
    all_slots = np.concatenate([s for _, s, _ in groups]) if groups else np.zeros(0, np.int64)
    assert sorted(all_slots.tolist()) == list(range(len(positions))), "every slot exactly once"
    for j, slots, phys in groups:
        assert len(slots) == len(phys) > 0
        for s, p in zip(slots.tolist(), phys.tolist()):
            assert model[int(positions[s])] == (j, p)


@SETTINGS
@given(cases())
def test_rowids_follow_the_fragments(case) -> None:
    frags, positions = case
    model = visible_rows(frags)
    got = RowLocator(frags).rowids(positions)
    assert got.tolist() == [frags[j].first_rowid + off for j, off in (model[p] for p in positions.tolist())]


def test_groups_come_in_ascending_fragment_order_with_their_slots() -> None:
    frags = (Fragment("a", 2, 0, 0), Fragment("b", 2, 0, 2))
    groups = RowLocator(frags).groups(np.array([3, 0, 2]))
    assert [j for j, _, _ in groups] == [0, 1]
    assert [s.tolist() for _, s, _ in groups] == [[1], [0, 2]]
    assert [p.tolist() for _, _, p in groups] == [[0], [1, 0]]


def test_example_with_deletions_and_empty_fragments() -> None:
    frags = (
        Fragment("a", 4, 0, 0, deleted=((1, 3),)),   # visible 0, 3
        Fragment("b", 2, 0, 4, deleted=((0, 2),)),   # none visible
        Fragment("c", 0, 0, 6),
        Fragment("d", 3, 0, 6, deleted=((0, 1),)),   # visible 1, 2
    )
    loc = RowLocator(frags)
    frag, phys = loc.locate(np.array([0, 1, 2, 3, 1]))
    assert frag.tolist() == [0, 0, 3, 3, 0]
    assert phys.tolist() == [0, 3, 1, 2, 3]
    assert loc.rowids(np.array([3])).tolist() == [8]
