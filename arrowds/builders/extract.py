"""Archives: extraction of zip, tar, tar.gz/tgz, tar.bz2, tar.xz, gz, bz2 and xz that refuses any
entry escaping the target folder, and ``iter_archive`` (members without extracting).

Every member of an archive is checked before anything is written: an absolute name, a ``..``
that climbs out, a link pointing outside, or a device/FIFO raises ``UnsafeArchiveError`` naming
the member and the archive.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import shutil
import tarfile
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import IO

from arrowds.errors import UnsafeArchiveError

#: Extraction methods, named as TFDS names them.
METHODS = ("ZIP", "TAR", "TAR_GZ", "TAR_BZ2", "TAR_XZ", "GZIP", "BZIP2", "XZ", "NO_EXTRACT")

_SUFFIXES = (
    (".tar.gz", "TAR_GZ"), (".tgz", "TAR_GZ"), (".tar.bz2", "TAR_BZ2"), (".tbz2", "TAR_BZ2"),
    (".tar.xz", "TAR_XZ"), (".txz", "TAR_XZ"), (".tar", "TAR"), (".zip", "ZIP"),
    (".gz", "GZIP"), (".bz2", "BZIP2"), (".xz", "XZ"),
)
_SINGLE = {"GZIP": gzip.open, "BZIP2": bz2.open, "XZ": lzma.open}


def guess_method(path: str | os.PathLike[str]) -> str:
    """The extraction method named by a file's suffix (``NO_EXTRACT`` when none)."""
    name = os.fspath(path).lower()
    for suffix, method in _SUFFIXES:
        if name.endswith(suffix):
            return method
    return "NO_EXTRACT"


def _check_name(name: str, archive: Path) -> None:
    p = PurePosixPath(name.replace("\\", "/"))
    if p.is_absolute() or (p.parts and ":" in p.parts[0]):
        raise UnsafeArchiveError(f"{archive}: member {name!r} has an absolute path; refusing to extract")
    depth = 0
    for part in p.parts:
        depth += -1 if part == ".." else (0 if part == "." else 1)
        if depth < 0:
            raise UnsafeArchiveError(f"{archive}: member {name!r} escapes the target folder; "
                                     "refusing to extract")


def _check_tar(tar: tarfile.TarFile, archive: Path) -> list[tarfile.TarInfo]:
    members = tar.getmembers()
    for m in members:
        _check_name(m.name, archive)
        if m.issym() or m.islnk():
            target = m.linkname if m.islnk() else str(PurePosixPath(m.name).parent / m.linkname)
            _check_name(target, archive)
            if m.linkname.startswith("/"):
                raise UnsafeArchiveError(f"{archive}: link {m.name!r} points to {m.linkname!r} outside "
                                         "the target folder; refusing to extract")
        elif not (m.isfile() or m.isdir()):
            raise UnsafeArchiveError(f"{archive}: member {m.name!r} is a device or FIFO; refusing to extract")
    return members


def extract(path: str | os.PathLike[str], out: str | os.PathLike[str], method: str | None = None) -> Path:
    """Extract ``path`` into ``out`` (a folder for archives, a file for gz/bz2/xz) and return it.

    Written aside and renamed into place, so ``out`` exists only complete; an existing ``out`` is
    reused.
    """
    path, out = Path(path), Path(out)
    method = method or guess_method(path)
    if method not in METHODS:
        raise ValueError(f"unknown extraction method {method!r}; one of {METHODS}")
    if method == "NO_EXTRACT":
        return path
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp.{uuid.uuid4().hex[:8]}"
    try:
        if method in _SINGLE:
            with _SINGLE[method](path, "rb") as src, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        elif method == "ZIP":
            with zipfile.ZipFile(path) as zf:
                for name in zf.namelist():
                    _check_name(name, path)
                zf.extractall(tmp)
        else:
            with tarfile.open(path, "r:*") as tar:
                members = _check_tar(tar, path)
                if hasattr(tarfile, "data_filter"):
                    tar.extractall(tmp, members=members, filter="data")
                else:  # pragma: no cover - Python without the extraction filters (< 3.10.12)
                    tar.extractall(tmp, members=members)
        os.replace(tmp, out)
    except BaseException:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()
        raise
    return out


def iter_archive(path: str | os.PathLike[str], method: str | None = None) -> Iterator[tuple[str, IO[bytes]]]:
    """``(member name, file object)`` for each regular file of a zip or tar archive, in archive
    order, reading the archive as a stream (nothing is written to disk). A file object is valid
    until the next one is yielded."""
    path = Path(path)
    method = method or guess_method(path)
    if method == "ZIP":
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if not info.is_dir():
                    with zf.open(info) as f:
                        yield info.filename, f
        return
    if method not in ("TAR", "TAR_GZ", "TAR_BZ2", "TAR_XZ"):
        raise ValueError(f"iter_archive reads zip and tar archives, not {path.name} ({method})")
    with tarfile.open(path, "r|*") as tar:
        for m in tar:
            if m.isfile():
                f = tar.extractfile(m)
                assert f is not None
                yield m.name, f
