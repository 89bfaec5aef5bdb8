"""Shared fixtures: dataset URLs on every embedded backend, small real images, one Ray cluster."""

from __future__ import annotations

import io
import os
import uuid
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest_plugins = ["tests.servers"]  # S3 (moto) and GCS (emulator) servers on loopback
ROOT = Path(__file__).resolve().parents[1]


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


@pytest.fixture(scope="session")
def ray_cluster(tmp_path_factory):
    """A local Ray cluster (2 CPUs, small object store) shared by every test that needs one.

    Ray's workers import arrowds and the test modules from this checkout (PYTHONPATH)."""
    ray = pytest.importorskip("ray")
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    path = os.pathsep.join([str(ROOT), *(str(ROOT / "tests" / d) for d in ("transforms", "builders"))])
    started = False
    if not ray.is_initialized():
        ray.init(num_cpus=2, object_store_memory=256 * 2**20, include_dashboard=False,
                 _temp_dir=str(tmp_path_factory.mktemp("ray")), log_to_driver=False,
                 runtime_env={"env_vars": {"PYTHONPATH": path}})
        started = True
    yield ray
    if started:
        ray.shutdown()
