"""``ads.copy`` and ``arrowds copy``: every version, between any two backends."""

from __future__ import annotations

import json

import numpy as np
import pytest

import arrowds as ads
from arrowds.cli.main import main
from arrowds.storage import open_storage
from tests.conftest import jpeg_bytes, photo
from tests.servers import Backend, make_backend

PAIRS = [("local", "s3"), ("s3", "gcs"), ("gcs", "mem"), ("mem", "local")]


def _history(url: str, opts) -> dict[str, object]:
    """A dataset with two branches, a tag, an update and a delete."""
    ds = ads.empty(url, storage_options=opts)
    ds.create_tensor("images", htype="image", sample_compression="jpeg")
    ds.create_tensor("labels", htype="class_label")
    ds.extend({"images": [ads.read(jpeg_bytes(photo(i)), compression="jpeg") for i in range(6)],
               "labels": list(range(6))})
    c1 = ds.commit("six")
    ds.labels[2] = 9
    ds.pop(0)
    c2 = ds.commit("edit")
    ds.tag("v2")
    ds.checkout("dev", create=True)
    ds.append({"images": np.full((4, 4, 3), 7, np.uint8), "labels": 1})
    c3 = ds.commit("dev row")
    ds.checkout("main")
    ds.labels.append(3)  # uncommitted, but published: the head differs from the last commit
    ds.images.append(np.zeros((4, 4, 3), np.uint8))
    return {"c1": c1, "c2": c2, "c3": c3}


def _same(src: str, sopts, dst: str, dopts, ids: dict[str, object]) -> None:
    for version in [None, "dev", "v2", *ids.values()]:
        a = ads.load(src, version=version, storage_options=sopts, read_only=True)
        b = ads.load(dst, version=version, storage_options=dopts, read_only=True)
        assert len(a) == len(b)
        assert a.labels.numpy().tolist() == b.labels.numpy().tolist()
        assert [x.tolist() for x in a.images.numpy(aslist=True)] == \
            [x.tolist() for x in b.images.numpy(aslist=True)]
        assert [c.id for c in a.log()] == [c.id for c in b.log()]
    assert ads.load(dst, storage_options=dopts).has_head_changes


@pytest.mark.parametrize(("a", "b"), PAIRS, ids=[f"{a}-to-{b}" for a, b in PAIRS])
def test_copy_keeps_every_version(a: str, b: str, request, tmp_path) -> None:
    src = make_backend(a, request, tmp_path / "a")
    dst = make_backend(b, request, tmp_path / "b")
    ids = _history(src.url, src.options)
    seen = []
    out = ads.copy(src.url, dst.url, src.options, dst.options, progress=lambda d, t: seen.append((d, t)))
    assert out.branch == "main" and sorted(out.branches) == ["dev", "main"]
    _same(src.url, src.options, dst.url, dst.options, ids)
    files = open_storage(src.url, src.options).list_all()
    assert open_storage(dst.url, dst.options).list_all() == files
    assert seen[-1] == (len(files), len(files))


def test_copy_refuses_and_overwrites(backend: Backend, tmp_path) -> None:
    src = str(tmp_path / "src")
    _history(src, None)
    ads.copy(src, backend.url, dst_storage_options=backend.options)
    with pytest.raises(ads.DatasetExistsError):
        ads.copy(src, backend.url, dst_storage_options=backend.options)
    other = str(tmp_path / "other")
    small = ads.empty(other)
    small.create_tensor("x")
    ads.copy(other, backend.url, dst_storage_options=backend.options, overwrite=True)
    assert list(ads.load(backend.url, storage_options=backend.options).tensors) == ["x"]
    with pytest.raises(ads.DatasetNotFoundError):
        ads.copy(str(tmp_path / "nothing"), backend.sibling("x"), dst_storage_options=backend.options)
    junk = backend.sibling("junk")
    open_storage(junk, backend.options).write("notes.txt", b"mine")
    with pytest.raises(FileExistsError, match="not an arrowds dataset"):
        ads.copy(src, junk, dst_storage_options=backend.options)


def test_cli_copy(s3_server, tmp_path, capsys) -> None:
    src = str(tmp_path / "src")
    ids = _history(src, None)
    bucket = s3_server.new_bucket()
    dst = f"s3://{bucket}/copied"
    opts = s3_server.options()
    assert main(["copy", src, dst, "--dst-options", json.dumps(opts)]) == 0
    assert "copied" in capsys.readouterr().out
    _same(src, None, dst, opts, ids)
    assert main(["copy", src, dst, "--dst-options", json.dumps(opts)]) == 1
    err = capsys.readouterr().err
    assert "DatasetExistsError" in err and "s3://" in err
    assert main(["copy", src, dst, "--dst-options", "[1]"]) == 1
    assert "--dst-options must be a JSON object" in capsys.readouterr().err
