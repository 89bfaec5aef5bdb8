"""``write_parquet``: files that plain pyarrow and DuckDB read back with the same values, and a
footer from which ``FileLayout`` gives the exact bytes of each direct (blob/fixed) value."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from arrowds import _config
from arrowds.format import Blob, TensorSpec
from arrowds.format import columns as cols
from arrowds.format.parquet import DIRECT_KEY, FileLayout, write_parquet

SPECS = [
    TensorSpec("label", "class_label", "uint32", layout="scalar", ndim=1),
    TensorSpec("emb", "embedding", "float32", chunk_compression=None, layout="fixed", ndim=1, shape=(4,)),
    TensorSpec("boxes", "bbox", "float32", layout="list", ndim=2),
    TensorSpec("img", "image", "uint8", sample_compression="png", layout="blob", ndim=3),
    TensorSpec("caption", "text", "str", layout="text"),
    TensorSpec("meta", "json", "json", layout="json"),
    TensorSpec("tags", "list", "list", layout="strlist"),
    TensorSpec("mask", "generic", "int16", layout="fixed", ndim=2, shape=(2, 2)),  # zstd: not direct
]


def _samples(spec: TensorSpec, n: int, rng: np.random.Generator, nulls: bool) -> list[Any]:
    out: list[Any] = []
    for i in range(n):
        if nulls and i % 5 == 3:
            out.append(None)
        elif spec.layout == "scalar":
            out.append(np.array([i * 3], spec.dtype))
        elif spec.layout == "fixed":
            out.append(rng.integers(-100, 100, spec.shape).astype(spec.dtype))
        elif spec.layout == "list":
            out.append(rng.random((i % 4, 4)).astype(spec.dtype))
        elif spec.layout == "blob":
            size = int(rng.integers(1, 300)) if i % 7 else 0  # empty blobs too
            out.append(Blob(rng.bytes(size), (i + 1, 2, 3)))
        elif spec.layout == "text":
            out.append(f"caption {i} ünï")
        elif spec.layout == "json":
            out.append(json.dumps({"i": i, "v": [i, None]}))
        else:
            out.append([f"t{k}" for k in range(i % 3)])
    return out


def _table(specs: list[TensorSpec], n: int, nulls: bool = False, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    arrays: dict[str, pa.Array] = {}
    for spec in specs:
        arrays.update(cols.to_arrow(spec, _samples(spec, n, rng, nulls)))
    return pa.table(arrays)


def _write(table: pa.Table, specs: list[TensorSpec]) -> bytes:
    return write_parquet(table, {s.name: s for s in specs}).to_pybytes()


@pytest.mark.parametrize("nulls", [False, True])
def test_plain_pyarrow_reads_the_same_values(nulls: bool) -> None:
    table = _table(SPECS, 37, nulls)
    back = pq.read_table(pa.BufferReader(_write(table, SPECS)))
    assert back.column_names == table.column_names
    for name in table.column_names:
        assert back.schema.field(name).type == table.schema.field(name).type, name
        assert back.column(name).to_pylist() == table.column(name).to_pylist(), name


@pytest.mark.parametrize("nulls", [False, True])
def test_duckdb_reads_the_same_values(tmp_path, nulls: bool) -> None:
    duckdb = pytest.importorskip("duckdb")
    table = _table(SPECS, 37, nulls)
    path = tmp_path / "frag.parquet"
    path.write_bytes(_write(table, SPECS))
    con = duckdb.connect()
    back = con.sql(f"SELECT * FROM read_parquet('{path}')").to_arrow_table()
    assert back.num_rows == table.num_rows
    for name in table.column_names:
        assert back.column(name).to_pylist() == table.column(name).to_pylist(), name
    want = sum(1 for v in table.column("label").to_pylist() if v is not None and v > 30)
    got = con.execute(f"SELECT count(*) FROM read_parquet('{path}') WHERE label > 30").fetchone()[0]
    assert got == want


def _small_groups(monkeypatch, target: int) -> None:
    monkeypatch.setattr(_config, "MEDIA_ROW_GROUP_BYTES", target)
    monkeypatch.setattr(_config, "NUMERIC_ROW_GROUP_BYTES", target)
    monkeypatch.setattr(_config, "MIN_ROW_GROUP_ROWS", 1)


@pytest.mark.parametrize("target", [1, 300, 2000, 1 << 20])
@pytest.mark.parametrize("which", [["img"], ["emb"], ["img", "emb", "label", "caption"]])
def test_byte_range_is_exactly_each_value(monkeypatch, target: int, which: list[str]) -> None:
    _small_groups(monkeypatch, target)
    specs = [s for s in SPECS if s.name in which]
    n = 60
    table = _table(specs, n, seed=target)
    buf = _write(table, specs)
    md = pq.read_metadata(pa.BufferReader(buf))
    if target <= 300:
        assert md.num_row_groups >= (10 if target == 1 else 3), "a small target gives many row groups"
    layout = FileLayout.from_metadata(md)
    assert layout.num_rows == n
    if "img" in which:
        assert "img" in layout.blob
        blobs = table.column("img").to_pylist()
        for row in range(n):
            start, end = layout.byte_range("img", row)
            assert buf[start:end] == blobs[row], row
    if "emb" in which:
        assert "emb" in layout.fixed
        rows = np.stack([np.asarray(v, np.float32) for v in table.column("emb").to_pylist()])
        for row in range(n):
            start, end = layout.byte_range("emb", row)
            assert buf[start:end] == rows[row].astype("<f4").tobytes(), row
        for lo, hi in [(0, n), (3, 4), (7, 41), (n - 1, n)]:
            runs = layout.fixed_runs("emb", lo, hi)
            assert runs[0][0] == lo
            got = b"".join(buf[b0:b1] for _, b0, b1 in runs)
            assert got == rows[lo:hi].astype("<f4").tobytes()


def _direct(buf: bytes) -> dict[str, str]:
    return json.loads(pq.read_metadata(pa.BufferReader(buf)).metadata[DIRECT_KEY])


def test_direct_columns_listed_in_footer() -> None:
    buf = _write(_table(SPECS, 20), SPECS)
    assert _direct(buf) == {"img": "blob", "emb": "fixed"}


def test_no_direct_entry_for_a_column_with_nulls() -> None:
    specs = [s for s in SPECS if s.name in ("img", "emb")]
    buf = _write(_table(specs, 20, nulls=True), specs)
    assert _direct(buf) == {}
    layout = FileLayout.from_metadata(pq.read_metadata(pa.BufferReader(buf)))
    assert layout.blob == {} and layout.fixed == {}


def test_direct_blob_columns_are_stored_uncompressed() -> None:
    specs = [s for s in SPECS if s.name in ("img", "caption")]
    md = pq.read_metadata(pa.BufferReader(_write(_table(specs, 20), specs)))
    layout = FileLayout.from_metadata(md)
    for g in range(md.num_row_groups):
        chunk = md.row_group(g).column(layout.column_index["img"])
        assert chunk.compression == "UNCOMPRESSED"
        assert not chunk.has_dictionary_page


@pytest.mark.parametrize("dtype", [
    "uint8", "int8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64", "bool",
    "float16",
])
def test_uncompressed_fixed_columns_of_every_dtype(monkeypatch, dtype: str) -> None:
    """Whatever the dtype, the file reads back; where a column is listed direct, its ranges are exact."""
    _small_groups(monkeypatch, 64)
    spec = TensorSpec("v", "embedding", dtype, chunk_compression=None, layout="fixed", ndim=1, shape=(3,))
    rng = np.random.default_rng(0)
    samples = [rng.integers(0, 2, 3).astype(dtype) for _ in range(40)]
    table = pa.table(cols.to_arrow(spec, samples))
    buf = _write(table, [spec])
    back = pq.read_table(pa.BufferReader(buf))
    assert back.column("v").to_pylist() == table.column("v").to_pylist()
    layout = FileLayout.from_metadata(pq.read_metadata(pa.BufferReader(buf)))
    if "v" in layout.fixed:
        for row, s in enumerate(samples):
            start, end = layout.byte_range("v", row)
            assert buf[start:end] == s.tobytes()


@pytest.mark.parametrize("name", ["img", "emb"])
def test_empty_table_writes(name: str) -> None:
    specs = [s for s in SPECS if s.name == name]
    table = _table(specs, 0)
    back = pq.read_table(pa.BufferReader(_write(table, specs)))
    assert back.num_rows == 0 and back.column_names == table.column_names
