"""The viewer's HTTP API on a real server: pages, pictures, media ranges, versions, safety."""

from __future__ import annotations

import http.client
import io
import json
import subprocess
import sys
import time
import types
import urllib.error
import urllib.request
from urllib.parse import quote, urlsplit

import numpy as np
import pytest
from PIL import Image

import arrowds as ads
from tests.viewer.conftest import BOX, FIRST, SCRIPT_LABEL, SCRIPT_ROW, SECOND, H, W


def get(viewer, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(viewer.url + path.lstrip("/"), headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def get_json(viewer, path: str) -> dict:
    status, _, body = get(viewer, path)
    assert status == 200, body
    return json.loads(body)


def test_info_lists_tensors_with_their_overlay_base(viewer, built):
    info = get_json(viewer, "/api/info")
    assert info["length"] == FIRST + SECOND and info["branch"] == "main" and info["commit_id"] == built.second
    kinds = {t["name"]: (t["kind"], t["base"]) for t in info["tensors"]}
    assert kinds["boxes"] == ("bbox", "images") and kinds["masks"] == ("mask", "images")
    assert kinds["labels"] == ("label", None) and kinds["video"] == ("video", None)
    boxes = next(t for t in info["tensors"] if t["name"] == "boxes")
    assert boxes["coords"] == {"type": "pixel", "mode": "LTWH"}
    assert info["branches"] == ["main"]


def test_pages_read_only_the_rows_asked(viewer):
    page = get_json(viewer, "/api/samples?offset=24&limit=24")
    assert page["total"] == FIRST + SECOND
    assert [r["index"] for r in page["rows"]] == list(range(24, FIRST + SECOND))
    row = get_json(viewer, f"/api/samples?offset={SCRIPT_ROW}&limit=1")["rows"][0]["cells"]
    assert row["labels"] == {"kind": "label", "values": [2], "names": [SCRIPT_LABEL]}
    assert row["boxes"]["boxes"] == [list(BOX)]
    assert row["images"]["shape"] == [H, W, 3] and row["video"]["shape"] == [8, 32, 48, 3]
    assert row["meta"]["kind"] == "json" and '"split": "train"' in row["meta"]["value"]
    assert row["emb"]["kind"] == "numeric" and row["emb"]["shape"] == [8]
    assert row["keypoints"]["objects"] == [[[20, 30, 2], [60, 40, 2], [100, 70, 0]]]


def test_bad_page_arguments_are_refused(viewer):
    assert get(viewer, "/api/samples?offset=-1")[0] == 400
    assert get(viewer, "/api/samples?limit=100000")[0] == 400
    assert get(viewer, "/api/samples?offset=abc")[0] == 400
    assert get(viewer, f"/api/sample/{FIRST + SECOND}")[0] == 404


def test_sample_detail_has_media_info(viewer):
    s = get_json(viewer, "/api/sample/1")
    assert s["cells"]["video"]["sample_info"]["fps"] == 8
    assert s["cells"]["audio"]["sample_info"]["sample_rate"] == 16000


def test_thumbnails_and_mask_overlay(viewer):
    status, headers, body = get(viewer, "/api/thumb/images/0?size=64")
    assert status == 200 and headers["Content-Type"] == "image/jpeg"
    assert max(Image.open(io.BytesIO(body)).size) == 64
    status, headers, body = get(viewer, "/api/thumb/video/0?frame=5")
    assert status == 200 and Image.open(io.BytesIO(body)).size == (48, 32)
    status, headers, body = get(viewer, "/api/mask/masks/0")
    assert status == 200 and headers["Content-Type"] == "image/png"
    mask = np.asarray(Image.open(io.BytesIO(body)))
    x, y, w, h = (int(v) for v in BOX)
    assert mask.shape == (H, W, 4)
    assert mask[y + 1, x + 1, 3] > 0 and mask[y + h + 2, x + w + 2, 3] == 0
    assert get(viewer, "/api/mask/images/0")[0] == 400
    assert get(viewer, "/api/thumb/labels/0")[0] == 400


def test_media_served_as_stored_with_ranges(viewer, built):
    stored = ads.load(built.url, read_only=True).video[3].tobytes()
    status, headers, body = get(viewer, "/api/media/video/3")
    assert status == 200 and headers["Content-Type"] == "video/mp4" and body == stored
    assert headers["Accept-Ranges"] == "bytes"
    status, headers, body = get(viewer, "/api/media/video/3", {"Range": "bytes=10-99"})
    assert status == 206 and body == stored[10:100]
    assert headers["Content-Range"] == f"bytes 10-99/{len(stored)}"
    status, _, body = get(viewer, "/api/media/video/3", {"Range": "bytes=-16"})
    assert status == 206 and body == stored[-16:]
    assert get(viewer, "/api/media/video/3", {"Range": f"bytes={len(stored)}-"})[0] == 416
    status, headers, body = get(viewer, "/api/media/audio/0")
    assert status == 200 and headers["Content-Type"] == "audio/wav" and body[:4] == b"RIFF"


def test_versions_log_and_diff(viewer, built):
    log = get_json(viewer, "/api/log")["commits"]
    assert [c["id"] for c in log] == [built.second, built.first]
    assert log[0]["parents"] == [built.first]
    old = get_json(viewer, f"/api/info?version={built.first}")
    assert old["length"] == FIRST and old["detached"]
    page = get_json(viewer, f"/api/samples?offset=0&limit=1&version={built.first}")
    assert page["total"] == FIRST and page["rows"][0]["cells"]["labels"]["names"] == ["cat"]
    diff = {t["name"]: t for t in get_json(viewer, f"/api/diff?a={built.first}&b={built.second}")["tensors"]}
    assert diff["labels"]["added"] == SECOND and diff["labels"]["updated"] == 1
    assert diff["labels"]["updated_rows"] == [0] and diff["images"]["updated"] == 0
    assert get(viewer, "/api/info?version=nope")[0] == 404
    assert get(viewer, "/api/diff?a=nope")[0] == 404


def test_filter_uses_ds_query(viewer):
    page = get_json(viewer, "/api/samples?limit=200&q=" + quote("labels = 1"))
    idx = [r["index"] for r in page["rows"]]
    assert idx and all(r["cells"]["labels"]["names"] == ["dog"] for r in page["rows"])
    assert page["total"] == len(idx) == 1 + sum(i % 2 for i in range(1, FIRST + SECOND) if i != SCRIPT_ROW)
    status, _, body = get(viewer, "/api/samples?q=" + quote("labels ==="))
    assert status == 400 and "filter" in json.loads(body)["error"]
    assert get(viewer, "/api/samples?q=" + quote("labels = 1; SELECT 1"))[0] == 400


@pytest.mark.parametrize("path", [
    "/static/../../etc/passwd", "/..%2f..%2fetc%2fpasswd", "/static/%2e%2e/%2e%2e/etc/passwd",
    "/api/thumb/..%2F..%2Fetc%2Fpasswd/0", "/api/media/..%2Fversions/0", "/etc/passwd",
    "/api/sample/0/../../../etc/passwd", "/static/app.js.map", "/arrowds.json",
])
def test_paths_outside_the_allow_list_are_refused(viewer, path):
    conn = http.client.HTTPConnection(*urlsplit(viewer.url).netloc.split(":"), timeout=10)
    conn.request("GET", path)  # sent as written: urllib would normalise the dots
    r = conn.getresponse()
    body = r.read()
    assert r.status == 404, (path, body)
    assert b"root:" not in body


def test_read_only_and_host_checked(viewer):
    req = urllib.request.Request(viewer.url + "api/info", data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=10)
    assert e.value.code == 405
    assert get(viewer, "/api/info", {"Host": "evil.example:80"})[0] == 403


def test_page_served_with_a_strict_policy(viewer):
    status, headers, body = get(viewer, "/")
    assert status == 200 and b"/static/app.js" in body
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert get(viewer, "/static/app.js")[1]["Content-Type"].startswith("text/javascript")


def test_visualize_returns_url_without_ipython_and_iframe_with_it(built, monkeypatch):
    ds = ads.load(built.url, read_only=True)
    monkeypatch.setitem(sys.modules, "IPython", None)
    monkeypatch.setitem(sys.modules, "IPython.display", None)
    url = ds.visualize()
    assert isinstance(url, str) and url.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(url + "api/info", timeout=10) as r:
        assert json.loads(r.read())["length"] == FIRST + SECOND
    assert ds.visualize() == url  # one server per dataset version

    class IFrame:
        def __init__(self, src, width, height):
            self.src, self.width, self.height = src, width, height

    display = types.ModuleType("IPython.display")
    display.IFrame = IFrame
    monkeypatch.setitem(sys.modules, "IPython", types.ModuleType("IPython"))
    monkeypatch.setitem(sys.modules, "IPython.display", display)
    frame = ds[5:9].visualize(height=300)
    assert isinstance(frame, IFrame) and frame.height == 300
    with urllib.request.urlopen(frame.src + "api/samples", timeout=10) as r:
        assert [row["index"] for row in json.loads(r.read())["rows"]] == [5, 6, 7, 8]


def test_cli_view_serves_until_interrupted(built):
    proc = subprocess.Popen([sys.executable, "-m", "arrowds.cli.main", "view", built.url, "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert "http://127.0.0.1:" in line, proc.stderr.read() if proc.poll() is not None else line
        url = line.split(" at ", 1)[1].split()[0]
        deadline = time.time() + 10
        while True:
            try:
                with urllib.request.urlopen(url + "api/info", timeout=5) as r:
                    assert json.loads(r.read())["length"] == FIRST + SECOND
                break
            except urllib.error.URLError:
                if time.time() > deadline:
                    raise
                time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(10)


def test_cli_view_of_a_missing_dataset_fails_with_one_line(tmp_path):
    r = subprocess.run([sys.executable, "-m", "arrowds.cli.main", "view", str(tmp_path / "none"),
                        "--port", "0"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and r.stderr.startswith("arrowds: error:") and "Traceback" not in r.stderr
