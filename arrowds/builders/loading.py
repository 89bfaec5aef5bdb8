"""``ads.builder(name)`` and ``ads.load(name, split=...)``: builders by name, prepared data by
name, split strings as views.

Loading prepared data reads only JSON and Parquet (``dataset_info.json``, ``features.json``, the
split datasets): the builder's code is not imported. The config is the one asked for, else the
default recorded in ``<name>/.config/metadata.json``, else the only one; the version is the one
asked for, else the newest prepared.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from arrowds import _config
from arrowds.builders import registry, splits
from arrowds.builders.concat import ConcatView
from arrowds.builders.info import INFO_FILE, DatasetInfo, Version
from arrowds.dataset.api import load as _load_dataset
from arrowds.errors import DatasetNotFoundError

_VERSION_DIR = re.compile(r"^\d+\.\d+\.\d+$")


class PreparedDataset:
    """A prepared version folder, opened from its files alone (TFDS's ``ReadOnlyBuilder``):
    ``info``, ``data_path`` and ``as_dataset(split)`` like a builder's."""

    def __init__(self, data_path: str | os.PathLike[str]):
        self.data_path = Path(data_path)
        if not (self.data_path / INFO_FILE).is_file():
            raise DatasetNotFoundError(str(self.data_path), f"No {INFO_FILE} there: not a prepared "
                                                            "dataset version folder.")
        self.info = DatasetInfo.read(self.data_path)
        self.name = self.info.name
        self.version = Version(self.info.version)
        self.is_prepared = True

    def __repr__(self) -> str:
        return f"PreparedDataset({str(self.data_path)!r})"

    def as_dataset(self, split: str | list[str] | None = None) -> Any:
        return read_split(self.data_path, self.info, split)


def read_split(version_dir: Path, info: DatasetInfo, split: str | list[str] | None) -> Any:
    """Open the split datasets of a version folder: one split string -> a ``Dataset`` view
    (``ConcatView`` for ``a+b``); a list -> a list; None -> ``{split: Dataset}``."""
    sizes = {name: s.num_examples for name, s in info.splits.items()}
    if split is None:
        return {name: _open(version_dir / name) for name in sizes}
    if isinstance(split, (list, tuple)):
        return [read_split(version_dir, info, s) for s in split]
    parts = []
    for r in splits.to_ranges(split, sizes):
        ds = _open(version_dir / r.split)
        parts.append(ds if (r.start, r.stop) == (0, sizes[r.split]) else ds[r.start:r.stop])
    return parts[0] if len(parts) == 1 else ConcatView(parts)


def _open(path: Path) -> Any:
    return _load_dataset(str(path), read_only=True)


def find_prepared(data_dir: Path, name: str, config: str | None = None,
                  version: str | None = None) -> Path:
    """The version folder of ``name[/config][:version]`` under ``data_dir``
    (``DatasetNotFoundError`` naming what was looked for)."""
    base = data_dir / name
    if not base.is_dir():
        known = sorted({p.name for p in data_dir.iterdir() if p.is_dir()} if data_dir.is_dir() else set())
        close = registry.close_names(name, known + registry.list_builders())
        raise DatasetNotFoundError(
            str(base), f"Dataset {name} not found in {data_dir}."
            + (f" Did you mean: {', '.join(close)}?" if close else "")
            + " Build it first: `arrowds build NAME --data_dir DIR` or builder.download_and_prepare().")
    folder = base
    if config is not None or not _versions(base):
        if config is None:
            meta = base / ".config" / "metadata.json"
            configs = sorted(p.name for p in base.iterdir() if p.is_dir() and _versions(p))
            if meta.is_file():
                config = json.loads(meta.read_text()).get("default_config_name")
            elif len(configs) == 1:
                config = configs[0]
            else:
                raise DatasetNotFoundError(str(base), f"Dataset {name} has configs {configs}: pick one "
                                                      f"with '{name}/<config>'.")
        folder = base / str(config)
    found = _versions(folder)
    if not found:
        raise DatasetNotFoundError(str(folder), f"No prepared version of {name}"
                                   + (f"/{config}" if config else "") + f" in {folder}.")
    if version is None:
        return folder / str(max(found))
    if Version(version) not in found:
        raise DatasetNotFoundError(str(folder / version), f"Dataset {name} has no prepared version "
                                   f"{version}; prepared: {', '.join(map(str, sorted(found)))}.")
    return folder / version


def _versions(folder: Path) -> list[Version]:
    if not folder.is_dir():
        return []
    return [Version(p.name) for p in folder.iterdir()
            if _VERSION_DIR.match(p.name) and (p / INFO_FILE).is_file()]


def builder(name: str, *, data_dir: str | os.PathLike[str] | None = None, config: Any = None,
            version: str | None = None) -> Any:
    """The builder called ``name`` (``"mnist"``, ``"my_ds/small:1.0.0"``): a registered
    ``GeneratorBasedBuilder``, else a ``PreparedDataset`` found in ``data_dir`` (or the version
    folder ``name`` names by its path).

    >>> b = ads.builder("mnist", data_dir="/data")        # doctest: +SKIP
    >>> b.download_and_prepare(); b.info.splits["train"].num_examples   # doctest: +SKIP
    60000
    """
    if (Path(name) / INFO_FILE).is_file():  # a version folder given by its path
        return PreparedDataset(name)
    parsed = registry.parse_name(name)
    if parsed is None:
        raise DatasetNotFoundError(name, f"{name!r} is not a dataset name ('name[/config][:version]').")
    config = config if config is not None else parsed.config
    version = version if version is not None else parsed.version
    root = Path(data_dir).expanduser() if data_dir else _config.default_data_dir()
    cls = registry.registered(parsed.name)
    if cls is not None:
        return cls(data_dir=root, config=config, version=version)
    return PreparedDataset(find_prepared(root, parsed.name, config, version))


def load(name: str, *, split: str | list[str] | None = None,
         data_dir: str | os.PathLike[str] | None = None) -> Any:
    """Prepared data of builder ``name`` from ``data_dir`` (default ``$ARROWDS_DATA_DIR`` or
    ``~/arrowds_datasets``), reading files only. ``split``: one split string -> a view; a list
    -> a list; None -> ``{split: Dataset}``. This is what ``ads.load`` does for a name."""
    if (Path(name) / INFO_FILE).is_file():  # a version folder given by its path
        return PreparedDataset(name).as_dataset(split)
    parsed = registry.parse_name(name)
    if parsed is None:
        raise DatasetNotFoundError(name)
    root = Path(data_dir).expanduser() if data_dir else _config.default_data_dir()
    folder = find_prepared(root, parsed.name, parsed.config, parsed.version)
    return read_split(folder, DatasetInfo.read(folder), split)
