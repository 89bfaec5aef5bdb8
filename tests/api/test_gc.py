"""gc deletes only what no version references, and never what a writer may still publish."""

from __future__ import annotations

import os

import numpy as np
import pytest

import arrowds as ads


def _files(root):
    return {f"{d}/{n}" for d in ("data", "manifests") for n in os.listdir(root / d)}


def test_gc_keeps_every_version_readable(tmp_path):
    url = str(tmp_path / "ds")
    ds = ads.empty(url)
    ds.create_tensor("x")
    ds.x.extend(list(range(10)))
    c1 = ds.commit("ten")
    ds.tag("v1")
    ds.checkout("alt", create=True)
    ds.x[0] = 100
    ds.commit("alt")
    ds.checkout("main")
    ds.x[3] = 30
    ds.pop(1)
    ds.reset()  # the patch and its manifests are now garbage
    ds.x.extend([10])
    before = _files(tmp_path / "ds")
    report = ds.gc(older_than=0)
    assert report.files and set(report.files) <= before
    assert _files(tmp_path / "ds") == before - set(report.files)
    assert ads.load(url).x.numpy().ravel().tolist() == list(range(11))
    assert ads.load(url, version=c1).x.numpy().ravel().tolist() == list(range(10))
    assert ads.load(url, version="v1").x.numpy().ravel().tolist() == list(range(10))
    assert ads.load(url, version="alt").x.numpy().ravel().tolist()[0] == 100
    assert ds.gc(older_than=0).files == [], "a second gc finds nothing"


def test_gc_spares_young_files_and_dry_run_deletes_nothing(tmp_path):
    url = str(tmp_path / "ds")
    ds = ads.empty(url)
    ds.create_tensor("x")
    ds.x.extend([1, 2])
    ds.x[0] = 5
    ds.commit()
    ds.x[0] = 6
    ds.reset()
    before = _files(tmp_path / "ds")
    assert ds.gc().files == [], "unreferenced but younger than an hour: maybe a writer's, kept"
    dry = ds.gc(older_than=0, dry_run=True)
    assert dry.files and _files(tmp_path / "ds") == before


def test_gc_refuses_read_only(tmp_path):
    url = str(tmp_path / "ds")
    ads.empty(url)
    with pytest.raises(ads.ReadOnlyModeError):
        ads.load(url, read_only=True).gc()


def test_small_appends_merge_their_tail_and_leave_commits_alone(tmp_path):
    url = str(tmp_path / "ds")
    ds = ads.empty(url)
    ds.create_tensor("x")
    for i in range(5):
        ds.x.append(i)
    first = ds.commit("five")
    committed = [f.file for f in ds._core.manifest.fragments]
    for i in range(5, 205):  # 200 single-row publishes
        ds.x.append(i)
    frags = ds._core.manifest.fragments
    assert [f.file for f in frags[:5]] == committed  # the commit's files are not rewritten
    assert len(frags) <= 5 + 7 * 3 and [f.rows for f in frags[5:8]] == [64, 64, 64]
    assert ads.load(url).x.numpy().ravel().tolist() == list(range(205))
    assert ds.diff(first)["x"]["added"] == list(range(5, 205))
    assert ds._core.locator.rowids(np.arange(205)).tolist() == list(range(205))
    ds.commit("many")
    assert ads.load(url, version=first).x.numpy().ravel().tolist() == list(range(5))
    ds.gc(older_than=0)  # the files the tail merges replaced go; every version still reads
    assert ads.load(url).x.numpy().ravel().tolist() == list(range(205))
    assert len(list((tmp_path / "ds" / "data").iterdir())) == len(ds._core.manifest.fragments)


def test_optimize_merges_small_fragments_without_changing_the_data(tmp_path):
    url = str(tmp_path / "ds")
    ds = ads.empty(url)
    ds.create_tensor("x")
    ds.create_tensor("t", htype="text")
    for i in range(30):  # 30 publishes, each committed (so the tail is never merged)
        ds.extend({"x": [i], "t": [f"s{i}"]})
        ds.commit(f"row {i}")
    ds.x[5] = 50  # rewrites that one-row fragment
    ds.pop(7)
    before = ds.commit("many small writes")
    rowids = ds._core.locator.rowids(np.arange(len(ds)))
    assert len(ds._core.manifest.fragments) == 30
    assert ds.optimize() == 30
    assert len(ds._core.manifest.fragments) == 1
    assert ds.x.numpy().ravel().tolist() == [i if i != 5 else 50 for i in range(30) if i != 7]
    assert ds.t.text() == [f"s{i}" for i in range(30) if i != 7]
    assert ds._core.locator.rowids(np.arange(len(ds))).tolist() == rowids.tolist()
    assert all(not (d["added"] or d["updated"] or d["deleted"]) for d in ds.diff(before).values())
    ds.commit("optimized")
    assert ads.load(url, version=before).x.numpy().ravel().tolist()[5] == 50
    ds.gc(older_than=0)
    assert ads.load(url).x.numpy().ravel().tolist()[5] == 50
    assert ds.optimize() == 0, "nothing left to merge"
