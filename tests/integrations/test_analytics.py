"""to_arrow / pandas / polars / DuckDB read exactly the checked-out version, lazily."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import arrowds as ads
from tests.counting import CountingFileSystem
from tests.integrations.conftest import N, build

pytest.importorskip("duckdb")


def _expect(ds: ads.Dataset) -> dict:
    return {"labels": ds.labels.numpy().ravel().tolist(), "captions": ds.captions.text(),
            "images": ds.images.tobytes(), "emb": ds.emb.numpy().tolist()}


def test_to_arrow_is_the_version(small):
    t = small.to_arrow()
    assert t.column_names == ["images", "labels", "captions", "emb"]
    assert t.num_rows == len(small) == N - 2
    exp = _expect(small)
    assert t.column("labels").to_pylist() == exp["labels"]
    assert t.column("captions").to_pylist() == exp["captions"]
    assert t.column("images").to_pylist() == exp["images"]  # the stored jpeg bytes
    assert t.column("emb").to_pylist() == exp["emb"]
    assert pa.types.is_fixed_size_list(t.schema.field("emb").type)
    assert "_images_shape" in small.to_arrow(shapes=True).column_names


def test_views_and_projection(small):
    view = small[[9, 2, 40, 2]]
    t = view.to_arrow(["captions", "labels"])
    assert t.column_names == ["captions", "labels"]
    assert t.column("captions").to_pylist() == view.captions.text()
    assert small[5:0].to_arrow().num_rows == 0
    with pytest.raises(ads.TensorDoesNotExistError):
        small.to_arrow(["nope"])


def test_fragments_are_unique_urls(small):
    frags = small.fragments()
    assert len(frags) == len(set(frags)) >= 2
    assert all(f.startswith("memory://") and f.endswith(".parquet") for f in frags)


def test_sql(small):
    got = small.sql("SELECT labels, captions FROM ds")
    assert got.column("labels").to_pylist() == small.labels.numpy().ravel().tolist()
    assert got.column("captions").to_pylist() == small.captions.text()
    counts = small.sql("SELECT labels, count(*) AS n FROM ds GROUP BY labels ORDER BY labels")
    exp = np.bincount(small.labels.numpy().ravel(), minlength=10)
    assert counts.column("n").to_pylist() == exp.tolist()
    assert "_images_shape" not in small.sql("SELECT * FROM ds LIMIT 1").column_names
    view = small[10:20]
    assert view.sql("SELECT captions FROM ds").column(0).to_pylist() == view.captions.text()


def test_query_and_filter_return_views(small):
    threes = small.query("SELECT * WHERE labels = 3")
    assert isinstance(threes, ads.Dataset) and threes.is_view
    labels = small.labels.numpy().ravel()
    assert threes.captions.text() == [c for c, lab in zip(small.captions.text(), labels) if lab == 3]
    assert len(small.query("SELECT * FROM ds WHERE labels = 3 LIMIT 2")) == 2
    desc = small.query("SELECT * WHERE labels < 2 ORDER BY captions DESC")
    assert desc.captions.text() == sorted(desc.captions.text(), reverse=True)
    assert small.filter("labels = 3").captions.text() == threes.captions.text()
    by_fn = small.filter(lambda row: row.labels.numpy()[0] == 3)
    assert by_fn.captions.text() == threes.captions.text()
    sub = small[50:80].query("labels = 3")  # positions relative to the view
    assert sub.captions.text() == [c for c in small[50:80].captions.text() if int(c[1:]) % 10 == 3]


def test_pandas_and_polars(small):
    pl = pytest.importorskip("polars")
    df = small.to_pandas(["labels", "captions"])
    assert df["captions"].tolist() == small.captions.text()
    assert small.to_polars(["captions"])["captions"].to_list() == small.captions.text()
    lazy = small.to_polars(lazy=True)
    assert isinstance(lazy, pl.LazyFrame)
    assert lazy.select("labels").collect()["labels"].to_list() == small.labels.numpy().ravel().tolist()


def test_local_polars_scan_and_arrow_dataset(tmp_path):
    pl = pytest.importorskip("polars")
    ds = build(str(tmp_path / "ds"))
    lazy = ds.to_polars(lazy=True)
    got = lazy.filter(pl.col("labels") == 3).select("captions").collect()["captions"].to_list()
    assert got == ds.query("labels = 3").captions.text()
    assert ds.to_polars()["emb"].to_list() == ds.emb.numpy().tolist()
    dset = ds.to_arrow_dataset()  # deletions: materialised, still the version
    assert dset.to_table(columns=["captions"]).column(0).to_pylist() == ds.captions.text()
    plain = ads.empty(str(tmp_path / "plain"))
    plain.create_tensor("labels", htype="class_label")
    plain.extend({"labels": list(range(30))})
    plain.extend({"labels": list(range(30, 40))})
    lazyds = plain.to_arrow_dataset()
    assert type(lazyds).__name__ == "FileSystemDataset"
    assert lazyds.to_table(filter=pc.field("labels") >= 35).column(0).to_pylist() == [35, 36, 37, 38, 39]


def test_old_versions(tmp_path):
    ds = build(str(tmp_path / "ds"))
    first = ds.commit("first")
    before = _expect(ds)
    ds.pop([0, 1, 2])
    ds.labels[0] = 1
    ds.extend({"images": [ds.images[0].numpy()], "labels": [5], "captions": ["new"],
               "emb": np.zeros((1, 4), np.float32)})
    ds.commit("second")
    old = ads.load(str(tmp_path / "ds"), version=first)
    assert old.to_arrow(["captions"]).column(0).to_pylist() == before["captions"]
    assert old.sql("SELECT captions FROM ds").column(0).to_pylist() == before["captions"]
    assert old.to_polars(["captions"])["captions"].to_list() == before["captions"]
    assert ds.sql("SELECT captions FROM ds").column(0).to_pylist() == ds.captions.text()
    ds.checkout(first)
    assert ds.to_arrow(["labels"]).column(0).to_pylist() == before["labels"]


def test_unflushed_writes_are_flushed_first(tmp_path):
    ds = ads.empty(str(tmp_path / "ds"))
    ds.create_tensor("labels", htype="class_label")
    with ds:
        ds.extend({"labels": [1, 2, 3]})
        assert ds.sql("SELECT sum(labels) AS s FROM ds").column(0).to_pylist() == [6]


@pytest.fixture(scope="module")
def counted(tmp_path_factory):
    url = "countbytes://" + str(tmp_path_factory.mktemp("analytics") / "ds")
    ds = ads.empty(url)
    ds.create_tensor("images", htype="image", sample_compression="jpeg")
    ds.create_tensor("labels", htype="class_label")
    rng = np.random.default_rng(0)
    from tests.conftest import jpeg_bytes
    jpegs = [jpeg_bytes(rng.integers(0, 255, (96, 96, 3), dtype=np.uint8), quality=95) for _ in range(300)]
    with ds:
        ds.extend({"images": [ads.read(b, compression="jpeg") for b in jpegs],
                   "labels": [i % 10 for i in range(300)]})
    return url, sum(map(len, jpegs))


@pytest.mark.parametrize("how", ["sql", "to_arrow", "query"])
def test_label_reads_fetch_no_image_bytes(counted, how):
    url, image_bytes = counted
    ds = ads.load(url, read_only=True)
    CountingFileSystem.reset()
    if how == "sql":
        got = ds.sql("SELECT labels FROM ds").column(0).to_pylist()
        assert got == [i % 10 for i in range(300)]
    elif how == "to_arrow":
        assert ds.to_arrow(["labels"]).num_rows == 300
    else:
        assert len(ds.query("SELECT * WHERE labels = 3")) == 30
    # footers (arrowds reads the last 64 KiB once) plus the labels column: no image bytes
    read = CountingFileSystem.read_under(url)
    assert 0 < read < 64 * 1024 + image_bytes / 20, (read, image_bytes)
