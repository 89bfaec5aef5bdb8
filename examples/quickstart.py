"""Quickstart: build a small image dataset in a local folder, then read it back.

Run with ``make demo`` (or ``python examples/quickstart.py [FOLDER]``). The images are drawn
here (coloured shapes on noise), so nothing is downloaded.
"""

from __future__ import annotations

import sys
import time

import numpy as np

import arrowds as ads

CLASSES = ["circle", "square"]


def draw(rng: np.random.Generator, kind: int, size: int = 64) -> np.ndarray:
    """An RGB picture of one circle or square on a noisy background."""
    img = rng.integers(0, 60, (size, size, 3), dtype=np.uint8)
    yy, xx = np.mgrid[:size, :size]
    cy, cx, r = rng.integers(20, size - 20, 2).tolist() + [int(rng.integers(8, 16))]
    mask = (yy - cy) ** 2 + (xx - cx) ** 2 < r * r if kind == 0 else (abs(yy - cy) < r) & (abs(xx - cx) < r)
    img[mask] = rng.integers(120, 255, 3, dtype=np.uint8)
    return img


def main(url: str = "quickstart_data/shapes") -> None:
    rng = np.random.default_rng(0)
    ds = ads.empty(url, overwrite=True)
    ds.create_tensor("images", htype="image", sample_compression="jpeg")
    ds.create_tensor("labels", htype="class_label", class_names=CLASSES)
    ds.create_tensor("captions", htype="text")
    t0 = time.perf_counter()
    with ds:  # one fragment for the whole block, visible when it exits
        for i in range(200):
            kind = int(rng.integers(0, 2))
            ds.append({"images": draw(rng, kind), "labels": CLASSES[kind], "captions": f"shape #{i}"})
    print(f"wrote {len(ds)} samples to {url} in {time.perf_counter() - t0:.2f}s")

    ds = ads.load(url, read_only=True)
    ds.summary()
    print("image 0:", ds.images[0].numpy().shape, ds.images[0].numpy().dtype)
    print("labels 10..15:", [CLASSES[i] for i in ds.labels[10:15].numpy().ravel()])
    print("caption 3:", ds.captions[3].text())
    view = ds[[5, 1, 3]]
    print("view of rows [5, 1, 3]:", view.labels.numpy().ravel().tolist(), view.captions.text())
    print("Parquet fragments:", [f.file for f in ds._core.manifest.fragments])


if __name__ == "__main__":
    main(*sys.argv[1:])
