"""Writes against an in-memory model: any sequence of appends, extends, updates, pops, flushes,
``with ds:`` blocks and reopens leaves every tensor reading exactly what a list model holds."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

import arrowds as ads

INT64 = st.integers(-(2**63), 2**63 - 1)
# float32-exact values, so the model compares with ==
FLOAT = st.floats(-1e6, 1e6, allow_nan=False, width=32)
EMB = st.lists(FLOAT, min_size=4, max_size=4).map(lambda v: np.array(v, np.float32))
TEXT = st.text(max_size=12)
ROW = st.tuples(INT64, EMB, TEXT)


class WriteModel(RuleBasedStateMachine):
    """One dataset with ``x`` (int64 scalars), ``e`` (float32[4]) and ``t`` (text). Tensors may
    get ragged (appends to one tensor): ``len(ds)`` is then the shortest, as in Hub."""

    def make_url(self) -> str:
        raise NotImplementedError

    def cleanup(self) -> None:
        """Remove what ``make_url`` created."""

    @initialize()
    def create(self) -> None:
        self.url = self.make_url()
        self.ds = ads.empty(self.url)
        self.ds.create_tensor("x", dtype="int64")
        self.ds.create_tensor("e", htype="embedding")
        self.ds.create_tensor("t", htype="text")
        self.xs: list[int] = []
        self.es: list[np.ndarray] = []
        self.ts: list[str] = []

    def teardown(self) -> None:
        self.cleanup()

    # -- helpers -------------------------------------------------------------------------
    @property
    def n(self) -> int:
        """Rows of the dataset: the length of the shortest tensor."""
        return min(len(self.xs), len(self.es), len(self.ts))

    def _model_delete(self, rows: list[int]) -> None:
        n = self.n
        for i in sorted({i % n for i in rows}, reverse=True):
            del self.xs[i], self.es[i], self.ts[i]

    def _model_append(self, rows: list[tuple[int, np.ndarray, str]]) -> None:
        for x, e, t in rows:
            self.xs.append(x)
            self.es.append(e)
            self.ts.append(t)

    def check(self) -> None:
        ds = self.ds
        assert len(ds) == self.n
        for name, vals in (("x", self.xs), ("e", self.es), ("t", self.ts)):
            assert len(ds[name]) == len(vals), name
        if self.xs:
            x = ds.x.numpy()
            assert x.dtype == np.int64 and x.shape == (len(self.xs), 1)
            assert x.reshape(-1).tolist() == self.xs
            # single-sample reads take another path (one row, negative index)
            assert int(ds.x[-1].numpy()[0]) == self.xs[-1]
        if self.es:
            e = ds.e.numpy()
            assert e.dtype == np.float32
            np.testing.assert_array_equal(e, np.stack(self.es))
        if self.ts:
            assert ds.t.text() == self.ts
            assert ds.t[0].text() == self.ts[0]

    # -- rules ---------------------------------------------------------------------------
    @rule(row=ROW)
    def append_row(self, row: tuple[int, np.ndarray, str]) -> None:
        x, e, t = row
        self.ds.append({"x": x, "e": e, "t": t})
        self._model_append([row])

    @rule(rows=st.lists(ROW, max_size=5), as_array=st.booleans())
    def extend_rows(self, rows: list[tuple[int, np.ndarray, str]], as_array: bool) -> None:
        xs = [r[0] for r in rows]
        es: Any = [r[1] for r in rows]
        if as_array and rows:
            xs = np.array(xs, np.int64)
            es = np.stack(es)
        self.ds.extend({"x": xs, "e": es, "t": [r[2] for r in rows]})
        self._model_append(rows)

    @rule(name=st.sampled_from(["x", "e", "t"]), data=st.data())
    def extend_one_tensor(self, name: str, data: st.DataObject) -> None:
        """Samples for one tensor only: the tensors become ragged."""
        strategy, model = {"x": (INT64, self.xs), "e": (EMB, self.es), "t": (TEXT, self.ts)}[name]
        vals = data.draw(st.lists(strategy, min_size=1, max_size=3), label="vals")
        self.ds[name].extend(vals)
        model.extend(vals)

    @precondition(lambda self: self.xs)
    @rule(data=st.data(), v=INT64)
    def update_x(self, data: st.DataObject, v: int) -> None:
        n = len(self.xs)
        i = data.draw(st.integers(-n, n - 1), label="i")
        self.ds.x[i] = v
        self.xs[i] = v

    @precondition(lambda self: self.ts)
    @rule(data=st.data(), s=TEXT)
    def update_t(self, data: st.DataObject, s: str) -> None:
        n = len(self.ts)
        i = data.draw(st.integers(-n, n - 1), label="i")
        self.ds.t[i] = s
        self.ts[i] = s

    @precondition(lambda self: self.es)
    @rule(data=st.data(), v=EMB)
    def update_e(self, data: st.DataObject, v: np.ndarray) -> None:
        n = len(self.es)
        i = data.draw(st.integers(-n, n - 1), label="i")
        self.ds.e[i] = v
        self.es[i] = v

    @precondition(lambda self: self.xs)
    @rule(data=st.data())
    def update_many(self, data: st.DataObject) -> None:
        """``ds.x[[i, j, ...]] = [...]`` (any order, negatives, repeats: the last one wins)."""
        n = len(self.xs)
        idx = data.draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=6), label="idx")
        vals = data.draw(st.lists(INT64, min_size=len(idx), max_size=len(idx)), label="vals")
        self.ds.x[idx] = vals
        for i, v in zip(idx, vals):
            self.xs[i] = v

    @precondition(lambda self: self.n > 0)
    @rule(data=st.data())
    def pop_one(self, data: st.DataObject) -> None:
        i = data.draw(st.integers(-self.n, self.n - 1), label="i")
        self.ds.pop(i)
        self._model_delete([i])

    @precondition(lambda self: self.n > 1)
    @rule(data=st.data())
    def pop_several(self, data: st.DataObject) -> None:
        idx = data.draw(st.lists(st.integers(0, self.n - 1), min_size=1, max_size=3, unique=True),
                        label="idx")
        self.ds.pop(idx)
        self._model_delete(idx)

    @precondition(lambda self: self.n > 0)
    @rule()
    def pop_last(self) -> None:
        self.ds.pop()
        self._model_delete([self.n - 1])

    @rule()
    def flush(self) -> None:
        self.ds.flush()

    @rule(rows=st.lists(ROW, min_size=1, max_size=4), data=st.data())
    def with_block(self, rows: list[tuple[int, np.ndarray, str]], data: st.DataObject) -> None:
        with self.ds:
            for x, e, t in rows:
                self.ds.append({"x": x, "e": e, "t": t})
            self._model_append(rows)
            self.check()  # buffered rows read back before the block ends
            if data.draw(st.booleans(), label="update inside"):
                i = data.draw(st.integers(0, len(self.xs) - 1), label="i")
                v = data.draw(INT64, label="v")
                self.ds.x[i] = v
                self.xs[i] = v
                self.check()

    @rule(rows=st.lists(ROW, max_size=3), data=st.data())
    def failed_block(self, rows: list[tuple[int, np.ndarray, str]], data: st.DataObject) -> None:
        """A ``with ds:`` block that raises leaves nothing behind: not its appends, updates or pops."""
        with pytest.raises(KeyError, match="boom"), self.ds:
            for x, e, t in rows:
                self.ds.append({"x": x, "e": e, "t": t})
            n = self.n + len(rows)
            if n and data.draw(st.booleans(), label="update inside"):
                self.ds.x[data.draw(st.integers(0, len(self.xs) + len(rows) - 1), label="i")] = 12345
            if n and data.draw(st.booleans(), label="pop inside"):
                self.ds.pop(data.draw(st.integers(0, n - 1), label="j"))
            raise KeyError("boom")

    @rule()
    def reopen(self) -> None:
        self.ds = ads.load(self.url)

    @invariant()
    def contents_match_model(self) -> None:
        if hasattr(self, "ds"):
            self.check()


SETTINGS = settings(max_examples=40, stateful_step_count=20, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


class MemoryWriteModel(WriteModel):
    def make_url(self) -> str:
        return f"mem://model-{uuid.uuid4().hex}"

    def cleanup(self) -> None:
        if hasattr(self, "url"):
            ads.delete(self.url)


class LocalWriteModel(WriteModel):
    def make_url(self) -> str:
        self.tmp = tempfile.mkdtemp(prefix="arrowds-model-")
        return f"{self.tmp}/ds"

    def cleanup(self) -> None:
        if hasattr(self, "tmp"):
            shutil.rmtree(self.tmp, ignore_errors=True)


TestMemoryWriteModel = MemoryWriteModel.TestCase
TestMemoryWriteModel.settings = SETTINGS
TestLocalWriteModel = LocalWriteModel.TestCase
TestLocalWriteModel.settings = SETTINGS
