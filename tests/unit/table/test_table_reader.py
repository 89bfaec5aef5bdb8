"""FragmentReader: cells at any physical offsets (any order, repeats) read the same through
pyarrow row groups and through direct byte ranges, on memory and local storage."""

from __future__ import annotations

import uuid

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arrowds import _config
from arrowds.format import Blob, TensorSpec
from arrowds.format import columns as cols
from arrowds.format.parquet import write_parquet
from arrowds.storage import open_storage
from arrowds.table.manifest import Fragment
from arrowds.table.reader import FragmentReader

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
N = 90
EMB = TensorSpec("emb", "embedding", "float32", chunk_compression=None, layout="fixed", ndim=1, shape=(3,))
IMG = TensorSpec("img", "image", "uint8", sample_compression="png", layout="blob", ndim=3)
LAB = TensorSpec("lab", "generic", "int64", layout="scalar", ndim=1)


class Written:
    def __init__(self, url: str) -> None:
        rng = np.random.default_rng(1)
        self.emb = rng.random((N, 3)).astype(np.float32)
        self.img = [rng.bytes(int(rng.integers(0, 200))) for _ in range(N)]
        self.lab = np.arange(N, dtype=np.int64) * 11
        arrays = {**cols.stacked_to_arrow(EMB, self.emb),
                  **cols.to_arrow(IMG, [Blob(b, (1, len(b), 1)) for b in self.img]),
                  **cols.stacked_to_arrow(LAB, self.lab.reshape(-1, 1))}
        self.table = pa.table(arrays)
        self.storage = open_storage(url)
        self.storage.write("data/f.parquet", write_parquet(self.table, {s.name: s for s in (EMB, IMG, LAB)}))
        self.reader = FragmentReader(self.storage)


@pytest.fixture(scope="module", params=["mem", "local"])
def written(request, tmp_path_factory) -> Written:
    mp = pytest.MonkeyPatch()
    mp.setattr(_config, "MEDIA_ROW_GROUP_BYTES", 400)  # many row groups
    mp.setattr(_config, "MIN_ROW_GROUP_ROWS", 1)
    try:
        url = (f"mem://reader-{uuid.uuid4().hex}" if request.param == "mem"
               else str(tmp_path_factory.mktemp("reader") / "ds"))
        w = Written(url)
    finally:
        mp.undo()
    assert w.reader.layout("data/f.parquet").metadata.num_row_groups > 3
    return w


OFFSETS = st.lists(st.integers(0, N - 1), max_size=25).map(lambda v: np.array(v, np.int64))
RUNS = st.tuples(st.integers(0, N - 1), st.integers(0, N)).map(
    lambda ab: np.arange(min(ab), max(ab), dtype=np.int64))


@SETTINGS
@given(offsets=OFFSETS | RUNS)
def test_read_columns_matches_take(written: Written, offsets: np.ndarray) -> None:
    got = written.reader.read_columns("data/f.parquet", ["lab", "emb", "img", "_img_shape", "nope"], offsets)
    assert got["nope"] is None
    for c in ("lab", "emb", "img", "_img_shape"):
        assert got[c].to_pylist() == written.table.column(c).take(pa.array(offsets)).to_pylist(), c


@SETTINGS
@given(offsets=OFFSETS | RUNS)
def test_direct_reads_match(written: Written, offsets: np.ndarray) -> None:
    r = written.reader
    assert r.is_direct("data/f.parquet", "img") and r.is_direct("data/f.parquet", "emb")
    assert not r.is_direct("data/f.parquet", "lab")
    assert r.read_blobs("data/f.parquet", "img", offsets) == [written.img[i] for i in offsets.tolist()]
    if not offsets.size:
        return  # see test_read_fixed_of_no_rows
    out = np.full((len(offsets), 3), -1, np.float32)
    r.read_fixed("data/f.parquet", "emb", offsets, np.dtype(np.float32), out)
    np.testing.assert_array_equal(out, written.emb[offsets])


def test_read_fixed_of_no_rows(written: Written) -> None:
    out = np.zeros((0, 3), np.float32)
    written.reader.read_fixed("data/f.parquet", "emb", np.zeros(0, np.int64), np.dtype(np.float32), out)


def test_missing_column_and_file(written: Written) -> None:
    assert not written.reader.has_column("data/f.parquet", "other")
    with pytest.raises(FileNotFoundError):
        written.reader.layout("data/missing.parquet")


def test_footer_bigger_than_the_first_guess_costs_only_its_missing_head() -> None:
    """A footer over 64 KiB (many row groups, long metadata) takes a second read of just the
    bytes the first one missed, not the whole footer again."""
    import pyarrow.parquet as pq

    table = pa.table({"x": np.arange(1000, dtype=np.int64)})
    table = table.replace_schema_metadata({"pad": "p" * (100 * 1024)})
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, row_group_size=10)
    data = sink.getvalue().to_pybytes()
    storage = open_storage(f"mem://footer-{uuid.uuid4().hex}")
    storage.write("data/f.parquet", data)
    reads: list[tuple[int, int]] = []
    real = storage.read_range

    def counting(key: str, start: int, end: int) -> bytes:
        reads.append((start, end))
        return real(key, start, end)

    storage.read_range = counting  # type: ignore[method-assign]
    reader = FragmentReader(storage)
    reader.know_fragments([Fragment("data/f.parquet", rows=1000, size=len(data))])
    lay = reader.layout("data/f.parquet")
    assert lay.metadata.num_row_groups == 100
    footer = int.from_bytes(data[-8:-4], "little") + 8
    assert footer > 64 * 1024
    assert len(reads) == 2 and sum(e - s for s, e in reads) == footer
    # a manifest that records the footer's length: one exact read
    reads.clear()
    reader = FragmentReader(storage)
    reader.know_fragments([Fragment("data/f.parquet", rows=1000, size=len(data), footer=footer)])
    assert reader.layout("data/f.parquet").metadata.num_row_groups == 100
    assert reads == [(len(data) - footer, len(data))]


def test_sample_by_sample_reads_decode_each_row_group_once(tmp_path) -> None:
    """``ds.labels[i]`` in a loop: the first sample of a row group reads it, the others of the
    same group read nothing (a bounded cache of small decoded column chunks)."""
    from tests.counting import CountingFileSystem

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_config, "MEDIA_ROW_GROUP_BYTES", 400)
        mp.setattr(_config, "MIN_ROW_GROUP_ROWS", 1)
        w = Written(f"countbytes://{tmp_path}/ds")
    lay = w.reader.layout("data/f.parquet")
    g = int(lay.row_group_of(np.array([N // 2]))[0])
    a, b = int(lay.rg_starts[g]), int(lay.rg_starts[g + 1])
    assert b - a > 1
    CountingFileSystem.reset()
    first = w.reader.read_columns("data/f.parquet", ["lab"], np.array([a]))["lab"]
    assert CountingFileSystem.bytes_read > 0
    CountingFileSystem.reset()
    for r in range(a, b):
        got = w.reader.read_columns("data/f.parquet", ["lab"], np.array([r]))["lab"]
        assert got.to_pylist() == [int(w.lab[r])]
    assert CountingFileSystem.bytes_read == 0
    assert first.to_pylist() == [int(w.lab[a])]
    other = w.reader.read_columns("data/f.parquet", ["lab"], np.array([b]))["lab"]  # next group
    assert other.to_pylist() == [int(w.lab[b])] and CountingFileSystem.bytes_read > 0
