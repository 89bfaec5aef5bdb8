"""gc deletes only what no version references, and never what a writer may still publish."""

from __future__ import annotations

import os

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
