"""``ds.visualize()``: the viewer's grid in a notebook cell, served from a background thread."""

from __future__ import annotations

import threading
from typing import Any

from arrowds.dataset.dataset import Dataset, dataset_length
from arrowds.viewer.api import ViewerAPI
from arrowds.viewer.server import Viewer

_VIEWERS: dict[tuple[Any, ...], Viewer] = {}
_LOCK = threading.Lock()


def viewer_for(ds: Dataset, port: int = 0) -> Viewer:
    """The running viewer of this dataset's version (and view), started on first use."""
    core = ds._core
    if not ds.read_only and core.dirty:
        ds.flush()  # a separate read-only handle sees only what is published
    version = core.detached or ds.branch
    rows = ds.index.positions(dataset_length(core)) if ds.is_view else None
    key = (ds.path, version, None if rows is None else rows.tobytes(), port)
    with _LOCK:
        v = _VIEWERS.get(key)
        if v is None:
            options = dict(getattr(core.storage.fs, "storage_options", {}) or {}) or None
            api = ViewerAPI(ds.path, version=version, storage_options=options, rows=rows)
            v = _VIEWERS[key] = Viewer(api, port=port).start()
    return v


def visualize(ds: Dataset, width: int | str = "100%", height: int = 640, port: int = 0) -> Any:
    """An ``IPython.display.IFrame`` showing the viewer of ``ds`` (a URL str without IPython)."""
    url = viewer_for(ds, port).url
    try:
        from IPython.display import IFrame
    except ImportError:
        return url
    return IFrame(url, width=width, height=height)
