"""Schedulers to parametrise over (the Ray cluster is ``ray_cluster`` in tests/conftest.py)."""

from __future__ import annotations

import pytest

SCHEDULERS = ["threaded", "processed", "ray"]


@pytest.fixture(params=SCHEDULERS)
def scheduler(request) -> str:
    """Each scheduler in turn (starting the Ray cluster for ``ray``)."""
    if request.param == "ray":
        request.getfixturevalue("ray_cluster")
    return request.param
