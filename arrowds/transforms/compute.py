"""``@ads.compute`` and ``ads.compose``: transforms from a sequence or dataset into a dataset.

A transform is a function ``fn(sample_in, samples_out, **kwargs)`` that appends zero, one or
many output samples per input sample. ``fn(**kwargs).eval(data_in, ds_out, num_workers=2)``
cuts ``data_in`` into contiguous slices; each worker (thread, process or Ray task) runs the
function over its slice and writes the outputs as Parquet fragments straight to ``ds_out``'s
storage. The driver then appends every slice's fragments in input order and publishes once:
either every output appears, in input order, or (on any failure, or Ctrl-C) none does and
``ds_out`` is left as it was (the written files are orphans for ``ds.gc()``).

    @ads.compute
    def thumbnail(sample_in, samples_out, size=64):
        img = Image.fromarray(sample_in.images.numpy()).resize((size, size))
        samples_out.images.append(np.asarray(img))
        samples_out.labels.append(sample_in.labels.numpy())

    thumbnail(size=32).eval(ds, ds_small, num_workers=2, scheduler="processed")
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from arrowds.dataset.dataset import Dataset, dataset_length
from arrowds.errors import TransformError
from arrowds.format import TensorSpec
from arrowds.table import labels
from arrowds.table.manifest import Manifest
from arrowds.transforms import schedulers
from arrowds.transforms.worker import ChunkResult, DatasetSource, Job, Target, describe

SCHEDULERS = ("serial", "threaded", "processed", "ray")
#: Smallest slice worth a fragment of its own when cutting the input finer than one per worker.
MIN_SLICE = 256


class TransformFunction:
    """A transform with its arguments bound, ready to ``eval`` (what ``fn(**kwargs)`` returns)."""

    def __init__(self, compute_fn: ComputeFunction, args: tuple[Any, ...], kwargs: dict[str, Any]):
        self.compute_fn = compute_fn
        self.args = args
        self.kwargs = kwargs

    @property
    def name(self) -> str:
        return getattr(self.compute_fn, "__name__", "transform")

    def run(self, sample_in: Any, samples_out: Any) -> None:
        """Apply the function to one input sample."""
        self.compute_fn.fn(sample_in, samples_out, *self.args, **self.kwargs)

    def eval(self, data_in: Any, ds_out: Dataset | None = None, num_workers: int = 0,
             scheduler: str = "threaded", progressbar: bool = True, skip_ok: bool = False,
             ray_address: str | None = None) -> Dataset:
        """Run the transform over ``data_in`` and append the outputs to ``ds_out``; see
        :meth:`Pipeline.eval`."""
        return Pipeline((self,)).eval(data_in, ds_out, num_workers=num_workers, scheduler=scheduler,
                                      progressbar=progressbar, skip_ok=skip_ok, ray_address=ray_address)

    def __repr__(self) -> str:
        return f"{self.name}(**{self.kwargs!r})"


class ComputeFunction:
    """What ``@ads.compute`` makes of ``fn``: call it with ``fn``'s extra arguments to get a
    :class:`TransformFunction`.

    It pickles like a plain function: ``fn`` is kept as a copy whose qualified name is
    ``<name>.fn``, which pickle resolves through this object (so a module-level transform goes
    by reference to spawned processes, and by value to Ray when defined in ``__main__``).
    """

    def __init__(self, fn: Callable[..., Any]):
        if not isinstance(fn, types.FunctionType):
            raise TypeError(f"@ads.compute decorates a function, got {fn!r}")
        if fn.__qualname__.endswith(".fn") and fn.__name__ != "fn":
            self.fn = fn  # already the copy (unpickled)
        else:
            self.fn = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__, fn.__defaults__,
                                         fn.__closure__)
            self.fn.__kwdefaults__ = fn.__kwdefaults__
            self.fn.__module__ = fn.__module__
            self.fn.__doc__ = fn.__doc__
            self.fn.__qualname__ = f"{fn.__qualname__}.fn"
        functools.update_wrapper(self, fn)
        self.__qualname__ = fn.__qualname__
        del self.__wrapped__  # the original would not pickle: its name now means this object

    def __call__(self, *args: Any, **kwargs: Any) -> TransformFunction:
        return TransformFunction(self, args, kwargs)

    def __reduce__(self) -> tuple[Any, ...]:
        return (ComputeFunction, (self.fn,))

    def __repr__(self) -> str:
        return f"<ads.compute {self.__qualname__}>"


def compute(fn: Callable[..., Any]) -> ComputeFunction:
    """Make ``fn(sample_in, samples_out, **kwargs)`` a transform.

    ``sample_in`` is one element of ``data_in`` (for a dataset: the row view ``ds[i]``, so
    ``sample_in.images.numpy()``); ``samples_out`` has the target's tensors and takes any number
    of samples per input (``samples_out.labels.append(3)``, ``samples_out.append({...})``).

    >>> @compute
    ... def double(x, samples_out, factor=2):
    ...     samples_out.values.append(x * factor)
    >>> double(factor=3)
    double(**{'factor': 3})
    """
    return ComputeFunction(fn)


class Pipeline:
    """Transforms applied one after another (``ads.compose([f(), g()])``): every output row of
    a stage is an input sample of the next (``sample_in.images.numpy()`` works the same)."""

    def __init__(self, stages: Sequence[TransformFunction]):
        self.stages = tuple(stages)

    @property
    def name(self) -> str:
        return describe(self.stages)

    def eval(self, data_in: Any, ds_out: Dataset | None = None, num_workers: int = 0,
             scheduler: str = "threaded", progressbar: bool = True, skip_ok: bool = False,
             ray_address: str | None = None) -> Dataset:
        """Transform every sample of ``data_in`` (a dataset, a view, or any sequence) and append
        the outputs to ``ds_out``, in input order, as one published change.

        Without ``ds_out`` the transform runs in place (Hub): ``data_in`` must be a writable
        dataset, and its rows are replaced by the outputs (every tensor must get samples), in
        one commit; earlier versions keep the old rows.

        ``num_workers=0`` runs in this thread; otherwise ``scheduler`` picks threads
        (``"threaded"``), processes (``"processed"``: everything the workers need is pickled,
        so the target must not be ``mem://``) or Ray tasks (``"ray"``: on the cluster at
        ``ray_address``, the one already connected, or a new local one). ``skip_ok=True`` lets
        the transform leave some of ``ds_out``'s tensors out. On failure raises TransformError
        naming the input index and leaves ``ds_out`` as it was. Returns ``ds_out``.

        >>> compose([decode(), resize(size=64)]).eval(ds, out, num_workers=2)   # doctest: +SKIP
        """
        in_place = ds_out is None
        if in_place:
            ds_out = _in_place_target(data_in, skip_ok)
        if scheduler not in SCHEDULERS:
            raise ValueError(f"scheduler must be one of {SCHEDULERS}, got {scheduler!r}")
        if not isinstance(num_workers, (int, np.integer)) or num_workers < 0:
            raise ValueError(f"num_workers must be an int >= 0, got {num_workers!r}")
        if num_workers == 0 or scheduler == "serial":
            scheduler, num_workers = "serial", 1
        data = _source(data_in, scheduler)
        core = ds_out._core
        _check_target(ds_out, scheduler)
        with core.lock:
            core.stage()  # pending appends of ds_out go before the transform's output
            base = core.manifest
        start = _emptied(base) if in_place else base  # in place: the outputs replace every row
        target = Target(ds_out.path, _storage_options(ds_out), start,
                        {rel: ds_out._full(rel) for rel in ds_out.tensors}, skip_ok)
        job = Job(self.stages, target, data)
        n = len(data)
        if n == 0:
            return ds_out
        slices = _slices(n, num_workers)
        with tqdm(total=n, desc=self.name, disable=not progressbar, unit="sample") as bar:
            results = schedulers.run(job, slices, scheduler, num_workers, bar.update, ray_address)
        _commit(ds_out, base, results, skip_ok, start if in_place else None)
        return ds_out

    def __repr__(self) -> str:
        return f"compose({list(self.stages)!r})"


def compose(functions: Iterable[TransformFunction | Pipeline]) -> Pipeline:
    """Chain transforms: each output row of one is an input sample of the next.

    >>> pipeline = compose([decode(), resize(size=64)])                       # doctest: +SKIP
    >>> pipeline.eval(["a.jpg", "b.jpg"], ds_out, num_workers=2)               # doctest: +SKIP
    """
    stages: list[TransformFunction] = []
    for f in functions:
        if isinstance(f, Pipeline):
            stages.extend(f.stages)
        elif isinstance(f, TransformFunction):
            stages.append(f)
        elif isinstance(f, ComputeFunction):
            raise TypeError(f"compose takes called transforms: write {f.__name__}() (with its "
                            "arguments), not {f.__name__}")
        else:
            raise TypeError(f"compose takes transforms made with @ads.compute, got {f!r}")
    if not stages:
        raise ValueError("compose needs at least one transform")
    return Pipeline(stages)


# -- inputs and targets ----------------------------------------------------------------------
def _is_memory(ds: Dataset) -> bool:
    return "memory" in (getattr(ds._core.storage.fs, "protocol", ()) or ())


def _storage_options(ds: Dataset) -> dict[str, Any]:
    return dict(getattr(ds._core.storage.fs, "storage_options", {}) or {})


def _source(data_in: Any, scheduler: str) -> Sequence[Any] | DatasetSource:
    """``data_in`` as something slices can be taken of, in every worker."""
    if isinstance(data_in, Dataset):
        core = data_in._core
        if core.dirty:
            if core.read_only or core.detached:
                raise ValueError(f"{data_in.path}: data_in has unpublished changes; flush it first")
            data_in.flush()
        if scheduler == "ray" and _is_memory(data_in):
            raise ValueError(f"data_in {data_in.path!r} is in this process's memory, which Ray "
                             "workers cannot read; store it on disk or an object store, or use "
                             "scheduler='threaded' or 'processed'")
        n = dataset_length(core)
        idx = data_in._index
        positions = np.array([idx.positions(n)], np.int64).reshape(-1) if idx.is_scalar \
            else np.asarray(idx.positions(n), np.int64)
        return DatasetSource(data_in.path, _storage_options(data_in), core.branch, core.manifest,
                             data_in._group, positions)
    if isinstance(data_in, (str, bytes, dict)):
        raise TypeError(f"data_in must be a dataset or a sequence of samples, got {type(data_in).__name__}")
    if hasattr(data_in, "__len__") and hasattr(data_in, "__getitem__"):
        return data_in
    return list(data_in)


def _check_target(ds_out: Dataset, scheduler: str) -> None:
    if not isinstance(ds_out, Dataset):
        raise TypeError(f"ds_out must be an arrowds Dataset, got {type(ds_out).__name__}")
    if ds_out.is_view:
        raise ValueError("ds_out must be a dataset, not a view: outputs are appended at its end")
    ds_out._core.check_writable()
    if scheduler in ("processed", "ray") and _is_memory(ds_out):
        raise ValueError(
            f"ds_out {ds_out.path!r} lives in this process's memory: {scheduler} workers write their "
            "fragments from other processes and cannot reach it. Use a local path or an object store "
            "URL for ds_out, or scheduler='threaded'.")
    lengths = {n: ds_out._core.length(n) for n in ds_out._names()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"ds_out's tensors have different lengths {lengths}; a transform appends "
                         "whole rows, so bring them to one length first")
    if not lengths:
        raise ValueError(f"ds_out {ds_out.path!r} has no tensors: create the tensors the transform "
                         "fills first (ds_out.create_tensor(...))")


def _slices(n: int, workers: int) -> list[tuple[int, int]]:
    """Contiguous slices of ``range(n)``: one per worker, or up to four per worker (for balance
    and a livelier progress bar) when each still holds ``MIN_SLICE`` inputs."""
    count = max(workers, min(4 * workers, n // MIN_SLICE)) if workers > 1 else 1
    count = max(1, min(count, n))
    bounds = np.linspace(0, n, count + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


# -- the commit ----------------------------------------------------------------------------
def _merge_specs(base: Manifest, results: list[ChunkResult]) -> dict[str, TensorSpec]:
    """One spec per tensor from what each slice settled: layouts must agree, bounds widen."""
    out: dict[str, TensorSpec] = {}
    for r in results:
        if not r.rows:
            continue
        for name, spec in r.specs.items():
            cur = out.get(name)
            if cur is None or not cur.settled:
                out[name] = spec
                continue
            if not spec.settled:
                continue
            key = ("layout", "dtype", "ndim", "shape", "sample_compression")
            if any(getattr(cur, k) != getattr(spec, k) for k in key):
                diff = {k: (getattr(cur, k), getattr(spec, k)) for k in key
                        if getattr(cur, k) != getattr(spec, k)}
                raise TransformError(
                    f"tensor {name!r} was settled differently by the first samples of two slices "
                    f"(inputs from {r.start}): {diff}. Create it with an explicit dtype (and shape), "
                    "or run with num_workers=0")
            if spec.min_shape is not None:
                cur = cur.with_shape_bounds(spec.min_shape, spec.max_shape)
            out[name] = cur
    return out


def _unify_class_names(core: Any, base: Manifest, results: list[ChunkResult]) -> None:
    """Give every slice the class names a one-process run would have made (the base's, then
    each slice's new ones in input order), renumbering the stored label ids of the slices
    that numbered their new names differently (their fragments are written again, once; the
    old files were never published and are removed)."""
    renumber: list[dict[str, np.ndarray]] = [{} for _ in results]
    for name in sorted({n for r in results for n, i in r.info.items() if "class_names" in i}):
        names = list(base.tensor_info.get(name, {}).get("class_names", []))
        for r, todo in zip(results, renumber):
            local = r.info.get(name, {}).get("class_names")
            if local is None:
                continue
            names, mapping = labels.union_names(names, list(local))
            if mapping is not None and r.counts.get(name):
                todo[name] = mapping
        for r in results:
            if "class_names" in r.info.get(name, {}):
                r.info[name] = {**r.info[name], "class_names": list(names)}
    for r, todo in zip(results, renumber):
        if not todo:
            continue
        for name in todo:
            spec = r.specs[name]
            if not labels.renumberable(spec):
                raise TransformError(
                    f"tensor {name!r}: slices added new class names in different orders (inputs "
                    f"from {r.start}), so their label ids disagree, and its {spec.layout} samples "
                    "cannot be renumbered. Create the tensor with class_names=[...] listing every "
                    "label, or run with num_workers=0")
        m = Manifest(tensors=tuple(s for s in r.specs.values() if s.settled))
        old = r.fragments
        r.fragments = [labels.relabel_fragment(core.storage, core.reader, m, f, todo) for f in old]
        for f in old:
            core.storage.delete(f.file)


def _merge_info(base: Manifest, results: list[ChunkResult]) -> dict[str, dict[str, Any]]:
    """Tensor info the slices changed (class names, joined beforehand; sample rates): must agree."""
    out: dict[str, dict[str, Any]] = {}
    for r in results:
        for name, info in r.info.items():
            before = base.tensor_info.get(name, {})
            if info == before:
                continue
            cur = out.setdefault(name, dict(before))
            for k, v in info.items():
                if k == "class_names":  # every slice has the joined list (_unify_class_names)
                    cur["class_names"] = list(v)
                elif k == "channels":  # audio: mixed channel counts are allowed, recorded as None
                    cur[k] = v if cur.get(k, v) == v else None
                elif cur.get(k, v) != v and before.get(k) != v:
                    raise TransformError(f"tensor {name!r}: slices disagree on info {k!r} "
                                         f"({cur.get(k)!r} vs {v!r})")
                else:
                    cur[k] = v
    return out


def _only_class_names(base: Manifest, name: str, info: dict[str, Any]) -> bool:
    """Whether the slices changed only the class names of ``name`` (rebasable, like appends)."""
    before = base.tensor_info.get(name, {})
    return "class_names" in info and {k: v for k, v in info.items() if k != "class_names"} == {
        k: v for k, v in before.items() if k != "class_names"}


def _in_place_target(data_in: Any, skip_ok: bool) -> Dataset:
    """``data_in`` as its own target (``eval`` without ``ds_out``), after checking it can be one."""
    if not isinstance(data_in, Dataset):
        raise TypeError(f"eval without ds_out transforms a dataset in place, so data_in must be an "
                        f"arrowds Dataset, got {type(data_in).__name__}; pass ds_out to write elsewhere")
    if data_in.is_view or data_in._group:
        raise ValueError(f"{data_in.path}: an in-place transform replaces every row of the dataset, so "
                         "data_in must be the whole dataset, not a view or group; pass ds_out to "
                         "transform a view into another dataset")
    if skip_ok:
        raise ValueError("skip_ok=True cannot be used in place: the outputs replace every tensor, so "
                         "the transform must fill them all")
    data_in._core.check_writable()
    return data_in


def _emptied(m: Manifest) -> Manifest:
    """``m`` with no rows (tensors, info and row-id counter kept; shape bounds reset)."""
    specs = tuple(s.replace(min_shape=None, max_shape=None) for s in m.tensors)
    return m.replace(tensors=specs, fragments=(), lengths={s.name: 0 for s in m.tensors})


def _commit(ds_out: Dataset, base: Manifest, results: list[ChunkResult], skip_ok: bool,
            replace: Manifest | None = None) -> None:
    """Append every slice's fragments in input order (to ``replace``, the emptied base, for an
    in-place transform) and publish once (all or nothing)."""
    rows = sum(r.rows for r in results)
    if not rows and replace is None:
        return
    for name in {n for r in results for n in r.counts}:
        got = sum(r.counts.get(name, 0) for r in results)
        if got != rows:
            raise TransformError(f"tensor {name!r} got {got} samples but the transform made {rows} "
                                 "rows: with skip_ok=True every input must fill the same tensors")
    core = ds_out._core
    _unify_class_names(core, base, results)
    specs = _merge_specs(base, results)
    info = _merge_info(base, results)
    with core.lock:
        if core.manifest is not base:
            raise TransformError(f"{ds_out.path} was written to while the transform ran; nothing "
                                 "was added. Run it again.")
        saved_changes = core.changes
        m = base if replace is None else replace
        for spec in specs.values():
            m = m.with_spec(spec)
        if info:
            m = m.replace(tensor_info={**m.tensor_info, **info})
        lengths = dict(m.lengths)
        appended = []
        for r in results:
            for frag in r.fragments:
                for name in r.counts:
                    lengths[name] += frag.rows
                m = m.appended(frag, dict(lengths))
                appended.append(m.fragments[-1])
        if replace is not None:  # not an append: publishing it needs the branch where it was
            changes = type(saved_changes)(appended=[], specs={s.name: s for s in m.tensors}, other=True)
        else:
            names = {n: list(i["class_names"]) for n, i in info.items() if _only_class_names(base, n, i)}
            changes = type(saved_changes)(appended=list(saved_changes.appended) + appended,
                                          specs={s.name: s for s in m.tensors},
                                          class_names={**saved_changes.class_names, **names},
                                          other=saved_changes.other or len(names) < len(info))
        core.manifest, core.changes = m, changes
        if core.depth:
            return  # inside `with ds_out:` the block publishes (or discards) everything
        try:
            core.flush()
        except BaseException:
            core.manifest, core.changes = base, saved_changes
            raise
