"""Lazy indexing against NumPy: ``Index`` chains and dataset/tensor views resolve to exactly the
positions ``np.arange(n)[e1][e2]...`` selects, and raise IndexError exactly when NumPy does."""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import arrowds as ads
from arrowds.dataset.index import Index

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
API_SETTINGS = settings(max_examples=120, deadline=None,
                        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


# -- strategies ------------------------------------------------------------------------------
def _entry(draw: st.DrawFn, n: int, allow_int: bool, in_range: bool) -> Any:
    """One index entry for a 1-D sequence of length ``n``; ints/lists are sometimes out of
    range unless ``in_range``."""
    wide = not in_range and draw(st.integers(0, 3)) == 0  # out-of-range ints now and then
    lo, hi = (-2 * n - 3, 2 * n + 2) if wide else (-n, n - 1)
    in_range = not wide
    kinds = ["slice", "list", "mask", "range"] + (["int"] if allow_int else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "int":
        if in_range and n == 0:
            kind = "slice"
        else:
            return draw(st.integers(lo, hi))
    if kind == "slice":
        bound = st.none() | st.integers(-2 * n - 3, 2 * n + 3)
        step = st.none() | st.integers(-4, 4).filter(lambda s: s != 0)
        return slice(draw(bound), draw(bound), draw(step))
    if kind == "list":
        if in_range and n == 0:
            return []
        return draw(st.lists(st.integers(lo, hi), max_size=8))
    if kind == "range":  # a range is a list of ints (negatives count from the end)
        if in_range and n == 0:
            return range(0)
        start, stop = draw(st.integers(lo, hi)), draw(st.integers(lo, hi))
        return range(start, stop, draw(st.sampled_from([1, 2, -1, -3])))
    return draw(st.lists(st.booleans(), min_size=n, max_size=n))


@st.composite
def chains(draw: st.DrawFn, n: int | None = None, in_range: bool = False) -> tuple[int, list[Any]]:
    """A length and 1-3 entries; an int entry (a single position) can only come last."""
    if n is None:
        n = draw(st.integers(0, 30))
    entries: list[Any] = []
    cur = np.arange(n)
    k = draw(st.integers(1, 3))
    for i in range(k):
        e = _entry(draw, len(cur), allow_int=i == k - 1, in_range=in_range)
        entries.append(e)
        try:
            cur = cur[_np_key(e)]
        except IndexError:
            break  # NumPy raised: later entries cannot matter
    return n, entries


def _np_key(e: Any) -> Any:
    """What NumPy is given for an entry (lists of bools as a boolean array, ints as intp)."""
    if isinstance(e, list):
        return np.array(e, bool if e and isinstance(e[0], bool) else np.intp)
    if isinstance(e, range):
        return np.array(list(e), np.intp)
    return e


def oracle(n: int, entries: list[Any]) -> np.ndarray | int:
    out: Any = np.arange(n)
    for e in entries:
        out = out[_np_key(e)]
    return int(out) if np.ndim(out) == 0 else out


# -- Index, pure ---------------------------------------------------------------------------
@SETTINGS
@given(chains())
def test_index_chain_matches_numpy(case: tuple[int, list[Any]]) -> None:
    n, entries = case
    idx = Index()
    for e in entries:
        idx = idx[e]
    try:
        want = oracle(n, entries)
    except IndexError:
        with pytest.raises(IndexError):
            idx.resolve(n)
        return
    got = idx.resolve(n)
    if isinstance(want, int):
        assert idx.is_scalar
        assert isinstance(got, int) and got == want
        np.testing.assert_array_equal(idx.positions(n), [want])
        assert idx.length(n) == 1
    else:
        assert not idx.is_scalar
        pos = idx.positions(n)
        assert pos.dtype == np.int64
        np.testing.assert_array_equal(pos, want)
        assert idx.length(n) == len(want)


@SETTINGS
@given(chains())
def test_index_accepts_numpy_arrays_like_lists(case: tuple[int, list[Any]]) -> None:
    """Entries given as NumPy arrays (int or bool) select what the equal lists select."""
    n, entries = case
    as_lists, as_arrays = Index(), Index()
    for e in entries:
        as_lists = as_lists[e]
        as_arrays = as_arrays[_np_key(e) if isinstance(e, list) else e]
    try:
        want = as_lists.positions(n)
    except IndexError:
        with pytest.raises(IndexError):
            as_arrays.positions(n)
        return
    np.testing.assert_array_equal(as_arrays.positions(n), want)


@SETTINGS
@given(st.integers(0, 20), st.data())
def test_wrong_length_mask_raises_index_error(n: int, data: st.DataObject) -> None:
    m = data.draw(st.integers(1, 25).filter(lambda k: k != n))
    mask = data.draw(st.lists(st.booleans(), min_size=m, max_size=m))
    with pytest.raises(IndexError):
        np.arange(n)[np.array(mask, bool)]
    with pytest.raises(IndexError, match="mask"):
        Index()[mask].positions(n)


def test_index_is_symbolic_until_resolved() -> None:
    """The same chain resolves against whatever length it is given (views grow with data)."""
    idx = Index()[2:][::-1]
    np.testing.assert_array_equal(idx.positions(5), [4, 3, 2])
    np.testing.assert_array_equal(idx.positions(7), [6, 5, 4, 3, 2])
    assert Index()[-1].resolve(3) == 2 and Index()[-1].resolve(9) == 8


def test_scalar_index_cannot_be_indexed_further() -> None:
    with pytest.raises(IndexError):
        Index()[3][0]


def test_out_of_range_message_names_index_and_length() -> None:
    with pytest.raises(IndexError, match=r"Index 7 .*length 5"):
        Index()[7].resolve(5)
    with pytest.raises(IndexError, match=r"Index -6 .*length 5"):
        Index()[[0, -6]].resolve(5)


@pytest.mark.parametrize("bad", [True, np.bool_(False), 1.5, "3", slice(0.5, 2), [1.0, 2.0], [[1, 2]]])
def test_invalid_entries_raise_type_error(bad: Any) -> None:
    with pytest.raises(TypeError):
        Index()[bad]


def test_zero_step_raises_value_error() -> None:
    with pytest.raises(ValueError):
        Index()[::0]


# -- through the public API ------------------------------------------------------------------
def _rag_sample(i: int) -> np.ndarray:
    return np.arange(i * 100, i * 100 + (i % 3 + 1) * (i % 2 + 2), dtype=np.int32).reshape(i % 3 + 1, -1)


class Built:
    """A dataset written in several fragments, with a deletion and an update, plus its model."""

    def __init__(self) -> None:
        self.ds = ds = ads.empty(f"mem://idx-{uuid.uuid4().hex}")
        ds.create_tensor("label")
        ds.create_tensor("emb", htype="embedding")
        ds.create_tensor("rag")
        labels: list[int] = []
        embs: list[np.ndarray] = []
        rags: list[np.ndarray] = []

        def add(ids: range) -> None:
            ls = [i * 7 - 40 for i in ids]
            es = [np.arange(4, dtype=np.float32) + i / 4 for i in ids]
            rs = [_rag_sample(i) for i in ids]
            ds.extend({"label": ls, "emb": np.stack(es), "rag": rs})
            labels.extend(ls)
            embs.extend(es)
            rags.extend(rs)

        add(range(0, 9))
        add(range(9, 14))
        ds.pop([2, 10])
        for k in sorted([2, 10], reverse=True):
            del labels[k], embs[k], rags[k]
        ds.label[4] = 999
        labels[4] = 999
        add(range(14, 22))
        self.labels = np.array(labels, np.int64).reshape(-1, 1)
        self.embs = np.stack(embs)
        self.rags = rags
        assert len(ds) == len(labels)


@pytest.fixture(scope="module")
def built() -> Built:
    return Built()


def _apply(target: Any, entries: list[Any]) -> Any:
    for e in entries:
        target = target[e]
    return target


def _check_tensors(view_of: Any, built: Built, positions: np.ndarray | int) -> None:
    """``view_of(name)`` gives a tensor view; compare its reads with the model."""
    np.testing.assert_array_equal(view_of("label").numpy(), built.labels[positions])
    np.testing.assert_array_equal(view_of("emb").numpy(), built.embs[positions])
    got = view_of("rag").numpy(aslist=True)
    if isinstance(positions, int):
        np.testing.assert_array_equal(got, built.rags[positions])
    else:
        assert len(got) == len(positions)
        for g, p in zip(got, positions.tolist()):
            np.testing.assert_array_equal(g, built.rags[p])


@API_SETTINGS
@given(data=st.data())
def test_views_read_what_numpy_selects(built: Built, data: st.DataObject) -> None:
    n, entries = data.draw(chains(n=len(built.labels)))
    cut = data.draw(st.integers(0, len(entries)))  # entries [:cut] on the dataset, the rest on tensors
    ds_part, t_part = entries[:cut], entries[cut:]
    try:
        want = oracle(n, entries)
    except IndexError:
        for name in ("label", "emb", "rag"):
            with pytest.raises(IndexError):
                _apply(_apply(built.ds, ds_part)[name], t_part).numpy(aslist=True)
        return

    def view_of(name: str) -> Any:
        return _apply(_apply(built.ds, ds_part)[name], t_part)

    _check_tensors(view_of, built, want)
    if not isinstance(want, int):
        assert len(view_of("label")) == len(want)
        if not t_part:
            assert len(_apply(built.ds, ds_part)) == len(want)
        if len(want):
            assert view_of("emb").shape == (len(want), 4)
            assert view_of("label").shape == (len(want), 1)


def test_empty_view_shape_keeps_known_sample_dims(built: Built) -> None:
    assert built.ds.emb[[]].numpy().shape == (0, 4)
    assert built.ds.emb[[]].shape == (0, 4)


@API_SETTINGS
@given(data=st.data())
def test_view_iteration_visits_selected_rows(built: Built, data: st.DataObject) -> None:
    n, entries = data.draw(chains(n=len(built.labels), in_range=True))
    if isinstance(entries[-1], int):
        entries = entries[:-1]
    want = oracle(n, entries)
    view = _apply(built.ds, entries)
    rows = [int(row.label.numpy()[0]) for row in view]
    assert rows == built.labels[want].reshape(-1).tolist()


@settings(max_examples=50, deadline=None)
@given(data=st.data())
def test_assignment_through_views_writes_the_selected_rows(data: st.DataObject) -> None:
    """``ds[e1].x[e2] = values`` writes exactly the rows the chain selects (last write wins)."""
    n0 = data.draw(st.integers(1, 12))
    n, entries = data.draw(chains(n=n0, in_range=True))
    positions = oracle(n, entries)
    cut = data.draw(st.integers(0, len(entries) - 1))
    ds = ads.empty(f"mem://idx-{uuid.uuid4().hex}")
    ds.create_tensor("x", dtype="int64")
    ds.x.extend(list(range(n)))
    model = list(range(n))
    target = _apply(_apply(ds, entries[:cut]).x, entries[cut:-1])
    if isinstance(positions, int):
        target[entries[-1]] = -1
        model[positions] = -1
    else:
        vals = [1000 + k for k in range(len(positions))]
        if not vals:
            return
        target[entries[-1]] = vals
        for p, v in zip(positions.tolist(), vals):
            model[p] = v
    assert ds.x.numpy().reshape(-1).tolist() == model
    assert ads.load(ds.path).x.numpy().reshape(-1).tolist() == model


def test_a_row_view_indexes_into_its_sample(built: Built) -> None:
    """After an int, further indexing selects inside the sample, like NumPy."""
    np.testing.assert_array_equal(built.ds[5].rag[0].numpy(), built.rags[5][0])
    np.testing.assert_array_equal(built.ds.rag[5][-1].numpy(), built.rags[5][-1])
    np.testing.assert_array_equal(built.ds[-2].emb[1:3].numpy(), built.embs[-2][1:3])


def test_view_made_before_append_grows(url: str) -> None:
    ds = ads.empty(url)
    ds.create_tensor("x")
    ds.create_tensor("e", htype="embedding")
    ds.extend({"x": list(range(5)), "e": np.ones((5, 4), np.float32)})
    v = ds[2:]
    last = ds[-1]
    rev = ds[::-1]
    assert len(v) == 3
    ds.append({"x": 5, "e": np.full(4, 5, np.float32)})
    assert len(v) == 4
    np.testing.assert_array_equal(v.x.numpy().reshape(-1), [2, 3, 4, 5])
    np.testing.assert_array_equal(last.x.numpy(), [5])
    np.testing.assert_array_equal(rev.x.numpy().reshape(-1), [5, 4, 3, 2, 1, 0])
    with ds:  # buffered (not yet written) rows are part of the view too
        ds.extend({"x": [6, 7], "e": np.zeros((2, 4), np.float32)})
        assert len(v) == 6
        np.testing.assert_array_equal(v.x.numpy().reshape(-1), [2, 3, 4, 5, 6, 7])
        np.testing.assert_array_equal(v.e[-2:].numpy(), np.zeros((2, 4), np.float32))
    assert len(v) == 6
    np.testing.assert_array_equal(ads.load(url)[2:].x.numpy().reshape(-1), [2, 3, 4, 5, 6, 7])


def test_view_shrinks_after_pop() -> None:
    ds = ads.empty(f"mem://idx-{uuid.uuid4().hex}")
    ds.create_tensor("x")
    ds.x.extend(list(range(6)))
    v = ds[1::2]
    np.testing.assert_array_equal(v.x.numpy().reshape(-1), [1, 3, 5])
    ds.pop(0)
    np.testing.assert_array_equal(v.x.numpy().reshape(-1), [2, 4])
    with pytest.raises(IndexError, match="'x'"):
        ds.x[[0, 9]].numpy()
