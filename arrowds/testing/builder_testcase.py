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

No network: a path that ``DL_EXTRACT_RESULT``/``DL_DOWNLOAD_RESULT`` maps a URL to must exist in
the dummy data (``DummyDataError`` names both), and while the builder runs, any connection to a
host other than this machine, or any lookup of a host name other than ``localhost``, raises
``NetworkAccessError`` naming the builder and the host (a builder that fetches with its own
``urllib``/``requests`` calls instead of ``dl_manager`` fails here, not on a user's machine).
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import tempfile
import unittest
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

from arrowds.builders import registry
from arrowds.builders.builder import GeneratorBasedBuilder
from arrowds.builders.download import DownloadConfig, DownloadManager, map_nested
from arrowds.builders.loading import load
from arrowds.errors import DummyDataError, NetworkAccessError


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

        def resolve(p: Any) -> Path:
            path = self._example_dir / p
            if not path.exists():
                raise DummyDataError(f"{self.dataset_name}: the dummy data has no {p} ({path}), which "
                                     f"DL_EXTRACT_RESULT/DL_DOWNLOAD_RESULT gives for {asked!r}; add the "
                                     "file to the dummy data or fix the mapping")
            return path
        return map_nested(resolve, result)

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


def _is_local(host: Any) -> bool:
    """Whether ``host`` is this machine: ``localhost``, a loopback address, or "" (any address)."""
    if not isinstance(host, str):
        return False
    if host.lower() in ("", "localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False  # a host name: resolving it is already a network access


@contextmanager
def no_network(builder: str) -> Iterator[None]:
    """Within the block, name lookups of hosts other than ``localhost`` and socket connections
    to addresses other than loopback raise ``NetworkAccessError`` (Unix sockets are allowed)."""
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def refuse(host: Any, port: Any) -> NetworkAccessError:
        return NetworkAccessError(
            f"builder {builder!r} tried to reach {host}:{port} during DatasetBuilderTestCase: builder "
            "tests read only dummy data. Fetch files through dl_manager and map their URLs with "
            "DL_EXTRACT_RESULT / DL_DOWNLOAD_RESULT to files in the dummy data folder.")

    def check(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address[0]):
            raise refuse(address[0], address[1])

    def connect(sock: socket.socket, address: Any) -> None:
        check(sock, address)
        return real_connect(sock, address)

    def connect_ex(sock: socket.socket, address: Any) -> int:
        check(sock, address)
        return real_connect_ex(sock, address)

    def getaddrinfo(host: Any, port: Any, *args: Any, **kw: Any) -> Any:
        if host is not None and not _is_local(host.decode() if isinstance(host, bytes) else host):
            raise refuse(host, port)
        return real_getaddrinfo(host, port, *args, **kw)

    socket.socket.connect = connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign,assignment]
    socket.getaddrinfo = getaddrinfo  # type: ignore[assignment]
    try:
        yield
    finally:
        socket.socket.connect, socket.socket.connect_ex = real_connect, real_connect_ex  # type: ignore[method-assign]
        socket.getaddrinfo = real_getaddrinfo


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
                builder = self._builder(config)
                with no_network(builder.name):
                    info = builder.info
                self.assertTrue(info.features is not None and info.features.leaves, "no features")
                self.assertEqual(info.name, self.DATASET_CLASS.name)  # type: ignore[union-attr]
                self.assertTrue(info.version, "no version")

    def test_download_and_prepare_as_dataset(self) -> None:
        for config in self._configs():
            with self.subTest(config=config):
                builder = self._builder(config)
                with no_network(builder.name):
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
