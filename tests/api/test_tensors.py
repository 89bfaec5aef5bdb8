"""Tensors through the public API: htypes, shapes, views, updates, deletes, errors."""

from __future__ import annotations

import numpy as np
import pytest

import arrowds as ads
from tests.conftest import jpeg_bytes, photo


def test_every_htype_can_be_created(url):
    ds = ads.empty(url)
    for h in ads.htypes:
        ds.create_tensor(f"t_{h}", htype=h)
    assert sorted(ds.tensors) == sorted(f"t_{h}" for h in ads.htypes)


def test_unknown_htype_and_bad_compression(url):
    ds = ads.empty(url)
    with pytest.raises(ads.UnsupportedHtypeError, match="Htype 'nope' does not exist"):
        ds.create_tensor("x", htype="nope")
    with pytest.raises(ads.UnsupportedCompressionError, match="'mp3' is not supported for image"):
        ds.create_tensor("x", htype="image", sample_compression="mp3")
    with pytest.raises(ads.UnsupportedCompressionError):
        ds.create_tensor("x", htype="class_label", sample_compression="jpeg")


def test_duplicate_and_invalid_names(url):
    ds = ads.empty(url)
    ds.create_tensor("boxes/xyxy", htype="bbox")
    with pytest.raises(ads.TensorAlreadyExistsError, match="boxes/xyxy"):
        ds.create_tensor("boxes/xyxy")
    for bad in ("", "_hidden", "a.b", "boxes", "boxes/xyxy/deeper"):
        with pytest.raises(ads.errors.InvalidTensorNameError):
            ds.create_tensor(bad)


def test_generic_scalars_and_arrays(url):
    ds = ads.empty(url)
    ds.create_tensor("ids")
    ds.create_tensor("arr")
    ds.ids.extend([1, 2, 3])
    ds.arr.append(np.arange(6).reshape(2, 3))
    ds.arr.append(np.arange(3).reshape(1, 3))
    assert ds.ids.numpy().shape == (3, 1) and ds.ids.dtype == np.int64
    assert ds.arr.shape == (2, None, 3)
    assert ds.arr.shape_interval == "(2, 1:2, 3)"
    with pytest.raises(ads.DynamicTensorNumpyError, match="aslist=True"):
        ds.arr.numpy()
    a, b = ds.arr.numpy(aslist=True)
    np.testing.assert_array_equal(a, np.arange(6).reshape(2, 3))
    np.testing.assert_array_equal(b, np.arange(3).reshape(1, 3))
    assert ds.arr[0].shape == (2, 3)


def test_class_labels_map_strings_and_add_unknown_names(url, caplog):
    ds = ads.empty(url)
    ds.create_tensor("labels", htype="class_label", class_names=["cat", "dog"])
    ds.labels.extend(["dog", "cat", 1])
    ds.labels.append("bird")
    assert "'bird' added to labels.info.class_names at index 2" in caplog.text
    assert ds.labels.numpy().ravel().tolist() == [1, 0, 1, 2]
    assert ds.labels[0].numpy().tolist() == [1]
    assert ads.load(url).labels.info.class_names == ["cat", "dog", "bird"]


def test_data_gives_values_and_class_names(url):
    ds = ads.empty(url)
    ds.create_tensor("labels", htype="class_label", class_names=["cat", "dog"])
    ds.create_tensor("tags", htype="class_label", shape=(None,))
    ds.create_tensor("t", htype="text")
    ds.extend({"labels": ["dog", "cat", 7], "tags": [["a", "b"], [], ["b"]], "t": ["x", "y", "z"]})
    one = ds.labels[0].data()
    assert one["value"].tolist() == [1] and one["text"] == ["dog"]
    several = ds.labels[1:3].data()
    assert [a.tolist() for a in several["value"]] == [[0], [7]] and several["text"] == [["cat"], [None]]
    assert ds.labels.data(aslist=False)["value"].tolist() == [[1], [0], [7]]
    assert ds.tags.data()["text"] == [["a", "b"], [], ["b"]]
    assert ds.t[1].data() == {"value": "y"} and ds.t.data() == {"value": ["x", "y", "z"]}


def test_labels_copied_from_another_dataset_keep_their_names(url):
    src = ads.empty(f"{url}-src")
    src.create_tensor("labels", htype="class_label", class_names=["cat", "dog"])
    src.create_tensor("tags", htype="class_label", shape=(None,))
    src.extend({"labels": ["dog", "cat", 5], "tags": [["x", "y"], [], ["y"]]})
    ds = ads.empty(url)
    ds.create_tensor("labels", htype="class_label", class_names=["dog"])
    ds.create_tensor("tags", htype="class_label", shape=(None,), class_names=["y"])
    ds.labels.append(src.labels[0])
    ds.append({"labels": src.labels[1], "tags": src.tags[0]})
    ds.tags.append(src.tags[1])
    ds.extend({"labels": src.labels[1:3], "tags": src.tags[1:3]})
    ds.labels[0] = src.labels[1]
    assert ds.labels.info.class_names == ["dog", "cat"] and ds.tags.info.class_names == ["y", "x"]
    assert ds.labels.data()["text"] == [["cat"], ["cat"], ["cat"], [None]]
    assert ds.labels.numpy().ravel().tolist()[-1] == 5  # an id with no name stays an id
    assert ds.tags.data()["text"] == [["x", "y"], [], [], ["y"]]


def _rows_ds(url: str, names: list[str], compression: str = "jpeg") -> ads.Dataset:
    ds = ads.empty(url)
    ds.create_tensor("images", htype="image", sample_compression=compression)
    ds.create_tensor("labels", htype="class_label", class_names=names)
    ds.create_tensor("t", htype="text")
    ds.create_tensor("j", htype="json")
    ds.create_tensor("e", htype="embedding")
    return ds


def test_rows_of_another_dataset_append_as_they_are(url):
    src = _rows_ds(f"{url}-src", ["cat", "dog"])
    src.extend({"images": [ads.read(jpeg_bytes(photo(i, 16 + i, 24)), compression="jpeg") for i in range(3)],
                "labels": ["dog", "cat", "dog"], "t": ["a", "b", "c"], "j": [{"k": 1}, [2], None],
                "e": np.arange(12, dtype=np.float32).reshape(3, 4)})
    ds = _rows_ds(url, ["dog"])
    ds.append(src[1])
    ds.extend(src[[2, 0]])
    ds.extend(src)
    order = [1, 2, 0, 0, 1, 2]
    stored = [src.images[k].tobytes() for k in order]
    assert [ds.images[i].tobytes() for i in range(6)] == stored  # not re-encoded
    assert ds.labels.data()["text"] == [[["dog", "cat", "dog"][k]] for k in order]
    assert ds.t.text() == [["a", "b", "c"][k] for k in order]
    assert ds.j.dict() == [[{"k": 1}, [2], None][k] for k in order]
    assert np.array_equal(ds.e.numpy(), src.e.numpy()[order])
    png = _rows_ds(f"{url}-png", ["dog"], compression="png")
    png.extend(src[[0]])  # another compression: transcoded, same pixels (decoded jpeg -> lossless png)
    assert np.array_equal(png.images[0].numpy(), src.images[0].numpy())
    with pytest.raises(ValueError, match="one row"):
        ds.append(src[0:2])
    with pytest.raises(ads.TensorDoesNotExistError):
        ads.empty(f"{url}-other").extend(src)


def test_multi_label_samples_may_have_no_labels(url):
    ds = ads.empty(url)
    ds.create_tensor("tags", htype="class_label", shape=(None,))
    ds.tags.extend([["a", "b"], [], ("b",)])
    got = ads.load(url).tags.numpy(aslist=True)
    assert [a.tolist() for a in got] == [[0, 1], [], [1]] and got[1].dtype == np.uint32


def test_text_json_list_embedding_roundtrip(url):
    ds = ads.empty(url)
    ds.create_tensor("t", htype="text")
    ds.create_tensor("j", htype="json")
    ds.create_tensor("l", htype="list")
    ds.create_tensor("e", htype="embedding")
    with ds:
        ds.append({"t": "héllo", "j": {"a": [1, 2]}, "l": ["x", "y"], "e": np.ones(4, np.float32)})
        ds.append({"t": "", "j": None, "l": [], "e": np.zeros(4, np.float32)})
    ds = ads.load(url)
    assert ds.t.text() == ["héllo", ""] and ds.t[0].text() == "héllo"
    assert ds.j[0].dict() == {"a": [1, 2]} and ds.j[1].dict() is None
    assert ds.l.list() == [["x", "y"], []]
    assert ds.e.numpy().shape == (2, 4) and ds.e.dtype == np.float32
    assert ds.t[0].numpy().tolist() == ["héllo"]


def test_jpeg_from_read_is_stored_byte_for_byte(url, tmp_path):
    data = jpeg_bytes(photo(1))
    path = tmp_path / "a.jpg"
    path.write_bytes(data)
    ds = ads.empty(url)
    ds.create_tensor("images", htype="image", sample_compression="jpeg")
    ds.images.append(ads.read(str(path)))
    ds.images.append(ads.read(data, compression="jpeg"))
    ds = ads.load(url)
    assert ds.images[0].tobytes() == data and ds.images[1].tobytes() == data
    assert ds.images[0].shape == (32, 48, 3)
    decoded = ds.images[0].numpy()
    assert decoded.shape == (32, 48, 3) and np.abs(decoded.astype(int) - photo(1)).mean() < 6


@pytest.mark.parametrize("comp", ["png", "webp", "jpeg"])
def test_arrays_are_encoded_with_the_tensor_compression(url, comp):
    ds = ads.empty(url)
    ds.create_tensor("images", htype="image", sample_compression=comp)
    imgs = [photo(i, 16 + i, 20) for i in range(3)]
    ds.images.extend(imgs)
    assert ads.media.sniff_compression(ds.images[0].tobytes()) == comp
    for i, got in enumerate(ads.load(url).images.numpy(aslist=True)):
        assert got.shape == imgs[i].shape
        tol = 0 if comp == "png" else 12
        assert np.abs(got.astype(int) - imgs[i]).mean() <= tol


def test_image_auto_compression_keeps_the_first_files_format(url):
    ds = ads.empty(url)
    ds.create_tensor("images", htype="image")
    data = jpeg_bytes(photo(2))
    ds.images.append(ads.read(data))
    assert ds.images.sample_compression == "jpeg" and ds.images[0].tobytes() == data
    ds2 = ads.empty(url, overwrite=True)
    ds2.create_tensor("images", htype="image")
    ds2.images.append(photo(3))
    assert ds2.images.sample_compression == "png"
    np.testing.assert_array_equal(ds2.images[0].numpy(), photo(3))


def test_grayscale_images_are_hwc(url):
    ds = ads.empty(url)
    ds.create_tensor("images", htype="image", sample_compression="png")
    gray = photo(4)[..., 0]
    ds.images.append(gray)
    assert ds.images[0].numpy().shape == (32, 48, 1)
    np.testing.assert_array_equal(ds.images[0].numpy()[..., 0], gray)


def test_views_are_lazy_and_compose(url):
    ds = ads.empty(url)
    ds.create_tensor("x")
    ds.create_tensor("t", htype="text")
    ds.extend({"x": list(range(20)), "t": [f"s{i}" for i in range(20)]})
    v = ds[5:15][::2]
    assert len(v) == 5 and v.x.numpy().ravel().tolist() == [5, 7, 9, 11, 13]
    assert ds[[3, 1, 2]].t.text() == ["s3", "s1", "s2"]
    assert ds[-1].x.numpy().tolist() == [19]
    assert ds.x[[1, 5, 9]].numpy().ravel().tolist() == [1, 5, 9]
    assert ds.x[-3:].numpy().ravel().tolist() == [17, 18, 19]
    assert [row.t.text() for row in ds[:3]] == ["s0", "s1", "s2"]
    assert "index=Index([slice(5, 15, None)" in repr(ds[5:15])


def test_updates_are_visible_and_persist(url):
    ds = ads.empty(url)
    ds.create_tensor("labels", htype="class_label", class_names=["a", "b", "c"])
    ds.create_tensor("images", htype="image", sample_compression="png")
    with ds:
        ds.extend({"labels": [0] * 10, "images": [photo(i, 8, 8) for i in range(10)]})
    ds.labels[3] = 2
    ds.labels[5:7] = ["b", "c"]
    ds.images[2] = photo(99, 12, 10)
    ds = ads.load(url)
    assert ds.labels.numpy().ravel().tolist() == [0, 0, 0, 2, 0, 1, 2, 0, 0, 0]
    assert ds.images[2].numpy().shape == (12, 10, 3)
    np.testing.assert_array_equal(ds.images[2].numpy(), photo(99, 12, 10))
    np.testing.assert_array_equal(ds.images[3].numpy(), photo(3, 8, 8))
    assert ds.images.shape == (10, None, None, 3)


def test_pop_removes_rows(url):
    ds = ads.empty(url)
    ds.create_tensor("x")
    ds.x.extend(list(range(10)))
    ds.pop()
    ds.pop(0)
    ds.pop([2, 4])
    assert ads.load(url).x.numpy().ravel().tolist() == [1, 2, 4, 6, 7, 8]


def test_ragged_tensors_len_is_shortest(url, caplog):
    ds = ads.empty(url)
    ds.create_tensor("a")
    ds.create_tensor("b")
    ds.a.extend([1, 2, 3])
    ds.b.extend([1])
    assert len(ds) == 1 and ds.max_len == 3 and ds.min_len == 1
    assert "length of tensors in the dataset is different" in caplog.text
    ds.b.extend([2, 3])
    assert ads.load(url).b.numpy().ravel().tolist() == [1, 2, 3] and len(ads.load(url)) == 3


def test_groups(url):
    ds = ads.empty(url)
    ds.create_tensor("boxes/xyxy", htype="bbox")
    ds.create_tensor("boxes/label", htype="class_label")
    ds["boxes/xyxy"].append(np.zeros((2, 4), np.float32))
    assert ds.boxes.xyxy[0].numpy().shape == (2, 4)
    assert set(ds.boxes.tensors) == {"xyxy", "label"} and list(ds.groups) == ["boxes"]


def test_summary_prints_a_table(url, capsys):
    ds = ads.empty(url)
    ds.create_tensor("images", htype="image", sample_compression="jpeg")
    ds.images.extend([photo(i, 20 + i, 48) for i in range(3)])
    ds.summary()
    out = capsys.readouterr().out
    assert "images" in out and "(3, 20:22, 48, 3)" in out and "jpeg" in out
