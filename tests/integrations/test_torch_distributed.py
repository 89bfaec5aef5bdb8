"""ds.pytorch() under a real torch.distributed world: two processes joined by gloo, each
iterating its own loader and all-reducing once per batch the way DistributedDataParallel does
(a rank with an extra batch would wait in that all-reduce until the timeout)."""

from __future__ import annotations

import json
import multiprocessing
import os
from datetime import timedelta
from pathlib import Path

import pytest

from tests.integrations.conftest import build

torch = pytest.importorskip("torch")
dist = pytest.importorskip("torch.distributed")

WORLD = 2
CONFIGS = {  # name -> (rows of the view, ds.pytorch keywords)
    "shuffled, 2 workers": (None, dict(batch_size=8, shuffle=True, seed=3, num_workers=2)),
    "odd length, in order": (117, dict(batch_size=8)),
    "odd length, drop_last": (117, dict(batch_size=8, shuffle=True, seed=5, drop_last=True)),
}


def _rank_main(rank: int, url: str, init: str, out: str) -> None:
    os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    import arrowds as ads

    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=WORLD,
                            timeout=timedelta(seconds=60))
    try:
        ds = ads.load(url, read_only=True)
        result = {}
        for name, (rows, kw) in CONFIGS.items():
            view = ds if rows is None else ds[:rows]
            loader = view.pytorch(return_index=True, tensors=["labels"], **kw)  # rank from torch.distributed
            seen, steps = [], 0
            for batch in loader:
                seen.extend(batch["index"].tolist())
                step = torch.tensor([1])
                dist.all_reduce(step)  # what DDP's gradient sync does every step
                assert step.item() == WORLD
                steps += 1
            result[name] = {"seen": seen, "steps": steps, "len": len(loader)}
        Path(out).write_text(json.dumps(result))
    finally:
        dist.destroy_process_group()


@pytest.mark.timeout(300)
def test_two_gloo_ranks_see_every_sample_and_take_equal_steps(tmp_path):
    url = str(tmp_path / "ds")
    n = len(build(url))
    ctx = multiprocessing.get_context("spawn")
    init = f"file://{tmp_path / 'rendezvous'}"
    outs = [str(tmp_path / f"rank{r}.json") for r in range(WORLD)]
    procs = [ctx.Process(target=_rank_main, args=(r, url, init, outs[r])) for r in range(WORLD)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(240)
    assert [p.exitcode for p in procs] == [0, 0]
    got = [json.loads(Path(o).read_text()) for o in outs]
    for name, (rows, kw) in CONFIGS.items():
        per_rank = [g[name] for g in got]
        assert per_rank[0]["steps"] == per_rank[1]["steps"] == per_rank[0]["len"] == per_rank[1]["len"], name
        seen = [i for r in per_rank for i in r["seen"]]
        total = rows or n
        if rows is None:  # an even length: every sample exactly once across the ranks
            assert sorted(seen) == list(range(total)), name
        elif kw.get("drop_last"):  # at most once; each rank drops its last partial batch
            assert len(seen) == len(set(seen)) == WORLD * (total // WORLD // 8) * 8, name
        else:  # an odd length: every sample, and one repeated so both ranks have 59
            assert sorted(set(seen)) == list(range(total)) and len(seen) == total + 1, name
