"""Bad input gets a named error that says what and where, and leaves the dataset readable."""

from __future__ import annotations

import numpy as np
import pytest

import arrowds as ads
from tests.conftest import jpeg_bytes, photo


@pytest.fixture
def ds(url):
    ds = ads.empty(url)
    ds.create_tensor("images", htype="image", sample_compression="jpeg")
    ds.create_tensor("labels", htype="class_label", class_names=["a", "b"])
    ds.create_tensor("emb", htype="embedding")
    ds.create_tensor("fixed", dtype="float32", shape=(2, 2))
    with ds:
        ds.extend({"images": [photo(i) for i in range(4)], "labels": [0, 1, 0, 1],
                   "emb": np.zeros((4, 3), np.float32), "fixed": np.zeros((4, 2, 2), np.float32)})
    return ds


def _intact(ds):
    again = ads.load(ds.path)
    assert again.images.shape[0] == 4
    assert again.labels.numpy().ravel().tolist() == [0, 1, 0, 1]
    assert again.images[3].numpy().shape == (32, 48, 3)


def test_wrong_dtype_names_tensor_index_and_expected_dtype(ds):
    with pytest.raises(ads.TensorDtypeMismatchError) as e:
        ds.images.append(np.zeros((4, 4, 3), np.float32))
    msg = str(e.value)
    assert "'uint8'" in msg and "'float32'" in msg and "tensor 'images'" in msg and "index 4" in msg
    with pytest.raises(ads.TensorDtypeMismatchError, match="tensor 'labels', index 4"):
        ds.labels.append(-1)
    with pytest.raises(ads.TensorDtypeMismatchError):
        ds.labels.append(1.5)
    _intact(ds)


def test_wrong_shape_for_fixed_and_ndim(ds):
    with pytest.raises(ads.SampleShapeError, match=r"fixed shape \(3,\).*tensor 'emb', index 4"):
        ds.emb.append(np.zeros(5, np.float32))
    with pytest.raises(ads.SampleShapeError, match=r"\(2, 2\)"):
        ds.fixed.append(np.zeros((3, 2), np.float32))
    with pytest.raises(ads.SampleShapeError, match=r"shape \(2, 2, 2, 3\).*tensor 'images', index 4"):
        ds.images.append(np.zeros((2, 2, 2, 3), np.uint8))
    ds.create_tensor("arr")
    ds.arr.append(np.zeros((2, 2)))
    with pytest.raises(ads.SampleShapeError, match="expected to be 2, actual length is 1.*tensor 'arr'"):
        ds.arr.append(np.zeros(3))
    with pytest.raises(ads.SampleShapeError, match="one value per sample"):
        ds.labels.append([0, 1])
    _intact(ds)


def test_a_bad_sample_in_a_row_appends_nothing(ds):
    with pytest.raises(ads.SampleShapeError, match="index 4"):
        ds.append({"images": photo(9), "labels": 1, "emb": np.zeros(3, np.float32),
                   "fixed": np.zeros((9, 9), np.float32)})
    assert ds.max_len == 4
    with pytest.raises(ads.SampleShapeError, match="index 6"):
        ds.emb.extend([np.zeros(3, np.float32), np.zeros(3, np.float32), np.zeros(4, np.float32)])
    assert len(ds.emb) == 4
    _intact(ds)


def test_unknown_tensor(ds):
    with pytest.raises(ads.TensorDoesNotExistError, match="'nope' does not exist") as e:
        ds["nope"]
    assert isinstance(e.value, KeyError)
    with pytest.raises(AttributeError):
        ds.nope  # noqa: B018
    with pytest.raises(ads.TensorDoesNotExistError):
        ds.append({"nope": 1})
    with pytest.raises(KeyError, match=r"Required tensors not provided: \['emb', 'fixed'"):
        ds.append({"images": photo(1), "labels": 0})
    _intact(ds)


def test_index_out_of_range_names_tensor_and_length(ds):
    with pytest.raises(IndexError, match="Index 10 is out of range for tensor 'labels' with length 4"):
        ds.labels[10].numpy()
    with pytest.raises(ads.SampleIndexError, match="Index -5"):
        ds.images[-5].numpy()
    with pytest.raises(IndexError, match="Index 7"):
        ds[[0, 7]].labels.numpy()
    with pytest.raises(IndexError):
        ds[99]["labels"].numpy()
    _intact(ds)


def test_corrupt_jpeg_raises_sample_decode_error_on_read(url):
    good = jpeg_bytes(photo(5))
    corrupt = good[:200] + bytes(len(good) - 200)  # header intact, entropy data zeroed
    ds = ads.empty(url)
    ds.create_tensor("images", htype="image", sample_compression="jpeg")
    ds.images.append(ads.read(good))
    ds.images.append(ads.read(corrupt, compression="jpeg"))
    ds.images.append(ads.read(good))
    with pytest.raises(ads.SampleDecodeError) as e:
        ads.load(url).images[1].numpy()
    assert e.value.tensor == "images" and e.value.index == 1 and e.value.codec == "jpeg"
    assert "tensor 'images'" in str(e.value) and "index 1" in str(e.value) and "jpeg" in str(e.value)
    again = ads.load(url)
    assert again.images[0].numpy().shape == again.images[2].numpy().shape == (32, 48, 3)


def test_file_whose_content_is_not_its_extension(url, tmp_path):
    png_named_jpg = tmp_path / "x.jpg"
    from PIL import Image

    Image.fromarray(photo(1)).save(png_named_jpg, format="PNG")
    ds = ads.empty(url)
    ds.create_tensor("images", htype="image", sample_compression="jpeg")
    with pytest.raises(ads.SampleDecodeError, match="x.jpg"):
        ds.images.append(ads.read(str(png_named_jpg)))
    assert len(ds.images) == 0


def test_missing_file_names_the_path(url, tmp_path):
    ds = ads.empty(url)
    ds.create_tensor("images", htype="image", sample_compression="jpeg")
    with pytest.raises(FileNotFoundError, match="missing.jpg"):
        ds.images.append(ads.read(str(tmp_path / "missing.jpg")))


def test_corrupt_manifest_is_a_named_error(tmp_path):
    url = str(tmp_path / "ds")
    ds = ads.empty(url)
    ds.create_tensor("x")
    ds.x.append(1)
    manifest = ds._core.base_ref.manifest
    (tmp_path / "ds" / manifest).write_text('{"format_version": "1.0", "tens')
    with pytest.raises(ads.DatasetCorruptError, match="not a valid arrowds manifest"):
        ads.load(url)
