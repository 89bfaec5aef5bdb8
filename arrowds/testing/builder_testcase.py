"""``DatasetBuilderTestCase``: build a builder on its dummy data, as TFDS's test case does.

The builder's ``dl_manager`` is replaced: ``download``/``download_and_extract`` return
``DL_DOWNLOAD_RESULT``/``DL_EXTRACT_RESULT`` (paths relative to the dummy data folder, in any
nesting; ``None`` maps every URL to the folder itself), ``extract`` returns its input, and
``manual_dir`` is the dummy data folder. Each config of ``BUILDER_CONFIG_NAMES_TO_TEST`` (default:
all) is built into a temporary ``data_dir``, its split sizes are compared with ``SPLITS`` and the
data is reopened with ``ads.load`` and read.

The dummy data folder is ``EXAMPLE_DIR``, else a temporary folder filled by the class method
``make_dummy_data(path)`` when the test case defines it (data generated in the upstream format,
so nothing binary needs to be checked in), else ``dummy_data/`` beside the builder's module.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import unittest
from pathlib import Path
from typing import Any, ClassVar

from arrowds.builders import registry
from arrowds.builders.builder import GeneratorBasedBuilder
from arrowds.builders.download import DownloadConfig, DownloadManager, map_nested
from arrowds.builders.loading import load


class _DummyDownloadManager(DownloadManager):
    """A DownloadManager answering from the dummy data folder, never from the network."""

    def __init__(self, example_dir: Path, extract_result: Any, download_result: Any, **kw: Any):
        super().__init__(**kw)
        self._example_dir = example_dir
        self._extract_result = extract_result
        self._download_result = download_result

    def _answer(self, result: Any, asked: Any) -> Any:
        if result is None:
            return map_nested(lambda _: self._example_dir, asked)
        return map_nested(lambda p: self._example_dir / p, result)

    def download(self, url_or_urls: Any) -> Any:
        result = self._download_result if self._download_result is not None else self._extract_result
        return self._answer(result, url_or_urls)

    def download_and_extract(self, url_or_urls: Any) -> Any:
        return self._answer(self._extract_result, url_or_urls)

    def extract(self, path_or_paths: Any) -> Any:
        return map_nested(Path, path_or_paths)

    @property
    def manual_dir(self) -> Path:
        return self._example_dir


class DatasetBuilderTestCase(unittest.TestCase):
    """Subclass with ``DATASET_CLASS`` and ``SPLITS``; see the module docstring."""

    DATASET_CLASS: ClassVar[type[GeneratorBasedBuilder] | None] = None
    SPLITS: ClassVar[dict[str, int]] = {}
    BUILDER_CONFIG_NAMES_TO_TEST: ClassVar[list[str] | None] = None
    DL_EXTRACT_RESULT: ClassVar[Any] = None
    DL_DOWNLOAD_RESULT: ClassVar[Any] = None
    EXAMPLE_DIR: ClassVar[str | os.PathLike[str] | None] = None

    _example_dir: ClassVar[Path]
    _generated: ClassVar[str | None] = None

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        if cls.DATASET_CLASS is None:
            raise unittest.SkipTest("DatasetBuilderTestCase itself: subclass it and set DATASET_CLASS")
        if cls.EXAMPLE_DIR is not None:
            cls._example_dir = Path(cls.EXAMPLE_DIR)
        elif hasattr(cls, "make_dummy_data"):
            cls._generated = tempfile.mkdtemp(prefix="arrowds-dummy-")
            cls._example_dir = Path(cls._generated)
            cls.make_dummy_data(cls._example_dir)  # type: ignore[attr-defined]
        else:
            cls._example_dir = cls.DATASET_CLASS.code_dir() / "dummy_data"
        if not cls._example_dir.exists():
            raise ValueError(f"Dummy data not found in: {cls._example_dir}")

    @classmethod
    def tearDownClass(cls) -> None:
        if cls._generated:
            shutil.rmtree(cls._generated, ignore_errors=True)
        super().tearDownClass()

    def setUp(self) -> None:
        self.data_dir = Path(tempfile.mkdtemp(prefix="arrowds-build-"))
        self.addCleanup(shutil.rmtree, self.data_dir, True)

    # -- helpers --------------------------------------------------------------------------
    def _configs(self) -> list[str | None]:
        cls = self.DATASET_CLASS
        assert cls is not None
        if self.BUILDER_CONFIG_NAMES_TO_TEST is not None:
            return list(self.BUILDER_CONFIG_NAMES_TO_TEST)
        return [c.name for c in cls.BUILDER_CONFIGS] or [None]

    def _builder(self, config: str | None) -> GeneratorBasedBuilder:
        assert self.DATASET_CLASS is not None
        builder = self.DATASET_CLASS(data_dir=self.data_dir, config=config)
        example_dir, extract, download = self._example_dir, self.DL_EXTRACT_RESULT, self.DL_DOWNLOAD_RESULT

        def dummy_manager(dc: DownloadConfig, download_dir: Any) -> DownloadManager:
            return _DummyDownloadManager(
                example_dir, extract, download, download_dir=self.data_dir / "downloads",
                download_config=dc, manual_dir_instructions=builder.MANUAL_DOWNLOAD_INSTRUCTIONS,
                dataset_name=builder.name)

        builder._download_manager = dummy_manager  # type: ignore[method-assign]
        return builder

    # -- the tests ------------------------------------------------------------------------
    def test_baseclass(self) -> None:
        self.assertTrue(issubclass(self.DATASET_CLASS, GeneratorBasedBuilder),  # type: ignore[arg-type]
                        f"{self.DATASET_CLASS} is not a GeneratorBasedBuilder")

    def test_registered(self) -> None:
        cls = self.DATASET_CLASS
        assert cls is not None
        self.assertIs(registry.registered(cls.name), cls,
                      f"{cls.__name__} is not registered under {cls.name!r}")

    def test_info(self) -> None:
        for config in self._configs():
            with self.subTest(config=config):
                info = self._builder(config).info
                self.assertTrue(info.features is not None and info.features.leaves, "no features")
                self.assertEqual(info.name, self.DATASET_CLASS.name)  # type: ignore[union-attr]
                self.assertTrue(info.version, "no version")

    def test_download_and_prepare_as_dataset(self) -> None:
        for config in self._configs():
            with self.subTest(config=config):
                builder = self._builder(config)
                builder.download_and_prepare(DownloadConfig(verify_checksums=False))
                got = {name: s.num_examples for name, s in builder.info.splits.items()}
                for split, n in self.SPLITS.items():
                    self.assertIn(split, got, f"split {split!r} was not generated (got {sorted(got)})")
                    self.assertEqual(got[split], n, f"Number of examples in split {split!r} do not match "
                                                    "what is expected.")
                self.assertEqual(sorted(got), sorted(self.SPLITS), "unexpected splits")
                name = builder.name + (f"/{config}" if config else "") + f":{builder.version}"
                for split, n in self.SPLITS.items():
                    ds = load(name, split=split, data_dir=self.data_dir)
                    self.assertEqual(len(ds), n)
                    for tensor in ds.tensors.values() if n else ():
                        tensor[n - 1].numpy(aslist=True)  # decodes: the stored data is readable
