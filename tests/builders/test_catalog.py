"""The catalog through ads.testing.DatasetBuilderTestCase, on dummy data written in each
upstream format by the generators shipped with the builders."""

from __future__ import annotations

import tarfile

import numpy as np

import arrowds as ads
from arrowds.builders.catalog import cifar10, cifar100, fashion_mnist, image_folder, mnist
from arrowds.builders.catalog._formats import iter_cifar, iter_idx, write_cifar, write_idx
from arrowds.builders.catalog.mnist.builder import FILES
from arrowds.builders.checksums import load as load_checksums

MNIST_FILES = {k: v for k, v in FILES.items()}


class MnistTest(ads.testing.DatasetBuilderTestCase):
    DATASET_CLASS = mnist.MNIST
    SPLITS = {"train": 3, "test": 2}
    DL_DOWNLOAD_RESULT = MNIST_FILES
    make_dummy_data = staticmethod(mnist.write_dummy_data)


class FashionMnistTest(ads.testing.DatasetBuilderTestCase):
    DATASET_CLASS = fashion_mnist.FashionMNIST
    SPLITS = {"train": 3, "test": 2}
    DL_DOWNLOAD_RESULT = MNIST_FILES
    make_dummy_data = staticmethod(mnist.write_dummy_data)


class Cifar10Test(ads.testing.DatasetBuilderTestCase):
    DATASET_CLASS = cifar10.Cifar10
    SPLITS = {"train": 5, "test": 1}
    DL_EXTRACT_RESULT = ""
    make_dummy_data = staticmethod(cifar10.write_dummy_data)


class Cifar100Test(ads.testing.DatasetBuilderTestCase):
    DATASET_CLASS = cifar100.Cifar100
    SPLITS = {"train": 3, "test": 2}
    DL_EXTRACT_RESULT = ""
    make_dummy_data = staticmethod(cifar100.write_dummy_data)


def _image_folder(path):
    from arrowds.media import get_codec

    rng = np.random.default_rng(0)
    for split, label, n in [("train", "cat", 2), ("train", "dog", 1), ("test", "dog", 1)]:
        d = path / split / label
        d.mkdir(parents=True, exist_ok=True)
        for k in range(n):
            pixels = rng.integers(0, 255, (6, 7, 3), dtype=np.uint8)
            (d / f"{k}.jpg").write_bytes(get_codec("jpeg").encode(pixels))
    (path / "train" / "cat" / "notes.txt").write_text("not an image")


class ImageFolderTest(ads.testing.DatasetBuilderTestCase):
    DATASET_CLASS = image_folder.ImageFolder
    SPLITS = {"train": 3, "test": 1}
    make_dummy_data = staticmethod(_image_folder)


def test_formats_round_trip(tmp_path):
    arr = np.arange(5 * 28 * 28, dtype=np.uint8).reshape(5, 28, 28)
    write_idx(tmp_path / "x.gz", arr)
    assert np.array_equal(np.concatenate(list(iter_idx(tmp_path / "x.gz", rows=2))), arr)
    images = np.random.default_rng(1).integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    write_cifar(tmp_path / "c.bin", np.array([[1, 7], [2, 8], [3, 9]], np.uint8), images)
    (labels, got), = list(iter_cifar(tmp_path / "c.bin", 2))
    assert labels.tolist() == [[1, 7], [2, 8], [3, 9]] and np.array_equal(got, images)


def test_mnist_pixels_and_labels_survive(tmp_path):
    mnist.write_dummy_data(tmp_path / "raw", {"train": 4, "test": 1})
    mirror = tmp_path / "raw"  # the upstream URLs' files, found by base name
    b = ads.builder("mnist", data_dir=tmp_path / "data")
    b.download_and_prepare(ads.DownloadConfig(mirror=mirror, verify_checksums=False))
    images = np.concatenate(list(iter_idx(mirror / FILES["train_images"])))
    labels = np.concatenate(list(iter_idx(mirror / FILES["train_labels"])))
    ds = ads.load("mnist", split="train", data_dir=tmp_path / "data")
    stored = ds.image.numpy()
    assert stored.shape == (4, 28, 28, 1)
    got = {(im.tobytes(), int(lab)) for im, lab in zip(stored, ds.label.numpy().ravel())}
    assert got == {(im.tobytes(), int(lab)) for im, lab in zip(images, labels)}


def test_cifar10_from_the_real_archive_layout_with_a_mirror(tmp_path):
    cifar10.write_dummy_data(tmp_path / "src", per_file=2)
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    with tarfile.open(mirror / "cifar-10-binary.tar.gz", "w:gz") as tf:
        tf.add(tmp_path / "src" / "cifar-10-batches-bin", arcname="cifar-10-batches-bin")
    b = ads.builder("cifar10", data_dir=tmp_path / "data")
    b.download_and_prepare(ads.DownloadConfig(mirror=mirror, verify_checksums=False))
    assert {s: i.num_examples for s, i in b.info.splits.items()} == {"train": 10, "test": 2}
    test = ads.load("cifar10", split="test", data_dir=tmp_path / "data")
    (labels, images), = list(iter_cifar(tmp_path / "src" / "cifar-10-batches-bin" / "test_batch.bin", 1))
    by_id = {test.id[i].text(): i for i in range(2)}
    assert np.array_equal(test.image[by_id["test_00001"]].numpy(), images[1])
    assert int(test.label[by_id["test_00001"]].numpy()[0]) == int(labels[1, 0])
    assert test.label.info.class_names[:2] == ["airplane", "automobile"]


def test_recorded_checksums_are_tfds_upstream_entries():
    for module, n in ((mnist, 4), (fashion_mnist, 4), (cifar10, 1), (cifar100, 1)):
        builder_cls = next(c for c in vars(module).values() if isinstance(c, type) and hasattr(c, "code_dir"))
        infos = load_checksums(builder_cls.code_dir() / "checksums.tsv")
        assert len(infos) == n and all(len(i.sha256) == 64 and i.size > 1000 for i in infos.values())
    catalog = {"mnist", "fashion_mnist", "cifar10", "cifar100", "image_folder"}
    assert catalog <= set(ads.builders.list_builders())
