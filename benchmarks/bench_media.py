"""arrowds media benchmark (issue 5): video and audio range decodes, JPEG scans, JPEG decoders.

    python benchmarks/bench_media.py [--part video,jpeg,audio,decoders,reduced] [--repeats 5] [--profile]

1. video: a 60 s 1280x720 30 fps H.264 mp4 (1 s GOP) in a video tensor; ``ds.video[0][100:110]`` and
   ``[1700:1710]`` against decoding the whole video, plus the bytes a range reads.
2. jpeg: 5,000 128x128 photo-like JPEGs; ``ds.images[a:a+256].numpy(aslist=True)`` scans against
   decoding the same bytes from RAM with simplejpeg (also with ``ARROWDS_DECODE_THREADS=1``).
3. audio: a 10-minute 16 kHz stereo tone in wav, flac and mp3; one second from the middle against
   the whole recording.
4. decoders: PIL vs simplejpeg on a 128x128 and a 512x512 JPEG.
5. reduced: 16 photo-like 1024x768 and 2048x1536 JPEGs in a dataset, read and resized to 224x224
   (what a training transform does) with ``numpy(aslist=True)`` against ``numpy(aslist=True,
   min_size=224)`` (DCT-scaled decode), with simplejpeg and with the Pillow fallback.

Sources are cached under benchmarks/data/media/source/ (the first run encodes the video: ~2 min here);
datasets are rebuilt every run (280 MB in all). ``ds.video[0].numpy()`` peaks at ~10 GB of RAM: it is
timed only when that is under 60% of MemAvailable, else (or with ``--whole stream``) the whole-video
figure is PyAV decoding every frame and dropping it. Prints Markdown tables, saves JSON under
benchmarks/results/. Only the public API is timed (the byte counts wrap ``ds._core.storage``). See
benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np
import simplejpeg
from PIL import Image

import arrowds as ads

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.harness.data import photo  # noqa: E402  (the issue-2 images' generator)

PARTS = ("video", "jpeg", "audio", "decoders", "reduced")
RANGE_SPEEDUP = 10.0  # issue 5: a 10-frame range decodes >= 10x faster than the whole video
SCAN_SHARE = 0.95  # issue 2's decoded-scan target, reused: scan >= 95% of the in-memory decode limit
H, W, FPS, GOP, CRF = 720, 1280, 30, 30, 18  # the mp4 codec's libx264 settings: crf 18, g = fps
RATE, TONE_MINUTES = 16_000, 10
SIDE, QUALITY = 128, 90  # issue 2's photo-like JPEGs


@dataclass(frozen=True)
class Config:
    parts: tuple[str, ...]
    repeats: int
    video_seconds: int
    images: int
    batch: int
    whole: str
    data_dir: Path
    results_dir: Path
    profile: bool


Row = dict[str, Any]


# -- timing ----------------------------------------------------------------------------------------
def seconds(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def median_s(fn: Callable[[], object], repeats: int, warmup: int = 1) -> tuple[float, list[float]]:
    """Median of ``repeats`` timed calls after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    runs = [seconds(fn) for _ in range(repeats)]
    return statistics.median(runs), runs


def warm(path: Path) -> None:
    """Read every file under ``path`` once so the timed reads find it in the page cache."""
    for p in sorted(q for q in path.rglob("*") if q.is_file()):
        with p.open("rb") as fh:
            while fh.read(1 << 22):
                pass


def profile_top(label: str, fn: Callable[[], object], top: int = 10) -> str:
    """cProfile of one call of ``fn``: the ``top`` lines by cumulative time."""
    prof = cProfile.Profile()
    prof.runcall(fn)
    out = io.StringIO()
    pstats.Stats(prof, stream=out).strip_dirs().sort_stats("cumulative").print_stats(top)
    body = "\n".join(line for line in out.getvalue().splitlines() if line.strip())
    return f"### cProfile: {label} (top {top}, cumulative)\n\n```\n{body}\n```"


class ReadCounter:
    """Counts the calls and bytes of a storage's ranged reads while active."""

    def __init__(self, storage: Any):
        self.storage, self.calls, self.bytes = storage, 0, 0

    def __enter__(self) -> ReadCounter:
        real_one, real_many = self.storage.read_range, self.storage.read_ranges

        def one(key: str, start: int, end: int) -> bytes:
            data = real_one(key, start, end)
            self.calls, self.bytes = self.calls + 1, self.bytes + len(data)
            return data

        def many(key: str, starts: list[int], ends: list[int]) -> list[bytes]:
            out = real_many(key, starts, ends)
            self.calls, self.bytes = self.calls + len(out), self.bytes + sum(len(b) for b in out)
            return out

        self.storage.read_range, self.storage.read_ranges = one, many
        return self

    def __exit__(self, *exc: object) -> None:
        del self.storage.read_range, self.storage.read_ranges  # back to the class methods


def minor_faults() -> int:
    """Minor page faults of this process so far (all threads): fresh memory being mapped in."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def fresh_dataset(path: Path) -> Any:
    path.parent.mkdir(parents=True, exist_ok=True)
    return ads.empty(str(path), overwrite=True)


def mem_available() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return 0


# -- 1. video --------------------------------------------------------------------------------------
class MovingFrames:
    """Frame k: three RGB gradients shifting by a few pixels per frame, plus a noise texture at a
    random offset (sigma 3), so every frame differs from the last the way real footage does."""

    def __init__(self, seed: int = 0):
        self.rng = np.random.default_rng(seed)
        self.noise = self.rng.normal(0, 3.0, (H + 64, W + 64, 3)).round().astype(np.int16)
        self.xx = np.arange(W, dtype=np.int16)[None, :]
        self.yy = np.arange(H, dtype=np.int16)[:, None]

    def frame(self, k: int) -> np.ndarray:
        out = np.empty((H, W, 3), np.int16)
        out[..., 0] = (self.xx // 5 + 3 * k) % 256
        out[..., 1] = (self.yy // 3 + 2 * k) % 256
        out[..., 2] = ((self.xx + self.yy) // 8 + k) % 256
        dy, dx = self.rng.integers(0, 64, 2)
        out += self.noise[dy:dy + H, dx:dx + W]
        return np.clip(out, 0, 255).astype(np.uint8)

    def frames(self, n: int) -> Iterator[np.ndarray]:
        return (self.frame(k) for k in range(n))


def encode_mp4(frames: Iterator[np.ndarray]) -> bytes:
    """Frames streamed into libx264 with the arrowds mp4 codec's settings (yuv420p, crf 18, g=30)."""
    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as c:
        st = c.add_stream("libx264", rate=FPS)
        st.width, st.height, st.pix_fmt = W, H, "yuv420p"
        st.options = {"crf": str(CRF), "g": str(GOP)}
        for frame in frames:
            for p in st.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                c.mux(p)
        for p in st.encode(None):
            c.mux(p)
    return out.getvalue()


def same_as_codec() -> bool:
    """Our streaming encoder and ``get_codec("mp4").encode`` give the same bytes (on 20 frames)."""
    frames = np.stack(list(MovingFrames(1).frames(20)))
    return encode_mp4(iter(frames)) == ads.media.get_codec("mp4").encode(frames, fps=FPS)


def video_source(cfg: Config) -> tuple[Path, float | None]:
    """The cached mp4 (encoded on first use; returns the encode time then)."""
    n = cfg.video_seconds * FPS
    path = cfg.data_dir / "source" / f"moving-{cfg.video_seconds}s-{W}x{H}-{FPS}fps-crf{CRF}-g{GOP}.mp4"
    if path.exists():
        return path, None
    path.parent.mkdir(parents=True, exist_ok=True)
    print(f"encoding {n:,} frames of {W}x{H} (once; cached at {path}) ...", flush=True)
    start = time.perf_counter()
    data = encode_mp4(MovingFrames(0).frames(n))
    took = time.perf_counter() - start
    path.write_bytes(data)
    return path, took


def reference_frames(data: bytes, wanted: set[int]) -> dict[int, np.ndarray]:
    """Frames at ``wanted`` indices (presentation order) from one PyAV pass over the bytes."""
    out = {}
    with av.open(io.BytesIO(data)) as c:
        for k, f in enumerate(c.decode(c.streams.video[0])):
            if k in wanted:
                out[k] = f.to_ndarray(format="rgb24")
    return out


def stream_decode(data: bytes) -> int:
    """Decode and convert every frame to RGB, keeping none: the cost of a whole decode, without 5 GB."""
    n = 0
    with av.open(io.BytesIO(data)) as c:
        for f in c.decode(c.streams.video[0]):
            f.to_ndarray(format="rgb24")
            n += 1
    return n


def whole_mode(cfg: Config, frames: int) -> tuple[str, str]:
    """``arrowds`` (time ``ds.video[0].numpy()``) when twice the decoded size (list of frames +
    the stacked array) is under 60% of available memory, else ``stream``; ``--whole`` overrides."""
    need, avail = 2 * frames * H * W * 3, mem_available()
    why = f"peak ~{need / 1e9:.1f} GB, MemAvailable {avail / 1e9:.1f} GB"
    if cfg.whole != "auto":
        return cfg.whole, f"--whole {cfg.whole} ({why})"
    return ("arrowds", why) if need <= 0.6 * avail else ("stream", why)


def time_whole_arrowds(ds: Any, repeats: int) -> tuple[float, list[float]]:
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        arr = ds.video[0].numpy()
        runs.append(time.perf_counter() - start)
        del arr
    return statistics.median(runs), runs


def video_ranges(n: int) -> list[tuple[int, int]]:
    return [(100, 110), (n - 100, n - 90)]


def bench_video(cfg: Config) -> dict[str, Any]:
    path, encode_s = video_source(cfg)
    codec_match = same_as_codec()
    ds_path = cfg.data_dir / "video"
    ds = fresh_dataset(ds_path)
    ds.create_tensor("video", htype="video", sample_compression="mp4")
    ingest_s = seconds(lambda: ds.video.append(ads.read(str(path))))
    warm(ds_path)
    ds = ads.load(str(ds_path))
    data = ds.video[0].tobytes()
    n = ds.video[0].shape[0]
    ranges = video_ranges(n)
    ref = reference_frames(data, {k for a, b in ranges for k in range(a, b)})
    rows = [range_row(ds, a, b, ref, cfg.repeats) for a, b in ranges]
    stream_s, stream_runs = median_s(lambda: stream_decode(data), cfg.repeats, warmup=0)
    mode, why = whole_mode(cfg, n)
    whole_s, whole_runs = (stream_s, stream_runs) if mode == "stream" else time_whole_arrowds(ds, cfg.repeats)
    return {"frames": n, "file_bytes": len(data), "source_bytes": path.stat().st_size, "encode_s": encode_s,
            "encoder_matches_codec": codec_match, "ingest_s": ingest_s, "ranges": rows,
            "stream_s": stream_s, "stream_runs": stream_runs, "whole_mode": mode, "whole_why": why,
            "whole_s": whole_s, "whole_runs": whole_runs}


def range_row(ds: Any, a: int, b: int, ref: dict[int, np.ndarray], repeats: int) -> Row:
    part = ds.video[0][a:b].numpy()
    exact = part.shape == (b - a, H, W, 3) and all(np.array_equal(part[k - a], ref[k]) for k in range(a, b))
    with ReadCounter(ds._core.storage) as rc:
        ds.video[0][a:b].numpy()
    med, runs = median_s(lambda: ds.video[0][a:b].numpy(), repeats)
    return {"range": f"[{a}:{b}]", "s": med, "runs": runs, "read_calls": rc.calls, "read_bytes": rc.bytes,
            "exact": exact}


def video_tables(v: dict[str, Any]) -> tuple[list[str], list[Row]]:
    whole_label = ("`ds.video[0].numpy()`" if v["whole_mode"] == "arrowds"
                   else "whole decode, PyAV, frames dropped")
    lines = [
        f"### video: {v['frames']:,} frames {W}x{H} H.264 ({v['frames'] // FPS} s, GOP {GOP}), "
        f"{v['file_bytes'] / 1e6:.1f} MB",
        "",
        "| read | median ms | vs whole | bytes read | of file | read calls | frames == PyAV |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in v["ranges"]:
        lines.append(f"| `ds.video[0]{r['range']}.numpy()` | {r['s'] * 1e3:,.1f} | "
                     f"{v['whole_s'] / r['s']:,.0f}x faster | {r['read_bytes']:,} | "
                     f"{r['read_bytes'] / v['file_bytes']:.1%} | {r['read_calls']} | {r['exact']} |")
    lines.append(f"| {whole_label} | {v['whole_s'] * 1e3:,.0f} | 1x | - | - | - | - |")
    if v["whole_mode"] == "arrowds":
        lines.append(f"| whole decode, PyAV, frames dropped (decode floor) | {v['stream_s'] * 1e3:,.0f} | "
                     f"{v['whole_s'] / v['stream_s']:.2f}x faster | - | - | - | - |")
    encoded = f"source encoded in {v['encode_s']:.0f} s" if v["encode_s"] else "source from cache"
    lines += ["", f"whole-video mode: {v['whole_mode']} ({v['whole_why']}); ingest (append of the file) "
              f"{v['ingest_s']:.2f} s; streaming encoder gives the same bytes as "
              f"`get_codec('mp4').encode`: {v['encoder_matches_codec']}; {encoded}"]
    return lines, [video_target(v, r) for r in v["ranges"]]


def video_target(v: dict[str, Any], r: Row) -> Row:
    speedup = v["whole_s"] / r["s"]
    return {"key": f"video{r['range']}", "measure": f"`ds.video[0]{r['range']}` vs whole video",
            "value": f"{speedup:,.0f}x ({r['s'] * 1e3:.1f} vs {v['whole_s'] * 1e3:,.0f} ms)",
            "target": f">= {RANGE_SPEEDUP:.0f}x faster", "pass": speedup >= RANGE_SPEEDUP and r["exact"]}


# -- 2. jpeg scan ----------------------------------------------------------------------------------
def make_jpegs(n: int, side: int = SIDE, seed: int = 0) -> list[bytes]:
    rng = np.random.default_rng(seed)
    return [simplejpeg.encode_jpeg(photo(rng, side), quality=QUALITY) for _ in range(n)]


def scan(ds: Any, batch: int) -> int:
    images, count = ds.images, 0
    for a in range(0, len(images), batch):
        count += len(images[a:a + batch].numpy(aslist=True))
    return count


def decode_limit(jpegs: list[bytes]) -> int:
    """The same decoder call as arrowds' jpeg codec, over bytes already in RAM, single-threaded,
    dropping each image as soon as it is decoded (issue 2's decode limit)."""
    for b in jpegs:
        simplejpeg.decode_jpeg(b, colorspace="RGB")
    return len(jpegs)


def decode_limit_batched(jpegs: list[bytes], batch: int) -> int:
    """As ``decode_limit``, but keeping each batch's images alive until the batch is done, as a scan
    that returns batches must."""
    for a in range(0, len(jpegs), batch):
        _ = [simplejpeg.decode_jpeg(b, colorspace="RGB") for b in jpegs[a:a + batch]]
    return len(jpegs)


def scan_vs_limit(ds: Any, jpegs: list[bytes], batch: int, repeats: int) -> dict[str, Any]:
    """Scan and both limits interleaved (after one warm-up of each), so slow drift hits all alike."""
    calls = {"scan": lambda: scan(ds, batch), "limit": lambda: decode_limit(jpegs),
             "limit_batched": lambda: decode_limit_batched(jpegs, batch)}
    runs: dict[str, list[float]] = {k: [] for k in calls}
    faults: dict[str, list[int]] = {k: [] for k in calls}
    for fn in calls.values():
        fn()
    for _ in range(repeats):
        for key, fn in calls.items():
            before = minor_faults()
            runs[key].append(seconds(fn))
            faults[key].append(minor_faults() - before)
    return {**{f"{k}_s": statistics.median(v) for k, v in runs.items()},
            **{f"{k}_faults": statistics.median(v) for k, v in faults.items()},
            **{f"{k}_runs": v for k, v in runs.items()}}


def jpeg_child(ds_path: str, batch: int, repeats: int) -> None:
    """Subprocess entry (ARROWDS_DECODE_THREADS set before arrowds was imported): print the JSON."""
    ds = ads.load(ds_path)
    jpegs = ds.images[:].tobytes()
    print(json.dumps(scan_vs_limit(ds, jpegs, batch, repeats)))


UNTRIMMED_HEAP = {"MALLOC_TRIM_THRESHOLD_": "1000000000", "MALLOC_TOP_PAD_": "100000000"}


def subprocess_scan(ds_path: Path, cfg: Config, env: dict[str, str]) -> dict[str, Any]:
    """``scan_vs_limit`` in a new Python with ``env`` set before anything is imported."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--jpeg-child", str(ds_path),
           "--batch", str(cfg.batch), "--repeats", str(cfg.repeats)]
    out = subprocess.run(cmd, env={**os.environ, **env}, capture_output=True, text=True, check=True)
    return {"env": env, **json.loads(out.stdout.strip().splitlines()[-1])}


def bench_jpeg(cfg: Config) -> dict[str, Any]:
    jpegs = make_jpegs(cfg.images)
    ds_path = cfg.data_dir / "images"
    ds = fresh_dataset(ds_path)
    ds.create_tensor("images", htype="image", sample_compression="jpeg")
    with ds:
        ds.images.extend([ads.read(b, compression="jpeg") for b in jpegs])
    warm(ds_path)
    ds = ads.load(str(ds_path))
    first = ds.images[0:8].numpy(aslist=True)
    exact = all(np.array_equal(a, simplejpeg.decode_jpeg(b)) for a, b in zip(first, jpegs[:8]))
    pool = int(os.environ.get("ARROWDS_DECODE_THREADS", os.cpu_count() or 1))
    one = {"ARROWDS_DECODE_THREADS": "1"}
    runs = {f"default: decode pool of {pool} threads": scan_vs_limit(ds, jpegs, cfg.batch, cfg.repeats),
            "`ARROWDS_DECODE_THREADS=1` (subprocess)": subprocess_scan(ds_path, cfg, one),
            "`ARROWDS_DECODE_THREADS=1`, glibc heap not trimmed (subprocess, diagnostic)":
                subprocess_scan(ds_path, cfg, {**one, **UNTRIMMED_HEAP})}
    return {"n": cfg.images, "raw_bytes": sum(map(len, jpegs)), "exact": exact, "runs": runs}


def jpeg_tables(j: dict[str, Any]) -> tuple[list[str], list[Row]]:
    n = j["n"]
    lines = [f"### jpeg scan: {n:,} x {SIDE}x{SIDE} JPEG (q{QUALITY}), {j['raw_bytes'] / 1e6:.1f} MB, "
             "batches of 256; decode limits: simplejpeg, 1 thread, bytes in RAM", "",
             "| run | arrowds scan img/s | limit img/s (drop each) | scan / limit | "
             "limit img/s (keep each batch) | scan / that limit | page faults / img: scan, limit, "
             "limit (keep batch) |", "|---|---|---|---|---|---|---|"]
    for label, r in j["runs"].items():
        faults = ", ".join(f"{r[f'{k}_faults'] / n:.1f}" for k in ("scan", "limit", "limit_batched"))
        lines.append(f"| {label} | {n / r['scan_s']:,.0f} | {n / r['limit_s']:,.0f} | "
                     f"{r['limit_s'] / r['scan_s']:.1%} | {n / r['limit_batched_s']:,.0f} | "
                     f"{r['limit_batched_s'] / r['scan_s']:.1%} | {faults} |")
    lines += ["", f"pixels of the first 8 == `simplejpeg.decode_jpeg`: {j['exact']}"]
    targets = [{"key": f"jpeg-{key}", "measure": f"decoded scan / in-memory decode limit ({label})",
                "value": f"{r['limit_s'] / r['scan_s']:.1%}", "target": f">= {SCAN_SHARE:.0%} (issue 2's)",
                "pass": r["limit_s"] / r["scan_s"] >= SCAN_SHARE and j["exact"]}
               for key, (label, r) in zip(("pool", "1thread"), list(j["runs"].items())[:2])]
    return lines, targets


# -- 3. audio --------------------------------------------------------------------------------------
def tone(minutes: int) -> np.ndarray:
    """440 Hz at 0.5 left, 220 Hz at 0.25 right (the test suite's tone), float32 (samples, 2)."""
    t = np.arange(minutes * 60 * RATE) / RATE
    return np.stack([0.5 * np.sin(2 * np.pi * 440 * t), 0.25 * np.sin(2 * np.pi * 220 * t)], 1).astype(
        np.float32)


def audio_source(cfg: Config, comp: str, signal: np.ndarray) -> Path:
    path = cfg.data_dir / "source" / f"tone-{TONE_MINUTES}min-{RATE}hz-stereo.{comp}"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(ads.media.get_codec(comp).encode(signal, sample_rate=RATE))
    return path


def audio_exact(comp: str, part: np.ndarray, whole: np.ndarray, signal: np.ndarray, a: int) -> bool:
    """wav: bit-exact; flac: within 1e-4 of the source (16-bit); mp3: equal to the whole decode's slice."""
    want = signal[a:a + RATE] if comp != "mp3" else whole[a:a + RATE]
    if part.shape != want.shape:
        return False
    return bool(np.array_equal(part, want) if comp == "wav" else np.allclose(part, want, atol=1e-4))


def bench_audio_one(cfg: Config, comp: str, signal: np.ndarray) -> Row:
    path = audio_source(cfg, comp, signal)
    ds_path = cfg.data_dir / f"audio_{comp}"
    ds = fresh_dataset(ds_path)
    ds.create_tensor("audio", htype="audio", sample_compression=comp, sample_rate=RATE)
    ds.audio.append(ads.read(str(path)))
    warm(ds_path)
    ds = ads.load(str(ds_path))
    a = len(signal) // 2
    whole = ds.audio[0].numpy()
    exact = audio_exact(comp, ds.audio[0][a:a + RATE].numpy(), whole, signal, a)
    del whole
    with ReadCounter(ds._core.storage) as rc:
        ds.audio[0][a:a + RATE].numpy()
    part_s, part_runs = median_s(lambda: ds.audio[0][a:a + RATE].numpy(), cfg.repeats)
    whole_s, whole_runs = median_s(lambda: ds.audio[0].numpy(), cfg.repeats, warmup=0)
    return {"comp": comp, "file_bytes": path.stat().st_size, "range_s": part_s, "range_runs": part_runs,
            "whole_s": whole_s, "whole_runs": whole_runs, "read_bytes": rc.bytes, "read_calls": rc.calls,
            "exact": exact, "start": a}


def bench_audio(cfg: Config) -> list[Row]:
    signal = tone(TONE_MINUTES)
    return [bench_audio_one(cfg, comp, signal) for comp in ("wav", "flac", "mp3")]


def audio_tables(rows: list[Row]) -> tuple[list[str], list[Row]]:
    lines = [f"### audio: {TONE_MINUTES} min {RATE // 1000} kHz stereo tone; range = 1 s from the middle "
             f"(`ds.audio[0][{rows[0]['start']:,}:{rows[0]['start'] + RATE:,}]`)", "",
             "| format | file MB | range ms | whole `ds.audio[0].numpy()` ms | whole / range | "
             "range bytes read | of file | range correct |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['comp']} | {r['file_bytes'] / 1e6:.1f} | {r['range_s'] * 1e3:,.2f} | "
                     f"{r['whole_s'] * 1e3:,.0f} | {r['whole_s'] / r['range_s']:,.0f}x | "
                     f"{r['read_bytes']:,} | {r['read_bytes'] / r['file_bytes']:.2%} | {r['exact']} |")
    targets = [{"key": f"audio-{r['comp']}", "measure": f"{r['comp']}: 1 s range vs the whole 10 min",
                "value": f"{r['whole_s'] / r['range_s']:,.0f}x",
                "target": f">= {RANGE_SPEEDUP:.0f}x faster (video's, borrowed)",
                "pass": r["whole_s"] / r["range_s"] >= RANGE_SPEEDUP and r["exact"]} for r in rows]
    return lines, targets


# -- 4. jpeg decoders ------------------------------------------------------------------------------
def pil_decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


JPEG = ads.media.get_codec("jpeg")
DECODERS: dict[str, Callable[[bytes], np.ndarray]] = {
    "PIL `np.asarray(Image.open(...).convert('RGB'))`": pil_decode,
    "simplejpeg `decode_jpeg(b)`": lambda b: simplejpeg.decode_jpeg(b, colorspace="RGB"),
    "arrowds jpeg codec `decode(b)` (simplejpeg + header check)": lambda b: JPEG.decode(b),
}


def per_image_us(fn: Callable[[bytes], np.ndarray], data: bytes, loops: int, repeats: int) -> float:
    def run() -> None:
        for _ in range(loops):
            fn(data)

    return median_s(run, repeats)[0] / loops * 1e6


def bench_decoders(cfg: Config) -> list[Row]:
    rows = []
    for side, loops in ((128, 400), (512, 40)):
        data = make_jpegs(1, side, seed=1)[0]
        ref = simplejpeg.decode_jpeg(data)
        for name, fn in DECODERS.items():
            us = per_image_us(fn, data, loops, cfg.repeats)
            rows.append({"side": side, "bytes": len(data), "decoder": name, "us": us,
                         "same": np.array_equal(fn(data), ref)})
    return rows


def decoder_tables(rows: list[Row]) -> tuple[list[str], list[Row]]:
    lines = ["### jpeg decoders (one photo-like q90 image decoded in a loop, median of repeats)", "",
             "| image | decoder | µs / image | vs simplejpeg | pixels == simplejpeg |",
             "|---|---|---|---|---|"]
    base = {r["side"]: r["us"] for r in rows if r["decoder"].startswith("simplejpeg")}
    for r in rows:
        lines.append(f"| {r['side']}x{r['side']} ({r['bytes']:,} B) | {r['decoder']} | {r['us']:,.1f} | "
                     f"{r['us'] / base[r['side']]:.2f}x | {r['same']} |")
    return lines, []


# -- 5. reduced-size jpeg decode -------------------------------------------------------------------
REDUCED_TARGET, REDUCED_IMAGES = 224, 16


def resized(images: list[np.ndarray]) -> list[np.ndarray]:
    size = (REDUCED_TARGET, REDUCED_TARGET)
    return [np.asarray(Image.fromarray(a).resize(size, Image.BILINEAR)) for a in images]


def bench_reduced(cfg: Config) -> list[Row]:
    from arrowds.media import jpeg as jpeg_module

    rows = []
    for h, w in ((768, 1024), (1536, 2048)):
        rng = np.random.default_rng(2)
        ds = fresh_dataset(cfg.data_dir / f"reduced_{w}")
        ds.create_tensor("images", htype="image", sample_compression="jpeg")
        big = [np.ascontiguousarray(photo(rng, w)[:h]) for _ in range(REDUCED_IMAGES)]
        ds.images.extend([ads.read(simplejpeg.encode_jpeg(a, quality=QUALITY), compression="jpeg")
                          for a in big])
        images = ads.load(str(cfg.data_dir / f"reduced_{w}")).images
        nbytes = sum(len(b) for b in images.tobytes())
        saved = jpeg_module._simplejpeg
        for decoder in ("simplejpeg", "PIL draft"):
            jpeg_module._simplejpeg = saved if decoder == "simplejpeg" else None
            try:
                full = median_s(lambda t=images: resized(t.numpy(aslist=True)), cfg.repeats)[0]
                small = median_s(lambda t=images: resized(t.numpy(aslist=True, min_size=REDUCED_TARGET)),
                                 cfg.repeats)[0]
                shape = images[0].numpy(min_size=REDUCED_TARGET).shape
            finally:
                jpeg_module._simplejpeg = saved
            rows.append({"image": f"{w}x{h}", "bytes": nbytes, "decoder": decoder, "shape": shape,
                         "full_ms": full / REDUCED_IMAGES * 1e3, "reduced_ms": small / REDUCED_IMAGES * 1e3})
    return rows


def reduced_tables(rows: list[Row]) -> tuple[list[str], list[Row]]:
    lines = [f"### reduced-size jpeg decode ({REDUCED_IMAGES} images read from a dataset and resized to "
             f"{REDUCED_TARGET}x{REDUCED_TARGET}, median of repeats)", "",
             "| image | decoder | decoded at | full decode + resize (ms / image) | "
             f"`min_size={REDUCED_TARGET}` + resize (ms / image) | speed-up |", "|---|---|---|---|---|---|"]
    for r in rows:
        at = f"{r['shape'][1]}x{r['shape'][0]}"
        lines.append(f"| {r['image']} | {r['decoder']} | {at} | {r['full_ms']:.2f} | "
                     f"{r['reduced_ms']:.2f} | {r['full_ms'] / r['reduced_ms']:.1f}x |")
    return lines, []


# -- report ----------------------------------------------------------------------------------------
def targets_table(targets: list[Row]) -> list[str]:
    lines = ["### targets", "", "| measure | arrowds | target | result |", "|---|---|---|---|"]
    for t in targets:
        result = "PASS" if t["pass"] else "**FAIL**"
        lines.append(f"| {t['measure']} | {t['value']} | {t['target']} | {result} |")
    return lines


def profiled_calls(results: dict[str, Any], cfg: Config) -> list[tuple[str, str, Callable[[], object]]]:
    """(target key prefix, label, call) of every timed arrowds read, on freshly loaded handles."""
    calls: list[tuple[str, str, Callable[[], object]]] = []
    if "video" in results:
        video = ads.load(str(cfg.data_dir / "video")).video
        calls += [(f"video[{a}:{b}]", f"ds.video[0][{a}:{b}].numpy()", lambda a=a, b=b: video[0][a:b].numpy())
                  for a, b in video_ranges(results["video"]["frames"])]
    if "jpeg" in results:
        images = ads.load(str(cfg.data_dir / "images"))
        calls.append(("jpeg-pool", "jpeg scan (default pool; the profile sees the waiting main thread)",
                      lambda: scan(images, cfg.batch)))
        calls.append(("jpeg-1thread", "jpeg scan, ARROWDS_DECODE_THREADS=1 (set in-process: read per call)",
                      lambda: single_threaded(lambda: scan(images, cfg.batch))))
    for comp in ("wav", "flac", "mp3") if "audio" in results else ():
        audio = ads.load(str(cfg.data_dir / f"audio_{comp}")).audio
        a = audio[0].shape[0] // 2
        calls.append((f"audio-{comp}", f"{comp}: ds.audio[0][{a}:{a + RATE}].numpy()",
                      lambda t=audio, a=a: t[0][a:a + RATE].numpy()))
    return calls


def single_threaded(fn: Callable[[], object]) -> None:
    old = os.environ.get("ARROWDS_DECODE_THREADS")
    os.environ["ARROWDS_DECODE_THREADS"] = "1"
    try:
        fn()
    finally:
        if old is None:
            del os.environ["ARROWDS_DECODE_THREADS"]
        else:
            os.environ["ARROWDS_DECODE_THREADS"] = old


def profiles(results: dict[str, Any], failed: set[str], cfg: Config) -> list[str]:
    """cProfile of the call behind each failed target (or of all with --profile)."""
    return [profile_top(label, fn) for key, label, fn in profiled_calls(results, cfg)
            if cfg.profile or any(f.startswith(key) for f in failed)]


def machine() -> dict[str, Any]:
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True).stdout.strip()

    import PIL
    import pyarrow

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return {"cpu": cpu, "cores": os.cpu_count(), "mem_available_gb": round(mem_available() / 1e9, 1),
            "python": platform.python_version(), "numpy": np.__version__, "pyarrow": pyarrow.__version__,
            "av": av.__version__, "ffmpeg": av.library_versions.get("libavcodec"),
            "simplejpeg": simplejpeg.__version__, "pillow": PIL.__version__,
            "commit": git("rev-parse", "--short", "HEAD"),
            "arrowds_uncommitted": git("status", "--porcelain", "--", "arrowds").splitlines(),
            "loadavg": os.getloadavg()}


BENCHES: dict[str, tuple[Callable[[Config], Any], Callable[[Any], tuple[list[str], list[Row]]]]] = {
    "video": (bench_video, video_tables), "jpeg": (bench_jpeg, jpeg_tables),
    "audio": (bench_audio, audio_tables), "decoders": (bench_decoders, decoder_tables),
    "reduced": (bench_reduced, reduced_tables),
}


def parse(argv: list[str] | None) -> tuple[Config, str | None]:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--part", default=",".join(PARTS), help=f"comma-separated subset of {','.join(PARTS)}")
    p.add_argument("--repeats", type=int, default=5, help="timed repeats per measure (median)")
    p.add_argument("--video-seconds", type=int, default=60)
    p.add_argument("--images", type=int, default=5000)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--whole", choices=("auto", "arrowds", "stream"), default="auto",
                   help="whole-video decode: ds.video[0].numpy() (needs ~10 GB), PyAV dropping frames, "
                        "or auto (arrowds when it fits in 60%% of MemAvailable)")
    p.add_argument("--data-dir", type=Path, default=ROOT / "benchmarks" / "data" / "media")
    p.add_argument("--results-dir", type=Path, default=ROOT / "benchmarks" / "results")
    p.add_argument("--profile", action="store_true",
                   help="cProfile the range reads and the scan even if they pass")
    p.add_argument("--jpeg-child", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    parts = tuple(x for x in a.part.split(",") if x)
    if unknown := set(parts) - set(PARTS):
        p.error(f"unknown part(s) {sorted(unknown)}")
    return Config(parts, a.repeats, a.video_seconds, a.images, a.batch, a.whole, a.data_dir, a.results_dir,
                  a.profile), a.jpeg_child


def main(argv: list[str] | None = None) -> None:
    cfg, child = parse(argv)
    if child:
        jpeg_child(child, cfg.batch, cfg.repeats)
        return
    start, info = time.perf_counter(), machine()
    print(f"machine: {info}", flush=True)
    results, report, targets = {}, [], []
    for part in cfg.parts:
        bench, tables = BENCHES[part]
        t0 = time.perf_counter()
        results[part] = bench(cfg)
        lines, tgt = tables(results[part])
        report.append("\n".join(lines))
        targets += tgt
        print(f"{part}: {time.perf_counter() - t0:.1f} s", flush=True)
    report.append("\n".join(targets_table(targets)))
    report += profiles(results, {t["key"] for t in targets if not t["pass"]}, cfg)
    info["loadavg_end"], info["total_s"] = os.getloadavg(), round(time.perf_counter() - start, 1)
    print("\n\n" + "\n\n".join(report))
    print(f"\nload average: start {info['loadavg']}, end {info['loadavg_end']}; total {info['total_s']} s")
    save(cfg, {"machine": info, "config": {**cfg.__dict__, "data_dir": str(cfg.data_dir),
                                           "results_dir": str(cfg.results_dir)},
               "results": results, "targets": targets})


def save(cfg: Config, payload: dict[str, Any]) -> None:
    cfg.results_dir.mkdir(parents=True, exist_ok=True)
    out = cfg.results_dir / f"media-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(payload, indent=1, default=str))
    print(f"saved {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")


if __name__ == "__main__":
    main()
