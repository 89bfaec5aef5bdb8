"""Deterministic benchmark data: photo-like JPEGs with labels and captions, and embedding rows."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

try:
    import simplejpeg
except ImportError:  # pragma: no cover - depends on the environment
    simplejpeg = None

SIDE = 128
JPEG_QUALITY = 90
NOISE_SIGMA = 5.3  # tuned so that the mean JPEG is ~6.5 KB at quality 90
EMBEDDING_DIM = 128
CLASS_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
ADJECTIVES = ("blurry", "bright", "dark", "small", "close-up", "grainy", "sunny", "cropped")


@dataclass
class ImageData:
    jpegs: list[bytes]
    labels: np.ndarray  # uint32, 0-9
    captions: list[str]

    def __len__(self) -> int:
        return len(self.jpegs)

    @property
    def raw_bytes(self) -> int:
        return sum(len(b) for b in self.jpegs)


@dataclass
class EmbeddingData:
    ids: np.ndarray  # int64
    embedding: np.ndarray  # float32, (n, 128)
    labels: np.ndarray  # uint32

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def raw_bytes(self) -> int:
        return self.embedding.nbytes


def photo(rng: np.random.Generator, side: int = SIDE) -> np.ndarray:
    """A photo-like ``side x side`` RGB image: smooth per-channel gradients and a low-frequency
    wave, plus a little noise (shared by every benchmark that needs JPEGs)."""
    yy, xx = (g.astype(np.float32) / (side - 1) for g in np.mgrid[0:side, 0:side])
    img = np.empty((side, side, 3), np.float32)
    for c in range(3):
        base = rng.uniform(40, 215)
        gx, gy = rng.uniform(-80, 80, 2)
        fx, fy = rng.uniform(0.5, 3.0), rng.uniform(0.5, 3.0)
        phase, amp = rng.uniform(0, 6.28), rng.uniform(10, 40)
        wave = amp * np.sin(2 * np.pi * (fx * xx + fy * yy) + phase)
        img[..., c] = base + gx * (xx - 0.5) + gy * (yy - 0.5) + wave
    img += rng.normal(0, NOISE_SIGMA, size=img.shape).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


def arrowds_images(url: str, data: ImageData) -> str:
    """The images and labels as an arrowds dataset at ``url`` (made once; reused if there)."""
    import arrowds as ads

    if not ads.exists(url):
        ds = ads.empty(url)
        ds.create_tensor("images", htype="image", sample_compression="jpeg")
        ds.create_tensor("labels", htype="class_label")
        with ds:
            ds.extend({"images": data.jpegs, "labels": data.labels})
    return url


def _encode(img: np.ndarray) -> bytes:
    if simplejpeg is not None:
        return simplejpeg.encode_jpeg(img, quality=JPEG_QUALITY)
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=JPEG_QUALITY)
    return buf.getvalue()


def _captions(labels: np.ndarray, seed: int) -> list[str]:
    rng = np.random.default_rng(seed + 1)
    adjectives = rng.integers(0, len(ADJECTIVES), size=len(labels))
    return [f"a {ADJECTIVES[a]} photo of a {CLASS_NAMES[k]} #{i}"
            for i, (a, k) in enumerate(zip(adjectives, labels, strict=True))]


def _generate_jpegs(n: int, seed: int) -> list[bytes]:
    rng = np.random.default_rng(seed)
    return [_encode(photo(rng)) for _ in range(n)]


def _load_or_make_jpegs(n: int, seed: int, cache_dir: Path) -> list[bytes]:
    """JPEGs are encoded once and cached, so every run (and every system) sees the same bytes."""
    cache = cache_dir / f"jpegs-n{n}-seed{seed}-q{JPEG_QUALITY}.npz"
    if cache.exists():
        with np.load(cache) as z:
            blob, offsets = z["blob"].tobytes(), z["offsets"]
        return [blob[offsets[i]:offsets[i + 1]] for i in range(n)]
    jpegs = _generate_jpegs(n, seed)
    offsets = np.zeros(n + 1, np.int64)
    offsets[1:] = np.cumsum([len(b) for b in jpegs])
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, blob=np.frombuffer(b"".join(jpegs), np.uint8), offsets=offsets)
    return jpegs


def make_images(n: int, seed: int, cache_dir: Path) -> ImageData:
    jpegs = _load_or_make_jpegs(n, seed, cache_dir)
    labels = np.random.default_rng(seed + 2).integers(0, 10, size=n).astype(np.uint32)
    return ImageData(jpegs=jpegs, labels=labels, captions=_captions(labels, seed))


def make_embeddings(n: int, seed: int) -> EmbeddingData:
    rng = np.random.default_rng(seed)
    return EmbeddingData(
        ids=np.arange(n, dtype=np.int64),
        embedding=rng.standard_normal((n, EMBEDDING_DIM), dtype=np.float32),
        labels=rng.integers(0, 10, size=n).astype(np.uint32),
    )


def random_indices(n: int, count: int, seed: int) -> np.ndarray:
    """The same random indices for every system (with replacement, fixed seed)."""
    return np.random.default_rng(seed + 3).integers(0, n, size=count)
