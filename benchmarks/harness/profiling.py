"""cProfile of arrowds' ingest and random-access loops (run after, and apart from, the timed figures)."""

from __future__ import annotations

import cProfile
import io
import pstats
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..peers.arrowds_peer import ArrowdsEmbeddings, ArrowdsImages
from .data import EmbeddingData, ImageData
from .decode import decode_jpeg
from .timing import fresh_dir

TOP_LINES = 25


def profile_text(fn: Callable[[], object], lines: int = TOP_LINES) -> str:
    prof = cProfile.Profile()
    prof.runcall(fn)
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(lines)
    return out.getvalue()


def profile_images(data: ImageData, data_dir: Path, indices: np.ndarray) -> dict[str, str]:
    peer, path = ArrowdsImages(), fresh_dir(data_dir / "images" / "arrowds_profile")
    ingest = profile_text(lambda: peer.ingest(data, path))
    reader = peer.open(path)
    reader.get(0, decode_jpeg)
    random = profile_text(lambda: [reader.get(int(i), decode_jpeg) for i in indices])
    return {"ingest": ingest, "random": random}


def profile_embeddings(data: EmbeddingData, data_dir: Path, indices: np.ndarray) -> dict[str, str]:
    peer, path = ArrowdsEmbeddings(), fresh_dir(data_dir / "embeddings" / "arrowds_profile")
    ingest = profile_text(lambda: peer.ingest(data, path))
    reader = peer.open(path)
    reader.row(0)
    rows = profile_text(lambda: [reader.row(int(i)) for i in indices])
    return {"ingest": ingest, "row": rows}
