"""Command line of benchmarks/bench_core.py (issue 2): arrowds vs Parquet, HF datasets, Lance and files.

    python benchmarks/bench_core.py [--quick] [--part images|embeddings]

Prints the figures as Markdown tables (one per part, then the targets) and saves them as JSON under
benchmarks/results/. Every system is measured warm: its files are read once before any timing.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ..peers import embedding_peers, image_peers
from . import embeddings, images, machine, profiling
from .data import make_embeddings, make_images, random_indices
from .decode import DECODER_NAME
from .report import embedding_table, image_table
from .targets import Target, as_dicts, embedding_targets, image_targets, targets_table
from .timing import warm_imports

HERE = Path(__file__).resolve().parents[1]  # benchmarks/
FULL = {"images": 20_000, "embeddings": 1_000_000, "random": 1_000}
QUICK = {"images": 2_000, "embeddings": 100_000, "random": 200}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small sizes (2k images, 100k rows, 200 fetches)")
    p.add_argument("--part", choices=["images", "embeddings", "all"], default="all")
    p.add_argument("--images", type=int, help="number of images (default 20000)")
    p.add_argument("--embeddings", type=int, help="number of embedding rows (default 1000000)")
    p.add_argument("--random", type=int, help="random fetches per system (default 1000)")
    p.add_argument("--batch-size", type=int, default=256, help="scan batch size")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--systems", help="comma-separated substrings: only systems whose name matches")
    p.add_argument("--data-dir", type=Path, default=HERE / "data")
    p.add_argument("--results-dir", type=Path, default=HERE / "results")
    p.add_argument("--profile-arrowds", action="store_true",
                   help="after the timings, cProfile arrowds ingest and random access; print the top lines")
    args = p.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    for key in ("images", "embeddings", "random"):
        if getattr(args, key) is None:
            setattr(args, key, sizes[key])
    return args


def _selected(peers: list, systems: str | None) -> list:
    if not systems:
        return peers
    wanted = [s.strip().lower() for s in systems.split(",") if s.strip()]
    return [p for p in peers if any(w in p.name.lower() for w in wanted)]


def run_images(args: argparse.Namespace) -> dict:
    data = make_images(args.images, args.seed, args.data_dir / "source")
    print(f"images: {len(data):,} jpegs, mean {data.raw_bytes / len(data):,.0f} B, "
          f"total {data.raw_bytes / 1e6:.1f} MB; decoder {DECODER_NAME}", flush=True)
    load = os.getloadavg()
    cfg = images.ImageConfig(args.data_dir, args.random, args.batch_size, args.seed)
    indices = random_indices(len(data), args.random, args.seed)
    results = []
    warm_imports(data.jpegs)
    for peer in _selected(image_peers(), args.systems):
        print(f"  {peer.name} ...", flush=True)
        results.append(images.run_peer(peer, data, cfg, indices))
    limits = [r.metrics["limit_img_s"] for r in results if "limit_img_s" in r.metrics]
    limit = float(np.median(limits)) if limits else images.decode_limit(data)
    out = {"n": len(data), "raw_bytes": data.raw_bytes, "decoder": DECODER_NAME,
           "loadavg": [load, os.getloadavg()], "decode_limit_img_s": limit, "decode_limit_runs_img_s": limits,
           "results": [asdict(r) for r in results], "table": image_table(results, limit),
           "targets": image_targets(results)}
    if args.profile_arrowds:
        out["profile"] = _guarded(lambda: profiling.profile_images(data, args.data_dir, indices))
    return out


def run_embeddings(args: argparse.Namespace) -> dict:
    data = make_embeddings(args.embeddings, args.seed)
    print(f"embeddings: {len(data):,} rows, {data.raw_bytes / 1e6:.0f} MB of float32", flush=True)
    load = os.getloadavg()
    cfg = embeddings.EmbeddingConfig(args.data_dir, args.random, args.seed)
    indices = random_indices(len(data), args.random, args.seed)
    results = []
    warm_imports()
    for peer in _selected(embedding_peers(), args.systems):
        print(f"  {peer.name} ...", flush=True)
        results.append(embeddings.run_peer(peer, data, cfg, indices))
    out = {"n": len(data), "raw_bytes": data.raw_bytes, "loadavg": [load, os.getloadavg()],
           "results": [asdict(r) for r in results],
           "table": embedding_table(results), "targets": embedding_targets(results)}
    if args.profile_arrowds:
        out["profile"] = _guarded(lambda: profiling.profile_embeddings(data, args.data_dir, indices))
    return out


def _guarded(fn: Callable[[], dict[str, str]]) -> dict[str, str]:
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - a failing profile must not lose the figures
        return {"error": f"{type(exc).__name__}: {exc}"}


def _print_report(parts: dict[str, dict], args: argparse.Namespace, info: dict) -> None:
    mode = "quick" if args.quick else "full"
    print(f"\n## arrowds bench_core ({mode}) on {info['cores']} cores, {info['cpu']}, "
          f"{info['ram_gib']} GiB RAM")
    src = info["source"]
    print(f"arrowds at commit {src['commit']}{' + uncommitted changes' if src['arrowds_dirty'] else ''}; "
          "all systems warm (files read once before timing; no page-cache drop).\n")
    if "images" in parts:
        p = parts["images"]
        print(f"### images: {p['n']:,} x 128x128 JPEG, {p['raw_bytes'] / 1e6:.1f} MB raw, "
              f"decoder {p['decoder']}\n\n{p['table']}\n")
    if "embeddings" in parts:
        p = parts["embeddings"]
        print(f"### embeddings: {p['n']:,} x float32[128] ({p['raw_bytes'] / 1e6:.0f} MB)\n\n{p['table']}\n")
    for name, p in parts.items():
        before, after = p["loadavg"]
        print(f"load average (1/5/15 min) during {name}: {_load(before)} at start, {_load(after)} at end")
    print()
    targets: list[Target] = [t for p in parts.values() for t in p["targets"]]
    print(f"### targets\n\n{targets_table(targets)}\n")
    for part, p in parts.items():
        for loop, text in p.get("profile", {}).items():
            print(f"### cProfile ({part}): arrowds {loop}\n\n```\n{text.strip()}\n```\n")


def _load(avg: tuple[float, float, float]) -> str:
    return "/".join(f"{x:.2f}" for x in avg)


def _save(parts: dict[str, dict], args: argparse.Namespace, info: dict) -> Path:
    args.results_dir.mkdir(parents=True, exist_ok=True)
    mode = "quick" if args.quick else "full"
    path = args.results_dir / f"bench_core-{args.part}-{mode}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    config = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    for p in parts.values():
        p["targets"] = as_dicts(p["targets"])
    path.write_text(json.dumps({"machine": info, "config": config, "parts": parts}, indent=1, default=str))
    return path


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    info = machine.describe()
    parts: dict[str, dict] = {}
    if args.part in ("images", "all"):
        parts["images"] = run_images(args)
    if args.part in ("embeddings", "all"):
        parts["embeddings"] = run_embeddings(args)
    _print_report(parts, args, info)
    print(f"saved {_save(parts, args, info)}")


if __name__ == "__main__":
    main()
