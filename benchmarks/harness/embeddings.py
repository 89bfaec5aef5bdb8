"""Part 2: one million (id, float32[128] embedding, label) rows."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..peers.base import EmbeddingPeer
from .data import EmbeddingData, random_indices
from .result import SystemResult, slug
from .timing import (
    fresh_dir,
    per_call_ms,
    percentiles,
    prime_allocator,
    settle,
    timed,
    timed_ingest,
    tree_bytes,
    warm_page_cache,
)

WARMUP_ROWS = 10
WARM_SCANS = 3  # the 2nd run is the headline figure; the median of runs 2-4 shows the noise


@dataclass
class EmbeddingConfig:
    data_dir: Path
    random_count: int
    seed: int


def _scan_gbps(peer: EmbeddingPeer, path: Path, data: EmbeddingData, check: bool) -> float:
    """GB/s (1e9 bytes) of the embedding matrix read into one NumPy array, on a fresh handle."""
    reader = peer.open(path)
    seconds, arr = timed(reader.scan)
    if check and not np.array_equal(np.asarray(arr).reshape(data.embedding.shape), data.embedding):
        raise AssertionError("scanned embeddings differ from the source")
    return data.raw_bytes / seconds / 1e9


def _scans(peer: EmbeddingPeer, path: Path, data: EmbeddingData) -> dict[str, Any]:
    """The first run (checked against the source), then WARM_SCANS more; each on a fresh handle."""
    first = _scan_gbps(peer, path, data, check=True)
    warm = [_scan_gbps(peer, path, data, check=False) for _ in range(WARM_SCANS)]
    return {"scan1_gbps": first, "scan2_gbps": warm[0], "scan_warm_median_gbps": float(np.median(warm)),
            "scan_warm_runs_gbps": warm}


def _rows(peer: EmbeddingPeer, path: Path, data: EmbeddingData, cfg: EmbeddingConfig,
          indices: np.ndarray) -> dict[str, float]:
    reader = peer.open(path)
    for i in random_indices(len(data), WARMUP_ROWS, cfg.seed + 11):
        if not np.array_equal(np.asarray(reader.row(int(i))).reshape(-1), data.embedding[i]):
            raise AssertionError(f"row {i} differs from the source")
    return percentiles(per_call_ms(reader.row, indices))


def run_peer(peer: EmbeddingPeer, data: EmbeddingData, cfg: EmbeddingConfig,
             indices: np.ndarray) -> SystemResult:
    res = SystemResult(peer.name)
    res.metrics["is_limit"] = peer.is_limit
    path = fresh_dir(cfg.data_dir / "embeddings" / slug(peer.name))
    res.step("setup", peer.setup)
    if res.errors:
        return res
    ingest = res.step("ingest", lambda: timed_ingest(lambda: peer.ingest(data, path), path))
    if ingest is None:
        return res
    res.metrics.update(ingest)
    settle()
    apparent, _ = tree_bytes(path)
    res.metrics.update(disk_bytes=apparent, disk_ratio=apparent / data.raw_bytes)
    warm_page_cache(path)
    prime_allocator(data.raw_bytes)
    res.metrics.update(res.step("scan", lambda: _scans(peer, path, data)) or {})
    res.metrics.update(res.step("row", lambda: _rows(peer, path, data, cfg, indices)) or {})
    return res
