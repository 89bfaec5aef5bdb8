"""GeneratorBasedBuilder + SplitWriter + ads.load(name, split): layout, order, keys, atomicity."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pyarrow as pa
import pytest

import arrowds as ads
from arrowds import media
from arrowds.builders import features as F
from arrowds.builders.writer import SplitWriter, hash_key
from arrowds.errors import BuilderError, DatasetNotFoundError, DuplicateKeysError


def md5_order(split: str, keys: list) -> list:
    return sorted(keys, key=lambda k: int(hashlib.md5(split.encode() + str(k).encode()).hexdigest(), 16))


def test_build_layout_info_and_load(toy, tmp_path):
    b = ads.builder("toy", data_dir=tmp_path)
    assert type(b) is toy and b.name == "toy"
    b.download_and_prepare()
    root = tmp_path / "toy" / "1.0.0"
    assert sorted(p.name for p in root.iterdir()) == [
        "dataset_info.json", "features.json", "label.labels.txt", "test", "train"]
    assert (root / "label.labels.txt").read_text() == "a\nb\nc\n"
    info = json.loads((root / "dataset_info.json").read_text())
    assert info["splits"][0]["name"] == "train" and info["splits"][0]["num_examples"] == 20
    assert info["supervised_keys"] == ["image", "label"] and info["release_notes"] == {"1.0.0": "first"}
    assert b.info.splits["test"].num_examples == 7 and b.info.splits["test"].num_bytes > 0
    assert not [p for p in (tmp_path / "toy").iterdir() if p.name.startswith("incomplete")]

    train = ads.load("toy", split="train", data_dir=tmp_path)
    assert isinstance(train, ads.Dataset) and len(train) == 20
    assert [f"k{i}" for i in train.n.numpy().ravel()] == md5_order("train", [f"k{i}" for i in range(20)])
    assert ads.load(str(root / "train")).label.info.class_names == ["a", "b", "c"]  # a plain dataset
    last = ads.load("toy:1.0.0", split="train[80%:]", data_dir=tmp_path)
    assert last.n.numpy().ravel().tolist() == train.n.numpy().ravel()[16:].tolist()
    both = ads.load("toy", split="train[:50%]+test[:2]", data_dir=tmp_path)
    assert isinstance(both, ads.builders.ConcatView) and len(both) == 12
    first_test = ads.load("toy", split="test[:2]", data_dir=tmp_path)
    assert both.n.numpy().ravel().tolist()[10:] == first_test.n.numpy().ravel().tolist()
    assert both[11].n.numpy().ravel().tolist() == both.n.numpy().ravel()[11:].tolist()
    assert len(both[5:15]) == 7 and len(list(both)) == 12
    a, c = ads.load("toy", split=["train[:2]", "test"], data_dir=tmp_path)
    assert (len(a), len(c)) == (2, 7)
    every = ads.load("toy", data_dir=tmp_path)
    assert sorted(every) == ["test", "train"]
    assert len(ads.load(str(root), split="test[-3:]")) == 3  # a version folder by path
    assert len(b.as_dataset("train[10%:20%]")) == 2


def test_stored_order_is_md5_of_split_and_key():
    assert hash_key("train", 1) == hash_key("train", "1") == int(hashlib.md5(b"train1").hexdigest(), 16)
    assert hash_key("train", "a\\b") == hash_key("train", "a/b")
    assert hash_key("train", np.array([5])) == hash_key("train", 5)


def _writer(tmp_path, split="train", **kw):
    ds = ads.empty(str(tmp_path / f"ds-{split}-{len(list(tmp_path.iterdir()))}"))
    fd = F.FeaturesDict({"x": F.Scalar(np.int64), "t": F.Text()})
    fd.create_tensors(ds)
    return ds, SplitWriter(ds, fd, split, tmp_path / f"spill-{len(list(tmp_path.iterdir()))}", **kw)


@pytest.mark.parametrize("run_bytes", [1 << 30, 200])
def test_many_spill_runs_merge_into_the_same_order(tmp_path, run_bytes):
    keys = list(range(500))
    rng = np.random.default_rng(0)
    rng.shuffle(keys)
    ds, w = _writer(tmp_path, run_bytes=run_bytes, batch_bytes=100, chunk_bytes=300, flush_bytes=2000,
                    encode_batch=4)
    for k in keys:
        w.add(k, {"x": k, "t": f"v{k}"})
    info = w.finalize()
    assert info.num_examples == 500
    assert len(w._runs) == 1 if run_bytes > 1e6 else len(w._runs) > 5
    got = ds.x.numpy().ravel().tolist()
    assert got == md5_order("train", list(range(500)))
    assert ds.t[3].text() == f"v{got[3]}"


def test_disable_shuffling_keeps_key_order_or_generation_order(tmp_path):
    ds, w = _writer(tmp_path, shuffle=False, run_bytes=100, batch_bytes=50)
    for k in [5, 3, 9, 1]:
        w.add(k, {"x": k, "t": ""})
    w.finalize()
    assert ds.x.numpy().ravel().tolist() == [1, 3, 5, 9]
    ds, w = _writer(tmp_path, shuffle=False, run_bytes=100, batch_bytes=50)
    for k in ["b", "a", "c"]:
        w.add(k, {"x": ord(k), "t": k})
    w.finalize()
    assert [ds.t[i].text() for i in range(3)] == ["b", "a", "c"]


def test_duplicate_keys_name_both_keys_and_the_split(tmp_path):
    ds, w = _writer(tmp_path, split="valid")
    for k in ["a", 1, "1", "b"]:
        w.add(k, {"x": 0, "t": str(k)})
    with pytest.raises(DuplicateKeysError) as e:
        w.finalize()
    msg = str(e.value)
    assert "Two examples share the same hashed key!" in msg and "'valid'" in msg
    assert "1 and '1'" in msg
    assert len(ds) == 0
    ds, w = _writer(tmp_path, ignore_duplicates=True)
    for k, x in [("a", 1), ("b", 2), ("a", 3)]:
        w.add(k, {"x": x, "t": ""})
    w.finalize()
    assert sorted(ds.x.numpy().ravel().tolist()) == [1, 2]  # the first "a" is kept


def test_record_batches_and_skips(tmp_path):
    class Batches(ads.builders.GeneratorBasedBuilder):
        VERSION = "1.0.0"

        def _info(self):
            return self.dataset_info_from_configs(features={"x": np.int32, "name": F.Text()})

        def _split_generators(self, dl_manager):
            return {"train": self._gen()}

        def _gen(self):
            yield pa.RecordBatch.from_pydict({"x": pa.array([1, 2, 3], pa.int64()),
                                              "name": ["a", "b", "c"]})
            yield "bad", ads.builders.Skip("truncated")
            yield pa.RecordBatch.from_pydict({"x": [4], "name": ["d"], "__key__": ["k4"]})

    b = Batches(data_dir=tmp_path)
    b.download_and_prepare()
    ds = b.as_dataset("train")
    assert sorted(ds.x.numpy().ravel().tolist()) == [1, 2, 3, 4]
    assert b.info.splits["train"].num_skipped == 1
    with pytest.raises(ValueError, match="do not match the features"):
        bad = pa.RecordBatch.from_pydict({"y": [1]})
        SplitWriter(ds, b.info.features, "t", tmp_path / "s").add_batch(bad)


def test_two_builds_write_identical_data_files(toy, tmp_path):
    for d in ("a", "b"):
        ads.builder("toy", data_dir=tmp_path / d).download_and_prepare()

    def contents(d):
        ds = ads.load(str(tmp_path / d / "toy" / "1.0.0" / "train"))
        return [(tmp_path / d / "toy" / "1.0.0" / "train" / f.file).read_bytes()
                for f in ds._core.manifest.fragments]

    assert contents("a") == contents("b") and contents("a")


def test_failed_build_leaves_nothing_and_overwrite_keeps_old_data_until_success(toy, tmp_path):
    toy.fail_in = "test"
    with pytest.raises(RuntimeError, match="corrupt"):
        ads.builder("toy", data_dir=tmp_path).download_and_prepare()
    assert not (tmp_path / "toy").exists()  # not even an empty folder (TFDS leaves one)

    toy.fail_in = None
    ads.builder("toy", data_dir=tmp_path).download_and_prepare()
    before = ads.load("toy", split="train", data_dir=tmp_path).n.numpy().tolist()
    toy.fail_in = "test"
    with pytest.raises(RuntimeError):
        ads.builder("toy", data_dir=tmp_path).download_and_prepare(ads.DownloadConfig(overwrite=True))
    assert ads.load("toy", split="train", data_dir=tmp_path).n.numpy().tolist() == before
    assert sorted(p.name for p in (tmp_path / "toy").iterdir()) == ["1.0.0"]

    toy.fail_in = None
    toy.sizes = {"train": 5, "test": 7}
    try:
        ads.builder("toy", data_dir=tmp_path).download_and_prepare()  # reused, not rebuilt
        assert len(ads.load("toy", split="train", data_dir=tmp_path)) == 20
        ads.builder("toy", data_dir=tmp_path).download_and_prepare(ads.DownloadConfig(overwrite=True))
        assert len(ads.load("toy", split="train", data_dir=tmp_path)) == 5
        assert sorted(p.name for p in (tmp_path / "toy").iterdir()) == ["1.0.0"]
        with pytest.raises(BuilderError, match="fail_if_exists"):
            ads.builder("toy", data_dir=tmp_path).download_and_prepare(
                ads.DownloadConfig(fail_if_exists=True))
    finally:
        toy.sizes = {"train": 20, "test": 7}


def test_max_examples_per_split(toy, tmp_path):
    b = ads.builder("toy", data_dir=tmp_path)
    b.download_and_prepare(ads.DownloadConfig(max_examples_per_split=3))
    assert {s: i.num_examples for s, i in b.info.splits.items()} == {"train": 3, "test": 3}


class Configs(ads.builders.GeneratorBasedBuilder):
    VERSION = ads.Version("2.0.0")
    BUILDER_CONFIGS = [ads.BuilderConfig("small", description="3 rows"),
                       ads.BuilderConfig("big", version="2.1.0", description="6 rows")]

    def _info(self):
        return self.dataset_info_from_configs(features={"x": np.int64}, disable_shuffling=True)

    def _split_generators(self, dl_manager):
        n = 3 if self.builder_config.name == "small" else 6
        return {"train": ((i, {"x": i}) for i in reversed(range(n)))}


def test_configs_versions_and_errors(tmp_path):
    small = ads.builder("configs", data_dir=tmp_path)
    assert small.builder_config.name == "small" and str(small.version) == "2.0.0"
    small.download_and_prepare()
    big = ads.builder("configs/big", data_dir=tmp_path)
    assert str(big.version) == "2.1.0"
    big.download_and_prepare()
    assert (tmp_path / "configs" / "big" / "2.1.0" / "train").is_dir()
    assert json.loads((tmp_path / "configs" / ".config" / "metadata.json").read_text()) == {
        "default_config_name": "small"}
    assert ads.load("configs", split="train", data_dir=tmp_path).x.numpy().ravel().tolist() == [0, 1, 2]
    assert len(ads.load("configs/big:2.1.0", split="train", data_dir=tmp_path)) == 6
    assert ads.builder("configs/big", data_dir=tmp_path).info.config_description == "6 rows"
    with pytest.raises(BuilderError, match="BuilderConfig nope not found"):
        ads.builder("configs/nope", data_dir=tmp_path)
    with pytest.raises(BuilderError, match="cannot be loaded at version 9.0.0, only: 2.0.0"):
        ads.builder("configs:9.0.0", data_dir=tmp_path)
    with pytest.raises(DatasetNotFoundError, match="no prepared version 1.0.0"):
        ads.load("configs/small:1.0.0", split="train", data_dir=tmp_path)
    with pytest.raises(DatasetNotFoundError, match="Dataset configz not found"):
        ads.load("configz", split="train", data_dir=tmp_path)
    with pytest.raises(ValueError, match="Unknown split 'valid'"):
        ads.load("configs", split="valid", data_dir=tmp_path)


def test_prepared_data_reopens_without_the_builder_code(tmp_path):
    class Gone(ads.builders.GeneratorBasedBuilder):
        VERSION = "1.0.0"

        def _info(self):
            return self.dataset_info_from_configs(features={"label": F.ClassLabel(names=["x", "y"])})

        def _split_generators(self, dl_manager):
            return {"train": ((i, {"label": i % 2}) for i in range(4))}

    Gone(data_dir=tmp_path).download_and_prepare()
    from arrowds.builders import registry

    del registry._REGISTRY["gone"]
    b = ads.builder("gone", data_dir=tmp_path)
    assert isinstance(b, ads.builders.PreparedDataset)
    assert b.info.features["label"].names == ["x", "y"] and len(b.as_dataset("train")) == 4


def test_each_image_is_encoded_once_and_never_parsed_again(toy, tmp_path, monkeypatch):
    """The writer spills the stored columns and hands them to the dataset as Arrow: PNG encode
    runs once per image, and no header is parsed again when the runs are merged."""
    codec = type(media.get_codec("png"))
    calls = {"encode": 0, "header": 0}

    def counted(name):
        real = getattr(codec, name)

        def wrapper(self, *args, **kw):
            calls[name] += 1
            return real(self, *args, **kw)
        return wrapper

    monkeypatch.setattr(codec, "encode", counted("encode"))
    monkeypatch.setattr(codec, "header", counted("header"))
    b = ads.builder("toy", data_dir=tmp_path)
    b.download_and_prepare()
    assert calls == {"encode": 27, "header": 0}
    assert b.as_dataset("train").image[0].numpy().shape == (8, 8, 3)


class _Pairs(ads.builders.GeneratorBasedBuilder, skip_registration=True):
    """Images, labels by name and 2-vectors; ``batches`` yields them as RecordBatches."""

    VERSION = "1.0.0"
    batches = False

    def _info(self):
        return self.dataset_info_from_configs(features={
            "image": F.Image(shape=(None, None, 3)), "label": F.ClassLabel(names=["cat", "dog"]),
            "emb": F.Tensor(shape=(2,), dtype="float32")})

    def _split_generators(self, dl_manager):
        return {"train": self._gen()}

    def _gen(self):
        rng = np.random.default_rng(0)
        rows = [(f"k{i}", rng.integers(0, 255, (4 + i % 3, 5, 3), dtype=np.uint8), ["cat", "dog"][i % 2],
                 [i, -i]) for i in range(10)]
        if not self.batches:
            for key, image, label, emb in rows:
                yield key, {"image": image, "label": label, "emb": emb}
            return
        codec = media.get_codec("png")
        for part in (rows[:4], rows[4:]):
            yield pa.RecordBatch.from_pydict({
                "__key__": [r[0] for r in part], "image": pa.array([codec.encode(r[1]) for r in part]),
                "label": [r[2] for r in part], "emb": [r[3] for r in part]})


def test_record_batches_store_the_same_data_as_examples(tmp_path):
    tables = []
    for batches in (False, True):
        cls = type("Pairs", (_Pairs,), {"batches": batches, "name": "pairs"}, skip_registration=True)
        builder = cls(data_dir=tmp_path / str(batches))
        builder.download_and_prepare()
        ds = builder.as_dataset("train")
        tables.append(ds.to_arrow(shapes=True))
    assert tables[0].equals(tables[1])
    assert tables[0].column("_image_shape").to_pylist()[0][2] == 3
