"""Storage on memory and local disk: whole and ranged reads, writes, put-if-absent, listing,
deletes, URL spelling, and FileNotFoundError messages that name the URL."""

from __future__ import annotations

import os
import threading
import uuid
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arrowds.storage import Storage, normalize_url, open_storage
from arrowds.storage.base import LocalStorage, MemoryStorage

DATA = bytes(range(256)) * 3
DATA_20K = bytes(np.random.default_rng(3).integers(0, 256, 20000, dtype=np.uint8))


@pytest.fixture(params=["mem", "local"])
def storage(request, tmp_path) -> Storage:
    url = f"mem://st-{uuid.uuid4().hex}" if request.param == "mem" else str(tmp_path / "root")
    return open_storage(url)


def test_open_storage_picks_the_backend(tmp_path) -> None:
    assert type(open_storage(f"mem://x-{uuid.uuid4().hex}")) is MemoryStorage
    assert type(open_storage(f"memory://x-{uuid.uuid4().hex}")) is MemoryStorage
    assert type(open_storage(str(tmp_path / "a"))) is LocalStorage
    assert type(open_storage(f"file://{tmp_path}/b")) is LocalStorage
    assert type(open_storage(tmp_path / "c")) is LocalStorage  # os.PathLike


def test_normalize_url(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert normalize_url("mem://demo") == "memory://demo"
    assert normalize_url("mem://a/b/c") == "memory://a/b/c"
    assert normalize_url("gcs://bucket/p") == "gs://bucket/p"
    assert normalize_url("gs://bucket/p") == "gs://bucket/p"
    assert normalize_url("s3://bucket/path/x") == "s3://bucket/path/x"
    assert normalize_url("file:///tmp/x") == "file:///tmp/x"
    assert normalize_url("rel/ds") == os.path.join(os.getcwd(), "rel", "ds")
    assert normalize_url(Path("rel")) == normalize_url("rel")
    assert normalize_url("~/ds") == os.path.join(os.path.expanduser("~"), "ds")
    assert os.path.isabs(normalize_url("./x/../y"))
    assert ".." not in normalize_url("./x/../y")


def test_write_then_read(storage: Storage) -> None:
    storage.write("a/b/c.bin", DATA)  # parents are made as needed
    assert storage.read("a/b/c.bin") == DATA
    assert storage.exists("a/b/c.bin")
    assert storage.size("a/b/c.bin") == len(DATA)
    storage.write("a/b/c.bin", b"new")
    assert storage.read("a/b/c.bin") == b"new"
    storage.write("top", b"")
    assert storage.read("top") == b""


@pytest.mark.parametrize(("start", "end"), [(0, 0), (0, 1), (5, 77), (700, 768), (0, 768), (767, 768)])
def test_read_range(storage: Storage, start: int, end: int) -> None:
    storage.write("k", DATA)
    assert storage.read_range("k", start, end) == DATA[start:end]


def test_read_ranges_in_any_order(storage: Storage) -> None:
    storage.write("k", DATA)
    starts, ends = [500, 0, 10, 10, 767, 3], [600, 4, 12, 300, 768, 3]
    assert storage.read_ranges("k", starts, ends) == [DATA[s:e] for s, e in zip(starts, ends)]
    assert storage.read_ranges("k", [], []) == []


def test_readinto_on_local_disk(tmp_path) -> None:
    s = open_storage(str(tmp_path / "r"))
    s.write("k", DATA)
    buf = bytearray(100)
    s.readinto("k", 50, memoryview(buf))
    assert bytes(buf) == DATA[50:150]


def test_put_if_absent(storage: Storage) -> None:
    assert storage.put_if_absent("refs/x/0.json", b"first") is True
    assert storage.put_if_absent("refs/x/0.json", b"second") is False
    assert storage.read("refs/x/0.json") == b"first"
    assert storage.list("refs/x") == ["0.json"], "no temporary files left behind"


def test_put_if_absent_threads_one_winner(storage: Storage) -> None:
    for key in (f"race/{k}" for k in range(5)):
        barrier = threading.Barrier(8)
        wins: list[int] = []

        def go(who: int, key: str = key, barrier: threading.Barrier = barrier, wins: list = wins) -> None:
            barrier.wait(timeout=10)
            if storage.put_if_absent(key, str(who).encode()):
                wins.append(who)

        threads = [threading.Thread(target=go, args=(w,)) for w in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(wins) == 1
        assert storage.read(key) == str(wins[0]).encode()
    assert storage.list("race") == [str(k) for k in range(5)]


def test_list_direct_children_sorted(storage: Storage) -> None:
    for key in ("d/b", "d/a", "d/sub/x", "d/c10", "d/c9", "other"):
        storage.write(key, b"1")
    assert storage.list("d") == ["a", "b", "c10", "c9", "sub"]
    assert storage.list("d/sub") == ["x"]
    assert storage.list("nothing/here") == []
    assert storage.list("") == ["d", "other"]


def test_delete_and_exists(storage: Storage) -> None:
    storage.write("k", b"x")
    assert storage.exists("k")
    storage.delete("k")
    assert not storage.exists("k")
    storage.delete("k")  # deleting what is gone is fine
    storage.delete("never/was")
    with pytest.raises(FileNotFoundError):
        storage.read("k")


def test_delete_all(storage: Storage) -> None:
    storage.write("a/b", b"1")
    storage.write("c", b"2")
    storage.delete_all()
    assert storage.list("") == []
    assert not storage.exists("a/b")
    storage.delete_all()  # nothing there: no error
    storage.write("again", b"3")
    assert storage.read("again") == b"3"


def test_memory_is_shared_by_url_and_isolated_between_urls() -> None:
    url = f"mem://share-{uuid.uuid4().hex}"
    open_storage(url).write("k", b"v")
    assert open_storage(url).read("k") == b"v"
    assert not open_storage(f"mem://share-{uuid.uuid4().hex}").exists("k")
    assert not open_storage(url + "-suffix").exists("k")


def test_key_url(storage: Storage) -> None:
    assert storage.key_url("refs/a.json") == f"{storage.url}/refs/a.json"
    assert open_storage("mem://trail/").key_url("k") == "mem://trail/k"


def test_missing_key_read_names_the_url(storage: Storage) -> None:
    with pytest.raises(FileNotFoundError) as e:
        storage.read("no/such.json")
    assert storage.key_url("no/such.json") in str(e.value)


@pytest.mark.parametrize("kind", [
    "local",
    "mem",
])
def test_missing_key_read_range_names_the_url(kind: str, tmp_path) -> None:
    storage = open_storage(f"mem://st-{uuid.uuid4().hex}" if kind == "mem" else str(tmp_path / "r"))
    with pytest.raises(FileNotFoundError) as e:
        storage.read_range("no/such.parquet", 0, 4)
    assert storage.key_url("no/such.parquet") in str(e.value)


@pytest.mark.parametrize("kind", [
    "local",
    "mem",
])
def test_missing_key_read_ranges_raises(kind: str, tmp_path) -> None:
    storage = open_storage(f"mem://st-{uuid.uuid4().hex}" if kind == "mem" else str(tmp_path / "r"))
    with pytest.raises(FileNotFoundError) as e:
        storage.read_ranges("no/such.parquet", [0], [4])
    assert storage.key_url("no/such.parquet") in str(e.value)


@pytest.mark.parametrize("kind", [
    "mem",
    "local",
])
def test_ranged_reads_see_rewrites_and_deletes(kind: str, tmp_path) -> None:
    storage = open_storage(f"mem://st-{uuid.uuid4().hex}" if kind == "mem" else str(tmp_path / "r"))
    storage.write("k", b"old!")
    assert storage.read_range("k", 0, 4) == b"old!"
    storage.write("k", b"new!")
    assert storage.read_range("k", 0, 4) == b"new!"
    assert storage.read_ranges("k", [0], [4]) == [b"new!"]
    storage.delete("k")
    with pytest.raises(FileNotFoundError):
        storage.read_range("k", 0, 4)


def test_local_write_is_atomic_rename(tmp_path) -> None:
    s = open_storage(str(tmp_path / "r"))
    s.write("dir/k", DATA)
    s.write("dir/k", b"x")
    assert sorted(os.listdir(tmp_path / "r" / "dir")) == ["k"], "no temporary files left behind"


def test_open_output_publishes_on_success_only(storage: Storage) -> None:
    with storage.open_output("data/f.bin") as sink:
        sink.write(b"hello ")
        sink.write(b"world")
        assert not storage.exists("data/f.bin")  # not visible until the block ends
    assert storage.read("data/f.bin") == b"hello world"
    with pytest.raises(RuntimeError, match="writer failed"):
        with storage.open_output("data/g.bin") as sink:
            sink.write(b"half")
            raise RuntimeError("writer failed")
    assert not storage.exists("data/g.bin")
    assert storage.list_all("data") == ["data/f.bin"]
    found = storage.fs.find(storage.path("data"))  # temporary files too (list_all hides them)
    assert [p.rsplit("/", 1)[-1] for p in found] == ["f.bin"]


def test_local_read_ranges_joins_neighbours_and_keeps_order(tmp_path) -> None:
    storage = open_storage(str(tmp_path))
    data = bytes(range(256)) * 64  # 16 KiB
    storage.write("f", data)
    starts = [0, 4, 10, 5000, 9000, 20, 16000, 3]  # neighbours, a far jump, backwards, overlap
    ends = [4, 10, 4000, 5004, 16384, 30, 16384, 8]
    assert storage.read_ranges("f", starts, ends) == [data[s:e] for s, e in zip(starts, ends)]
    assert storage.read_ranges("f", [], []) == []


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 20000), st.integers(0, 6000)), max_size=40))
def test_local_read_ranges_equal_slices_whatever_the_ranges(tmp_path, ranges) -> None:
    storage = open_storage(str(tmp_path))
    if not storage.exists("f"):
        storage.write("f", DATA_20K)
    starts = [s for s, _ in ranges]
    ends = [min(len(DATA_20K), s + n) for s, n in ranges]
    starts = [min(s, e) for s, e in zip(starts, ends)]
    assert storage.read_ranges("f", starts, ends) == [DATA_20K[s:e] for s, e in zip(starts, ends)]

