"""DataLoader throughput (issue 6): arrowds ``ds.pytorch()`` against HF datasets, Lance,
WebDataset tar shards and a folder of files, all decoding with the same JPEG decoder.

    python benchmarks/bench_loaders.py [--images 20000] [--workers 0,2] [--systems arrowds,hf]

One epoch per (system, num_workers): batch 64, shuffle on, images + labels, worker start-up
included. The reference is the raw decode rate of the same bytes from a list in RAM with the
same number of processes. Prints a Markdown table and writes JSON to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tarfile
import time
from multiprocessing import get_context
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.harness.data import arrowds_images, make_images
from benchmarks.harness.decode import DECODER_NAME, decode_jpeg

BATCH = 64
HERE = Path(__file__).resolve().parent


# -- the systems ---------------------------------------------------------------------------
def _collate(rows):
    import torch

    return {"images": torch.from_numpy(np.stack([r[0] for r in rows])),
            "labels": torch.tensor([int(r[1]) for r in rows])}


def arrowds_loader(root: Path, data, workers: int):
    import arrowds as ads

    ds = ads.load(arrowds_images(str(root / "arrowds"), data), read_only=True)
    return ds.pytorch(batch_size=BATCH, shuffle=True, num_workers=workers, seed=0,
                      tensors=["images", "labels"])


class _HFItems:
    def __init__(self, path: str):
        import datasets

        self.ds = datasets.load_from_disk(path)

    def __len__(self) -> int:
        return len(self.ds)

    def __getitems__(self, idx):
        rows = self.ds[idx]
        return [(decode_jpeg(im["bytes"]), lab) for im, lab in zip(rows["image"], rows["label"])]


def hf_loader(root: Path, data, workers: int):
    import datasets
    import torch

    path = root / "hf"
    if not path.exists():
        feats = datasets.Features({"image": datasets.Image(decode=False), "label": datasets.Value("uint32")})
        datasets.Dataset.from_dict({"image": [{"bytes": b, "path": None} for b in data.jpegs],
                                    "label": data.labels.tolist()}, features=feats).save_to_disk(str(path))
    return torch.utils.data.DataLoader(_HFItems(str(path)), batch_size=BATCH, shuffle=True,
                                       num_workers=workers, collate_fn=_collate)


class _LanceItems:
    def __init__(self, path: str):
        self.path = path
        self.ds = None
        import lance

        self.n = lance.dataset(path).count_rows()

    def __len__(self) -> int:
        return self.n

    def __getitems__(self, idx):
        import lance

        if self.ds is None:  # open per process
            self.ds = lance.dataset(self.path)
        t = self.ds.take(idx, columns=["image", "label"])
        return [(decode_jpeg(b), lab) for b, lab in zip(t.column("image").to_pylist(),
                                                        t.column("label").to_pylist())]


def lance_loader(root: Path, data, workers: int):
    import lance
    import pyarrow as pa
    import torch

    path = root / "lance"
    if not path.exists():
        lance.write_dataset(pa.table({"image": pa.array(data.jpegs, pa.binary()),
                                      "label": pa.array(data.labels)}), str(path))
    # Lance's Rust runtime does not survive fork(): its workers are spawned (start-up included)
    return torch.utils.data.DataLoader(_LanceItems(str(path)), batch_size=BATCH, shuffle=True,
                                       num_workers=workers, collate_fn=_collate,
                                       multiprocessing_context="spawn" if workers else None)


def _wds_decode(sample):
    return decode_jpeg(sample["jpg"]), int(sample["cls"])


def webdataset_loader(root: Path, data, workers: int):
    import torch
    import webdataset as wds

    folder = root / "wds"
    shards = sorted(folder.glob("*.tar"))
    if not shards:
        folder.mkdir(parents=True, exist_ok=True)
        per = 1000
        for s in range(0, len(data.jpegs), per):
            with tarfile.open(folder / f"shard-{s // per:05d}.tar", "w") as tar:
                for i in range(s, min(s + per, len(data.jpegs))):
                    for ext, payload in (("jpg", data.jpegs[i]), ("cls", str(int(data.labels[i])).encode())):
                        info = tarfile.TarInfo(f"{i:08d}.{ext}")
                        info.size = len(payload)
                        tar.addfile(info, io.BytesIO(payload))
        shards = sorted(folder.glob("*.tar"))
    pipe = (wds.WebDataset([str(s) for s in shards], shardshuffle=len(shards), nodesplitter=wds.split_by_node,
                           workersplitter=wds.split_by_worker, empty_check=False)
            .shuffle(1000).map(_wds_decode).batched(BATCH, collation_fn=_collate))
    return torch.utils.data.DataLoader(pipe, batch_size=None, num_workers=workers)


class _FileItems:
    def __init__(self, files: list[str], labels: np.ndarray):
        self.files, self.labels = files, labels

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i):
        with open(self.files[i], "rb") as f:
            return decode_jpeg(f.read()), self.labels[i]


def files_loader(root: Path, data, workers: int):
    import torch

    folder = root / "files"
    files = [str(folder / f"{i:08d}.jpg") for i in range(len(data.jpegs))]
    if not (folder / "done").exists():
        folder.mkdir(parents=True, exist_ok=True)
        for p, b in zip(files, data.jpegs):
            Path(p).write_bytes(b)
        (folder / "done").write_text("")
    return torch.utils.data.DataLoader(_FileItems(files, data.labels), batch_size=BATCH, shuffle=True,
                                       num_workers=workers, collate_fn=_collate)


SYSTEMS = {"arrowds": arrowds_loader, "hf datasets": hf_loader, "lance": lance_loader,
           "webdataset tar": webdataset_loader, "raw files": files_loader}


# -- reference: decode from RAM ------------------------------------------------------------
def _decode_all(jpegs: list[bytes]) -> int:
    for b in jpegs:
        decode_jpeg(b)
    return len(jpegs)


def decode_limit(jpegs: list[bytes], procs: int) -> float:
    t = time.perf_counter()
    if procs <= 1:
        _decode_all(jpegs)
    else:
        with get_context("fork").Pool(procs) as pool:
            pool.map(_decode_all, [jpegs[k::procs] for k in range(procs)])
    return len(jpegs) / (time.perf_counter() - t)


def epoch_rate(loader, n: int, touch: bool = False) -> tuple[float, int]:
    """One epoch; ``touch`` makes the main process read every pixel of every batch (a sum),
    as a training step would, instead of only counting labels."""
    t = time.perf_counter()
    seen = 0
    for batch in loader:
        seen += len(batch["labels"])
        if touch:
            batch["images"].sum(dtype=torch_int64())
    return seen / (time.perf_counter() - t), seen


def torch_int64():
    import torch

    return torch.int64


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", type=int, default=20000)
    ap.add_argument("--workers", default="0,2")
    ap.add_argument("--systems", default=",".join(SYSTEMS))
    ap.add_argument("--touch", action="store_true",
                    help="the main process reads every pixel of each batch (a sum), like a training step")
    ap.add_argument("--data-dir", default=str(HERE / "data" / "loaders"))
    ap.add_argument("--results-dir", default=str(HERE / "results"))
    args = ap.parse_args(argv)
    os.environ.setdefault("ARROWDS_DECODE_THREADS", "1")  # one decode thread per process, like the peers
    data = make_images(args.images, 0, Path(args.data_dir) / "source")
    root = Path(args.data_dir) / f"n{args.images}"
    root.mkdir(parents=True, exist_ok=True)
    workers = [int(w) for w in args.workers.split(",")]
    wanted = [s for s in SYSTEMS if any(w.strip() and w.strip() in s for w in args.systems.split(","))]
    rows = []
    for nw in workers:
        procs = max(1, nw)
        limit = decode_limit(data.jpegs, procs)
        rows.append({"system": f"decode limit ({procs} process{'es' if procs > 1 else ''}, RAM)",
                     "workers": nw, "img_s": limit, "limit": limit, "note": ""})
        for name in wanted:
            try:
                loader = SYSTEMS[name](root, data, nw)
                rate, seen = epoch_rate(loader, len(data.jpegs), args.touch)
                note = "" if seen == len(data.jpegs) else f"saw {seen} samples"
                rows.append({"system": name, "workers": nw, "img_s": rate, "limit": limit, "note": note})
            except Exception as e:  # noqa: BLE001 - a failing peer is reported, the run goes on
                rows.append({"system": name, "workers": nw, "img_s": float("nan"), "limit": limit,
                             "note": f"{type(e).__name__}: {e}"[:120]})
            print(rows[-1], file=sys.stderr)
    print(f"\n{args.images:,} JPEG {128}x{128}, batch {BATCH}, shuffle on, decoder {DECODER_NAME}, "
          f"{'every pixel summed in the main process, ' if args.touch else ''}"
          f"load average {os.getloadavg()[0]:.1f}\n")
    print("| system | num_workers | img/s | / decode limit (same processes) | notes |")
    print("|---|---|---|---|---|")
    for r in rows:
        share = r["img_s"] / r["limit"]
        print(f"| {r['system']} | {r['workers']} | {r['img_s']:,.0f} | {share:.0%} | {r['note']} |")
    out = Path(args.results_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"loaders-{int(time.time())}.json").write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
