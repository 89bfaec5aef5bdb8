"""``image_folder``: import ``<root>/<split>/<label>/<image file>`` (TFDS's ``ImageFolder``).

The root is ``root_dir=`` or the ``manual_dir`` (``arrowds build image_folder --manual_dir
ROOT``). Labels are the sorted union of the label folder names of every split; image files are
stored as they are (jpeg, png or webp bytes, no re-encoding) when they all share one format.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from arrowds.builders import features
from arrowds.builders.builder import GeneratorBasedBuilder
from arrowds.builders.download import DownloadManager
from arrowds.builders.info import DatasetInfo, Version
from arrowds.media import compression_from_extension


class ImageFolder(GeneratorBasedBuilder):
    """Images labelled by the name of their folder."""

    VERSION = Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Initial release."}
    MANUAL_DOWNLOAD_INSTRUCTIONS = ("Put the images in manual_dir as <split>/<label>/<image file> "
                                    "(e.g. train/cat/001.jpg), or pass root_dir=.")

    def __init__(self, *, root_dir: str | os.PathLike[str] | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.root_dir = Path(root_dir) if root_dir is not None else None

    def _info(self) -> DatasetInfo:
        # the label names are read from the folders in _split_generators
        return self.dataset_info_from_configs(
            features={"image": features.Image(), "label": features.ClassLabel(names=[]),
                      "filename": features.Text()},
            supervised_keys=("image", "label"), description=(self.__doc__ or "").strip())

    def _split_generators(self, dl_manager: DownloadManager) -> dict[str, Any]:
        root = self.root_dir or dl_manager.manual_dir
        splits = sorted(p for p in root.iterdir() if p.is_dir())
        if not splits:
            raise FileNotFoundError(f"{root} has no <split>/ folders; {self.MANUAL_DOWNLOAD_INSTRUCTIONS}")
        labels = sorted({d.name for s in splits for d in s.iterdir() if d.is_dir()})
        self.info.features["label"].set_names(labels)  # type: ignore[union-attr]
        return {p.name: self._generate_examples(p) for p in splits}

    def _generate_examples(self, split_dir: Path) -> Iterator[tuple[str, Any]]:
        for label_dir in sorted(p for p in split_dir.iterdir() if p.is_dir()):
            for f in sorted(label_dir.iterdir()):
                if f.is_file() and compression_from_extension(f.name) in ("jpeg", "png", "webp"):
                    key = f"{label_dir.name}/{f.name}"
                    yield key, {"image": f, "label": label_dir.name, "filename": key}
