"""Part 1: JPEG images with a label and a caption each."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..peers.base import ImagePeer, ImageReader
from .data import ImageData, random_indices
from .decode import DECODER_NAME, decode_jpeg
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

WARMUP_GETS = 10
LABEL_REPEATS = 3


@dataclass
class ImageConfig:
    data_dir: Path
    random_count: int
    batch_size: int
    seed: int


def _decode_each(jpegs: list[bytes]) -> None:
    for blob in jpegs:
        decode_jpeg(blob)  # each result dropped at once, as the systems' scans do


def decode_limit(data: ImageData) -> float:
    """Images/s decoding the same JPEG bytes straight from a list in RAM."""
    _decode_each(data.jpegs[:200])
    seconds, _ = timed(lambda: _decode_each(data.jpegs))
    return len(data) / seconds


def _verify(reader: ImageReader, data: ImageData, seed: int) -> str:
    """Check a few decoded images and all labels against the source; return a note on pixel equality."""
    n = len(data)
    worst = 0
    for i in {0, n - 1, n // 2, *random_indices(n, 5, seed + 7).tolist()}:
        got, want = np.asarray(reader.get(i, decode_jpeg)), decode_jpeg(data.jpegs[i])
        if got.shape != want.shape:
            raise AssertionError(f"image {i}: shape {got.shape} != {want.shape}")
        worst = max(worst, int(np.abs(got.astype(np.int16) - want).max()))
    labels = np.asarray(reader.labels()).reshape(-1)
    if not np.array_equal(labels, data.labels):
        raise AssertionError(f"labels differ from the source (got {labels[:5]}..., dtype {labels.dtype})")
    return "pixels == reference decoder" if worst == 0 else f"pixels differ from reference, max |d|={worst}"


def _scan(peer: ImagePeer, path: Path, data: ImageData, cfg: ImageConfig) -> dict[str, float]:
    """Decoded scan, next to a decode-limit run taken just before it (so slow drift cancels)."""
    limit = decode_limit(data)
    reader = peer.open(path)
    reader.get(0, decode_jpeg)
    seconds, count = timed(lambda: reader.scan(decode_jpeg, cfg.batch_size))
    if count != len(data):
        raise AssertionError(f"scan decoded {count} images, expected {len(data)}")
    rate = len(data) / seconds
    return {"scan_img_s": rate, "limit_img_s": limit, "scan_pct_of_limit": 100 * rate / limit}


def _random(peer: ImagePeer, path: Path, n: int, indices: np.ndarray, seed: int) -> dict[str, float]:
    reader = peer.open(path)
    for i in random_indices(n, WARMUP_GETS, seed + 11):
        reader.get(int(i), decode_jpeg)
    return percentiles(per_call_ms(lambda i: reader.get(i, decode_jpeg), indices))


def _labels_ms(peer: ImagePeer, path: Path, n: int) -> dict[str, float]:
    """Label-only scan on a freshly opened dataset each time (opening is not timed); median of 3."""
    runs = []
    for _ in range(LABEL_REPEATS):
        reader = peer.open(path)
        seconds, labels = timed(reader.labels)
        if np.asarray(labels).size != n:
            raise AssertionError(f"label scan returned {np.asarray(labels).size} labels, expected {n}")
        runs.append(seconds * 1e3)
    return {"labels_ms": float(np.median(runs)), "labels_runs_ms": runs}


def run_peer(peer: ImagePeer, data: ImageData, cfg: ImageConfig, indices: np.ndarray) -> SystemResult:
    res = SystemResult(peer.name)
    res.metrics["decoder"] = peer.decoder or DECODER_NAME
    path = fresh_dir(cfg.data_dir / "images" / slug(peer.name))
    res.step("setup", peer.setup)
    if res.errors:
        return res
    ingest = res.step("ingest", lambda: timed_ingest(lambda: peer.ingest(data, path), path))
    if ingest is None:
        return res
    res.metrics.update(ingest)
    settle()
    apparent, allocated = tree_bytes(path)
    res.metrics.update(disk_bytes=apparent, disk_ratio=apparent / data.raw_bytes,
                       alloc_ratio=allocated / data.raw_bytes)
    warm_page_cache(path)
    prime_allocator(data.raw_bytes)
    note = res.step("verify", lambda: _verify(peer.open(path), data, cfg.seed))
    if note:
        res.notes.append(note)
    res.metrics.update(res.step("scan", lambda: _scan(peer, path, data, cfg)) or {})
    res.metrics.update(res.step("random", lambda: _random(peer, path, len(data), indices, cfg.seed)) or {})
    res.metrics.update(res.step("labels", lambda: _labels_ms(peer, path, len(data))) or {})
    return res
