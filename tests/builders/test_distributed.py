"""Builds on Ray (``download_and_prepare(scheduler="ray")``, ``arrowds build --ray``) give the
same data as local builds, published once; on the session's local Ray cluster (2 CPUs)."""

from __future__ import annotations

import io

import numpy as np
import pyarrow as pa
import pytest
from PIL import Image

import arrowds as ads
from arrowds.builders import distributed
from arrowds.builders import features as F
from arrowds.cli.main import main
from arrowds.errors import DuplicateKeysError


class Shapes(ads.builders.GeneratorBasedBuilder):
    """Images of varying size, labels, text; keys in a scrambled generation order."""

    VERSION = ads.Version("1.0.0")
    sizes = {"train": 230, "test": 41}
    shuffle = True
    keys = "str"  # or "int", "dup"
    fail_at: int | None = None

    def _info(self):
        return self.dataset_info_from_configs(
            features={"image": F.Image(shape=(None, None, 3)),
                      "label": F.ClassLabel(names=["a", "b", "c"]),
                      "caption": F.Text(), "n": F.Scalar(np.int64)},
            disable_shuffling=not self.shuffle)

    def _split_generators(self, dl_manager):
        return {split: self._generate_examples(n) for split, n in self.sizes.items()}

    def _generate_examples(self, n):
        rng = np.random.default_rng(n)
        perm = rng.permutation(n)
        for i in map(int, perm):
            if i == self.fail_at:
                raise RuntimeError(f"upstream record {i} is corrupt")
            if i % 17 == 5:
                yield f"skip{i}", ads.builders.Skip("unreadable")
                continue
            key = {"str": f"k{i}", "int": i, "dup": f"k{i % 50}"}[self.keys]
            image = rng.integers(0, 255, (4 + i % 5, 6, 3), dtype=np.uint8)
            yield key, {"image": image, "label": ["a", "b", "c"][i % 3], "caption": f"#{i}", "n": i}


@pytest.fixture
def shapes(monkeypatch):
    monkeypatch.setattr(distributed, "BATCH_EXAMPLES", 40)  # several encoding tasks
    monkeypatch.setattr(distributed, "RANGE_BYTES", 4096)  # several write ranges
    Shapes.shuffle, Shapes.keys, Shapes.fail_at = True, "str", None
    return Shapes


def png(seed: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((2, 3, 3), seed * 20, np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def rows(root, split):
    ds = ads.load(str(root / split))
    return (ds.n.numpy().ravel().tolist(), ds.label.numpy().ravel().tolist(),
            [ds.caption[i].text() for i in range(len(ds))],
            [ds.image[i].numpy().tobytes() for i in range(len(ds))],
            ds.to_arrow(["image"]).column("image").to_pylist())


def build_both(tmp_path, cls, **kw):
    local = cls(data_dir=tmp_path / "local")
    local.download_and_prepare()
    on_ray = cls(data_dir=tmp_path / "ray")
    on_ray.download_and_prepare(scheduler="ray", **kw)
    return local, on_ray


@pytest.mark.parametrize("shuffle,keys", [(True, "str"), (False, "int"), (False, "str")])
def test_ray_build_equals_local_build(ray_cluster, shapes, tmp_path, shuffle, keys):
    shapes.shuffle, shapes.keys = shuffle, keys
    local, on_ray = build_both(tmp_path, shapes)
    for split, n in shapes.sizes.items():
        want = rows(local.data_path, split)
        got = rows(on_ray.data_path, split)
        assert got == want  # same rows, same order, same stored image bytes
        assert len(got[0]) == n - sum(1 for i in range(n) if i % 17 == 5)
        assert on_ray.info.splits[split].num_skipped == local.info.splits[split].num_skipped > 0
        frags = ads.load(str(on_ray.data_path / split))._core.manifest.fragments
        assert len(frags) >= 2  # written by two Ray tasks
    if not shuffle and keys == "int":
        assert rows(on_ray.data_path, "train")[0] == sorted(rows(on_ray.data_path, "train")[0])
    assert ads.load("shapes", split="test", data_dir=tmp_path / "ray").caption[0].text().startswith("#")
    history = ads.load(str(on_ray.data_path / "train")).log()
    assert len(history) == len(ads.load(str(local.data_path / "train")).log())


def test_record_batches_on_ray(ray_cluster, tmp_path, monkeypatch):
    monkeypatch.setattr(distributed, "BATCH_EXAMPLES", 3)

    class Batches(ads.builders.GeneratorBasedBuilder):
        VERSION = "1.0.0"

        def _info(self):
            return self.dataset_info_from_configs(features={"x": np.int32, "name": F.Text()})

        def _split_generators(self, dl_manager):
            return {"train": self._gen()}

        def _gen(self):
            yield pa.RecordBatch.from_pydict({"x": pa.array([1, 2, 3], pa.int64()), "name": ["a", "b", "c"]})
            yield "bad", ads.builders.Skip("truncated")
            for i in range(5, 12):
                yield f"e{i}", {"x": i, "name": f"e{i}"}
            yield pa.RecordBatch.from_pydict({"x": [4], "name": ["d"], "__key__": ["k4"]})
            yield pa.RecordBatch.from_pydict({"x": [20, 21], "name": ["u", "v"]})  # keys 11, 12

    local, on_ray = build_both(tmp_path, Batches, num_workers=2)
    for b in (local, on_ray):
        assert b.info.splits["train"].num_examples == 13 and b.info.splits["train"].num_skipped == 1
    want, got = (b.as_dataset("train") for b in (local, on_ray))
    assert got.x.numpy().ravel().tolist() == want.x.numpy().ravel().tolist()
    assert [got.name[i].text() for i in range(13)] == [want.name[i].text() for i in range(13)]


def test_duplicate_keys_and_failures_leave_nothing(ray_cluster, shapes, tmp_path):
    shapes.keys = "dup"
    with pytest.raises(DuplicateKeysError, match="'train'"):
        shapes(data_dir=tmp_path).download_and_prepare(scheduler="ray")
    assert not (tmp_path / "shapes").exists()
    dc = ads.DownloadConfig(ignore_duplicates=True)
    a, b = shapes(data_dir=tmp_path / "a"), shapes(data_dir=tmp_path / "b")
    a.download_and_prepare(dc)
    b.download_and_prepare(dc, scheduler="ray")
    assert rows(a.data_path, "train") == rows(b.data_path, "train")
    assert len(rows(b.data_path, "train")[0]) == 50  # the first example of each key

    shapes.keys, shapes.fail_at = "str", 200
    with pytest.raises(RuntimeError, match="record 200 is corrupt"):
        shapes(data_dir=tmp_path / "c").download_and_prepare(scheduler="ray")
    assert not (tmp_path / "c").exists()


def test_encoding_error_is_the_local_one(ray_cluster, shapes, tmp_path):
    class BadLabel(shapes):
        def _generate_examples(self, n):
            for i in range(n):
                yield i, {"image": np.zeros((4, 4, 3), np.uint8), "label": "zebra" if i == 33 else "a",
                          "caption": "", "n": i}

    with pytest.raises(ValueError, match="label") as local:
        BadLabel(data_dir=tmp_path / "l").download_and_prepare()
    with pytest.raises(ValueError, match="label") as remote:
        BadLabel(data_dir=tmp_path / "r").download_and_prepare(scheduler="ray")
    assert str(remote.value) == str(local.value)
    assert not (tmp_path / "r" / "bad_label").exists()


def test_cli_build_ray(ray_cluster, shapes, tmp_path):
    src = tmp_path / "shapes_builder.py"
    src.write_text("from tests.builders.test_distributed import Shapes as _S\n\n\n"
                   "class CliShapes(_S):\n    sizes = {'train': 60}\n")
    assert main(["build", str(src), "--data_dir", str(tmp_path / "d"), "--ray"]) == 0
    assert main(["build", str(src), "--data_dir", str(tmp_path / "e")]) == 0
    assert rows(tmp_path / "d" / "cli_shapes" / "1.0.0", "train") == \
        rows(tmp_path / "e" / "cli_shapes" / "1.0.0", "train")


def test_bad_scheduler(shapes, tmp_path):
    with pytest.raises(ValueError, match="scheduler must be"):
        shapes(data_dir=tmp_path).download_and_prepare(scheduler="beam")


class Sharded(ads.builders.GeneratorBasedBuilder):
    """Five upstream 'files' per split, given as Shards; keyed examples, keyless and keyed
    record batches, skips, and int or str keys."""

    VERSION = ads.Version("1.0.0")
    shuffle = True
    int_keys = False

    def _info(self):
        return self.dataset_info_from_configs(
            features={"image": F.Image(shape=(None, None, 3)), "name": F.Text(), "n": F.Scalar(np.int64)},
            disable_shuffling=not self.shuffle)

    def _split_generators(self, dl_manager):
        return {"train": ads.builders.Shards(self._generate_examples,
                                             [{"part": p, "size": 30 + 7 * p} for p in range(5)]),
                "test": ads.builders.Shards(self._generate_examples, [{"part": 9, "size": 12}])}

    def _generate_examples(self, part, size):
        rng = np.random.default_rng(part)
        for i in range(size):
            n = part * 1000 + i * 7 % size  # keys in a scrambled order
            if i % 11 == 3:
                yield f"skip{part}-{i}", ads.builders.Skip("broken")
                continue
            key = n if self.int_keys else f"p{part}/{n}"
            yield key, {"image": rng.integers(0, 255, (3 + i % 4, 5, 3), dtype=np.uint8),
                        "name": f"{part}:{n}", "n": n}
        if part == 2:  # record batches: keyless (their keys are running indices), then keyed
            yield pa.RecordBatch.from_pydict({"image": [png(k) for k in range(3)], "name": ["a", "b", "c"],
                                              "n": [-1, -2, -3]})
            yield pa.RecordBatch.from_pydict({"image": [png(7)], "name": ["d"], "n": [-4],
                                              "__key__": [-4 if self.int_keys else "rb-d"]})


def sharded_rows(root, split):
    ds = ads.load(str(root / split))
    return (ds.n.numpy().ravel().tolist(), [ds.name[i].text() for i in range(len(ds))],
            ds.to_arrow(["image"]).column("image").to_pylist())


@pytest.mark.parametrize("shuffle,int_keys", [(True, False), (False, True), (False, False)])
def test_shards_on_ray_equal_a_local_build(ray_cluster, tmp_path, monkeypatch, shuffle, int_keys):
    monkeypatch.setattr(distributed, "BATCH_EXAMPLES", 8)
    # a new class, not Sharded with changed attributes: Ray workers import Sharded afresh
    cls = type(f"Sharded{int(shuffle)}{int(int_keys)}", (Sharded,),
               {"shuffle": shuffle, "int_keys": int_keys})

    def not_here(*args, **kwargs):
        raise AssertionError("shards must be generated in Ray tasks, not in the driver")

    monkeypatch.setattr(distributed, "_generate_here", not_here)
    local, on_ray = build_both(tmp_path, cls, num_workers=2)
    for split in ("train", "test"):
        assert sharded_rows(on_ray.data_path, split) == sharded_rows(local.data_path, split)
        assert len(sharded_rows(on_ray.data_path, split)[0]) > 10
        assert on_ray.info.splits[split].num_skipped == local.info.splits[split].num_skipped > 0


class BrokenShard(Sharded):
    def _generate_examples(self, part, size):
        if part == 3:
            raise OSError(f"part {part} is truncated")
        yield from super()._generate_examples(part, size)


def test_shard_errors_and_max_examples(ray_cluster, tmp_path):
    with pytest.raises(OSError, match="part 3 is truncated"):
        BrokenShard(data_dir=tmp_path / "x").download_and_prepare(scheduler="ray")
    assert not (tmp_path / "x" / "broken_shard").exists()
    dc = ads.DownloadConfig(max_examples_per_split=50)  # counted across shards: generated in order
    a, b = Sharded(data_dir=tmp_path / "a"), Sharded(data_dir=tmp_path / "b")
    a.download_and_prepare(dc)
    b.download_and_prepare(dc, scheduler="ray")
    assert sharded_rows(b.data_path, "train") == sharded_rows(a.data_path, "train")
    assert b.info.splits["train"].num_examples + b.info.splits["train"].num_skipped == 50


SHARDED_FILE = '''
import numpy as np
import arrowds as ads


def _rows(part):
    for i in range(20):
        yield f"{part}-{i}", {"x": part * 100 + i, "t": f"r{part}.{i}"}


class FileShards(ads.builders.GeneratorBasedBuilder):
    VERSION = ads.Version("1.0.0")

    def _info(self):
        return self.dataset_info_from_configs(features={"x": np.int64, "t": ads.features.Text()})

    def _split_generators(self, dl_manager):
        return {"train": ads.builders.Shards(self._generate_examples, [{"part": p} for p in range(4)])}

    def _generate_examples(self, part):
        yield from _rows(part)
'''


def test_cli_build_ray_shards_from_a_builder_file(ray_cluster, tmp_path):
    """A builder imported by path is not importable by Ray workers: its module goes by value."""
    src = tmp_path / "file_shards_builder.py"
    src.write_text(SHARDED_FILE)
    assert main(["build", str(src), "--data_dir", str(tmp_path / "d"), "--ray"]) == 0
    assert main(["build", str(src), "--data_dir", str(tmp_path / "e")]) == 0
    a, b = (ads.load(str(tmp_path / d / "file_shards" / "1.0.0" / "train")) for d in "de")
    assert len(a) == 80 and a.x.numpy().tolist() == b.x.numpy().tolist()


def test_cifar10_files_are_shards_and_a_ray_build_equals_a_local_one(ray_cluster, tmp_path):
    """The catalog's cifar10 gives one shard per upstream file: a Ray build reads them in
    parallel tasks and stores what a local build stores (ids continue across the files)."""
    import tarfile

    from arrowds.builders.catalog import cifar10

    src = tmp_path / "src"
    cifar10.write_dummy_data(src, per_file=3)
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    with tarfile.open(mirror / "cifar-10-binary.tar.gz", "w:gz") as tar:
        tar.add(src / "cifar-10-batches-bin", arcname="cifar-10-batches-bin")
    config = ads.builders.DownloadConfig(mirror=mirror, verify_checksums=False)
    built = {}
    for how in ("local", "ray"):
        builder = cifar10.Cifar10(data_dir=tmp_path / how)
        builder.download_and_prepare(config, scheduler=how)
        train = ads.load(str(builder.data_path / "train"))
        built[how] = ([train.id[i].text() for i in range(len(train))], train.label.numpy().ravel().tolist(),
                      train.to_arrow(["image"]).column("image").to_pylist())
    assert built["ray"] == built["local"]
    assert sorted(built["local"][0]) == [f"train_{i:05d}" for i in range(15)]  # 5 files x 3
