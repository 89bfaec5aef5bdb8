"""``arrowds new NAME``: the template folder of a new builder, whose test passes as written."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np

from arrowds.media import get_codec

_BUILDER = '''"""{name} dataset."""

from __future__ import annotations

from pathlib import Path

import arrowds as ads


class Builder(ads.builders.GeneratorBasedBuilder):
    """DatasetBuilder for the {name} dataset."""

    VERSION = ads.Version("1.0.0")
    RELEASE_NOTES = {{"1.0.0": "Initial release."}}

    def _info(self) -> ads.DatasetInfo:
        # TODO({name}): the features of one example. README.md, CITATIONS.bib and TAGS.txt
        # beside this file give the description, citation and tags.
        return self.dataset_info_from_configs(
            features=ads.features.FeaturesDict({{
                "image": ads.features.Image(shape=(None, None, 3)),
                "label": ads.features.ClassLabel(names=["no", "yes"]),
            }}),
            supervised_keys=("image", "label"),  # set to None if there is no (input, target) pair
            homepage="https://dataset-homepage/",
        )

    def _split_generators(self, dl_manager: ads.DownloadManager) -> dict:
        # TODO({name}): the upstream URL. Record its checksum once with
        # `arrowds build --register_checksums`; later builds verify it.
        path = dl_manager.download_and_extract("https://todo-data-url/{name}.zip")
        return {{
            "train": self._generate_examples(path / "train"),
            "test": self._generate_examples(path / "test"),
        }}

    def _generate_examples(self, path: Path):
        # TODO({name}): yield (key, example) pairs; keys must be unique within a split.
        for f in sorted(path.glob("*/*.png")):
            yield f"{{f.parent.name}}/{{f.name}}", {{"image": f, "label": f.parent.name}}
'''

_TEST = '''"""{name} dataset: builds the builder on dummy_data/ and checks the splits."""

import arrowds as ads

from . import {name}_dataset_builder


class {camel}Test(ads.testing.DatasetBuilderTestCase):
    DATASET_CLASS = {name}_dataset_builder.Builder
    SPLITS = {{"train": 3, "test": 1}}  # examples per split in dummy_data/
    # What dl_manager.download_and_extract(...) returns in the test, relative to dummy_data/.
    DL_EXTRACT_RESULT = ""


if __name__ == "__main__":
    import unittest

    unittest.main()
'''

_README = """# {name}

TODO({name}): a markdown description of the dataset: what it holds, how it was collected, its
licence. This file becomes `info.description`.
"""

_CITATIONS = """% TODO({name}): the BibTeX citation of the dataset (becomes info.citation).
"""

_TAGS = """# TODO({name}): one tag per line, e.g. content.data-type.image or ml.task.image-classification.
# Lines starting with # are ignored.
"""

_CHECKSUMS = """# TODO({name}): if the dataset downloads files, run `arrowds build --register_checksums` to
# record one line per URL: url<TAB>size<TAB>sha256<TAB>filename. Later builds verify them.
# Lines starting with # are comments.
"""


def camel_case(name: str) -> str:
    return "".join(p[:1].upper() + p[1:] for p in re.split(r"[_-]", name) if p)


def create(name: str, directory: Path) -> Path:
    """Write the template folder ``directory/name`` and return it."""
    if not re.match(r"^[a-z_][a-z0-9_]*$", name):
        raise ValueError(f"dataset name {name!r}: use lower-case letters, digits and '_' "
                         "(it becomes a Python package)")
    root = directory / name
    if root.exists():
        raise FileExistsError(f"{root} already exists; pick another name or --dir")
    root.mkdir(parents=True)
    files = {
        "__init__.py": "", f"{name}_dataset_builder.py": _BUILDER, f"{name}_dataset_builder_test.py": _TEST,
        "README.md": _README, "CITATIONS.bib": _CITATIONS, "TAGS.txt": _TAGS, "checksums.tsv": _CHECKSUMS,
    }
    for fname, text in files.items():
        (root / fname).write_text(text.format(name=name, camel=camel_case(name)))
    png = get_codec("png")
    rng = np.random.default_rng(0)
    for k, (split, label) in enumerate([("train", "no"), ("train", "yes"), ("train", "yes"), ("test", "no")]):
        d = root / "dummy_data" / split / label
        d.mkdir(parents=True, exist_ok=True)
        (d / f"{k}.png").write_bytes(png.encode(rng.integers(0, 255, (4, 5, 3), dtype=np.uint8)))
    return root


def run(args: argparse.Namespace) -> None:
    root = create(args.name, Path(args.dir))
    print(f"Dataset generated at {root}\nYou can start with searching TODO({args.name}).\n"
          f"Test it with: python -m pytest {root}")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("new", help="create the template folder of a new dataset builder")
    p.add_argument("name", help="dataset name (a Python package name)")
    p.add_argument("--dir", default=".", help="where to create it (default: here)")
    p.set_defaults(func=run)
