"""``arrowds`` command line: one subcommand per verb, a one-line error and exit 1 on failure."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import arrowds as ads
from arrowds.builders import loading as builders_loading
from arrowds.builders import registry
from arrowds.builders.info import INFO_FILE
from arrowds.cli import build, new
from arrowds.errors import ArrowdsError
from arrowds.viewer import serve


def _info(args: argparse.Namespace) -> None:
    url = args.url
    if (Path(url) / INFO_FILE).is_file() or (registry.parse_name(url) and not ads.exists(url)):
        b = builders_loading.builder(url, data_dir=args.data_dir)
        print(b.info)
        print(f"\nprepared: {b.data_path if b.is_prepared else 'no'}")
        return
    ds = ads.load(url, read_only=True, version=args.version)
    print(ds._summary_text())
    core = ds._core
    print(f"\nbranch: {ds.branch}    commit: {ds.commit_id}    uncommitted changes: "
          f"{'yes' if ds.has_head_changes else 'no'}")
    print(f"rows: {len(ds)}    fragments: {len(core.manifest.fragments)}    "
          f"bytes: {sum(f.size for f in core.manifest.fragments):,}")


def _log(args: argparse.Namespace) -> None:
    ds = ads.load(args.url, read_only=True, version=args.branch)
    print(f"Current branch: {ds.branch}")
    for c in ds.log():
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(c.time))
        print(f"\ncommit {c.id}" + (f" (merge of {', '.join(p[:8] for p in c.parents)})"
                                     if len(c.parents) > 1 else ""))
        print(f"Author: {c.author}\nDate:   {when}\n\n    {c.message}")


def _ranges(positions: list[int]) -> str:
    if not positions:
        return "-"
    out, start, prev = [], positions[0], positions[0]
    for p in positions[1:] + [None]:
        if p is not None and p == prev + 1:
            prev = p
            continue
        out.append(str(start) if start == prev else f"{start}-{prev}")
        if p is not None:
            start = prev = p
    return ", ".join(out)


def _diff(args: argparse.Namespace) -> None:
    ds = ads.load(args.url, read_only=True)
    d = ds.diff(args.a, args.b)
    width = max((len(n) for n in d), default=6)
    for name, t in d.items():
        flags = [w for w in ("created", "removed", "info_updated") if t[w]]
        print(f"{name.ljust(width)}  +{len(t['added'])} ~{len(t['updated'])} -{len(t['deleted'])}"
              + (f"  [{', '.join(flags)}]" if flags else ""))
        if args.rows:
            for what in ("added", "updated", "deleted"):
                if t[what]:
                    print(f"{'':{width}}    {what}: {_ranges(t[what])}")


def _gc(args: argparse.Namespace) -> None:
    ds = ads.load(args.url)
    r = ds.gc(older_than=args.older_than, dry_run=args.dry_run)
    verb = "would delete" if args.dry_run else "deleted"
    print(f"{verb} {len(r.files)} files ({r.bytes:,} bytes); kept {r.kept_manifests} manifests and "
          f"{r.kept_fragments} fragments")


def _options(text: str | None, flag: str) -> dict | None:
    """``--src-options``/``--dst-options``: a JSON object of fsspec storage options."""
    if not text:
        return None
    try:
        opts = json.loads(text)
    except ValueError as e:
        raise ValueError(f"{flag} must be a JSON object of storage options: {e}") from None
    if not isinstance(opts, dict):
        raise ValueError(f"{flag} must be a JSON object of storage options")
    return opts


def _copy(args: argparse.Namespace) -> None:
    bar = None
    if sys.stderr.isatty():
        from tqdm import tqdm
        bar = tqdm(unit="file", desc="copy")

    def progress(done: int, total: int) -> None:
        if bar is not None:
            bar.total = total
            bar.update(done - bar.n)

    try:
        ds = ads.copy(args.src, args.dst, _options(args.src_options, "--src-options"),
                      _options(args.dst_options, "--dst-options"), overwrite=args.overwrite,
                      progress=progress)
    finally:
        if bar is not None:
            bar.close()
    print(f"copied {args.src} to {args.dst}: {len(ds.branches)} branches, {len(ds)} rows on "
          f"{ds.branch}")


def _view(args: argparse.Namespace) -> None:
    viewer = serve(args.url, host=args.host, port=args.port, version=args.version)
    print(f"Viewing {args.url} at {viewer.url}  (read-only; Ctrl-C to stop)", flush=True)
    if args.open:
        import webbrowser

        webbrowser.open(viewer.url)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        viewer.close()


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="arrowds", description="AI datasets on Apache Arrow/Parquet.")
    p.add_argument("--version", action="version", version=f"arrowds {ads.__version__}")
    p.add_argument("--debug", action="store_true", help="show the traceback on errors")
    sub = p.add_subparsers(dest="command", required=True)

    info = sub.add_parser("info", help="describe the dataset at URL, or a builder by name")
    info.add_argument("url", help="dataset URL, builder name (mnist, my_ds/small:1.0.0) or version folder")
    info.add_argument("--version", dest="version", default=None, help="branch, tag or commit id")
    info.add_argument("--data_dir", default=None, help="for builder names: where they are prepared")
    info.set_defaults(func=_info)

    new.add_parser(sub)
    build.add_parser(sub)

    log = sub.add_parser("log", help="list the commits of a branch, newest first")
    log.add_argument("url")
    log.add_argument("--branch", default=None)
    log.set_defaults(func=_log)

    diff = sub.add_parser("diff", help="rows added/updated/deleted per tensor from A to B")
    diff.add_argument("url")
    diff.add_argument("a", help="branch, tag or commit id")
    diff.add_argument("b", nargs="?", default=None, help="branch, tag or commit id (default: main)")
    diff.add_argument("--rows", action="store_true", help="list the row positions too")
    diff.set_defaults(func=_diff)

    view = sub.add_parser("view", help="browse the dataset at URL in a local web viewer")
    view.add_argument("url")
    view.add_argument("--port", type=int, default=8765, help="port to listen on (0: any free port)")
    view.add_argument("--host", default="127.0.0.1",
                      help="address to bind (default 127.0.0.1: only this machine can connect)")
    view.add_argument("--version", dest="version", default=None, help="branch, tag or commit id to show")
    view.add_argument("--open", action="store_true", help="open the page in a web browser")
    view.set_defaults(func=_view)

    gc = sub.add_parser("gc", help="delete files no version references")
    gc.add_argument("url")
    gc.add_argument("--older-than", type=float, default=3600.0,
                    help="keep unreferenced files younger than this many seconds (default 3600)")
    gc.add_argument("--dry-run", action="store_true")
    gc.set_defaults(func=_gc)

    cp = sub.add_parser("copy", help="copy a dataset with all its versions to another URL")
    cp.add_argument("src")
    cp.add_argument("dst")
    cp.add_argument("--overwrite", action="store_true", help="replace a dataset at DST")
    cp.add_argument("--src-options", default=None, metavar="JSON",
                    help="storage options for SRC (credentials are better left to the environment)")
    cp.add_argument("--dst-options", default=None, metavar="JSON", help="storage options for DST")
    cp.set_defaults(func=_copy)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except (ArrowdsError, OSError, ValueError, LookupError, ImportError, RuntimeError) as e:
        if args.debug:
            raise
        print(f"arrowds: error: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
