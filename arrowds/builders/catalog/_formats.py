"""Readers and writers of the upstream binary formats the catalog parses (no unpickling).

IDX (MNIST, Fashion-MNIST): big-endian header ``0 0 <dtype code> <ndim>``, ``ndim`` uint32 dims,
then the values, gzip-compressed. CIFAR binary version: fixed-size records of label byte(s)
followed by 3072 image bytes (1024 red, 1024 green, 1024 blue; rows of 32).
"""

from __future__ import annotations

import gzip
import struct
from collections.abc import Iterator
from pathlib import Path

import numpy as np

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
               0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
_IDX_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09}


def iter_idx(path: str | Path, rows: int = 4096) -> Iterator[np.ndarray]:
    """The items of a gzip IDX file, ``rows`` at a time (bounded memory)."""
    with gzip.open(path, "rb") as f:
        head = f.read(4)
        if len(head) != 4 or head[:2] != b"\0\0" or head[2] not in _IDX_DTYPES:
            raise ValueError(f"{path} is not an IDX file (header {head!r})")
        dtype, ndim = np.dtype(_IDX_DTYPES[head[2]]), head[3]
        dims = struct.unpack(f">{ndim}I", f.read(4 * ndim))
        item = (*dims[1:],)
        size = int(np.prod(item, dtype=np.int64)) * dtype.itemsize
        left = dims[0]
        while left:
            n = min(rows, left)
            buf = f.read(n * size)
            if len(buf) != n * size:
                raise ValueError(f"{path} is truncated: {left} items missing")
            yield np.frombuffer(buf, dtype).reshape((n, *item))
            left -= n


def write_idx(path: str | Path, array: np.ndarray) -> None:
    """Write ``array`` (uint8 or int8) as a gzip IDX file."""
    array = np.ascontiguousarray(array)
    head = bytes([0, 0, _IDX_CODES[array.dtype], array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb", compresslevel=1) as f:
        f.write(head + array.tobytes())


def iter_cifar(path: str | Path, label_bytes: int,
               rows: int = 4096) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``(labels (n, label_bytes), images (n, 32, 32, 3))`` of a CIFAR binary file."""
    record = label_bytes + 3072
    with open(path, "rb") as f:
        while True:
            buf = f.read(rows * record)
            if not buf:
                return
            if len(buf) % record:
                raise ValueError(f"{path} is truncated: {len(buf) % record} bytes of a partial record")
            recs = np.frombuffer(buf, np.uint8).reshape(-1, record)
            images = recs[:, label_bytes:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
            yield recs[:, :label_bytes], images


def write_cifar(path: str | Path, labels: np.ndarray, images: np.ndarray) -> None:
    """Write records of ``labels`` (n, label_bytes) and ``images`` (n, 32, 32, 3) uint8."""
    planes = images.transpose(0, 3, 1, 2).reshape(len(images), 3072)
    records = np.concatenate([labels.reshape(len(images), -1), planes], 1).astype(np.uint8)
    Path(path).write_bytes(records.tobytes())
