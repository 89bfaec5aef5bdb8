"""``min_size`` / ``decode_min_size``: jpeg images decode at a reduced DCT scale that keeps at
least the asked size, through simplejpeg and through Pillow's ``draft``."""

from __future__ import annotations

import uuid

import numpy as np
import pytest
from PIL import Image

import arrowds as ads
from arrowds.media import jpeg
from tests.conftest import photo


def _ds(shapes, comp="jpeg"):
    ds = ads.empty(f"mem://reduced-{uuid.uuid4().hex}")
    ds.create_tensor("images", htype="image", sample_compression=comp)
    ds.create_tensor("labels", htype="class_label")
    for i, (h, w) in enumerate(shapes):
        ds.append({"images": photo(i, h, w), "labels": i})
    return ds


def _close(small: np.ndarray, full: np.ndarray) -> None:
    """The reduced decode looks like the full image shrunk (mean abs difference of a few levels)."""
    shrunk = np.asarray(Image.fromarray(full).resize(small.shape[1::-1], Image.BOX))
    assert np.abs(shrunk.astype(int) - small.astype(int)).mean() < 8


@pytest.mark.parametrize("use_simplejpeg", [True, False])
def test_min_size_picks_the_smallest_scale_that_keeps_the_size(monkeypatch, use_simplejpeg):
    if not use_simplejpeg:
        monkeypatch.setattr(jpeg, "_simplejpeg", None)  # the Pillow fallback: Image.draft
    elif jpeg._simplejpeg is None:
        pytest.skip("simplejpeg is not installed")
    ds = _ds([(480, 640), (96, 128)])
    full = ds.images[0].numpy()
    assert ds.images[0].numpy(min_size=(120, 160)).shape == (120, 160, 3)  # 1/4
    # 1/4 is too small: 3/8 with libjpeg-turbo (simplejpeg), 1/2 with Pillow's draft
    want = (180, 240, 3) if use_simplejpeg else (240, 320, 3)
    assert ds.images[0].numpy(min_size=(121, 160)).shape == want
    assert ds.images[0].numpy(min_size=50).shape == (60, 80, 3)  # 1/8
    _close(ds.images[0].numpy(min_size=50), full)
    got = ds.images.numpy(aslist=True, min_size=100)
    assert [g.shape for g in got] == [(120, 160, 3), (96, 128, 3)]  # already small: whole
    assert ds.images[0].shape == (480, 640, 3)  # the stored shape is unchanged


def test_gray_jpeg_and_other_formats():
    ds = ads.empty(f"mem://reduced-{uuid.uuid4().hex}")
    ds.create_tensor("gray", htype="image", sample_compression="jpeg")
    ds.create_tensor("png", htype="image", sample_compression="png")
    ds.append({"gray": photo(1, 64, 96)[..., :1], "png": photo(2, 64, 96)})
    assert ds.gray[0].numpy(min_size=16).shape == (16, 24, 1)
    assert ds.png[0].numpy(min_size=16).shape == (64, 96, 3)  # png has no reduced decode


def test_bad_min_size_is_named():
    ds = _ds([(32, 32)])
    for bad in (0, (1, 2, 3), "224", (224.0, 224)):
        with pytest.raises(ValueError, match="min_size"):
            ds.images[0].numpy(min_size=bad)


def test_loader_and_transform_decode_reduced():
    pytest.importorskip("torch")
    ds = _ds([(256, 256)] * 4)
    batch = next(iter(ds.pytorch(batch_size=4, decode_min_size={"images": 64})))
    assert tuple(batch["images"].shape) == (4, 64, 64, 3)
    batch = next(iter(ds.pytorch(batch_size=4, decode_min_size=100)))
    assert tuple(batch["images"].shape) == (4, 128, 128, 3)
    with pytest.raises(ads.TensorDoesNotExistError):
        ds.pytorch(decode_min_size={"nope": 64})
    with pytest.raises(ValueError, match="decode_min_size for 'images'"):
        ds.pytorch(decode_min_size={"images": -1})

    @ads.compute
    def thumb(sample_in, samples_out):
        samples_out.images.append(sample_in.images.numpy(min_size=32))

    out = ads.empty(f"mem://reduced-out-{uuid.uuid4().hex}")
    out.create_tensor("images", htype="image", sample_compression="png")
    thumb().eval(ds, out, num_workers=0, progressbar=False)
    assert out.images.shape == (4, 32, 32, 3)
