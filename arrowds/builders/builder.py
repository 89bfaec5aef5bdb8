"""``GeneratorBasedBuilder``: the TFDS-style way to turn upstream files into prepared datasets.

A builder says what its examples look like (``_info``), where its files come from
(``_split_generators``, given a ``DownloadManager``) and how to read them (``_generate_examples``,
yielding ``(key, example)`` or ``pyarrow.RecordBatch``es). ``download_and_prepare`` writes
``<data_dir>/<name>[/<config>]/<version>/``: one arrowds dataset per split plus
``dataset_info.json``, ``features.json`` and ``<feature>.labels.txt``. The version folder is
built aside (``incomplete.<random>_<version>``) and renamed into place when complete, so a
failed build leaves nothing visible; ``overwrite`` renames the old version aside first and
deletes it only once the new one is in place.

    class MyDs(ads.builders.GeneratorBasedBuilder):
        VERSION = ads.Version("1.0.0")
        def _info(self):
            return self.dataset_info_from_configs(features=ads.features.FeaturesDict({
                "image": ads.features.Image(shape=(None, None, 3)),
                "label": ads.features.ClassLabel(names=["no", "yes"])}))
        def _split_generators(self, dl_manager):
            path = dl_manager.download_and_extract("https://host/data.zip")
            return {"train": self._generate_examples(path / "train")}
        def _generate_examples(self, path):
            for f in sorted(path.glob("*/*.png")):
                yield f.name, {"image": f, "label": f.parent.name}
"""

from __future__ import annotations

import copy
import inspect
import json
import logging
import os
import re
import shutil
import sys
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa

from arrowds import _config
from arrowds.builders import checksums, registry
from arrowds.builders.download import DownloadConfig, DownloadManager
from arrowds.builders.features import FeaturesDict
from arrowds.builders.info import INFO_FILE, DatasetInfo, SplitInfo, Version
from arrowds.builders.writer import SplitWriter
from arrowds.dataset.api import empty as _empty_dataset
from arrowds.errors import BuilderError, DatasetNotFoundError

log = logging.getLogger("arrowds")
_SPLIT_NAME = r"^[\w-]+$"
CONFIG_DIR = ".config"


@dataclass
class BuilderConfig:
    """One named variant of a dataset (``"my_ds/small"``); subclass it as a dataclass to add
    fields. ``version`` defaults to the builder's ``VERSION``."""

    name: str
    version: Version | str | None = None
    release_notes: dict[str, str] | None = None
    supported_versions: list[Version | str] = field(default_factory=list)
    description: str | None = None
    tags: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Skip:
    """Yield ``(key, Skip("why"))`` for an input that is corrupt: it is left out and counted in
    the split's ``num_skipped``."""

    reason: str = ""


class Shards:
    """A split's examples as independent shards: ``fn(**kwargs)`` for each ``kwargs`` in
    ``shards``, in order. A local build reads them one after the other (as one generator); a Ray
    build (``arrowds build --ray``) generates and encodes each shard in its own Ray task, so
    reading the upstream files is spread over the cluster too. The data is the same either way.

        def _split_generators(self, dl_manager):
            files = sorted(dl_manager.download_and_extract(URL).glob("train-*.csv"))
            return {"train": ads.builders.Shards(self._generate_examples, [{"path": f} for f in files])}
    """

    def __init__(self, fn: Any, shards: Iterable[dict[str, Any]]):
        if not callable(fn):
            raise TypeError(f"Shards needs a generator function, got {fn!r}")
        self.fn = fn
        self.shards = [dict(kw) for kw in shards]

    def __iter__(self) -> Iterator[Any]:
        for kwargs in self.shards:
            yield from self.fn(**kwargs)

    def __len__(self) -> int:
        return len(self.shards)

    def __repr__(self) -> str:
        return f"Shards({getattr(self.fn, '__qualname__', self.fn)!r}, {len(self.shards)} shards)"


class GeneratorBasedBuilder:
    """Base class of dataset builders; subclasses register themselves by import (see
    ``arrowds.builders.registry``). Construct with ``ads.builder(name)`` or directly."""

    VERSION: ClassVar[Version | str | None] = None
    SUPPORTED_VERSIONS: ClassVar[list[Version | str]] = []
    RELEASE_NOTES: ClassVar[dict[str, str]] = {}
    BUILDER_CONFIGS: ClassVar[list[BuilderConfig]] = []
    DEFAULT_CONFIG_NAME: ClassVar[str | None] = None
    MANUAL_DOWNLOAD_INSTRUCTIONS: ClassVar[str | None] = None
    name: ClassVar[str] = ""

    def __init_subclass__(cls, skip_registration: bool = False, **kw: Any):
        super().__init_subclass__(**kw)
        if "name" not in cls.__dict__:
            cls.name = registry.builder_name(cls)
        if not skip_registration:
            registry.register(cls)

    def __init__(self, *, data_dir: str | os.PathLike[str] | None = None,
                 config: str | BuilderConfig | None = None, version: str | Version | None = None):
        self.data_dir_root = Path(data_dir).expanduser() if data_dir else _config.default_data_dir()
        self.builder_config = self._resolve_config(config)
        self.version = self._resolve_version(version)
        self._info_cache: DatasetInfo | None = None
        self._ray: tuple[str | None, int | None] | None = None  # set by download_and_prepare

    # -- identity --------------------------------------------------------------------------
    def _resolve_config(self, config: str | BuilderConfig | None) -> BuilderConfig | None:
        configs = self.BUILDER_CONFIGS
        if isinstance(config, BuilderConfig):
            return config
        if not configs:
            if config is not None:
                raise BuilderError(f"Dataset {self.name} has no BuilderConfigs; got config {config!r}")
            return None
        if config is None:
            config = self.DEFAULT_CONFIG_NAME or configs[0].name
        for c in configs:
            if c.name == config:
                return c
        names = [c.name for c in configs]
        raise BuilderError(f"Failed to construct dataset {self.name!r}: BuilderConfig {config} not found. "
                           f"Available: {names}" + _hint(config, names))

    def _resolve_version(self, version: str | Version | None) -> Version:
        cfg = self.builder_config
        default = (cfg.version if cfg and cfg.version else None) or self.VERSION
        if default is None:
            raise BuilderError(f"Builder {self.name!r} must set VERSION = ads.Version('1.0.0')")
        default = Version(str(default))
        supported = [default] + [Version(str(v)) for v in
                                 (cfg.supported_versions if cfg else []) or self.SUPPORTED_VERSIONS]
        if version is None:
            return default
        if Version(str(version)) not in supported:
            raise BuilderError(f"Dataset {self.name} cannot be loaded at version {version}, only: "
                               f"{', '.join(str(v) for v in supported)}.")
        return Version(str(version))

    @property
    def data_path(self) -> Path:
        """The version folder: ``<data_dir>/<name>[/<config>]/<version>``."""
        base = self.data_dir_root / self.name
        if self.builder_config is not None:
            base = base / self.builder_config.name
        return base / str(self.version)

    @property
    def is_prepared(self) -> bool:
        return (self.data_path / INFO_FILE).is_file()

    @classmethod
    def code_dir(cls) -> Path:
        """The folder of the builder's module (``checksums.tsv``, ``README.md``, ``dummy_data/``).

        A builder defined where there is no source file (a notebook, ``python -c``, a REPL) uses
        the current working folder.
        """
        try:
            return Path(inspect.getfile(cls)).resolve().parent
        except (OSError, TypeError):
            return Path.cwd()

    # -- info ------------------------------------------------------------------------------
    def _info(self) -> DatasetInfo:
        raise NotImplementedError(f"{type(self).__name__} must define _info()")

    def _split_generators(self, dl_manager: DownloadManager) -> dict[str, Iterable[Any]]:
        raise NotImplementedError(f"{type(self).__name__} must define _split_generators()")

    def dataset_info_from_configs(self, **kwargs: Any) -> DatasetInfo:
        """A ``DatasetInfo`` for this builder and config; ``features`` may be a plain dict.
        ``README.md``, ``CITATIONS.bib`` and ``TAGS.txt`` beside the module fill (and win over)
        ``description``, ``citation`` and ``tags``."""
        features = kwargs.pop("features", None)
        if features is not None and not isinstance(features, FeaturesDict):
            features = FeaturesDict(features)
        cfg = self.builder_config
        notes = (cfg.release_notes if cfg else None) or self.RELEASE_NOTES
        info = DatasetInfo(name=self.name, features=features, version=str(self.version),
                           release_notes={str(k): v for k, v in notes.items()},
                           config_name=cfg.name if cfg else None,
                           config_description=cfg.description if cfg else None,
                           module_name=type(self).__module__, **kwargs)
        if kwargs.get("supervised_keys"):
            info.supervised_keys = tuple(kwargs["supervised_keys"])
        code = self.code_dir()
        if (code / "README.md").is_file():
            info.description = (code / "README.md").read_text()
        if (code / "CITATIONS.bib").is_file():
            info.citation = (code / "CITATIONS.bib").read_text()
        if (code / "TAGS.txt").is_file():
            info.tags = [t.strip() for t in (code / "TAGS.txt").read_text().splitlines()
                         if t.strip() and not t.lstrip().startswith(("#", "//"))]
        if cfg and cfg.tags:
            info.tags = list(dict.fromkeys(info.tags + cfg.tags))
        return info

    @property
    def info(self) -> DatasetInfo:
        """Features, description, citation, homepage, version; ``splits`` (``num_examples``,
        ``num_bytes``) once the dataset is prepared."""
        if self._info_cache is None:
            info = self._info()
            if not isinstance(info, DatasetInfo):
                raise BuilderError(f"{type(self).__name__}._info() must return a DatasetInfo")
            if info.features is None or not info.features.leaves:
                raise BuilderError(f"{type(self).__name__}._info() must give features")
            if info.supervised_keys:
                missing = [k for k in info.supervised_keys if k not in info.features.leaves]
                if missing:
                    raise BuilderError(f"supervised_keys {missing} are not features of {self.name}")
            self._info_cache = info
        info = self._info_cache
        if self.is_prepared and not info.splits:
            stored = DatasetInfo.read(self.data_path)
            info.splits, info.download_size = stored.splits, stored.download_size
        return info

    # -- building --------------------------------------------------------------------------
    def download_and_prepare(self, download_config: DownloadConfig | None = None, *,
                             download_dir: str | os.PathLike[str] | None = None,
                             scheduler: str = "local", ray_address: str | None = None,
                             num_workers: int | None = None) -> None:
        """Download, generate and publish every split (see the module docstring). Reuses a
        prepared version unless ``download_config.overwrite``.

        ``scheduler="ray"`` encodes and writes the splits with Ray tasks (on the cluster at
        ``ray_address``, the one this process is connected to, or a new local one; at most
        ``num_workers`` at once, default: the cluster's CPUs) and gives the same data as a local
        build (``arrowds.builders.distributed``).
        """
        if scheduler not in ("local", "ray"):
            raise ValueError(f"scheduler must be 'local' or 'ray', got {scheduler!r}")
        self._ray = (ray_address, num_workers) if scheduler == "ray" else None
        dc = download_config or DownloadConfig()
        target = self.data_path
        if self.is_prepared:
            if dc.fail_if_exists:
                raise BuilderError("The `fail_if_exists` flag was True and the data already exists "
                                   f"in {target}")
            if not dc.overwrite:
                log.info("Reusing dataset %s (%s)", self.name, target)
                return
        created = [p for p in (target.parent, *target.parent.parents) if not p.exists()]
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.parent / f"incomplete.{uuid.uuid4().hex[:12]}_{self.version}"
        try:
            dl = self._download_manager(dc, download_dir)
            generators = self._split_generators(dl)
            if dc.max_examples_per_split == 0:
                self._register_checksums(dc, dl)
                return
            info = copy.copy(self.info)
            info.splits = {}
            for split, gen in generators.items():
                info.splits[split] = self._write_split(tmp, split, gen, info, dc)
            info.download_size = dl.downloaded_size
            info.write(tmp)
            self._register_checksums(dc, dl)
            _publish(tmp, target)
            self._write_default_config()
            self._info_cache = info
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            for p in created:  # folders this build made and left empty (TFDS leaves them)
                if p.is_dir() and not any(p.iterdir()):
                    p.rmdir()
            raise

    def _download_manager(self, dc: DownloadConfig, download_dir: Any) -> DownloadManager:
        ddir = download_dir or dc.download_dir or self.data_dir_root / "downloads"
        url_infos = {} if dc.register_checksums else checksums.load(self.code_dir() / checksums.FILE_NAME)
        return DownloadManager(download_dir=ddir, download_config=dc, url_infos=url_infos,
                               manual_dir_instructions=self.MANUAL_DOWNLOAD_INSTRUCTIONS,
                               manual_dir=(Path(dc.manual_dir) if dc.manual_dir else
                                           self.data_dir_root / "downloads" / "manual"),
                               dataset_name=self.name)

    def _register_checksums(self, dc: DownloadConfig, dl: DownloadManager) -> None:
        if dc.register_checksums and dl.recorded:
            checksums.save(self.code_dir() / checksums.FILE_NAME, dl.recorded)

    def _write_split(self, tmp: Path, split: str, examples: Iterable[Any], info: DatasetInfo,
                     dc: DownloadConfig) -> SplitInfo:
        if not re.match(_SPLIT_NAME, split) or split == "all":
            raise BuilderError(f"invalid split name {split!r}: use letters, digits, '_' or '-' ('all' "
                               "is reserved)")
        features = info.features
        assert features is not None
        ds = _empty_dataset(str(tmp / split))
        with ds:
            features.create_tensors(ds)
            ds.info.update(builder={"name": self.name, "config": info.config_name,
                                    "version": str(self.version), "split": split})
        limit = dc.max_examples_per_split
        if self._ray is not None:
            from arrowds.builders import distributed  # imports this module

            with _progress(f"{self.full_name} {split}") as bar:
                result = distributed.write_split(
                    ds, features, split, examples, shuffle=not info.disable_shuffling,
                    ignore_duplicates=dc.ignore_duplicates, limit=limit, progress=bar,
                    ray_address=self._ray[0], num_workers=self._ray[1])
            return self._finish_split(tmp, split, ds, result)
        with _progress(f"{self.full_name} {split}") as bar:
            writer = SplitWriter(ds, features, split, tmp / ".spill" / split,
                                 shuffle=not info.disable_shuffling,
                                 ignore_duplicates=dc.ignore_duplicates, progress=bar.update)
            try:
                for kind, item in yielded(_limited(examples, limit), split):
                    if kind == "batch":
                        writer.add_batch(item)
                    elif kind == "skip":
                        writer.skip()
                    else:
                        writer.add(*item)
                result = writer.finalize()
            finally:
                writer.close()
        return self._finish_split(tmp, split, ds, result)

    def _finish_split(self, tmp: Path, split: str, ds: Any, result: SplitInfo) -> SplitInfo:
        ds.commit(f"arrowds build {self.full_name} split {split}")
        shutil.rmtree(tmp / ".spill", ignore_errors=True)
        result.num_bytes = sum(f.stat().st_size for f in (tmp / split / "data").glob("*.parquet"))
        return result

    def _write_default_config(self) -> None:
        if self.builder_config is None:
            return
        default = self.DEFAULT_CONFIG_NAME or self.BUILDER_CONFIGS[0].name
        d = self.data_dir_root / self.name / CONFIG_DIR
        d.mkdir(parents=True, exist_ok=True)
        (d / "metadata.json").write_text(json.dumps({"default_config_name": default}) + "\n")

    @property
    def full_name(self) -> str:
        cfg = f"/{self.builder_config.name}" if self.builder_config else ""
        return f"{self.name}{cfg}:{self.version}"

    # -- reading ---------------------------------------------------------------------------
    def as_dataset(self, split: str | list[str] | None = None) -> Any:
        """The prepared data: a view of one split string (``"train[:10%]"``), a list for a list
        of split strings, a dict of every split for ``None``."""
        if not self.is_prepared:
            raise DatasetNotFoundError(
                str(self.data_path),
                f"Dataset {self.name}: could not find data in {self.data_dir_root}. Please make sure to "
                "call builder.download_and_prepare() (or `arrowds build`) before reading it.")
        from arrowds.builders.loading import read_split  # loading.py builds on this module

        return read_split(self.data_path, DatasetInfo.read(self.data_path), split)


def _hint(name: str, names: list[str]) -> str:
    close = registry.close_names(name, names)
    return f" Did you mean: {', '.join(close)}?" if close else ""


def yielded(examples: Iterable[Any], split: str) -> Iterator[tuple[str, Any]]:
    """What ``_generate_examples`` yields, checked and told apart: ``("batch", RecordBatch)``,
    ``("skip", None)`` or ``("example", (key, example))``."""
    for item in examples:
        if isinstance(item, pa.RecordBatch):
            yield "batch", item
            continue
        try:
            key, example = item
        except (TypeError, ValueError):
            raise BuilderError(f"split {split!r}: _generate_examples must yield (key, example) or "
                               f"pyarrow.RecordBatch, got {type(item).__name__}") from None
        if isinstance(example, Skip):
            yield "skip", None
        else:
            yield "example", (key, example)


def _limited(examples: Iterable[Any], limit: int | None) -> Iterator[Any]:
    """At most ``limit`` examples (RecordBatches are cut to fit)."""
    n = 0
    for item in examples:
        if limit is not None and n >= limit:
            return
        if isinstance(item, pa.RecordBatch):
            if limit is not None and n + item.num_rows > limit:
                item = item.slice(0, limit - n)
            n += item.num_rows
        else:
            n += 1
        yield item


def _publish(tmp: Path, target: Path) -> None:
    """Rename the complete build into place. An existing version is renamed aside first and
    deleted only after the new one is in place (restored if the swap fails)."""
    if not target.exists():
        os.rename(tmp, target)
        return
    old = target.parent / f"old.{uuid.uuid4().hex[:12]}_{target.name}"
    os.rename(target, old)
    try:
        os.rename(tmp, target)
    except BaseException:
        os.rename(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)


class _progress:
    """A tqdm bar on a terminal, nothing otherwise."""

    def __init__(self, desc: str):
        self.desc = desc
        self.bar: Any = None

    def __enter__(self) -> Any:
        if sys.stderr.isatty():
            from tqdm.auto import tqdm

            self.bar = tqdm(desc=self.desc, unit=" examples", leave=False)
            return self.bar
        return self

    def update(self, n: int = 1) -> None:
        """No bar: nothing to update."""

    def __exit__(self, *exc: Any) -> None:
        if self.bar is not None:
            self.bar.close()


__all__ = ["BuilderConfig", "GeneratorBasedBuilder", "Shards", "Skip"]
