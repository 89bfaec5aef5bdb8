"""The issue-2 targets, evaluated for arrowds against the figures of the same run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from .report import markdown_table
from .result import SystemResult

SUBJECT = "arrowds"


@dataclass
class Target:
    part: str
    target: str
    observed: str
    passed: bool | None  # None: the figure is missing (counts as a miss)
    reference: str

    def row(self) -> list[str]:
        verdict = {True: "PASS", False: "**FAIL**", None: "**FAIL** (no figure)"}[self.passed]
        return [self.part, self.target, self.observed, self.reference, verdict]


def _get(results: Sequence[SystemResult], name: str) -> SystemResult | None:
    return next((r for r in results if r.system == name), None)


def _metric(result: SystemResult | None, key: str) -> float | None:
    return None if result is None else result.metrics.get(key)


def _fastest_ingest(results: Sequence[SystemResult]) -> tuple[str, float] | None:
    peers = [(r.system, r.metrics["ingest_s"]) for r in results if _is_ingest_peer(r)]
    return min(peers, key=lambda p: p[1]) if peers else None


def _is_ingest_peer(r: SystemResult) -> bool:
    return r.system != SUBJECT and not r.metrics.get("is_limit") and r.metrics.get("ingest_s") is not None


def _target(part: str, text: str, value: float | None, ok: bool, spec: str, unit: str, ref: str) -> Target:
    """A target row; a missing figure (value None) is reported as a failure with no figure."""
    if value is None:
        return Target(part, text, "n/a", None, ref)
    return Target(part, text, format(value, spec) + unit, ok, ref)


def _ingest_target(part: str, results: Sequence[SystemResult]) -> Target:
    mine, best = _metric(_get(results, SUBJECT), "ingest_s"), _fastest_ingest(results)
    if best is None:
        return Target(part, "ingest no slower than the fastest peer", "n/a", None, "no peer figure")
    ok = mine is not None and mine <= best[1]
    return _target(part, "ingest no slower than the fastest peer", mine, ok, ".2f", " s",
                   f"fastest peer: {best[0]} {best[1]:.2f} s")


def _readback_target(part: str, me: SystemResult | None, *steps: str) -> Target:
    """Figures only count if the data read back equals what was written (checked outside the timings)."""
    text = "reads back exactly what was written (sampled check)"
    if me is None or "ingest" in me.errors or "setup" in me.errors:
        return Target(part, text, "n/a", None, "source data")
    failed = [f"{step}: {me.errors[step]}" for step in steps if step in me.errors]
    return Target(part, text, "; ".join(failed)[:200] or "ok", not failed, "source data")


def image_targets(results: Sequence[SystemResult]) -> list[Target]:
    me = _get(results, SUBJECT)
    ratio, pct, p50, labels, limit = (
        _metric(me, k) for k in ("disk_ratio", "scan_pct_of_limit", "p50_ms", "labels_ms", "limit_img_s"))
    raw_p50 = _metric(_get(results, "raw files"), "p50_ms")
    limit_ref = "n/a" if limit is None else f"limit run next to it: {limit:,.0f} img/s"
    raw_ref = "raw files: n/a" if raw_p50 is None else f"1.5 x raw files = {1.5 * raw_p50:.3f} ms"
    return [
        _target("images", "on-disk within 1.01x raw JPEG bytes", ratio,
                ratio is not None and ratio <= 1.01, ".3f", "x", "1.010x"),
        _target("images", "decoded scan >= 95% of the decode limit", pct,
                pct is not None and pct >= 95, ".1f", "%", limit_ref),
        _target("images", "random fetch+decode p50 <= 1.5x raw files", p50,
                None not in (p50, raw_p50) and p50 <= 1.5 * raw_p50, ".3f", " ms", raw_ref),
        _target("images", "label-only scan < 20 ms", labels,
                labels is not None and labels < 20, ".2f", " ms", "20 ms"),
        _ingest_target("images", results),
        _readback_target("images", me, "verify"),
    ]


def embedding_targets(results: Sequence[SystemResult]) -> list[Target]:
    me = _get(results, SUBJECT)
    gbps, p50 = _metric(me, "scan2_gbps"), _metric(me, "p50_ms")
    return [
        _target("embeddings", "full scan >= 3 GB/s (warm 2nd run)", gbps,
                gbps is not None and gbps >= 3, ".2f", " GB/s", "3 GB/s"),
        _target("embeddings", "one-row fetch p50 < 0.1 ms", p50,
                p50 is not None and p50 < 0.1, ".4f", " ms", "0.1 ms"),
        _ingest_target("embeddings", results),
        _readback_target("embeddings", me, "scan", "row"),
    ]


def targets_table(targets: Sequence[Target]) -> str:
    return markdown_table(["part", "target (issue 2)", "arrowds", "reference", "result"],
                          [t.row() for t in targets])


def as_dicts(targets: Sequence[Target]) -> list[dict]:
    return [asdict(t) for t in targets]
