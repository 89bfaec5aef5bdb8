"""``Version``, ``SplitInfo`` and ``DatasetInfo``: what a builder says about its dataset, saved
as ``dataset_info.json`` (plus ``features.json``) beside the prepared data."""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from arrowds.builders.features import FeaturesDict, from_json

INFO_FILE = "dataset_info.json"
FEATURES_FILE = "features.json"
LABELS_SUFFIX = ".labels.txt"
#: Version of the layout of ``dataset_info.json``; a reader refuses a newer major.
INFO_FORMAT_VERSION = "1.0"

_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


@functools.total_ordering
@dataclass(frozen=True)
class Version:
    """A dataset version ``major.minor.patch``, ordered; ``Version("1.0.0") == "1.0.0"``."""

    text: str

    def __post_init__(self) -> None:
        if isinstance(self.text, Version):
            object.__setattr__(self, "text", self.text.text)
        if not _VERSION.match(str(self.text)):
            raise ValueError(f"Invalid version {self.text!r}: expected 'major.minor.patch', e.g. '1.0.0'")

    @property
    def tuple(self) -> tuple[int, int, int]:
        m = _VERSION.match(self.text)
        assert m is not None
        return int(m[1]), int(m[2]), int(m[3])

    major = property(lambda self: self.tuple[0])
    minor = property(lambda self: self.tuple[1])
    patch = property(lambda self: self.tuple[2])

    def __str__(self) -> str:
        return self.text

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            return self.text == other
        return isinstance(other, Version) and self.text == other.text

    def __lt__(self, other: Version | str) -> bool:
        return self.tuple < Version(str(other)).tuple

    def __hash__(self) -> int:
        return hash(self.text)


@dataclass
class SplitInfo:
    """One split of a prepared dataset: examples kept, examples skipped as corrupt, bytes stored."""

    name: str
    num_examples: int = 0
    num_bytes: int = 0
    num_skipped: int = 0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class DatasetInfo:
    """Everything known about a dataset besides its rows.

    A builder makes one in ``_info()`` through ``self.dataset_info_from_configs(...)``; the
    build fills ``splits`` and ``download_size``. ``README.md``, ``CITATIONS.bib`` and
    ``TAGS.txt`` beside the builder's module give ``description``, ``citation`` and ``tags``
    (the files win over arguments, as in TFDS).
    """

    name: str = ""
    features: FeaturesDict | None = None
    description: str = ""
    homepage: str = ""
    citation: str = ""
    supervised_keys: tuple[str, ...] | None = None
    disable_shuffling: bool = False
    version: str = ""
    release_notes: dict[str, str] = field(default_factory=dict)
    config_name: str | None = None
    config_description: str | None = None
    tags: list[str] = field(default_factory=list)
    license: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    splits: dict[str, SplitInfo] = field(default_factory=dict)
    download_size: int = 0
    module_name: str = ""

    @property
    def full_name(self) -> str:
        """``name[/config]/version``, the folder under ``data_dir``."""
        parts = [self.name] + ([self.config_name] if self.config_name else []) + [self.version]
        return "/".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """The ``dataset_info.json`` document (features go to ``features.json``)."""
        return {
            "format_version": INFO_FORMAT_VERSION,
            "name": self.name, "config_name": self.config_name,
            "config_description": self.config_description, "version": self.version,
            "description": self.description, "homepage": self.homepage, "citation": self.citation,
            "supervised_keys": list(self.supervised_keys) if self.supervised_keys else None,
            "disable_shuffling": self.disable_shuffling, "release_notes": dict(self.release_notes),
            "tags": list(self.tags), "license": self.license, "metadata": dict(self.metadata),
            "splits": [s.to_dict() for s in self.splits.values()],
            "download_size": self.download_size, "module_name": self.module_name,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], features: FeaturesDict | None = None) -> DatasetInfo:
        major = str(d.get("format_version", "1.0")).split(".")[0]
        if int(major) > int(INFO_FORMAT_VERSION.split(".")[0]):
            raise ValueError(f"dataset_info.json format {d['format_version']} is newer than this "
                             f"arrowds reads ({INFO_FORMAT_VERSION}); upgrade arrowds")
        keys = {f.name for f in dataclasses.fields(cls)} - {"features", "splits"}
        kw = {k: v for k, v in d.items() if k in keys}
        if kw.get("supervised_keys"):
            kw["supervised_keys"] = tuple(kw["supervised_keys"])
        splits = {s["name"]: SplitInfo(**s) for s in d.get("splits", [])}
        return cls(features=features, splits=splits, **kw)

    def write(self, folder: Path) -> None:
        """Write ``dataset_info.json``, ``features.json`` and one ``<feature>.labels.txt`` per
        ClassLabel into ``folder``."""
        folder.mkdir(parents=True, exist_ok=True)
        (folder / INFO_FILE).write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        if self.features is not None:
            (folder / FEATURES_FILE).write_text(json.dumps(self.features.to_json(), indent=2) + "\n")
            for name, label in self.features.class_labels().items():
                text = "".join(n + "\n" for n in label.names)
                (folder / (name.replace("/", ".") + LABELS_SUFFIX)).write_text(text)

    @classmethod
    def read(cls, folder: Path) -> DatasetInfo:
        """The info saved in a prepared version folder (JSON only: no builder code needed)."""
        d = json.loads((folder / INFO_FILE).read_text())
        features = None
        if (folder / FEATURES_FILE).exists():
            f = from_json(json.loads((folder / FEATURES_FILE).read_text()))
            if not isinstance(f, FeaturesDict):
                raise ValueError(f"{folder / FEATURES_FILE} does not describe a FeaturesDict")
            features = f
        return cls.from_dict(d, features)

    def __str__(self) -> str:
        lines = [f"{self.full_name}", f"  description: {self.description.strip()[:300]}"]
        if self.homepage:
            lines.append(f"  homepage: {self.homepage}")
        if self.features is not None:
            lines.append("  features:")
            for name, leaf in self.features.leaves.items():
                lines.append(f"    {name}: {leaf!r}")
        if self.supervised_keys:
            lines.append(f"  supervised_keys: {self.supervised_keys}")
        if self.splits:
            lines.append("  splits:")
            for s in self.splits.values():
                skipped = f", {s.num_skipped} skipped" if s.num_skipped else ""
                lines.append(f"    {s.name}: {s.num_examples:,} examples, {s.num_bytes:,} bytes{skipped}")
        if self.citation:
            lines.append("  citation: " + self.citation.strip().splitlines()[0] + " ...")
        return "\n".join(lines)
