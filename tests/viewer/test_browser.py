"""The viewer page in a real browser: headless Chromium (Debian's package) driven by Playwright.

Skips with a message where Playwright or Chromium is missing or cannot start. Screenshots go
to a ``screenshots`` folder under pytest's tmp dir (its path is printed).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.viewer.conftest import BOX, FIRST, SCRIPT_LABEL, SCRIPT_ROW, SECOND, H, W

sync_api = pytest.importorskip("playwright.sync_api",
                               reason="playwright is not installed: pip install playwright")

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def _chromium() -> str | None:
    for p in (os.environ.get("ARROWDS_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
              shutil.which("chromium-browser")):
        if p and os.path.exists(p):
            return p
    return None


@pytest.fixture(scope="module")
def browser():
    exe = _chromium()
    if exe is None:
        pytest.skip("Chromium is not installed (apt-get install -y chromium); skipping the browser tests")
    pw = sync_api.sync_playwright().start()
    try:
        b = pw.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS, timeout=30_000)
    except Exception as e:  # noqa: BLE001 - any launch failure means "no browser here"
        pw.stop()
        pytest.skip(f"Chromium at {exe} cannot be started: {str(e).splitlines()[0]}")
    yield b
    b.close()
    pw.stop()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("screenshots")
    print(f"\nviewer screenshots: {d}")
    return d


@pytest.fixture
def page(browser, viewer):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = ctx.new_page()
    pg.set_default_timeout(15_000)
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.errors = errors
    yield pg
    ctx.close()
    assert not errors, errors


def open_grid(page, viewer, hash_: str = "") -> None:
    page.goto(viewer.url + hash_)
    page.wait_for_selector("body[data-loaded]")


def test_grid_shows_a_page_with_labels(page, viewer, shots):
    open_grid(page, viewer)
    assert page.locator(".card").count() == 24
    assert f"of {FIRST + SECOND}" in page.locator("#page-info").text_content()
    assert page.locator(".card[data-index='0'] .label-chip").text_content() == "dog"
    assert page.locator(".card[data-index='4'] .label-chip").text_content() == "cat"
    caption = page.locator(".card[data-index='1'] [data-tensor='captions'] pre")
    assert caption.text_content() == "photo number 1"
    assert page.locator(".card audio").count() == 24 and page.locator(".card video").count() == 24
    page.wait_for_function("() => [...document.querySelectorAll('.card img.thumb')].slice(0, 5)"
                           ".every(i => i.complete && i.naturalWidth)")  # the rest load lazily
    page.screenshot(path=str(shots / "grid.png"), full_page=True)


def test_box_overlay_is_drawn_at_the_box(page, viewer, shots):
    open_grid(page, viewer)
    card = page.locator(".card[data-index='0']")
    img = card.locator("img.thumb").bounding_box()
    box = card.locator("svg.overlay rect.box").bounding_box()
    sx, sy = img["width"] / W, img["height"] / H
    x, y, w, h = BOX
    assert box["x"] == pytest.approx(img["x"] + x * sx, abs=2)
    assert box["y"] == pytest.approx(img["y"] + y * sy, abs=2)
    assert box["width"] == pytest.approx(w * sx, abs=3)
    assert box["height"] == pytest.approx(h * sy, abs=3)
    mask = card.locator("img.mask")
    assert mask.count() == 1 and mask.is_visible()
    assert card.locator("svg.overlay polygon").count() == 2  # one sample of two ragged polygons
    assert card.locator("svg.overlay circle").count() == 2  # the third keypoint is not labelled (v=0)
    page.uncheck("#show-masks")
    assert not mask.is_visible()
    card.screenshot(path=str(shots / "card-masks-off.png"))
    page.check("#show-masks")
    assert mask.is_visible()


def test_paging(page, viewer):
    open_grid(page, viewer)
    page.click("#next")
    page.wait_for_selector("body[data-loaded='main||24']")
    idx = page.locator(".card").evaluate_all("cs => cs.map(c => Number(c.dataset.index))")
    assert idx == list(range(24, FIRST + SECOND))
    assert page.locator("#next").is_disabled()
    page.click("#prev")
    page.wait_for_selector("body[data-loaded='main||0']")
    assert page.locator(".card").first.get_attribute("data-index") == "0"


def test_version_picker_switches_versions(page, viewer, built, shots):
    open_grid(page, viewer)
    page.select_option("#version", built.first)
    page.wait_for_selector(f"body[data-loaded='{built.first}||0']")
    assert f"of {FIRST}" in page.locator("#page-info").text_content()
    assert page.locator(".card[data-index='0'] .label-chip").text_content() == "cat"  # before the relabel
    page.screenshot(path=str(shots / "first-commit.png"))
    page.select_option("#version", "main")
    page.wait_for_selector("body[data-loaded='main||0']")
    assert page.locator(".card[data-index='0'] .label-chip").text_content() == "dog"


def test_script_label_is_shown_as_text_and_not_run(page, viewer, shots):
    open_grid(page, viewer)
    chip = page.locator(f".card[data-index='{SCRIPT_ROW}'] .label-chip")
    assert chip.text_content() == SCRIPT_LABEL
    caption = page.locator(".card[data-index='3'] [data-tensor='captions'] pre")
    assert caption.text_content().startswith("<img")
    assert page.evaluate("() => [window.__pwned, window.__pwned2]") == [None, None]
    assert page.locator("#grid script, #grid [onerror]").count() == 0
    page.click(f".card[data-index='{SCRIPT_ROW}'] .index")
    page.wait_for_selector("#detail:not([hidden])")
    assert page.locator("#detail .label-chip").text_content() == SCRIPT_LABEL
    assert page.evaluate("() => window.__pwned") is None
    page.screenshot(path=str(shots / "detail-script-label.png"))


def test_detail_video_starts_at_the_asked_frame(page, viewer, shots):
    open_grid(page, viewer, "#s=1&f=4")
    page.wait_for_selector("#detail:not([hidden]) video")
    assert page.locator("#detail-title").text_content().startswith("Sample #1")
    ok = page.evaluate("""() => new Promise(done => {
        const v = document.querySelector('#detail video');
        const check = () => v.readyState >= 1 ? done({t: v.currentTime, err: null}) : null;
        v.addEventListener('error', () => done({t: null, err: String(v.error && v.error.code)}));
        v.addEventListener('seeked', check);
        v.addEventListener('loadedmetadata', () => setTimeout(check, 200));
        if (v.readyState >= 1) setTimeout(check, 200);
        v.load();
    })""")
    if ok["err"] is not None:
        pytest.skip(f"this Chromium cannot decode the test's H.264 video (MediaError {ok['err']})")
    assert ok["t"] == pytest.approx(4 / 8, abs=0.02)
    page.screenshot(path=str(shots / "detail-video.png"))


def test_filter_box_takes_a_query(page, viewer, shots):
    open_grid(page, viewer)
    page.fill("#filter", "labels = 1")
    page.click("#filter-form button[type=submit]")
    page.wait_for_selector("body[data-loaded='main|labels = 1|0']")
    chips = page.locator(".card .label-chip").all_text_contents()
    assert chips and set(chips) == {"dog"}
    assert "matching the filter" in page.locator("#page-info").text_content()
    page.fill("#filter", "no_such_tensor = 1")
    page.click("#filter-form button[type=submit]")
    page.wait_for_selector("#status.error")
    assert "no_such_tensor" in page.locator("#status").text_content()
    page.screenshot(path=str(shots / "filter-error.png"))


def test_log_and_diff_panel(page, viewer, built, shots):
    open_grid(page, viewer)
    page.click("#log-button")
    page.wait_for_selector("#log li")
    assert page.locator("#log li").count() == 2
    assert page.locator(f"#log li[data-commit='{built.first}'] .message").text_content() == "first 30 rows"
    page.select_option("#diff-a", built.first)
    page.select_option("#diff-b", built.second)
    page.click("#diff-form button[type=submit]")
    row = page.locator("table.diff tr[data-tensor='labels']")
    row.wait_for()
    assert row.locator("td.added").text_content() == str(SECOND)
    assert row.locator("td.updated").text_content() == "1"
    assert row.locator("td.deleted").text_content() == "0"
    page.screenshot(path=str(shots / "versions.png"))


@pytest.mark.parametrize(("box", "coords", "rect"), [
    ([10, 20, 30, 40], {"type": "pixel", "mode": "LTWH"}, [10, 20, 30, 40]),
    ([10, 20, 40, 60], {"type": "pixel", "mode": "LTRB"}, [10, 20, 30, 40]),
    ([25, 40, 30, 40], {"type": "pixel", "mode": "CCWH"}, [10, 20, 30, 40]),
    ([0.1, 0.1, 0.3, 0.4], {"type": "fractional", "mode": "TLBR"}, [10, 20, 30, 40]),  # TFDS y,x
])
def test_every_box_convention_maps_to_the_same_rectangle(page, viewer, box, coords, rect):
    open_grid(page, viewer)
    got = page.evaluate("([b, c]) => boxRect(b, c, 100, 200)", [box, coords])
    assert got == pytest.approx(rect)
