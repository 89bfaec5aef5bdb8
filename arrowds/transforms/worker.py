"""What one worker does with its contiguous slice of the input: run the pipeline on each input
sample, check and prepare the outputs against the target's tensor specs, and write them as
fragments straight to the target's storage. Nothing is published here: the driver appends the
fragments of every slice, in input order, and publishes once.

Everything here pickles (URLs, storage options, specs, manifests; no open handles), so the
same :func:`run_chunk` runs in a thread, a forked or spawned process, or a Ray task.
"""

from __future__ import annotations

import functools
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from arrowds import _config
from arrowds.dataset.core import DatasetCore
from arrowds.dataset.dataset import Dataset
from arrowds.dataset.samples import Prepared, prepare
from arrowds.errors import SampleError, TransformError
from arrowds.format import TensorSpec
from arrowds.format import columns as cols
from arrowds.storage import open_storage
from arrowds.table import patch
from arrowds.table.manifest import Fragment, Manifest
from arrowds.transforms.outputs import SamplesOut
from arrowds.transforms.rows import Prefetcher

#: Output rows collected before they are validated and encoded as one batch.
PREPARE_ROWS = 256
#: Seconds between a worker's progress reports (a report may cross threads or processes).
REPORT_EVERY = 0.1


@dataclass(frozen=True)
class DatasetSource:
    """A dataset or view given as ``data_in``, pinned to the version it had when ``eval`` began."""

    url: str
    storage_options: dict[str, Any]
    branch: str
    manifest: Manifest
    group: str
    positions: np.ndarray

    def open(self) -> Dataset:
        """A read-only handle on the pinned version (one per worker: handles do not survive a fork)."""
        storage = open_storage(self.url, self.storage_options or None)
        return Dataset(DatasetCore(storage, self.branch, None, self.manifest, read_only=True),
                       group=self.group)

    def __len__(self) -> int:
        return int(self.positions.size)


@dataclass(frozen=True)
class Target:
    """The dataset the outputs go to, as a worker needs it: where, and the specs at the start."""

    url: str
    storage_options: dict[str, Any]
    manifest: Manifest  # the target's working manifest when eval began (specs, info)
    names: dict[str, str]  # tensor name relative to ds_out's group -> full name
    skip_ok: bool = False


@dataclass(frozen=True)
class Job:
    """What every slice of one ``eval`` shares."""

    stages: tuple[Any, ...]  # TransformFunction objects (fn, args, kwargs)
    target: Target
    data: Sequence[Any] | DatasetSource


@dataclass
class ChunkResult:
    """What a worker sends back for its slice ``[start, stop)`` of the input."""

    chunk: int
    start: int
    stop: int
    fragments: list[Fragment] = field(default_factory=list)
    specs: dict[str, TensorSpec] = field(default_factory=dict)
    info: dict[str, dict[str, Any]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)  # samples written per tensor (full names)
    rows: int = 0
    error: TransformError | None = None


class Cancelled(Exception):
    """The driver asked the workers to stop (another slice failed, or Ctrl-C)."""


def describe(stages: Sequence[Any]) -> str:
    return " -> ".join(getattr(s, "name", "transform") for s in stages)


def run_chunk(job: Job, chunk: int, start: int, stop: int,
              report: Callable[[int], None] | None = None,
              cancelled: threading.Event | None = None,
              current: Any = None) -> ChunkResult:
    """Transform inputs ``start..stop-1`` and write their outputs as fragments of the target.

    ``report(n)`` is told of finished inputs (every ``REPORT_EVERY`` seconds, and all of them
    before a slice that succeeded returns), ``cancelled`` is checked before each input, and
    ``current[chunk]`` (a shared array, for processes) holds the input being transformed.
    Failures come back as ``ChunkResult.error`` (a TransformError naming the input index).
    """
    result = ChunkResult(chunk, start, stop)
    writer = _Writer(job.target)
    out = SamplesOut(list(job.target.names))
    names, sizes = list(job.target.names), out.sizes
    data = job.data
    rows = Prefetcher(data.open(), data.positions) if isinstance(data, DatasetSource) else None
    step = _step(job.stages)
    skip_ok = job.target.skip_ok
    written: set[str] | None = None  # with skip_ok: the tensors the first output filled
    before: list[int] = []
    reported, last = start, time.monotonic()
    for i in range(start, stop):
        if cancelled is not None and cancelled.is_set():
            raise Cancelled()
        if current is not None:
            current[chunk] = i
        try:
            sample = rows.row(i) if rows is not None else data[i]
            if skip_ok:
                before = sizes()
            step(sample, out)
            after = sizes()
            if not skip_ok and after.count(after[0]) == len(after):
                # every tensor held writer.waiting samples before this input (else it failed)
                k = after[0] - writer.waiting
            else:
                k, written = _check_counts(names, after, before or [writer.waiting] * len(after),
                                           skip_ok, written)
        except Exception as e:  # noqa: BLE001 - any failure of user code is reported with its index
            result.error = _input_error(job, i, e)
            return result
        if k:
            writer.note(i, k)
            if writer.waiting >= PREPARE_ROWS:
                err = writer.prepare(out.take())
                if err is not None:
                    result.error = _input_error(job, *err)
                    return result
        if report is not None:
            now = time.monotonic()
            if now - last >= REPORT_EVERY:
                report(i + 1 - reported)
                reported, last = i + 1, now
    err = writer.prepare(out.take())
    if err is not None:
        result.error = _input_error(job, *err)
        return result
    if report is not None and stop > reported:
        report(stop - reported)
    writer.write()
    result.fragments, result.rows = writer.fragments, writer.rows
    result.specs, result.info, result.counts = writer.specs, writer.info, writer.counts
    return result


def _step(stages: Sequence[Any]) -> Callable[[Any, SamplesOut], None]:
    """``step(sample, out)``: one input through every stage. One stage (the usual case) calls the
    user's function directly: this runs once per input."""
    if len(stages) != 1:
        return functools.partial(run_pipeline, stages)
    stage = stages[0]
    fn, args, kwargs = stage.compute_fn.fn, stage.args, stage.kwargs
    if not args and not kwargs:
        return fn
    return lambda sample, out: fn(sample, out, *args, **kwargs)


def run_pipeline(stages: Sequence[Any], sample: Any, out: SamplesOut) -> None:
    """Feed one input sample through every stage; the last stage appends to ``out``."""
    items = [sample]
    for k, stage in enumerate(stages):
        dest = out if k == len(stages) - 1 else SamplesOut(None)
        for item in items:
            stage.run(item, dest)
        if dest is not out:
            items = dest.rows()


def _check_counts(names: list[str], after: list[int], before: list[int], skip_ok: bool,
                  written: set[str] | None) -> tuple[int, set[str] | None]:
    """How many output rows one input made, from each tensor's sample count before and after
    it; every tensor must get that many samples (with ``skip_ok``: every tensor that gets any,
    the same ones for every input)."""
    got = {n: a - b for n, a, b in zip(names, after, before)}
    k = max(got.values(), default=0)
    if k == 0:
        return 0, written
    filled = {n for n, c in got.items() if c}
    uneven = {n: c for n, c in got.items() if c and c != k}
    if uneven:
        raise ValueError(f"the transform gave tensors different numbers of samples for this input: "
                         f"{dict(sorted(got.items()))}; every tensor needs the same number")
    if not skip_ok and len(filled) < len(got):
        raise ValueError(f"the transform gave no sample to {sorted(set(got) - filled)} for this "
                         "input; append to every tensor of ds_out, or pass skip_ok=True to leave "
                         "tensors out")
    if written is not None and filled != written:
        raise ValueError(f"the transform filled tensors {sorted(filled)} for this input but "
                         f"{sorted(written)} for earlier ones; with skip_ok=True every input must "
                         "fill the same tensors")
    return k, filled


def _input_error(job: Job, index: int, e: BaseException) -> TransformError:
    what = describe(job.stages)
    tb = "".join(traceback.format_exception(type(e), e, e.__traceback__))
    return TransformError(f"transform {what} failed on input {index} of data_in: "
                          f"{type(e).__name__}: {e}", index=index, original=e, worker_traceback=tb)


class _Writer:
    """Prepares a worker's outputs in batches and writes them as fragments of the target."""

    def __init__(self, target: Target):
        self.target = target
        self.storage = open_storage(target.url, target.storage_options or None)
        m = target.manifest
        self.specs: dict[str, TensorSpec] = {full: m.spec(full) for full in target.names.values()}
        self.base_info = {full: dict(m.tensor_info.get(full, {})) for full in target.names.values()}
        self.info = {k: dict(v) for k, v in self.base_info.items()}
        self.inputs: list[int] = []  # input index of each output row not yet prepared
        self.prepared: dict[str, list[Prepared]] = {}
        self.prepared_rows = 0
        self.nbytes = 0
        self.counts: dict[str, int] = {}
        self.fragments: list[Fragment] = []
        self.rows = 0

    @property
    def waiting(self) -> int:
        return len(self.inputs)

    def note(self, index: int, k: int) -> None:
        if k == 1:
            self.inputs.append(index)
        else:
            self.inputs.extend([index] * k)

    def prepare(self, values: dict[str, list[Any]]) -> tuple[int, Exception] | None:
        """Validate and encode a batch; returns ``(input index, error)`` for a bad sample."""
        inputs, self.inputs = self.inputs, []
        for rel, vals in values.items():
            if not vals:
                continue
            full = self.target.names[rel]
            try:
                prep = prepare(self.specs[full], vals, self.info[full], 0)
            except SampleError as e:
                return inputs[e.index or 0], e
            self.specs[full] = prep.spec
            if prep.class_names is not None:
                self.info[full]["class_names"] = prep.class_names
            if prep.info is not None:
                self.info[full].update(prep.info)
            self.prepared.setdefault(full, []).append(prep)
            self.counts[full] = self.counts.get(full, 0) + len(prep)
            self.nbytes += prep.nbytes
        self.prepared_rows += len(inputs)
        if self.nbytes > _config.WRITE_BUFFER_BYTES:
            self.write()
        return None

    def write(self) -> None:
        """Write what is prepared as fragments (not published)."""
        n = self.prepared_rows
        if not n:
            return
        specs = [s for s in self.specs.values() if s.settled]
        arrays: dict[str, pa.Array] = {}
        for spec in specs:
            preps = self.prepared.get(spec.name)
            if not preps:
                parts = [cols.null_arrays(spec, n)]
            else:
                parts = [p.to_arrow(spec) for p in preps]
            for f in cols.fields(spec):
                chunks = [p[f.name].cast(f.type) for p in parts]
                # chunked, not concatenated: the Parquet bytes are the same, without a fresh copy
                arrays[f.name] = chunks[0] if len(chunks) == 1 else pa.chunked_array(chunks, f.type)
        table = pa.table(arrays)
        m = Manifest(tensors=tuple(specs))
        for part in patch.split_table(table):
            self.fragments.append(patch.write_fragment(self.storage, part, m))
        self.rows += n
        self.prepared, self.prepared_rows, self.nbytes = {}, 0, 0
