"""Branch refs: numbered ref files written put-if-absent, so of writers racing on one head
exactly one wins, in threads and in real processes."""

from __future__ import annotations

import multiprocessing
import threading
import uuid

import pytest

from arrowds.errors import DatasetCorruptError
from arrowds.storage import open_storage
from arrowds.table import refs


def publish(storage, branch: str, expected_seq: int, manifest: str, commit: str | None = None):
    """``refs.publish`` with no version-control state (one place to follow its signature)."""
    return refs.publish(storage, branch, expected_seq, manifest, commit=commit, pending=None, changed=False)


@pytest.fixture(params=["mem", "local"])
def storage(request, tmp_path):
    url = f"mem://refs-{uuid.uuid4().hex}" if request.param == "mem" else str(tmp_path / "ds")
    return open_storage(url)


def test_publish_then_head(storage) -> None:
    assert refs.head(storage, "main") is None
    r0 = publish(storage, "main", -1, "manifests/a.json")
    assert r0 is not None and r0.seq == 0 and r0.manifest == "manifests/a.json"
    assert refs.head(storage, "main") == r0
    r1 = publish(storage, "main", 0, "manifests/b.json", "c1")
    assert r1 is not None and r1.seq == 1 and r1.commit == "c1"
    assert refs.head(storage, "main") == r1
    assert refs.branch_names(storage) == ["main"]


def test_second_publish_at_same_seq_loses(storage) -> None:
    assert publish(storage, "main", -1, "manifests/a.json") is not None
    assert publish(storage, "main", -1, "manifests/b.json") is None
    assert refs.head(storage, "main").manifest == "manifests/a.json"
    assert publish(storage, "main", 0, "manifests/c.json") is not None
    assert publish(storage, "main", 0, "manifests/d.json") is None
    assert refs.head(storage, "main").manifest == "manifests/c.json"


def test_head_orders_numerically_past_ten(storage) -> None:
    for seq in range(12):
        assert publish(storage, "main", seq - 1, f"m{seq}") is not None
    head = refs.head(storage, "main")
    assert head.seq == 11 and head.manifest == "m11"


def test_branches_are_independent(storage) -> None:
    assert publish(storage, "main", -1, "m") is not None
    assert publish(storage, "dev", -1, "d") is not None
    assert refs.head(storage, "dev").manifest == "d"
    assert refs.head(storage, "main").manifest == "m"
    assert refs.branch_names(storage) == ["dev", "main"]


def test_ref_json_round_trip() -> None:
    r = refs.Ref(7, "manifests/x.json", commit="abc", time=12.5)
    assert refs.Ref.from_json(r.to_json(), "w") == r


@pytest.mark.parametrize("data", [b"", b"{}", b'{"seq": "x", "manifest": "m"}', b"[1]"])
def test_corrupt_ref_names_the_file(storage, data: bytes) -> None:
    storage.write(refs.ref_key("main", 0), data)
    with pytest.raises(DatasetCorruptError, match="00000000000000000000.json"):
        refs.head(storage, "main")


def test_threads_racing_publish_one_winner_per_seq(storage) -> None:
    rounds, workers = 5, 6
    barrier = threading.Barrier(workers)
    wins: list[tuple[int, int]] = []
    lock = threading.Lock()

    errors: list[BaseException] = []

    def race(who: int) -> None:
        try:
            for r in range(rounds):
                barrier.wait(timeout=10)
                if publish(storage, "main", r - 1, f"m-{who}-{r}") is not None:
                    with lock:
                        wins.append((r, who))
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)
            barrier.abort()

    threads = [threading.Thread(target=race, args=(w,)) for w in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert sorted(r for r, _ in wins) == list(range(rounds))
    last_winner = dict(wins)[rounds - 1]
    assert refs.head(storage, "main").manifest == f"m-{last_winner}-{rounds - 1}"


def _racer(root: str, who: int, rounds: int, barrier, results) -> None:
    try:
        storage = open_storage(root)
        for r in range(rounds):
            barrier.wait(timeout=20)
            ref = publish(storage, "main", r - 1, f"m-{who}-{r}")
            results.put((r, who, ref is not None))
    except BaseException as e:  # noqa: BLE001 - the parent reports it
        barrier.abort()
        results.put((-1, who, repr(e)))


def test_processes_racing_publish_on_local_disk_one_winner(tmp_path) -> None:
    """Real processes (so no in-process lock can help): put-if-absent on local disk is atomic."""
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    root = str(tmp_path / "ds")
    procs, rounds = 4, 6
    barrier = ctx.Barrier(procs)
    results = ctx.Queue()
    ps = [ctx.Process(target=_racer, args=(root, w, rounds, barrier, results)) for w in range(procs)]
    for p in ps:
        p.start()
    got = []
    while len(got) < procs * rounds:
        got.append(results.get(timeout=30))
        assert got[-1][0] >= 0, f"process {got[-1][1]} failed: {got[-1][2]}"
    for p in ps:
        p.join(timeout=30)
        assert p.exitcode == 0
    winners = {}
    for r, who, won in got:
        if won:
            assert r not in winners, f"two processes won seq {r}"
            winners[r] = who
    assert sorted(winners) == list(range(rounds))
    storage = open_storage(root)
    for r, who in winners.items():
        ref = refs.Ref.from_json(storage.read(refs.ref_key("main", r)), "ref")
        assert ref.seq == r and ref.manifest == f"m-{who}-{r}"
    leftovers = [n for n in storage.list(f"{refs.BRANCHES}/main") if not n.endswith(".json") and n != "HEAD"]
    assert not leftovers, f"no temp files left: {leftovers}"


def test_head_hint_lagging_missing_or_garbage_still_finds_the_head(tmp_path) -> None:
    from arrowds.storage import open_storage
    from arrowds.table import refs as r

    st = open_storage(str(tmp_path / "ds"))
    for seq in range(5):
        assert r.publish(st, "main", seq - 1, f"m{seq}", commit=None, pending=None, changed=True)
    assert r.head(st, "main").manifest == "m4"
    st.write("refs/branches/main/HEAD", b"1")  # lagging: probing catches up
    assert r.head(st, "main").seq == 4
    st.delete("refs/branches/main/HEAD")  # missing: listing
    assert r.head(st, "main").seq == 4
    st.write("refs/branches/main/HEAD", b"garbage")
    assert r.head(st, "main").seq == 4
    st.write("refs/branches/main/HEAD", b"99")  # ahead of any ref: not trusted
    assert r.head(st, "main").seq == 4
    assert r.head(st, "nope") is None
