"""``arrowds`` command line: one subcommand per verb, a one-line error and exit 1 on failure."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import arrowds as ads
from arrowds.errors import ArrowdsError


def _info(args: argparse.Namespace) -> None:
    ds = ads.load(args.url, read_only=True)
    print(ds._summary_text())
    print(f"\nbranch: {ds.branch}    rows: {len(ds)}    fragments: {len(ds._core.manifest.fragments)}")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="arrowds", description="AI datasets on Apache Arrow/Parquet.")
    p.add_argument("--version", action="version", version=f"arrowds {ads.__version__}")
    p.add_argument("--debug", action="store_true", help="show the traceback on errors")
    sub = p.add_subparsers(dest="command", required=True)
    info = sub.add_parser("info", help="describe the dataset at URL")
    info.add_argument("url")
    info.set_defaults(func=_info)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except (ArrowdsError, OSError, ValueError) as e:
        if args.debug:
            raise
        print(f"arrowds: error: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
