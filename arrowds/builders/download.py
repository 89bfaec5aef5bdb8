"""``DownloadManager``: fetch, cache, verify and extract what a builder needs.

``download``/``extract``/``download_and_extract`` take a URL or path, or any nesting of dicts,
lists and tuples of them, and return the same structure of ``pathlib.Path``s. URLs may be
``http(s)://``, ``ftp://``, ``file://`` or local paths.

* Cache: a URL's file is stored once under ``download_dir`` as ``<readable name>_<sha256 of the
  URL, 16 hex>.<ext>`` with a ``.INFO`` JSON sidecar (url, size, sha256); a later call reuses
  it without network access.
* Resume: an interrupted http(s) download leaves ``<file>.partial``; the next try asks for the
  rest with a ``Range`` header (and starts over if the server ignores it). Three tries.
* Mirror: ``mirror`` (or ``$ARROWDS_DOWNLOAD_MIRROR``) is a folder searched for the URL's base
  name before any network access, for air-gapped machines.
* Checksums: with ``url_infos`` (from ``checksums.tsv``) every file is verified
  (``NonMatchingChecksumError`` names the URL); ``register_checksums`` records them instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from arrowds.builders import checksums
from arrowds.builders import extract as _extract
from arrowds.builders.checksums import UrlInfo
from arrowds.errors import DownloadError, ManualDirError, MissingChecksumError, NonMatchingChecksumError

MIRROR_ENV = "ARROWDS_DOWNLOAD_MIRROR"
RETRIES = 3
TIMEOUT_S = 60.0


@dataclass
class DownloadConfig:
    """How ``download_and_prepare`` downloads and builds.

    ``max_examples_per_split=0`` only runs ``_split_generators`` (downloads, no data written).
    ``overwrite`` rebuilds a prepared version, deleting the old data only after the new build
    succeeded; ``fail_if_exists`` refuses to touch one.
    """

    manual_dir: str | os.PathLike[str] | None = None
    download_dir: str | os.PathLike[str] | None = None
    extract_dir: str | os.PathLike[str] | None = None
    mirror: str | os.PathLike[str] | None = None
    verify_checksums: bool = True
    register_checksums: bool = False
    force_checksums_validation: bool = False
    max_examples_per_split: int | None = None
    overwrite: bool = False
    fail_if_exists: bool = False
    ignore_duplicates: bool = False
    force_download: bool = False


def map_nested(fn: Callable[[Any], Any], data: Any) -> Any:
    """``fn`` applied to every leaf of nested dicts/lists/tuples, keeping the structure."""
    if isinstance(data, dict):
        return {k: map_nested(fn, v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return type(data)(map_nested(fn, v) for v in data)
    return fn(data)


def _cache_name(url: str) -> str:
    base = urllib.parse.urlparse(url).path.rstrip("/").rsplit("/", 1)[-1] or "download"
    m = re.match(r"^(.*?)((\.[A-Za-z0-9]{1,5}){1,2})$", base)
    stem, ext = (m.group(1), m.group(2)) if m and m.group(1) else (base, "")
    stem = re.sub(r"[^\w.-]+", "_", stem)[:60]
    return f"{stem}_{hashlib.sha256(url.encode()).hexdigest()[:16]}{ext}"


class DownloadManager:
    """What ``_split_generators`` receives as ``dl_manager``.

    >>> dm = DownloadManager(download_dir="/tmp/dl")                      # doctest: +SKIP
    >>> dm.download_and_extract({"train": "https://host/train.tar.gz"})   # doctest: +SKIP
    {'train': PosixPath('/tmp/dl/extracted/TAR_GZ.train_5c0e….tar.gz')}
    """

    def __init__(self, download_dir: str | os.PathLike[str],
                 extract_dir: str | os.PathLike[str] | None = None,
                 manual_dir: str | os.PathLike[str] | None = None,
                 download_config: DownloadConfig | None = None, *,
                 url_infos: dict[str, UrlInfo] | None = None,
                 manual_dir_instructions: str | None = None, dataset_name: str = ""):
        cfg = download_config or DownloadConfig()
        self.download_dir = Path(download_dir).expanduser()
        extract_dir = extract_dir or cfg.extract_dir or self.download_dir / "extracted"
        self.extract_dir = Path(extract_dir).expanduser()
        manual = manual_dir or cfg.manual_dir
        self._manual_dir = Path(manual).expanduser() if manual else None
        self._instructions = manual_dir_instructions
        self.config = cfg
        mirror = cfg.mirror or os.environ.get(MIRROR_ENV)
        self.mirror = Path(mirror).expanduser() if mirror else None
        self.url_infos = dict(url_infos or {})
        self.recorded: dict[str, UrlInfo] = {}
        self.dataset_name = dataset_name

    # -- public API ----------------------------------------------------------------------
    def download(self, url_or_urls: Any) -> Any:
        """Download every URL of a nested structure; the same structure of local Paths."""
        return map_nested(self._download_one, url_or_urls)

    def extract(self, path_or_paths: Any) -> Any:
        """Extract every archive of a nested structure (method from the suffix); files that
        are not archives come back unchanged."""
        return map_nested(self._extract_one, path_or_paths)

    def download_and_extract(self, url_or_urls: Any) -> Any:
        """``extract(download(url_or_urls))``."""
        return map_nested(lambda u: self._extract_one(self._download_one(u)), url_or_urls)

    def iter_archive(self, path: str | os.PathLike[str]) -> Iterator[tuple[str, IO[bytes]]]:
        """``(member name, file object)`` pairs of a zip or tar archive, nothing extracted."""
        return _extract.iter_archive(path)

    @property
    def manual_dir(self) -> Path:
        """The folder where the user placed files by hand (``--manual_dir``)."""
        if not self._instructions:
            raise ManualDirError("To access `dl_manager.manual_dir`, please set "
                                 "`MANUAL_DOWNLOAD_INSTRUCTIONS` in your dataset.")
        d = self._manual_dir
        if d is None or not d.is_dir() or not any(d.iterdir()):
            raise ManualDirError(f"Manual directory {d} does not exist or is empty. Create it and "
                                 "download/extract dataset artifacts in there using instructions:\n"
                                 f"{self._instructions}")
        return d

    @property
    def downloaded_size(self) -> int:
        """Bytes of every file downloaded (or found in the cache) so far."""
        return sum(i.size for i in self.recorded.values())

    # -- one URL -------------------------------------------------------------------------
    def _extract_one(self, path: Any) -> Path:
        path = Path(path)
        method = _extract.guess_method(path)
        if method == "NO_EXTRACT":
            return path
        return _extract.extract(path, self.extract_dir / f"{method}.{path.name}", method)

    def _download_one(self, url: Any) -> Path:
        url = os.fspath(url) if isinstance(url, os.PathLike) else str(url)
        dest = self.download_dir / _cache_name(url)
        info_path = dest.with_name(dest.name + ".INFO")
        if dest.exists() and info_path.exists() and not self.config.force_download:
            got = UrlInfo(**json.loads(info_path.read_text())["url_info"])
        else:
            self.download_dir.mkdir(parents=True, exist_ok=True)
            got = self._fetch(url, dest)
            self._check(url, dest, got)
            info = {"urls": [url], "dataset_names": [self.dataset_name] if self.dataset_name else [],
                    "url_info": {"size": got.size, "sha256": got.sha256, "filename": got.filename}}
            info_path.write_text(json.dumps(info, indent=1))
            self.recorded[url] = got
            return dest
        self._check(url, dest, got)
        self.recorded[url] = got
        return dest

    def _check(self, url: str, dest: Path, got: UrlInfo) -> None:
        if self.config.register_checksums:
            return
        want = self.url_infos.get(url)
        if want is None:
            if self.config.force_checksums_validation:
                raise MissingChecksumError(f"Missing checksums url: {url}, yet "
                                           "`force_checksums_validation=True`. Did you forget to "
                                           "register checksums?")
            return
        if self.config.verify_checksums and (want.size, want.sha256) != (got.size, got.sha256):
            bad = dest.with_name(dest.name + f".bad.{uuid.uuid4().hex[:8]}")
            if dest.exists():
                os.replace(dest, bad)  # keep it for inspection, out of the cache
            info = dest.with_name(dest.name + ".INFO")
            if info.exists():
                info.unlink()
            raise NonMatchingChecksumError(url, str(bad), str(want), str(got))

    def _fetch(self, url: str, dest: Path) -> UrlInfo:
        """Bring ``url`` to ``dest`` (atomically) and return its size and sha256."""
        name = urllib.parse.urlparse(url).path.rstrip("/").rsplit("/", 1)[-1] or dest.name
        if self.mirror is not None and (self.mirror / name).is_file():
            return self._copy(self.mirror / name, dest, name)
        scheme = urllib.parse.urlparse(url).scheme.lower()
        if scheme in ("http", "https", "ftp"):
            return self._fetch_network(url, dest, name, resumable=scheme != "ftp")
        local = Path(urllib.request.url2pathname(urllib.parse.urlparse(url).path)) if scheme == "file" \
            else Path(url).expanduser()
        if scheme not in ("", "file") and len(scheme) > 1:
            raise DownloadError(f"cannot download {url}: unsupported scheme {scheme!r} "
                                "(http, https, ftp, file and local paths are)")
        if not local.is_file():
            raise DownloadError(f"cannot download {url}: {local} does not exist")
        return self._copy(local, dest, name)

    def _copy(self, src: Path, dest: Path, name: str) -> UrlInfo:
        tmp = dest.with_name(dest.name + f".tmp.{uuid.uuid4().hex[:8]}")
        shutil.copyfile(src, tmp)
        os.replace(tmp, dest)
        return checksums.file_info(dest, name)

    def _fetch_network(self, url: str, dest: Path, name: str, resumable: bool) -> UrlInfo:
        partial = dest.with_name(dest.name + ".partial")
        last: Exception | None = None
        for attempt in range(RETRIES):
            have = partial.stat().st_size if resumable and partial.exists() else 0
            req = urllib.request.Request(url, headers={"User-Agent": "arrowds"})
            if have:
                req.add_header("Range", f"bytes={have}-")
            try:
                with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:
                    status = getattr(resp, "status", 200)
                    mode = "ab" if have and status == 206 else "wb"
                    with open(partial, mode) as f:
                        shutil.copyfileobj(resp, f, 1 << 20)
                    length = resp.headers.get("Content-Length") if status in (200, 206) else None
                    expected = None if length is None else int(length) + (have if mode == "ab" else 0)
                    if expected is not None and partial.stat().st_size < expected:
                        raise DownloadError(f"{url}: connection closed before the end of the file")
                os.replace(partial, dest)
                return checksums.file_info(dest, name)
            except urllib.error.HTTPError as e:
                if e.code == 416 and have:  # range past the end: the partial file is complete
                    os.replace(partial, dest)
                    return checksums.file_info(dest, name)
                if e.code < 500:
                    raise DownloadError(f"cannot download {url}: HTTP {e.code} {e.reason}") from e
                last = e
            except (OSError, DownloadError) as e:
                last = e
            time.sleep(0.2 * (attempt + 1))
        raise DownloadError(f"cannot download {url} after {RETRIES} tries: {last}") from last
