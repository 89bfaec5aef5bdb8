"""arrowds core benchmark (issue 2): images and embeddings against Parquet, HF datasets, Lance and files.

    python benchmarks/bench_core.py [--quick] [--part images|embeddings] [--help for sizes and filters]

The measurement code lives in benchmarks/harness/ (one module per part) and benchmarks/peers/ (one
module per system); see benchmarks/README.md for the method and the latest figures.
"""

from __future__ import annotations

import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    from benchmarks.harness.cli import main as cli_main

    cli_main(argv)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
