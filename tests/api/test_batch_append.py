"""A batch of ``ads.read`` JPEGs is appended in one pass (one Arrow array, every header read at
once), and so is a batch of image arrays (encoded in one loop): what it stores must be exactly
what the sample-by-sample path stores, and a bad sample in the batch must still be named by
tensor and index with nothing written."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

import arrowds as ads
from tests.conftest import jpeg_bytes, photo


def _gray_jpeg(seed: int) -> bytes:
    out = io.BytesIO()
    Image.fromarray(photo(seed)[:, :, 0]).save(out, "JPEG")
    return out.getvalue()


def _blobs() -> list[bytes]:
    return [jpeg_bytes(photo(i, 16 + i, 24)) for i in range(6)] + [_gray_jpeg(7)]


def _dataset(url: str, compression: str = "jpeg"):
    """``compression="default"``: the image htype's default, which keeps what files come in."""
    ds = ads.empty(url, overwrite=True)
    options = {} if compression == "default" else {"sample_compression": compression}
    ds.create_tensor("images", htype="image", **options)
    return ds


@pytest.mark.parametrize("given", ["ads.read", "bytes"])
@pytest.mark.parametrize("compression", ["jpeg", "default"])
def test_batch_stores_what_one_at_a_time_stores(url, compression, given):
    blobs = _blobs()
    batch = _dataset(url + "/batch", compression)
    with batch:
        batch.images.extend([ads.read(b, compression="jpeg") for b in blobs] if given == "ads.read"
                            else list(blobs))
    single = _dataset(url + "/single", compression)
    with single:
        for b in blobs:
            single.images.append(ads.read(b, compression="jpeg"))
    for ds in (ads.load(url + "/batch"), ads.load(url + "/single")):
        assert ds.images.meta.sample_compression == "jpeg"
        assert ds.images.tobytes() == blobs  # stored unchanged
        assert [ds.images[i].shape for i in range(len(blobs))] == \
            [(16 + i, 24, 3) for i in range(6)] + [(32, 48, 1)]
    for a, b in zip(batch.images.numpy(aslist=True), single.images.numpy(aslist=True)):
        np.testing.assert_array_equal(a, b)


def test_bad_sample_in_a_batch_is_named_and_nothing_is_written(url):
    ds = _dataset(url)
    with ds:
        ds.images.extend([ads.read(b, compression="jpeg") for b in _blobs()[:2]])
    blobs = _blobs()
    blobs[4] = blobs[4][:40]  # truncated before its frame header
    with pytest.raises(ads.SampleDecodeError, match="tensor 'images', index 6"):
        ds.images.extend([ads.read(b, compression="jpeg") for b in blobs])
    with pytest.raises(ads.SampleDecodeError, match="tensor 'images', index 6"):
        ds.images.extend(blobs)  # the same as bytes
    png = io.BytesIO()
    Image.fromarray(photo(1)).save(png, "PNG")
    blobs[4] = png.getvalue()  # a png claimed to be a jpeg
    with pytest.raises(ads.SampleDecodeError, match="tensor 'images', index 6"):
        ds.images.extend([ads.read(b, compression="jpeg") for b in blobs])
    again = ads.load(url)
    assert len(again.images) == 2
    assert again.images[1].numpy().shape == (17, 24, 3)


def test_bytes_of_another_format_are_transcoded_as_one_at_a_time(url):
    png = io.BytesIO()
    Image.fromarray(photo(1)).save(png, "PNG")
    ds = _dataset(url)
    with ds:
        ds.images.extend([jpeg_bytes(photo(0)), png.getvalue()])
    assert ads.media.sniff_compression(ds.images[1].tobytes()) == "jpeg"
    assert np.abs(ds.images[1].numpy().astype(int) - photo(1).astype(int)).mean() < 8


def test_rows_of_a_pending_batch_can_be_read_and_updated(url):
    blobs = _blobs()
    ds = _dataset(url)
    with ds:
        ds.images.extend([ads.read(b, compression="jpeg") for b in blobs])
        assert ds.images[2].shape == (18, 24, 3)
        ds.images[2] = ads.read(blobs[0], compression="jpeg")
        ds.images.extend([ads.read(b, compression="jpeg") for b in blobs[:1]])
    again = ads.load(url)
    assert len(again.images) == len(blobs) + 1
    assert again.images.tobytes()[2] == blobs[0]
    assert again.images.tobytes()[3] == blobs[3]
    np.testing.assert_array_equal(again.images[2].numpy(), again.images[0].numpy())


def _arrays() -> list[np.ndarray]:
    """RGB, gray H x W x 1 and gray H x W images of several sizes."""
    rgb = [photo(i, 16 + i, 24) for i in range(4)]
    return rgb + [photo(5)[:, :, :1], photo(6, 20, 12)[:, :, 0], photo(7, 8, 8)]


@pytest.mark.parametrize("compression", ["jpeg", "png"])
def test_batch_of_arrays_stores_what_the_codec_encodes(url, compression):
    """A batch of arrays for a compressed image tensor is encoded in one pass: the stored bytes
    are the codec's, the shapes the arrays' (gray H x W becomes H x W x 1)."""
    arrays = _arrays()
    ds = _dataset(url, compression)
    with ds:
        ds.images.extend(arrays)
        ds.images.extend(arrays[:2] + [ads.read(jpeg_bytes(photo(9)), compression="jpeg")])  # mixed
    codec = ads.media.get_codec(compression)
    again = ads.load(url)
    assert again.images.tobytes()[:len(arrays)] == [codec.encode(a) for a in arrays]
    shapes = [a.shape if a.ndim == 3 else (*a.shape, 1) for a in arrays]
    assert [again.images[i].shape for i in range(len(arrays))] == shapes
    assert again.images[len(arrays) + 2].shape == (32, 48, 3)
    assert again.images.meta.min_shape == (8, 8, 1) and again.images.meta.max_shape == (32, 48, 3)
    if compression == "png":  # lossless: the pixels come back
        for a, b in zip(arrays, again.images.numpy(aslist=True)):
            np.testing.assert_array_equal(b, a if a.ndim == 3 else a[:, :, None])


def test_bad_array_in_a_batch_is_named_and_nothing_is_written(url):
    ds = _dataset(url)
    arrays = _arrays()
    arrays[3] = arrays[3].astype(np.float32)
    with pytest.raises(ads.TensorDtypeMismatchError, match="tensor 'images', index 3"):
        ds.images.extend(arrays)
    arrays[3] = np.zeros((4, 4, 2), np.uint8)  # two channels: no image layout
    with pytest.raises(ads.SampleShapeError, match="tensor 'images', index 3"):
        ds.images.extend(arrays)
    assert len(ads.load(url).images) == 0 and len(ds.images) == 0
