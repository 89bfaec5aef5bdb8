"""Shared fixtures: dataset URLs on every embedded backend, and small real images."""

from __future__ import annotations

import io
import uuid

import numpy as np
import pytest
from PIL import Image

pytest_plugins = ["tests.servers"]  # S3 (moto) and GCS (emulator) servers on loopback


@pytest.fixture(params=["mem", "local"])
def url(request, tmp_path) -> str:
    """A fresh dataset URL, once in memory and once on local disk."""
    if request.param == "mem":
        return f"mem://test-{uuid.uuid4().hex}"
    return str(tmp_path / "ds")


def photo(seed: int, h: int = 32, w: int = 48) -> np.ndarray:
    """A smooth, photo-like RGB image (compresses like a photo, not like noise)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:h, :w]
    base = np.stack([np.sin(xx / (3 + c) + seed) * 60 + yy * 2 + 40 * c for c in range(3)], -1)
    return np.clip(base + rng.normal(0, 4, (h, w, 3)), 0, 255).astype(np.uint8)


def jpeg_bytes(arr: np.ndarray, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()
