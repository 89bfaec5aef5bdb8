"""arrowds version-control benchmark (issue 3): commit, checkout and time-travel costs vs fragment count.

    python benchmarks/bench_versioning.py [--fragments 10,100,1000] [--repeats 20] [--reads 500] [--profile]

Builds datasets of 10, 100 and 1,000 fragments under benchmarks/data/versioning/ (one ``ds.extend`` of
100 rows per fragment outside ``with ds:``, a commit every 50 fragments), then times ``commit()``,
``checkout()``, ``ads.load(version=...)`` and one-row reads on the head and on an old commit. Prints
Markdown tables and saves the figures as JSON under benchmarks/results/. Only the public API is timed;
the manifest size is read from the files as docs/format.md describes them. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import arrowds as ads

ROOT = Path(__file__).resolve().parents[1]
TARGET_MS = 100.0  # issue 3: commit and checkout under 100 ms at 1,000 fragments
SAME_COST = 1.2  # "time travel costs the same as the head": old p50 within 1.2x the head's (noise)


@dataclass(frozen=True)
class Config:
    sizes: tuple[int, ...]
    rows: int
    dim: int
    commit_every: int
    repeats: int
    reads: int
    seed: int
    data_dir: Path
    results_dir: Path
    profile: bool


# -- data ------------------------------------------------------------------------------------------
def batch(k: int, rows: int, dim: int, seed: int) -> dict[str, np.ndarray]:
    """Batch ``k``: x = its global row numbers, e = float32 vectors from a per-batch seed."""
    x = np.arange(k * rows, (k + 1) * rows, dtype=np.int64)
    e = np.random.default_rng([seed, k]).standard_normal((rows, dim), dtype=np.float32)
    return {"x": x, "e": e}


def build(url: str, fragments: int, cfg: Config) -> list[tuple[int, str]]:
    """A dataset of ``fragments`` fragments; returns (fragments so far, commit id) of every commit."""
    ds = ads.empty(url, overwrite=True)
    ds.create_tensor("x", dtype="int64")
    ds.create_tensor("e", htype="embedding")
    commits: list[tuple[int, str]] = []
    for k in range(fragments):
        ds.extend(batch(k, cfg.rows, cfg.dim, cfg.seed))  # outside `with ds:`: publishes one fragment
        if (k + 1) % cfg.commit_every == 0 or k + 1 == fragments:
            commits.append((k + 1, ds.commit(f"{k + 1} fragments")))
    return commits


def head_manifest(path: Path) -> dict[str, int]:
    """Size and fragment count of the main head's manifest, and all manifests' bytes (docs/format.md)."""
    refs = path / "refs" / "branches" / "main"
    head = json.loads(max(refs.iterdir()).read_bytes())
    manifest = path / head["manifest"]
    all_manifests = list((path / "manifests").iterdir())
    return {"bytes": manifest.stat().st_size,
            "fragments": len(json.loads(manifest.read_bytes())["fragments"]),
            "manifest_files": len(all_manifests),
            "all_manifests_bytes": sum(p.stat().st_size for p in all_manifests),
            "data_bytes": sum(p.stat().st_size for p in (path / "data").rglob("*") if p.is_file()),
            "ref_files": len(list(refs.iterdir()))}


# -- timing ----------------------------------------------------------------------------------------
def ms(fn: Callable[[], object]) -> float:
    start = time.perf_counter_ns()
    fn()
    return (time.perf_counter_ns() - start) / 1e6


def stats(runs: list[float]) -> dict[str, float]:
    return {"median_ms": statistics.median(runs), "min_ms": min(runs), "max_ms": max(runs),
            "p95_ms": float(np.percentile(runs, 95)), "n": len(runs)}


def measure_commit(url: str, cfg: Config) -> dict[str, dict[str, float]]:
    """``ds.extend(10 rows)`` then ``ds.commit()``, each timed, ``repeats`` times on one loaded handle."""
    ds = ads.load(url)
    extend, commit = [], []
    for r in range(cfg.repeats):
        rows = batch(10_000 + r, 10, cfg.dim, cfg.seed)
        extend.append(ms(lambda rows=rows: ds.extend(rows)))
        commit.append(ms(lambda r=r: ds.commit(f"bench commit {r}")))
    return {"extend": stats(extend), "commit": stats(commit)}


def measure_checkout(url: str, old: str, cfg: Config) -> dict[str, dict[str, float]]:
    """Alternate ``checkout(old)`` and ``checkout("main")`` on one handle."""
    ds = ads.load(url)
    to_old, to_main = [], []
    for _ in range(cfg.repeats):
        to_old.append(ms(lambda: ds.checkout(old)))
        to_main.append(ms(lambda: ds.checkout("main")))
    return {"checkout_old": stats(to_old), "checkout_main": stats(to_main)}


def measure_load(url: str, version: str | None, cfg: Config) -> dict[str, float]:
    return stats([ms(lambda: ads.load(url, version=version)) for _ in range(cfg.repeats)])


def measure_reads(url: str, old: str, cfg: Config) -> dict[str, dict[str, float]]:
    """p50/p95 of ``ds.<t>[i].numpy()`` on the head and on ``old``, same indices, interleaved.

    Pass 1 runs on fresh handles (first touch of a fragment reads its footer); pass 2 repeats the
    same indices on the same handles (footers cached, as far as the reader's cache holds them).
    Every value is checked against the source data."""
    head, past = ads.load(url), ads.load(url, version=old)
    idx = np.random.default_rng(cfg.seed).integers(0, len(past), cfg.reads)
    out: dict[str, dict[str, float]] = {}
    for name in ("e", "x"):
        for pass_no in (1, 2):
            h, p = read_pass(head, past, name, idx, cfg)
            out[f"{name}_pass{pass_no}_head"] = pct(h)
            out[f"{name}_pass{pass_no}_old"] = pct(p)
    return out


def read_pass(head: ads.Dataset, past: ads.Dataset, name: str, idx: np.ndarray,
              cfg: Config) -> tuple[list[float], list[float]]:
    times: dict[int, list[float]] = {0: [], 1: []}
    for j, i in enumerate(idx.tolist()):
        order = (0, 1) if j % 2 == 0 else (1, 0)  # alternate who goes first
        for who in order:
            ds = (head, past)[who]
            start = time.perf_counter_ns()
            value = ds[name][i].numpy()
            times[who].append((time.perf_counter_ns() - start) / 1e6)
            check(name, i, value, cfg)
    return times[0], times[1]


def check(name: str, i: int, value: np.ndarray, cfg: Config) -> None:
    if name == "x":
        ok = np.array_equal(value, [i])  # a scalar sample reads as shape (1,), as in Hub
    else:
        k, r = divmod(i, cfg.rows)
        ok = np.array_equal(value, batch(k, cfg.rows, cfg.dim, cfg.seed)["e"][r])
    if not ok:
        raise AssertionError(f"{name}[{i}] does not read back what was written")


def pct(runs: list[float]) -> dict[str, float]:
    return {"p50_ms": float(np.percentile(runs, 50)), "p95_ms": float(np.percentile(runs, 95)),
            "n": len(runs)}


# -- one dataset size ------------------------------------------------------------------------------
def run_size(fragments: int, cfg: Config, largest: bool) -> dict:
    path = cfg.data_dir / f"f{fragments}"
    url = str(path)
    start = time.perf_counter()
    commits = build(url, fragments, cfg)
    res: dict = {"fragments": fragments, "build_s": time.perf_counter() - start,
                 "commits": len(commits), "manifest": head_manifest(path)}
    res["load"] = measure_load(url, None, cfg)
    if largest:
        res.update(run_history(url, commits, cfg))
    res.update(measure_commit(url, cfg))  # last: it adds 10-row fragments and commits
    res["manifest_after"] = head_manifest(path)
    return res


def run_history(url: str, commits: list[tuple[int, str]], cfg: Config) -> dict:
    """Checkout, time-travel load and reads against the oldest and the middle commit."""
    oldest, middle = commits[0], commits[len(commits) // 2 - 1]
    out: dict = {"old_commits": {"oldest": oldest, "middle": middle}}
    for label, (_, cid) in (("oldest", oldest), ("middle", middle)):
        out[f"checkout_{label}"] = measure_checkout(url, cid, cfg)
        out[f"load_{label}"] = measure_load(url, cid, cfg)
    out["reads"] = measure_reads(url, middle[1], cfg)
    return out


# -- reporting -------------------------------------------------------------------------------------
def md_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def f2(x: float) -> str:
    return f"{x:.2f}" if x < 100 else f"{x:,.0f}"


def size_table(results: list[dict]) -> str:
    rows = []
    for r in results:
        m = r["manifest"]
        rows.append([f"{r['fragments']:,}", f"{m['bytes']:,}", f2(r["extend"]["median_ms"]),
                     f2(r["commit"]["median_ms"]), f2(r["commit"]["max_ms"]), f2(r["load"]["median_ms"]),
                     f"{m['ref_files']:,}", f"{m['all_manifests_bytes'] / 1e6:.1f}",
                     f"{m['data_bytes'] / 1e6:.1f}", f"{r['build_s']:.1f}"])
    return md_table(["fragments", "head manifest B", "extend(10 rows) ms", "commit() ms", "commit() max ms",
                     "ads.load(url) ms", "main ref files", "all manifests MB", "data MB", "build s"], rows)


def history_table(big: dict) -> str:
    rows = []
    for label in ("oldest", "middle"):
        frags = big["old_commits"][label][0]
        co, ld = big[f"checkout_{label}"], big[f"load_{label}"]
        rows.append([f"`ds.checkout(old)`, old = {frags} fragments", *spread(co["checkout_old"])])
        back = f"`ds.checkout(\"main\")` back from it ({big['fragments']:,})"
        rows.append([back, *spread(co["checkout_main"])])
        rows.append([f"`ads.load(url, version=old)`, old = {frags} fragments", *spread(ld)])
    rows.append([f"`ads.load(url)` head ({big['fragments']:,} fragments)", *spread(big["load"])])
    return md_table(["call", "median ms", "p95 ms", "max ms"], rows)


def spread(s: dict[str, float]) -> list[str]:
    return [f2(s["median_ms"]), f2(s["p95_ms"]), f2(s["max_ms"])]


def reads_table(big: dict) -> str:
    rd, rows = big["reads"], []
    for name in ("e", "x"):
        for pass_no, what in ((1, "1st pass, fresh handles"), (2, "2nd pass, same rows")):
            h, o = rd[f"{name}_pass{pass_no}_head"], rd[f"{name}_pass{pass_no}_old"]
            rows.append([f"`ds.{name}[i].numpy()`, {what}", f"{h['p50_ms']:.4f}", f"{o['p50_ms']:.4f}",
                         f"{o['p50_ms'] / h['p50_ms']:.2f}", f"{h['p95_ms']:.4f}", f"{o['p95_ms']:.4f}"])
    return md_table(["read", "head p50 ms", "old p50 ms", "old / head", "head p95 ms", "old p95 ms"], rows)


def targets(big: dict) -> list[dict]:
    n = f"{big['fragments']:,} fragments"
    out = [target("commit", f"`commit()` at {n}", big["commit"]["median_ms"], TARGET_MS)]
    for label in ("oldest", "middle"):
        frags = big["old_commits"][label][0]
        out.append(target(f"checkout_{label}", f"`checkout(old)` ({frags} fragments) from {n}",
                          big[f"checkout_{label}"]["checkout_old"]["median_ms"], TARGET_MS))
        out.append(target(f"checkout_main_{label}", f"`checkout(\"main\")` ({n}) from {frags}",
                          big[f"checkout_{label}"]["checkout_main"]["median_ms"], TARGET_MS))
        out.append(target(f"load_{label}", f"`ads.load(url, version=old)` ({frags} fragments)",
                          big[f"load_{label}"]["median_ms"], TARGET_MS))
    rd = big["reads"]
    for name in ("e", "x"):
        for pass_no in (1, 2):
            h, o = rd[f"{name}_pass{pass_no}_head"]["p50_ms"], rd[f"{name}_pass{pass_no}_old"]["p50_ms"]
            what = f"`{name}[i]` p50 old vs head, pass {pass_no}"
            out.append({"key": f"read_{name}{pass_no}", "what": what,
                        "value": f"{o:.4f} ms ({o / h:.2f}x)", "target": f"<= {SAME_COST}x head ({h:.4f} ms)",
                        "pass": o <= SAME_COST * h})
    return out


def target(key: str, what: str, value: float, limit: float) -> dict:
    return {"key": key, "what": what, "value": f"{value:.2f} ms", "target": f"< {limit:.0f} ms",
            "pass": value < limit}


def targets_table(rows: list[dict]) -> str:
    return md_table(["measure (median of repeats)", "arrowds", "target (issue 3)", "result"],
                    [[t["what"], t["value"], t["target"], "PASS" if t["pass"] else "**FAIL**"] for t in rows])


# -- profiling -------------------------------------------------------------------------------------
def profile(label: str, fn: Callable[[], object], repeats: int) -> str:
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(repeats):
        fn()
    prof.disable()
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).strip_dirs().sort_stats("cumulative").print_stats(10)
    return f"### cProfile: {label} ({repeats} calls)\n\n```\n{buf.getvalue().strip()}\n```"


def profiles(url: str, big: dict, failed: set[str], cfg: Config) -> list[str]:
    """cProfile of the calls behind missed targets (all of them with --profile)."""
    want = failed | ({"commit", "checkout_middle", "load_middle", "load"} if cfg.profile else set())
    old = big["old_commits"]["middle"][1]
    ds = ads.load(url)
    out = []
    if "commit" in want:
        out.append(profile("extend(10 rows) + commit()", lambda: commit_once(ds, cfg), cfg.repeats))
    if want & {"checkout_oldest", "checkout_middle", "checkout_main_oldest", "checkout_main_middle"}:
        out.append(profile("checkout(old) + checkout('main')",
                           lambda: (ds.checkout(old), ds.checkout("main")), cfg.repeats))
    if want & {"load_oldest", "load_middle"}:
        out.append(profile("ads.load(url, version=old)", lambda: ads.load(url, version=old), cfg.repeats))
    if "load" in want:
        out.append(profile("ads.load(url)", lambda: ads.load(url), cfg.repeats))
    return out


def commit_once(ds: ads.Dataset, cfg: Config) -> None:
    ds.extend(batch(20_000, 10, cfg.dim, cfg.seed))
    ds.commit("profiled commit")


# -- machine ---------------------------------------------------------------------------------------
def machine() -> dict:
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True).stdout.strip()

    import pyarrow

    return {"cores": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__,
            "pyarrow": pyarrow.__version__, "commit": git("rev-parse", "--short", "HEAD"),
            "arrowds_uncommitted": git("status", "--porcelain", "--", "arrowds").splitlines(),
            "loadavg": os.getloadavg()}


# -- main ------------------------------------------------------------------------------------------
def parse(argv: list[str] | None) -> Config:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--fragments", default="10,100,1000",
                   help="dataset sizes; the largest also gets the checkout and read tests")
    p.add_argument("--rows", type=int, default=100, help="rows per fragment (one extend each)")
    p.add_argument("--dim", type=int, default=128, help="embedding dimension")
    p.add_argument("--commit-every", type=int, default=50, help="commit after every N fragments")
    p.add_argument("--repeats", type=int, default=20, help="repeats per timed call (median)")
    p.add_argument("--reads", type=int, default=500, help="random one-row reads per tensor and pass")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-dir", type=Path, default=ROOT / "benchmarks" / "data" / "versioning")
    p.add_argument("--results-dir", type=Path, default=ROOT / "benchmarks" / "results")
    p.add_argument("--profile", action="store_true", help="cProfile the timed calls even if targets pass")
    a = p.parse_args(argv)
    sizes = tuple(sorted(int(s) for s in a.fragments.split(",")))
    return Config(sizes, a.rows, a.dim, a.commit_every, a.repeats, a.reads, a.seed, a.data_dir,
                  a.results_dir, a.profile)


def main(argv: list[str] | None = None) -> None:
    cfg = parse(argv)
    info = machine()
    print(f"machine: {info}")
    results = [run_size(n, cfg, largest=n == cfg.sizes[-1]) for n in cfg.sizes]
    big = results[-1]
    tgt = targets(big)
    report = [f"## commit cost vs fragments ({cfg.repeats} repeats, median)", size_table(results),
              f"## checkout and time travel at {big['fragments']:,} fragments", history_table(big),
              f"## one-row reads, head vs old commit ({cfg.reads} random rows)", reads_table(big),
              "## targets (issue 3)", targets_table(tgt)]
    failed = {t["key"] for t in tgt if not t["pass"]}
    report += profiles(str(cfg.data_dir / f"f{big['fragments']}"), big, failed, cfg)
    info["loadavg_end"] = os.getloadavg()
    print("\n\n".join(report))
    print(f"\nload average: start {info['loadavg']}, end {info['loadavg_end']}")
    save(cfg, {"machine": info, "config": {**cfg.__dict__, "data_dir": str(cfg.data_dir),
                                           "results_dir": str(cfg.results_dir)},
               "results": results, "targets": tgt})


def save(cfg: Config, payload: dict) -> None:
    cfg.results_dir.mkdir(parents=True, exist_ok=True)
    out = cfg.results_dir / f"versioning-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(payload, indent=1, default=str))
    print(f"saved {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")


if __name__ == "__main__":
    main()
