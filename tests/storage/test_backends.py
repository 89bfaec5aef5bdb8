"""One behaviour suite, run on every backend: memory, local disk, S3 (moto server) and GCS
(fake-gcs-server). The storage layer first, then datasets through the public API."""

from __future__ import annotations

import threading

import numpy as np
import pyarrow.parquet as pq
import pytest

import arrowds as ads
from arrowds.storage import open_storage
from tests.conftest import jpeg_bytes, photo
from tests.servers import Backend

DATA = bytes(range(256)) * 40


# -- the storage layer -------------------------------------------------------------------
def test_storage_picks_the_backend_class(backend: Backend) -> None:
    st = open_storage(backend.url, backend.options)
    expected = {"mem": "MemoryStorage", "local": "LocalStorage", "s3": "S3Storage", "gcs": "GCSStorage"}
    assert type(st).__name__ == expected[backend.name]
    assert st.atomic_put_if_absent


def test_storage_reads_writes_lists(backend: Backend) -> None:
    st = open_storage(backend.url, backend.options)
    st.write("data/a.bin", DATA)
    st.write("data/b.bin", b"b")
    st.write("refs/branches/main/0.json", b"{}")
    assert st.read("data/a.bin") == DATA
    assert st.read_range("data/a.bin", 100, 1000) == DATA[100:1000]
    assert st.read_ranges("data/a.bin", [5000, 3, 0], [5100, 9, 1]) == [DATA[5000:5100], DATA[3:9], DATA[:1]]
    assert st.size("data/a.bin") == len(DATA)
    assert st.list("data") == ["a.bin", "b.bin"]
    assert st.list("refs/branches") == ["main"]
    assert [n for n, _, _ in st.list_details("data")] == ["a.bin", "b.bin"]
    assert st.list_all() == ["data/a.bin", "data/b.bin", "refs/branches/main/0.json"]
    assert st.exists("data/b.bin") and not st.exists("data/c.bin")
    assert st.list("nothing/here") == []
    st.delete("data/b.bin")
    st.delete("data/b.bin")  # deleting a missing key is fine
    assert st.list("data") == ["a.bin"]
    with pytest.raises(FileNotFoundError, match="data/b.bin does not exist"):
        st.read("data/b.bin")
    with pytest.raises(FileNotFoundError, match="data/b.bin"):
        st.read_range("data/b.bin", 0, 1)
    st.delete_all()
    assert st.list_all() == []


def test_put_if_absent_one_winner_among_threads(backend: Backend) -> None:
    st = open_storage(backend.url, backend.options)
    assert st.put_if_absent("refs/x.json", b"first")
    assert not st.put_if_absent("refs/x.json", b"second")
    assert st.read("refs/x.json") == b"first"
    wins = []
    start = threading.Barrier(6)

    def racer(i: int) -> None:
        start.wait()
        if st.put_if_absent("refs/race.json", f"writer {i}".encode()):
            wins.append(i)

    threads = [threading.Thread(target=racer, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1
    assert st.read("refs/race.json") == f"writer {wins[0]}".encode()


def test_listing_sees_other_handles_writes(backend: Backend) -> None:
    """Heads are found by listing: a listing must never be served from a stale cache."""
    a = open_storage(backend.url, backend.options)
    b = open_storage(backend.url, backend.options)
    assert a.list("refs") == []
    b.write("refs/1.json", b"1")
    assert a.list("refs") == ["1.json"]
    b.write("refs/2.json", b"2")
    assert a.list("refs") == ["1.json", "2.json"] and a.exists("refs/2.json")


# -- datasets through the API ------------------------------------------------------------
def _make(backend: Backend) -> tuple[ads.Dataset, list[bytes]]:
    ds = ads.empty(backend.url, storage_options=backend.options)
    ds.create_tensor("images", htype="image", sample_compression="jpeg")
    ds.create_tensor("labels", htype="class_label", class_names=["a", "b", "c"])
    jpegs = [jpeg_bytes(photo(i)) for i in range(12)]
    with ds:
        ds.extend({"images": [ads.read(b, compression="jpeg") for b in jpegs],
                   "labels": [i % 3 for i in range(12)]})
    return ds, jpegs


def test_dataset_roundtrip(backend: Backend) -> None:
    ds, jpegs = _make(backend)
    assert ads.exists(backend.url, storage_options=backend.options)
    again = ads.load(backend.url, storage_options=backend.options)
    assert len(again) == 12
    assert again.labels.numpy().ravel().tolist() == [i % 3 for i in range(12)]
    assert again.images[5].numpy().shape == (32, 48, 3)
    assert again.images[[1, 7]].numpy().shape == (2, 32, 48, 3)
    assert again.labels.info.class_names == ["a", "b", "c"]
    with pytest.raises(ads.DatasetExistsError):
        ads.empty(backend.url, storage_options=backend.options)


def test_versions_branches_and_time_travel(backend: Backend) -> None:
    ds, _ = _make(backend)
    first = ds.commit("twelve")
    ds.labels[0] = 2
    ds.pop(11)
    second = ds.commit("edit")
    ds.checkout("side", create=True)
    ds.labels.append(1)
    ds.images.append(np.zeros((8, 8, 3), np.uint8))
    ds.commit("side row")
    ds.tag("v1")
    opts = backend.options
    old = ads.load(backend.url, version=first, storage_options=opts)
    assert len(old) == 12 and old.labels[0].numpy().item() == 0
    mid = ads.load(backend.url, version=second, storage_options=opts)
    assert len(mid) == 11 and mid.labels[0].numpy().item() == 2
    assert len(ads.load(backend.url, version="v1", storage_options=opts)) == 12
    main = ads.load(backend.url, storage_options=opts)
    assert sorted(main.branches) == ["main", "side"]
    main.merge("side")
    assert len(main) == 12
    assert main.log()[0].message.startswith("Merge") and main.log()[1].message == "edit"


def test_fragments_are_plain_parquet(backend: Backend) -> None:
    ds, _ = _make(backend)
    st = open_storage(backend.url, backend.options)
    keys = [k for k in st.list_all("data") if k.endswith(".parquet")]
    assert keys
    with st.open_input(keys[0]) as f:
        table = pq.read_table(f)
    assert table.num_rows == 12 and "labels" in table.column_names


def test_delete(backend: Backend) -> None:
    _make(backend)
    ads.delete(backend.url, storage_options=backend.options)
    assert not ads.exists(backend.url, storage_options=backend.options)
    assert open_storage(backend.url, backend.options).list_all() == []
    with pytest.raises(ads.DatasetNotFoundError, match="No arrowds dataset exists at"):
        ads.load(backend.url, storage_options=backend.options)


def test_writers_in_two_handles_rebase(backend: Backend) -> None:
    ds, _ = _make(backend)
    other = ads.load(backend.url, storage_options=backend.options)
    ds.append({"labels": 0, "images": np.zeros((8, 8, 3), np.uint8)})
    other.append({"labels": 1, "images": np.zeros((8, 8, 3), np.uint8)})  # rebased onto ds's
    final = ads.load(backend.url, storage_options=backend.options)
    assert len(final) == 14
    assert sorted(final.labels[12:].numpy().ravel().tolist()) == [0, 1]


def test_read_ranges_merges_neighbours_into_few_requests(backend: Backend) -> None:
    st = open_storage(backend.url, backend.options)
    st.write("data/big.bin", DATA * 10)
    big = DATA * 10
    starts = [0, 10, 30, 50_000, 20, 99_000, 0]
    ends = [5, 25, 40, 50_100, 21, 102_400, 0]
    assert st.read_ranges("data/big.bin", starts, ends) == [big[s:e] for s, e in zip(starts, ends)]
