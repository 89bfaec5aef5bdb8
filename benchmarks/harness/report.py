"""Markdown tables of the figures and of the issue-2 targets."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .result import SystemResult

Column = tuple[str, Callable[[SystemResult], str]]


def fmt(value: Any, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _metric(key: str, spec: str) -> Callable[[SystemResult], str]:
    return lambda r: fmt(r.metrics.get(key), spec)


def _notes(r: SystemResult) -> str:
    parts = [f"**{step} failed:** {msg}" for step, msg in r.errors.items()] + r.notes
    return "; ".join(p.replace("|", "\\|").replace("\n", " ")[:300] for p in parts)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _results_table(columns: Sequence[Column], results: Sequence[SystemResult]) -> str:
    return markdown_table([c[0] for c in columns], [[f(r) for _, f in columns] for r in results])


def image_table(results: Sequence[SystemResult], limit_img_s: float) -> str:
    """``limit_img_s``: the median of the decode-limit runs (each system's own one is in the JSON)."""
    columns: list[Column] = [
        ("system", lambda r: r.system), ("decoder", lambda r: str(r.metrics.get("decoder", "-"))),
        ("ingest s (durable)", _metric("ingest_s", ".2f")), ("writer s", _metric("writer_s", ".2f")),
        ("disk MB", lambda r: fmt(_mb(r), ".1f")),
        ("disk / raw", _metric("disk_ratio", ".3f")), ("alloc / raw", _metric("alloc_ratio", ".3f")),
        ("scan img/s", _metric("scan_img_s", ",.0f")),
        ("scan / limit", lambda r: _percent(r.metrics.get("scan_pct_of_limit"))),
        ("random p50 ms", _metric("p50_ms", ".3f")), ("random p95 ms", _metric("p95_ms", ".3f")),
        ("labels ms", _metric("labels_ms", ".2f")), ("notes", _notes),
    ]
    limit_row = SystemResult("decode limit (in-memory bytes, median)",
                             metrics={"scan_img_s": limit_img_s, "decoder": "(same)"})
    return _results_table(columns, [*results, limit_row])


def embedding_table(results: Sequence[SystemResult]) -> str:
    columns: list[Column] = [
        ("system", lambda r: r.system), ("ingest s (durable)", _metric("ingest_s", ".2f")),
        ("writer s", _metric("writer_s", ".2f")), ("disk / raw", _metric("disk_ratio", ".3f")),
        ("scan GB/s (1st)", _metric("scan1_gbps", ".2f")),
        ("scan GB/s (warm 2nd)", _metric("scan2_gbps", ".2f")),
        ("scan GB/s (median runs 2-4)", _metric("scan_warm_median_gbps", ".2f")),
        ("row p50 ms", _metric("p50_ms", ".4f")),
        ("row p95 ms", _metric("p95_ms", ".4f")), ("notes", _notes),
    ]
    return _results_table(columns, results)


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}%"


def _mb(r: SystemResult) -> float | None:
    b = r.metrics.get("disk_bytes")
    return None if b is None else b / 1e6
