"""Merging branches that each added class names: whatever names either side discovers, in
whatever order, every row reads the label it was given, and this branch's ids keep their
meaning."""

from __future__ import annotations

import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

import arrowds as ads

NAME = st.sampled_from(["cat", "dog", "bird", "eel", "fox"])
LABELS = st.lists(NAME, max_size=6)


def _texts(ds) -> list[str]:
    names = ds.labels.info.class_names
    return [names[int(i)] for a in ds.labels.numpy(aslist=True) for i in a.ravel()]


@settings(max_examples=40, deadline=None)
@given(known=st.lists(NAME, max_size=2, unique=True), base=st.lists(NAME, min_size=1, max_size=4),
       ours=LABELS, theirs=LABELS, relabel=st.dictionaries(st.integers(0, 3), NAME, max_size=2))
def test_merged_labels_read_as_written(known, base, ours, theirs, relabel):
    ds = ads.empty(f"mem://labels-{uuid.uuid4().hex}")
    ds.create_tensor("labels", htype="class_label", class_names=known)
    ds.labels.extend(base)
    ds.commit("base")
    ds.checkout("theirs", create=True)
    relabel = {i: v for i, v in relabel.items() if i < len(base)}
    for i, v in relabel.items():
        ds.labels[i] = v
    ds.labels.extend(theirs)
    ds.commit("theirs", allow_empty=True)
    ds.checkout("main")
    ds.labels.extend(ours)
    ds.commit("ours", allow_empty=True)
    our_names = list(ds.labels.info.class_names)
    our_ids = ds.labels.numpy(aslist=True)
    ds.merge("theirs")
    expected = [relabel.get(i, v) for i, v in enumerate(base)] + ours + theirs
    assert _texts(ds) == expected
    assert ds.labels.info.class_names[:len(our_names)] == our_names
    every = set(known + base + ours + theirs + list(relabel.values()))
    assert sorted(ds.labels.info.class_names) == sorted(every)  # each name once
    mine = ds.labels.numpy(aslist=True)[len(base):len(base) + len(ours)]
    assert [a.tolist() for a in mine] == [a.tolist() for a in our_ids[len(base):]]
