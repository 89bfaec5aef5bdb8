"""``DatasetBuilderTestCase`` keeps builder tests off the network: a builder that fetches behind
``dl_manager``'s back fails with ``NetworkAccessError`` naming the host, a URL mapped to a file
the dummy data lacks fails with ``DummyDataError``, and loopback stays usable."""

from __future__ import annotations

import socket
import unittest
import urllib.request

import numpy as np

import arrowds as ads
from arrowds.errors import DummyDataError, NetworkAccessError


class _Fetcher(ads.builders.GeneratorBasedBuilder, skip_registration=True):
    """Reads ``url`` with urllib itself in ``_split_generators`` (what builders must not do)."""

    VERSION = "1.0.0"
    name = "fetcher"
    url = "http://example.com/data.csv"

    def _info(self):
        return self.dataset_info_from_configs(features={"x": np.int64})

    def _split_generators(self, dl_manager):
        path = dl_manager.download_and_extract("https://example.com/data.zip")
        rows = urllib.request.urlopen(self.url, timeout=2).read().split() if self.url else []
        return {"train": self._gen(path, rows)}

    def _gen(self, path, rows):
        yield 0, {"x": len(rows) + len(list(path.iterdir()))}


def run(builder_cls, example_dir, **attrs) -> unittest.TestResult:
    case = type("Case", (ads.testing.DatasetBuilderTestCase,),
                {"DATASET_CLASS": builder_cls, "SPLITS": {"train": 1}, "EXAMPLE_DIR": example_dir,
                 "test_registered": None, **attrs})
    result = unittest.TestResult()
    unittest.defaultTestLoader.loadTestsFromTestCase(case).run(result)
    return result


def errors(result: unittest.TestResult) -> str:
    return "\n".join(text for _, text in result.errors + result.failures)


def test_fetching_around_the_download_manager_fails_naming_the_host(tmp_path):
    (tmp_path / "f.txt").write_text("x")
    for url, host in [("http://example.com/data.csv", "example.com"),
                      ("http://192.0.2.1:8080/data.csv", "192.0.2.1:8080")]:   # an address, no lookup
        builder = type("Fetcher", (_Fetcher,), {"url": url}, skip_registration=True)
        result = run(builder, tmp_path)
        assert not result.wasSuccessful()
        assert NetworkAccessError.__name__ in errors(result)
        assert f"builder 'fetcher' tried to reach {host}" in errors(result)
    assert socket.getaddrinfo.__module__ == "socket"      # put back after the test
    assert socket.socket.connect.__qualname__ != "no_network.<locals>.connect"


def test_a_builder_reading_only_dummy_data_passes(tmp_path):
    (tmp_path / "f.txt").write_text("x")
    builder = type("Offline", (_Fetcher,), {"url": None}, skip_registration=True)
    result = run(builder, tmp_path)
    assert result.wasSuccessful(), errors(result)


def test_loopback_stays_reachable(tmp_path, server):
    root, base = server
    (root / "data.csv").write_text("1\n2\n")
    (tmp_path / "f.txt").write_text("x")
    builder = type("Local", (_Fetcher,), {"url": f"{base}/data.csv"}, skip_registration=True)
    result = run(builder, tmp_path)
    assert result.wasSuccessful(), errors(result)


def test_a_mapping_to_a_missing_dummy_file_is_named(tmp_path):
    builder = type("Offline", (_Fetcher,), {"url": None}, skip_registration=True)
    result = run(builder, tmp_path, DL_EXTRACT_RESULT="extracted/data")
    assert DummyDataError.__name__ in errors(result)
    assert "the dummy data has no extracted/data" in errors(result)
    assert "https://example.com/data.zip" in errors(result)
