"""Part 2: one million (id, float32[128] embedding, label) rows."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..peers.base import EmbeddingPeer
from .data import EmbeddingData, random_indices
from .result import SystemResult, slug
from .timing import fresh_dir, per_call_ms, percentiles, settle, timed, tree_bytes, warm_page_cache

WARMUP_ROWS = 10


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


def _scans(peer: EmbeddingPeer, path: Path, data: EmbeddingData) -> dict[str, float]:
    first = _scan_gbps(peer, path, data, check=True)
    return {"scan1_gbps": first, "scan2_gbps": _scan_gbps(peer, path, data, check=False)}


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
    ingest = res.step("ingest", lambda: timed(lambda: peer.ingest(data, path))[0])
    if ingest is None:
        return res
    res.metrics["ingest_s"] = ingest
    settle()
    apparent, _ = tree_bytes(path)
    res.metrics.update(disk_bytes=apparent, disk_ratio=apparent / data.raw_bytes)
    warm_page_cache(path)
    res.metrics.update(res.step("scan", lambda: _scans(peer, path, data)) or {})
    res.metrics.update(res.step("row", lambda: _rows(peer, path, data, cfg, indices)) or {})
    return res
