"""Builder benchmark (issue 7): build N 32x32 colour images + labels from CIFAR-10 binary-format
files, arrowds's `cifar10` builder against `datasets.Dataset.from_generator` reading the same
files. Each run is a fresh subprocess; we report examples/s and the peak RSS of that process.

    python benchmarks/bench_builders.py [--sizes 20000,100000] [--work DIR]

The upstream-format archive is synthesised (smooth, photo-like images so PNG compresses as it
does on real photos) and extracted once, untimed, into the download cache both systems read.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's arrowds


def make_archive(work: Path, n: int) -> Path:
    """A cifar-10-binary.tar.gz of n examples: 90% in the 5 train files, 10% in test_batch."""
    from arrowds.builders.catalog._formats import write_cifar
    from arrowds.builders.catalog.cifar10.builder import FOLDER, NAMES, TEST, TRAIN

    src = work / f"src-{n}" / FOLDER
    mirror = work / f"mirror-{n}"
    if (mirror / "cifar-10-binary.tar.gz").exists():
        return mirror
    src.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:32, :32]
    n_test = n // 10
    sizes = [(name, (n - n_test) // 5 + (1 if k < (n - n_test) % 5 else 0)) for k, name in enumerate(TRAIN)]
    sizes.append((TEST[0], n_test))
    for name, m in sizes:
        phase = rng.uniform(0, 6, (m, 1, 1, 1))
        base = np.stack([np.sin(xx / (3 + c) + 0) * 60 + yy * 2 + 40 * c for c in range(3)], -1)[None]
        imgs = np.clip(base + phase * 20 + rng.normal(0, 4, (m, 32, 32, 3)), 0, 255).astype(np.uint8)
        write_cifar(src / name, rng.integers(0, 10, (m, 1), dtype=np.uint8), imgs)
    (src / "batches.meta.txt").write_text("\n".join(NAMES) + "\n")
    mirror.mkdir(parents=True, exist_ok=True)
    with tarfile.open(mirror / "cifar-10-binary.tar.gz", "w:gz", compresslevel=1) as tf:
        tf.add(src, arcname=FOLDER)
    shutil.rmtree(src.parent)
    return mirror


def run_arrowds(mirror: Path, out: Path) -> dict:
    import arrowds as ads

    dc = ads.DownloadConfig(mirror=mirror, verify_checksums=False, download_dir=out / "downloads")
    b = ads.builder("cifar10", data_dir=out / "data")
    b._download_manager(dc, None).download_and_extract(b.URL)  # untimed: fill the cache
    t = time.perf_counter()
    b.download_and_prepare(dc)
    dt = time.perf_counter() - t
    n = sum(s.num_examples for s in b.info.splits.values())
    return {"examples": n, "seconds": dt, "bytes": sum(s.num_bytes for s in b.info.splits.values())}


def run_hf(mirror: Path, out: Path) -> dict:
    import datasets

    import arrowds as ads
    from arrowds.builders.catalog._formats import iter_cifar
    from arrowds.builders.catalog.cifar10.builder import FOLDER, NAMES, TEST, TRAIN

    dc = ads.DownloadConfig(mirror=mirror, verify_checksums=False, download_dir=out / "downloads")
    b = ads.builder("cifar10", data_dir=out / "data")
    root = Path(b._download_manager(dc, None).download_and_extract(b.URL)) / FOLDER  # untimed

    def gen(files):
        index = 0
        for name in files:
            for labels, images in iter_cifar(root / name, 1):
                for k in range(len(images)):
                    yield {"id": f"{index:05d}", "image": images[k], "label": int(labels[k, 0])}
                    index += 1

    features = datasets.Features({"id": datasets.Value("string"), "image": datasets.Image(),
                                  "label": datasets.ClassLabel(names=NAMES)})
    datasets.disable_progress_bars()
    t = time.perf_counter()
    n = 0
    for split, files in (("train", TRAIN), ("test", TEST)):
        ds = datasets.Dataset.from_generator(gen, features=features, gen_kwargs={"files": files},
                                             cache_dir=str(out / "hf_cache"), split=split)
        n += len(ds)
    dt = time.perf_counter() - t
    return {"examples": n, "seconds": dt}


def peak_rss_mib() -> float:
    """This process's peak RSS. ``VmHWM`` starts afresh at exec; ``ru_maxrss`` would carry the
    parent's peak over (Linux keeps it across fork + exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(system: str, mirror: str, out: str) -> None:
    res = (run_arrowds if system == "arrowds" else run_hf)(Path(mirror), Path(out))
    res["peak_rss_mib"] = peak_rss_mib()
    print(json.dumps(res))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", default="20000,100000")
    p.add_argument("--systems", default="arrowds,hf")
    p.add_argument("--work", default="benchmarks/data/builders")
    p.add_argument("--repeat", type=int, default=2, help="runs per system and size, alternating; the "
                   "fastest is reported (the machine is shared)")
    p.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(*args.child)
        return
    work = Path(args.work).resolve()
    rows = []
    for n in [int(s) for s in args.sizes.split(",")]:
        mirror = make_archive(work, n)
        best: dict[str, dict] = {}
        for system in args.systems.split(",") * args.repeat:
            out = work / f"out-{system}-{n}"
            shutil.rmtree(out, ignore_errors=True)
            r = subprocess.run([sys.executable, __file__, "--child", system, str(mirror), str(out)],
                               capture_output=True, text=True, env={**os.environ, "TQDM_DISABLE": "1"})
            if r.returncode:
                print(r.stderr[-3000:])
                continue
            res = json.loads(r.stdout.strip().splitlines()[-1])
            if system not in best or res["seconds"] < best[system]["seconds"]:
                best[system] = res
            print(f"{n:>7} {system:8} {res['examples'] / res['seconds']:>9,.0f} ex/s "
                  f"{res['seconds']:7.1f} s  peak RSS {res['peak_rss_mib']:7.0f} MiB", flush=True)
            shutil.rmtree(out, ignore_errors=True)
        rows += [(n, system, res) for system, res in best.items()]
    print("\n| examples | system | examples/s | seconds | peak RSS (MiB) |\n|---:|---|---:|---:|---:|")
    for n, system, res in rows:
        name = "arrowds `cifar10` builder" if system == "arrowds" else "HF `Dataset.from_generator`"
        print(f"| {n:,} | {name} | {res['examples'] / res['seconds']:,.0f} | {res['seconds']:.1f} | "
              f"{res['peak_rss_mib']:.0f} |")


if __name__ == "__main__":
    main()
