"""Transform throughput (issue 8): decode, resize and re-encode JPEGs, dataset to dataset.

    python benchmarks/bench_transforms.py [--images 20000] [--workers 1,2] [--systems ...]

Every system reads the same 128x128 JPEGs (with labels), decodes them (simplejpeg), halves
them to 64x64 with Pillow (bilinear), re-encodes them as JPEG quality 90 (simplejpeg) and
writes them with the labels to a new dataset on local disk. Systems:

* ``hub-serial``: the loop a Hub user writes by hand: ``ds.images[i].numpy()`` per sample,
  ``out.append(...)`` inside one ``with out:`` (one process);
* ``arrowds-<scheduler>``: ``@ads.compute`` ``.eval(src, out, num_workers=w, scheduler=...)``
  for threaded, processed and ray (a local Ray cluster with 2 CPUs, started before timing);
* ``hf-map``: ``datasets.Dataset.map(fn, num_proc=w)`` over an Arrow dataset of the JPEG
  bytes (written to HF's cache files, like arrowds writes its fragments).

Prints a Markdown table (images/s, and the speed-up of 2 workers over 1) and writes JSON to
benchmarks/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.harness.data import arrowds_images, make_images
from benchmarks.harness.decode import decode_jpeg

HERE = Path(__file__).resolve().parent
SIDE = 64


def resize(arr: np.ndarray) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(arr).resize((SIDE, SIDE), Image.BILINEAR))


def encode(arr: np.ndarray) -> bytes:
    import simplejpeg

    return simplejpeg.encode_jpeg(arr, quality=90, colorsubsampling="420")


# -- arrowds ---------------------------------------------------------------------------------
def source(root: Path, data) -> str:
    return arrowds_images(str(root / "src"), data)


def target(root: Path, name: str):
    import arrowds as ads

    url = root / name
    shutil.rmtree(url, ignore_errors=True)
    out = ads.empty(str(url))
    out.create_tensor("images", htype="image", sample_compression="jpeg")
    out.create_tensor("labels", htype="class_label")
    return out


def _thumbnail(sample_in, samples_out):
    samples_out.images.append(resize(sample_in.images.numpy()))  # encoded by the jpeg tensor
    samples_out.labels.append(sample_in.labels.numpy())


def run_arrowds(root: Path, src_url: str, scheduler: str, workers: int) -> float:
    import arrowds as ads

    thumbnail = ads.compute(_thumbnail)
    src = ads.load(src_url, read_only=True)
    out = target(root, f"out-{scheduler}-{workers}")
    t = time.perf_counter()
    thumbnail().eval(src, out, num_workers=workers, scheduler=scheduler, progressbar=False)
    took = time.perf_counter() - t
    assert len(out) == len(src) and out.images[0].shape == (SIDE, SIDE, 3), (len(out), out.images[0].shape)
    return took


def run_hub_serial(root: Path, src_url: str) -> float:
    import arrowds as ads

    src = ads.load(src_url, read_only=True)
    out = target(root, "out-hub-serial")
    t = time.perf_counter()
    with out:
        for i in range(len(src)):
            out.append({"images": resize(src.images[i].numpy()), "labels": src.labels[i].numpy()})
    took = time.perf_counter() - t
    assert len(out) == len(src)
    return took


# -- HF datasets -----------------------------------------------------------------------------
def _hf_fn(batch):
    return {"image": [encode(resize(decode_jpeg(b))) for b in batch["image"]], "label": batch["label"]}


def run_hf(root: Path, data, workers: int) -> float:
    import datasets

    path = root / "hf-src"
    if not path.exists():
        ds = datasets.Dataset.from_dict({"image": data.jpegs, "label": data.labels.astype(np.int64)},
                                        features=datasets.Features({"image": datasets.Value("binary"),
                                                                    "label": datasets.Value("int64")}))
        ds.save_to_disk(str(path))
    ds = datasets.load_from_disk(str(path))
    cache = root / f"hf-out-{workers}"
    shutil.rmtree(cache, ignore_errors=True)
    cache.mkdir()
    t = time.perf_counter()
    out = ds.map(_hf_fn, batched=True, batch_size=100, num_proc=workers if workers > 1 else None,
                 cache_file_name=str(cache / "out.arrow"), load_from_cache_file=False)
    took = time.perf_counter() - t
    assert len(out) == len(ds)
    return took


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=20_000)
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--systems", default="hub-serial,threaded,processed,ray,hf-map")
    ap.add_argument("--root", default=None, help="scratch folder (default: a temporary one)")
    args = ap.parse_args()
    workers = [int(w) for w in args.workers.split(",")]
    systems = args.systems.split(",")
    root = Path(args.root or tempfile.mkdtemp(prefix="ads-bench-transforms-"))
    root.mkdir(parents=True, exist_ok=True)
    data = make_images(args.images, 0, HERE / "data" / "source")
    src_url = source(root, data)
    if "ray" in systems:
        import ray

        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": {"PYTHONPATH": str(HERE.parent)}})
        run_arrowds(root, src_url, "ray", 2)  # start the workers before timing
    rows = []
    for system in systems:
        for w in ([1] if system == "hub-serial" else workers):
            load = os.getloadavg()[0]
            if system == "hub-serial":
                took = run_hub_serial(root, src_url)
            elif system == "hf-map":
                took = run_hf(root, data, w)
            else:
                took = run_arrowds(root, src_url, system, w)
            rows.append({"system": system, "workers": w, "seconds": took,
                         "images_per_s": args.images / took, "load_before": load})
            print(f"{system:12s} w={w}  {args.images / took:8.0f} img/s  ({took:.1f} s, load {load:.1f})",
                  flush=True)
    by = {(r["system"], r["workers"]): r["images_per_s"] for r in rows}
    print("\n| system | 1 worker (img/s) | 2 workers (img/s) | 2 vs 1 |\n|---|---|---|---|")
    for system in systems:
        one, two = by.get((system, 1)), by.get((system, 2))
        ratio = f"{two / one:.2f}x" if one and two else "-"
        print(f"| {system} | {one or 0:,.0f} | {two or 0:,.0f} | {ratio} |")
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "transforms.json").write_text(json.dumps({"images": args.images, "rows": rows}, indent=1))
    if not args.root:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
