"""Creating, opening, deleting datasets, and durability across handles and processes."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import arrowds as ads


def test_empty_then_load_roundtrip(url):
    ds = ads.empty(url)
    ds.create_tensor("x")
    ds.x.extend(np.arange(5))
    again = ads.load(url)
    assert again.x.numpy().ravel().tolist() == [0, 1, 2, 3, 4]
    assert ads.exists(url)


def test_empty_on_existing_dataset_raises_and_overwrite_replaces(url):
    ads.empty(url).create_tensor("x")
    with pytest.raises(ads.DatasetExistsError, match="already exists"):
        ads.empty(url)
    ds = ads.empty(url, overwrite=True)
    assert list(ds.tensors) == []


def test_empty_refuses_non_dataset_folder(tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not an arrowds dataset"):
        ads.empty(str(tmp_path), overwrite=True)
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_load_and_delete_missing_name_the_url(tmp_path):
    missing = str(tmp_path / "nope")
    with pytest.raises(ads.DatasetNotFoundError, match="nope"):
        ads.load(missing)
    with pytest.raises(ads.DatasetNotFoundError, match="nope"):
        ads.delete(missing)
    assert not ads.exists(missing)


def test_delete_removes_dataset(url):
    ads.empty(url).create_tensor("x")
    ads.delete(url)
    assert not ads.exists(url)
    with pytest.raises(ads.DatasetNotFoundError):
        ads.load(url)


def test_mem_dataset_reopens_by_url_in_same_process():
    url = "mem://reopen-me"
    ads.empty(url, overwrite=True).create_tensor("t", htype="text")
    ads.load(url).t.append("hello")
    assert ads.load(url).t[0].text() == "hello"


def test_reopen_in_new_process_sees_flushed_writes(tmp_path):
    url = str(tmp_path / "ds")
    ds = ads.empty(url)
    ds.create_tensor("labels", htype="class_label", class_names=["a", "b"])
    ds.create_tensor("emb", htype="embedding")
    with ds:
        ds.extend({"labels": [0, 1, 1], "emb": np.ones((3, 4), np.float32)})
    ds.labels[0] = "b"
    code = (f"import arrowds as ads; ds = ads.load({url!r}); "
            "print(ds.labels.numpy().ravel().tolist(), ds.emb.numpy().sum(), ds.labels.info.class_names)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[1, 1, 1] 12.0 ['a', 'b']"


def test_with_block_publishes_on_exit_and_discards_on_error(url):
    ds = ads.empty(url)
    ds.create_tensor("x")
    with ds:
        ds.x.extend(np.arange(3))
        assert len(ads.load(url).x) == 0, "nothing is visible to other readers inside the block"
    assert len(ads.load(url).x) == 3
    with pytest.raises(RuntimeError), ds:
        ds.x.extend(np.arange(100))
        raise RuntimeError("boom")
    assert ads.load(url).x.numpy().ravel().tolist() == [0, 1, 2]
    assert ds.x.numpy().ravel().tolist() == [0, 1, 2], "the handle drops the failed block too"


def test_flush_inside_block_makes_writes_durable(url):
    ds = ads.empty(url)
    ds.create_tensor("x")
    with ds:
        ds.x.append(7)
        ds.flush()
        assert ads.load(url).x.numpy().ravel().tolist() == [7]


def test_read_only_refuses_writes(url):
    ads.empty(url).create_tensor("x")
    ro = ads.load(url, read_only=True)
    with pytest.raises(ads.ReadOnlyModeError, match="read-only mode"):
        ro.x.append(1)
    with pytest.raises(ads.ReadOnlyModeError):
        ro.create_tensor("y")
    with pytest.raises(ads.ReadOnlyModeError):
        ro.info["a"] = 1


def test_info_persists(url):
    ds = ads.empty(url)
    ds.info.update(description="demo", source="tests")
    ds.create_tensor("labels", htype="class_label", class_names=["cat"], note="hand-made")
    again = ads.load(url)
    assert dict(again.info) == {"description": "demo", "source": "tests"}
    assert again.labels.info.note == "hand-made"
    assert again.labels.info.class_names == ["cat"]


def test_newer_format_version_is_refused(tmp_path):
    url = str(tmp_path / "ds")
    ads.empty(url)
    marker = tmp_path / "ds" / "arrowds.json"
    marker.write_text('{"format_version": "99.0"}')
    with pytest.raises(ads.FormatVersionError, match="99.0"):
        ads.load(url)
