"""``checksums.tsv``: one line per URL, ``url<TAB>size<TAB>sha256<TAB>filename``; ``#`` comments.

Recorded next to a builder's code with ``--register_checksums`` and verified on every later
download.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

FILE_NAME = "checksums.tsv"


@dataclass(frozen=True)
class UrlInfo:
    """What a URL's file must be: size in bytes, sha256 (hex) and the file name."""

    size: int
    sha256: str
    filename: str = ""

    def __str__(self) -> str:
        return f"UrlInfo(size={self.size} bytes, checksum={self.sha256!r}, filename={self.filename!r})"


def file_info(path: Path, filename: str | None = None) -> UrlInfo:
    """Size and sha256 of a file."""
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
            size += len(chunk)
    return UrlInfo(size, h.hexdigest(), filename if filename is not None else Path(path).name)


def load(path: Path) -> dict[str, UrlInfo]:
    """The entries of a ``checksums.tsv`` (an absent file has none)."""
    out: dict[str, UrlInfo] = {}
    if not Path(path).exists():
        return out
    for n, line in enumerate(Path(path).read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) not in (3, 4):
            raise ValueError(f"{path}:{n}: expected 'url<TAB>size<TAB>sha256<TAB>filename', got {line!r}")
        url, size, sha = parts[:3]
        out[url] = UrlInfo(int(size), sha, parts[3] if len(parts) == 4 else url.rsplit("/", 1)[-1])
    return out


def save(path: Path, infos: dict[str, UrlInfo]) -> None:
    """Write ``infos`` merged over the entries already in ``path``, sorted by URL."""
    merged = {**load(path), **infos}
    lines = [f"{url}\t{i.size}\t{i.sha256}\t{i.filename}\n" for url, i in sorted(merged.items())]
    Path(path).write_text("".join(lines))
