"""Schedulers to parametrise over, and one Ray cluster for the whole session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCHEDULERS = ["threaded", "processed", "ray"]


@pytest.fixture(scope="session")
def ray_cluster(tmp_path_factory):
    """A local Ray cluster (2 CPUs, small object store) shared by every test that needs one.

    Ray's workers import arrowds and the test modules from this checkout (PYTHONPATH)."""
    ray = pytest.importorskip("ray")
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    path = os.pathsep.join([str(ROOT), str(Path(__file__).parent)])
    started = False
    if not ray.is_initialized():
        ray.init(num_cpus=2, object_store_memory=256 * 2**20, include_dashboard=False,
                 _temp_dir=str(tmp_path_factory.mktemp("ray")), log_to_driver=False,
                 runtime_env={"env_vars": {"PYTHONPATH": path}})
        started = True
    yield ray
    if started:
        ray.shutdown()


@pytest.fixture(params=SCHEDULERS)
def scheduler(request) -> str:
    """Each scheduler in turn (starting the Ray cluster for ``ray``)."""
    if request.param == "ray":
        request.getfixturevalue("ray_cluster")
    return request.param
