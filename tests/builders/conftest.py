"""Builders and a loopback http.server shared by the builder tests."""

from __future__ import annotations

import io
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

import arrowds as ads
from arrowds.builders import features as F


class Toy(ads.builders.GeneratorBasedBuilder):
    """20 train and 7 test examples with an image, a label and the example number."""

    VERSION = ads.Version("1.0.0")
    SUPPORTED_VERSIONS = ["0.9.0"]
    RELEASE_NOTES = {"1.0.0": "first"}
    fail_in: str | None = None
    sizes = {"train": 20, "test": 7}

    def _info(self):
        return self.dataset_info_from_configs(
            features={"image": F.Image(shape=(8, 8, 3)), "label": F.ClassLabel(names=["a", "b", "c"]),
                      "n": F.Scalar(np.int64)},
            supervised_keys=("image", "label"), homepage="https://example.org")

    def _split_generators(self, dl_manager):
        return {split: self._generate_examples(split, n) for split, n in self.sizes.items()}

    def _generate_examples(self, split, n):
        rng = np.random.default_rng(n)
        for i in range(n):
            if split == self.fail_in and i == n // 2:
                raise RuntimeError("upstream file is corrupt")
            yield f"k{i}", {"image": rng.integers(0, 255, (8, 8, 3), dtype=np.uint8),
                            "label": i % 3, "n": i}


@pytest.fixture
def toy():
    Toy.fail_in = None
    return Toy


class RangeHandler(SimpleHTTPRequestHandler):
    """http.server's handler plus ``Range: bytes=N-`` (for resumed downloads); logs requests."""

    requests: list[tuple[str, str | None]] = []

    def log_message(self, *args):  # quiet
        pass

    def send_head(self):
        RangeHandler.requests.append((self.path, self.headers.get("Range")))
        rng = self.headers.get("Range")
        path = Path(self.translate_path(self.path))
        if not rng or not path.is_file():
            return super().send_head()
        start = int(rng.split("=")[1].split("-")[0])
        data = path.read_bytes()
        if start >= len(data):
            self.send_error(416)
            return None
        self.send_response(206)
        self.send_header("Content-Length", str(len(data) - start))
        self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.end_headers()
        return io.BytesIO(data[start:])


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    handler = lambda *a, **kw: RangeHandler(*a, directory=str(root), **kw)  # noqa: E731
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    RangeHandler.requests = []
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()




@pytest.fixture
def server_requests():
    """The (path, Range header) of every request the server got, in order."""
    return lambda: RangeHandler.requests
