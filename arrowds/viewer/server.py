"""The viewer's HTTP server: the standard library's ThreadingHTTPServer, read-only.

It answers GET/HEAD for a fixed allow-list of routes only: the page and its two static files,
and the JSON/bytes API of :class:`arrowds.viewer.api.ViewerAPI`. No URL path is ever mapped to
a file, so nothing outside the dataset can be reached; tensor names and versions in a URL are
looked up in the dataset's manifest and refs. Bound to 127.0.0.1 it also refuses requests
whose Host header names another host (DNS rebinding).
"""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from arrowds.viewer.api import ApiError, ViewerAPI

log = logging.getLogger("arrowds.viewer")

#: The only files served: route -> (file in arrowds/viewer/static, content type).
STATIC = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/index.html": ("index.html", "text/html; charset=utf-8"),
    "/static/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/static/style.css": ("style.css", "text/css; charset=utf-8"),
}
#: The page runs only its own script and style, and loads only from this server.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; media-src 'self'; "
       "connect-src 'self'; base-uri 'none'; form-action 'none'")
_LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
_ITEM = re.compile(r"^/api/(thumb|mask|media)/(.+)/(\d+)$")
_SAMPLE = re.compile(r"^/api/sample/(\d+)$")
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _static(name: str) -> bytes:
    return resources.files("arrowds.viewer").joinpath("static", name).read_bytes()


class _Handler(BaseHTTPRequestHandler):
    server: ViewerHTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "arrowds-viewer"

    # -- plumbing --------------------------------------------------------------------------
    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s - %s", self.address_string(), format % args)

    def _send(self, status: int, body: bytes, ctype: str, extra: dict[str, str] | None = None,
              head_only: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cache-Control", "no-cache")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if not head_only:
            self.wfile.write(body)

    def _json(self, obj: Any, status: int = 200, head_only: bool = False) -> None:
        body = json.dumps(obj, allow_nan=False, ensure_ascii=False).encode()
        self._send(status, body, "application/json; charset=utf-8", head_only=head_only)

    def _error(self, status: int, message: str, head_only: bool = False) -> None:
        self._json({"error": message}, status, head_only)

    def _host_ok(self) -> bool:
        if not self.server.check_host:
            return True
        host = (self.headers.get("Host") or "").strip().lower()
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        return name in _LOOPBACK

    # -- methods ---------------------------------------------------------------------------
    def do_GET(self) -> None:  # http.server's naming
        self._dispatch(head_only=False)

    def do_HEAD(self) -> None:
        self._dispatch(head_only=True)

    def _refuse(self) -> None:
        self._error(HTTPStatus.METHOD_NOT_ALLOWED, "the viewer is read-only", head_only=False)

    do_POST = do_PUT = do_DELETE = do_PATCH = _refuse

    def _dispatch(self, head_only: bool) -> None:
        if not self._host_ok():
            self._error(HTTPStatus.FORBIDDEN, "unexpected Host header", head_only)
            return
        parts = urlsplit(self.path)
        path, q = parts.path, {k: v[-1] for k, v in parse_qs(parts.query).items()}
        try:
            if path in STATIC:
                name, ctype = STATIC[path]
                extra = {"Content-Security-Policy": CSP} if name == "index.html" else None
                self._send(200, _static(name), ctype, extra, head_only)
            elif path == "/favicon.ico":
                self._send(HTTPStatus.NO_CONTENT, b"", "image/x-icon", head_only=True)
            elif path.startswith("/api/"):
                self._api(path, q, head_only)
            else:
                self._error(HTTPStatus.NOT_FOUND, "not found", head_only)
        except ApiError as e:
            self._error(e.status, e.message, head_only)
        except (ValueError, KeyError) as e:
            self._error(HTTPStatus.BAD_REQUEST, f"bad request: {e}", head_only)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _api(self, path: str, q: dict[str, str], head_only: bool) -> None:
        api = self.server.api
        version = q.get("version") or None
        if path == "/api/info":
            return self._json(api.info(version), head_only=head_only)
        if path == "/api/samples":
            return self._json(api.samples(int(q.get("offset", 0)), int(q.get("limit", 24)), version,
                                          q.get("q", "")), head_only=head_only)
        if path == "/api/log":
            return self._json(api.log(version), head_only=head_only)
        if path == "/api/diff":
            return self._json(api.diff(q.get("a", ""), q.get("b") or None), head_only=head_only)
        m = _SAMPLE.match(path)
        if m:
            return self._json(api.sample(int(m.group(1)), version), head_only=head_only)
        m = _ITEM.match(path)
        if not m:
            raise ApiError(404, "not found")
        what, tensor, index = m.group(1), unquote(m.group(2)), int(m.group(3))
        if what == "thumb":
            body, ctype = api.thumb(tensor, index, version, int(q.get("size", 256)), int(q.get("frame", 0)))
            return self._send(200, body, ctype, head_only=head_only)
        if what == "mask":
            body = api.mask(tensor, index, version, int(q.get("size", 512)))
            return self._send(200, body, "image/png", head_only=head_only)
        return self._media(tensor, index, version, head_only)

    def _media(self, tensor: str, index: int, version: str | None, head_only: bool) -> None:
        """Stored audio/video bytes, honouring one ``Range: bytes=a-b`` (players seek with it)."""
        media = self.server.api.media(tensor, index, version)
        size, start, end, status = media.size, 0, media.size, 200
        rng = self.headers.get("Range")
        m = _RANGE.match(rng.strip()) if rng else None
        if m and (m.group(1) or m.group(2)):
            if m.group(1):
                start = int(m.group(1))
                end = min(int(m.group(2)) + 1, size) if m.group(2) else size
            else:
                start = max(0, size - int(m.group(2)))
            if start >= size or start >= end:
                self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status = 206
        self.send_response(status)
        self.send_header("Content-Type", media.content_type)
        self.send_header("Content-Length", str(end - start))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("X-Content-Type-Options", "nosniff")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end - 1}/{size}")
        self.end_headers()
        if head_only:
            return
        for chunk in media.read(start, end):
            self.wfile.write(chunk)


class ViewerHTTPServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer carrying the API it serves."""

    daemon_threads = True

    def __init__(self, api: ViewerAPI, host: str, port: int):
        self.api = api
        self.check_host = host in _LOOPBACK
        if ":" in host:
            self.address_family = socket.AF_INET6
        super().__init__((host, port), _Handler)


class Viewer:
    """A running viewer: ``.url`` to open, ``.close()`` to stop.

    >>> v = Viewer(ViewerAPI("./my_ds")).start()   # doctest: +SKIP
    >>> v.url                                      # doctest: +SKIP
    'http://127.0.0.1:8765/'
    """

    def __init__(self, api: ViewerAPI, host: str = "127.0.0.1", port: int = 0):
        self.api = api
        self.httpd = ViewerHTTPServer(api, host, port)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        host = f"[{host}]" if ":" in str(host) else host
        return f"http://{host}:{port}/"

    def start(self) -> Viewer:
        """Serve from a daemon thread; returns self."""
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="arrowds-viewer", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted."""
        try:
            self.httpd.serve_forever()
        finally:
            self.httpd.server_close()

    def close(self) -> None:
        """Stop serving and release the port."""
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join(5)
            self._thread = None
        self.httpd.server_close()

    def __enter__(self) -> Viewer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def serve(url: str, *, host: str = "127.0.0.1", port: int = 0, version: str | None = None,
          storage_options: dict[str, Any] | None = None) -> Viewer:
    """Start a viewer of the dataset at ``url`` in a background thread and return it.

    >>> v = serve("./my_ds", port=8765); print(v.url)   # doctest: +SKIP
    http://127.0.0.1:8765/
    """
    api = ViewerAPI(url, version=version, storage_options=storage_options)
    return Viewer(api, host, port).start()
