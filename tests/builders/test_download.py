"""DownloadManager against a loopback http.server: nesting, cache, resume, mirror, checksums,
extraction safety and iter_archive."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import tarfile
import zipfile
from pathlib import Path

import pytest

import arrowds as ads
from arrowds.builders import checksums
from arrowds.builders.extract import extract, iter_archive
from arrowds.errors import (
    DownloadError,
    ManualDirError,
    MissingChecksumError,
    NonMatchingChecksumError,
    UnsafeArchiveError,
)


def test_nested_structures_http_file_and_paths_cached_by_url(server, server_requests, tmp_path):
    root, base = server
    (root / "a.txt").write_bytes(b"alpha")
    (root / "b.csv").write_bytes(b"1,2\n")
    local = tmp_path / "local.bin"
    local.write_bytes(b"local")
    dm = ads.DownloadManager(download_dir=tmp_path / "dl")
    got = dm.download({"a": f"{base}/a.txt", "nested": {"b": [f"{base}/b.csv", local.as_uri()]},
                       "t": (str(local),)})
    assert got["a"].read_bytes() == b"alpha" and got["a"].suffix == ".txt"
    assert [p.read_bytes() for p in got["nested"]["b"]] == [b"1,2\n", b"local"]
    assert isinstance(got["t"], tuple) and got["t"][0].read_bytes() == b"local"
    assert got["a"].with_name(got["a"].name + ".INFO").is_file()
    n = len(server_requests())
    again = ads.DownloadManager(download_dir=tmp_path / "dl").download(f"{base}/a.txt")
    assert again == got["a"] and len(server_requests()) == n  # from the cache
    assert dm.downloaded_size == 5 + 4 + 5 + 5


def test_resume_a_partial_download(server, server_requests, tmp_path):
    root, base = server
    data = bytes(range(256)) * 1000
    (root / "big.bin").write_bytes(data)
    dm = ads.DownloadManager(download_dir=tmp_path / "dl")
    dest = tmp_path / "dl" / ads.builders.download._cache_name(f"{base}/big.bin")
    dest.parent.mkdir(parents=True)
    dest.with_name(dest.name + ".partial").write_bytes(data[:1000])
    assert dm.download(f"{base}/big.bin").read_bytes() == data
    assert server_requests()[-1] == ("/big.bin", "bytes=1000-")


def test_errors_name_the_url(server, tmp_path):
    root, base = server
    dm = ads.DownloadManager(download_dir=tmp_path / "dl")
    with pytest.raises(DownloadError, match=f"{base}/missing.bin: HTTP 404"):
        dm.download(f"{base}/missing.bin")
    with pytest.raises(DownloadError, match="does not exist"):
        dm.download(str(tmp_path / "nope.bin"))
    with pytest.raises(DownloadError, match="unsupported scheme"):
        dm.download("gopher://x/y")


def test_mirror_is_used_before_the_network(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "data.tar.gz").write_bytes(b"from the mirror")
    url = "http://127.0.0.1:9/upstream/data.tar.gz"  # nothing listens on port 9
    dm = ads.DownloadManager(tmp_path / "dl", download_config=ads.DownloadConfig(mirror=mirror))
    assert dm.download(url).read_bytes() == b"from the mirror"
    monkeypatch.setenv("ARROWDS_DOWNLOAD_MIRROR", str(mirror))
    assert ads.DownloadManager(tmp_path / "dl2").download(url).read_bytes() == b"from the mirror"


def test_checksums_register_verify_and_force(server, tmp_path):
    root, base = server
    (root / "ck.txt").write_bytes(b"v1")
    url = f"{base}/ck.txt"
    reg = ads.DownloadManager(tmp_path / "dl", download_config=ads.DownloadConfig(register_checksums=True))
    reg.download(url)
    tsv = tmp_path / "checksums.tsv"
    checksums.save(tsv, reg.recorded)
    line = tsv.read_text().strip().split("\t")
    assert line[0] == url and line[1] == "2" and len(line[2]) == 64 and line[3] == "ck.txt"
    infos = checksums.load(tsv)
    ads.DownloadManager(tmp_path / "ok", url_infos=infos).download(url)  # verifies
    (root / "ck.txt").write_bytes(b"changed upstream")
    with pytest.raises(NonMatchingChecksumError) as e:
        ads.DownloadManager(tmp_path / "bad", url_infos=infos).download(url)
    assert f"Artifact {url}" in str(e.value) and "* Expected: UrlInfo(size=2 bytes" in str(e.value)
    assert "* Got: UrlInfo(size=16 bytes" in str(e.value)
    with pytest.raises(MissingChecksumError, match="Missing checksums url"):
        ads.DownloadManager(tmp_path / "f", download_config=ads.DownloadConfig(
            force_checksums_validation=True)).download(url)


def _archives(src: Path) -> dict[str, Path]:
    files = {"inner/m0.txt": b"member 0", "inner/deep/m1.txt": b"member 1"}
    out = {}
    with zipfile.ZipFile(src / "a.zip", "w") as zf:
        for n, d in files.items():
            zf.writestr(n, d)
    out["zip"] = src / "a.zip"
    for mode, name in (("w", "a.tar"), ("w:gz", "a.tar.gz"), ("w:bz2", "a.tar.bz2"), ("w:xz", "a.tar.xz")):
        with tarfile.open(src / name, mode) as tf:
            for n, d in files.items():
                ti = tarfile.TarInfo(n)
                ti.size = len(d)
                tf.addfile(ti, io.BytesIO(d))
        out[name] = src / name
    return out


def test_extract_every_format_and_iter_archive(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    dm = ads.DownloadManager(tmp_path / "dl")
    for name, path in _archives(src).items():
        out = dm.extract(path)
        assert (out / "inner" / "deep" / "m1.txt").read_bytes() == b"member 1", name
        assert sorted((n, f.read()) for n, f in dm.iter_archive(path)) == [
            ("inner/deep/m1.txt", b"member 1"), ("inner/m0.txt", b"member 0")]
    for suffix, opener in ((".gz", gzip.open), (".bz2", bz2.open), (".xz", lzma.open)):
        with opener(src / f"one.txt{suffix}", "wb") as f:
            f.write(b"single")
        assert dm.extract(src / f"one.txt{suffix}").read_bytes() == b"single"
    plain = src / "plain.txt"
    plain.write_text("x")
    assert dm.download_and_extract({"p": [str(plain)]})["p"][0].read_text() == "x"


@pytest.mark.parametrize("kind", ["dotdot", "absolute", "symlink", "zipdotdot"])
def test_extraction_refuses_entries_escaping_the_folder(tmp_path, kind):
    path = tmp_path / ("evil.zip" if kind.startswith("zip") else "evil.tar")
    if kind == "zipdotdot":
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("ok.txt", b"fine")
            zf.writestr("../../escaped.txt", b"evil")
    else:
        with tarfile.open(path, "w") as tf:
            ok = tarfile.TarInfo("ok.txt")
            ok.size = 4
            tf.addfile(ok, io.BytesIO(b"fine"))
            ti = tarfile.TarInfo({"dotdot": "a/../../escaped.txt", "absolute": "/tmp/escaped.txt",
                                  "symlink": "link"}[kind])
            if kind == "symlink":
                ti.type, ti.linkname = tarfile.SYMTYPE, "../../etc"
                tf.addfile(ti)
            else:
                ti.size = 4
                tf.addfile(ti, io.BytesIO(b"evil"))
    with pytest.raises(UnsafeArchiveError, match="refusing to extract"):
        extract(path, tmp_path / "out" / "x")
    assert not (tmp_path / "out" / "x").exists() and not (tmp_path / "escaped.txt").exists()
    assert not list((tmp_path / "out").iterdir())


def test_iter_archive_does_not_extract(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    path = _archives(src)["a.tar.gz"]
    assert [n for n, _ in iter_archive(path)] == ["inner/m0.txt", "inner/deep/m1.txt"]
    assert sorted(p.name for p in src.iterdir()) == ["a.tar", "a.tar.bz2", "a.tar.gz", "a.tar.xz", "a.zip"]


def test_manual_dir_needs_instructions_and_files(tmp_path):
    with pytest.raises(ManualDirError, match="please set `MANUAL_DOWNLOAD_INSTRUCTIONS`"):
        _ = ads.DownloadManager(tmp_path / "dl", manual_dir=tmp_path).manual_dir
    dm = ads.DownloadManager(tmp_path / "dl", manual_dir=tmp_path / "man",
                             manual_dir_instructions="Place extra_meta.txt in manual_dir.")
    with pytest.raises(ManualDirError) as e:
        _ = dm.manual_dir
    assert str(e.value).endswith("using instructions:\nPlace extra_meta.txt in manual_dir.")
    (tmp_path / "man").mkdir()
    (tmp_path / "man" / "extra_meta.txt").write_text("x")
    assert dm.manual_dir == tmp_path / "man"
