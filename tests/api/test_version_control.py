"""Version control through the public API: commit, branches, tags, log, reset, diff, merge."""

from __future__ import annotations

import numpy as np
import pytest

import arrowds as ads

FIRST = "firstdbf9474d461a19e9333c2fd19b46115348f"


@pytest.fixture
def ds(url):
    ds = ads.empty(url)
    ds.create_tensor("x")
    ds.create_tensor("t", htype="text")
    ds.extend({"x": list(range(6)), "t": [f"s{i}" for i in range(6)]})
    return ds


def _x(ds):
    return ds.x.numpy().ravel().tolist()


def test_commit_ids_and_head_changes(url):
    ds = ads.empty(url)
    assert ds.commit_id is None and ds.pending_commit_id == FIRST and not ds.has_head_changes
    ds.create_tensor("x")
    assert ds.has_head_changes
    assert ds.commit("first") == FIRST == ds.commit_id
    assert ds.pending_commit_id not in (None, FIRST) and not ds.has_head_changes
    with pytest.raises(ads.EmptyCommitError, match="allow_empty=True"):
        ds.commit()
    second = ds.commit("empty on purpose", allow_empty=True)
    assert [c.message for c in ds.log()] == ["empty on purpose", "first"]
    assert ds.log()[0].id == second and ds.log()[0].author and ds.log()[0].time > 0


def test_branches_checkout_and_isolation(ds, url):
    c1 = ds.commit("base")
    ds.checkout("alt", create=True)
    assert ds.branch == "alt" and ds.commit_id == c1
    ds.x.append(100)
    ds.t.append("alt")
    ds.commit("alt work")
    ds.checkout("main")
    assert _x(ds) == list(range(6))
    assert sorted(ds.branches) == ["alt", "main"]
    with pytest.raises(ads.CheckoutError, match="'alt' already exists"):
        ds.checkout("alt", create=True)
    with pytest.raises(ads.CheckoutError, match="Address 'nope' not found"):
        ds.checkout("nope")
    assert _x(ads.load(url, version="alt")) == list(range(6)) + [100]


def test_time_travel_is_read_only_and_exact(ds, url):
    c1 = ds.commit("six rows")
    ds.x[0] = 50
    ds.pop(5)
    c2 = ds.commit("edited")
    old = ads.load(url, version=c1)
    assert _x(old) == list(range(6)) and old.read_only
    with pytest.raises(ads.ReadOnlyModeError, match="not the head of a branch"):
        old.x.append(1)
    assert _x(ads.load(url, version=c2)) == [50, 1, 2, 3, 4]
    ds.checkout(c1)
    assert _x(ds) == list(range(6))
    ds.checkout("fix", create=True)  # writing from an old commit goes through a branch
    ds.x.append(7)
    assert _x(ds) == list(range(6)) + [7]


def test_tags(ds, url):
    with pytest.raises(ads.CheckoutError, match="no commit"):
        ds.tag("v0")
    c = ds.commit("release")
    assert ds.tag("v1") == c
    ds.x.append(99)
    ds.commit("after")
    assert _x(ads.load(url, version="v1")) == list(range(6))
    with pytest.raises(ads.CheckoutError, match="already exists"):
        ds.tag("v1")


def test_reset_drops_uncommitted_changes(ds, url):
    ds.commit("base")
    ds.x[2] = 20
    ds.x.append(8)
    assert ds.has_head_changes
    ds.reset()
    assert not ds.has_head_changes and _x(ds) == list(range(6)) and _x(ads.load(url)) == list(range(6))


def test_diff_reports_added_updated_deleted(ds):
    ds.commit("base")
    ds.x[1] = 10
    ds.t[2] = "changed"
    ds.pop(4)
    ds.extend({"x": [60], "t": ["new"]})
    d = ds.diff()
    assert d["x"]["added"] == [5] and d["x"]["updated"] == [1] and d["x"]["deleted"] == [4]
    assert d["t"]["updated"] == [2] and d["t"]["added"] == [5]
    c2 = ds.commit("edits")
    assert ds.diff()["x"] == {"created": False, "removed": False, "info_updated": False,
                              "added": [], "updated": [], "deleted": []}
    first = ds.log()[-1].id
    assert ds.diff(first, c2)["x"]["updated"] == [1]
    ds.create_tensor("y")
    assert ds.diff()["y"]["created"]


def test_merge_applies_their_changes(ds):
    ds.commit("base")
    ds.checkout("alt", create=True)
    ds.x[1] = 10
    ds.pop(4)
    ds.extend({"x": [100], "t": ["alt-new"]})
    ds.commit("alt")
    ds.checkout("main")
    ds.t[2] = "main-2"
    ds.extend({"x": [200], "t": ["main-new"]})
    ds.commit("main")
    ds.merge("alt")
    assert _x(ds) == [0, 10, 2, 3, 5, 200, 100]
    assert ds.t.text() == ["s0", "s1", "main-2", "s3", "s5", "main-new", "alt-new"]
    assert ds.log()[0].message.startswith("Merge ") and ds.log()[0].message.endswith(" into main")
    assert not ds.has_head_changes


def test_merge_conflicts_and_resolutions(ds):
    ds.commit("base")
    ds.checkout("alt", create=True)
    ds.x[0] = 7
    ds.commit("alt")
    ds.checkout("main")
    ds.x[0] = 8
    ds.commit("main")
    with pytest.raises(ads.MergeConflictError, match=r"tensors \['x'\].*'x': \[0\]"):
        ds.merge("alt")
    assert _x(ds)[0] == 8 and not ds.has_head_changes, "a failed merge changes nothing"
    ds.merge("alt", conflict_resolution="ours")
    assert _x(ds)[0] == 8
    ds.checkout("alt")
    ds.x[0] = 9
    ds.commit("alt again")
    ds.checkout("main")
    ds.merge("alt", conflict_resolution="theirs")
    assert _x(ds)[0] == 9


def test_merge_brings_new_tensors(ds):
    ds.commit("base")
    ds.checkout("alt", create=True)
    ds.create_tensor("y", htype="class_label", class_names=["a", "b"])
    ds.y.extend([1] * 6)
    ds.commit("labels")
    ds.checkout("main")
    ds.merge("alt")
    assert ds.y.numpy().ravel().tolist() == [1] * 6 and ds.y.info.class_names == ["a", "b"]


def _label_texts(ds, name="labels"):
    names = ds[name].info.class_names
    return [[names[int(i)] for i in a.ravel()] for a in ds[name].numpy(aslist=True)]


def test_merge_joins_class_names_both_sides_added(url):
    ds = ads.empty(url)
    ds.create_tensor("labels", htype="class_label", class_names=["cat"])
    ds.create_tensor("tags", htype="class_label", shape=(None,))
    ds.extend({"labels": ["cat", "cat"], "tags": [["x"], ["x"]]})
    ds.commit("base")
    ds.checkout("alt", create=True)
    ds.extend({"labels": ["dog", "bird", "cat"], "tags": [["y", "x"], [], ["z"]]})
    ds.labels[0] = "bird"  # a row of the base, relabelled with a name of theirs
    ds.commit("alt")
    ds.checkout("main")
    ds.extend({"labels": ["bird", "eel"], "tags": [["z"], ["x", "z"]]})
    ds.commit("main")
    ds.merge("alt")
    assert ds.labels.info.class_names == ["cat", "bird", "eel", "dog"]
    assert ds.tags.info.class_names == ["x", "z", "y"]
    assert _label_texts(ds) == [["bird"], ["cat"], ["bird"], ["eel"], ["dog"], ["bird"], ["cat"]]
    assert _label_texts(ds, "tags") == [["x"], ["x"], ["z"], ["x", "z"], ["y", "x"], [], ["z"]]
    ds.checkout("alt")  # their branch is untouched
    assert _label_texts(ds) == [["bird"], ["cat"], ["dog"], ["bird"], ["cat"]]
    assert ds.labels.info.class_names == ["cat", "dog", "bird"]


def test_unknown_version_on_load(ds, url):
    with pytest.raises(ads.CheckoutError):
        ads.load(url, version="does-not-exist")


def test_reading_an_old_version_touches_only_its_files(tmp_path):
    url = str(tmp_path / "ds")
    ds = ads.empty(url)
    ds.create_tensor("e", htype="embedding")
    ds.e.extend(np.ones((10, 4), np.float32))
    c1 = ds.commit("ones")
    ds.e[0:10] = np.zeros((10, 4), np.float32)
    ds.commit("zeros")
    np.testing.assert_array_equal(ads.load(url, version=c1).e.numpy(), np.ones((10, 4), np.float32))
    np.testing.assert_array_equal(ads.load(url).e.numpy(), np.zeros((10, 4), np.float32))
