"""Worker batches handed over in reusable shared-memory slots: what a batch holds survives the
hand-over whatever the user keeps, a slot is reused only once nothing of its batch is left,
and anything that does not fit goes PyTorch's own way."""

from __future__ import annotations

import gc
from collections import namedtuple

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from arrowds.integrations.torch_slots import Packed, SlotReader, SlotWriter  # noqa: E402

Pair = namedtuple("Pair", "a b")


def _batch(k: int) -> dict:
    return {"images": torch.full((4, 5, 6, 3), k, dtype=torch.uint8),
            "labels": torch.arange(4) + k,
            "flags": torch.tensor([True, False, k % 2 == 0]),
            "half": torch.full((2, 3), float(k), dtype=torch.bfloat16),
            "scalar": torch.tensor(float(k)),
            "empty": torch.zeros((0, 3)),
            "numpy": np.full((2, 2), k, np.int16),
            "nested": [Pair(torch.ones(2) * k, "text"), (np.arange(3) + k, None)],
            "words": ["a", "b"]}


def _same(x, y) -> bool:
    if isinstance(x, torch.Tensor):
        return type(y) is torch.Tensor and x.dtype == y.dtype and x.shape == y.shape and torch.equal(x, y)
    if isinstance(x, np.ndarray):
        return type(y) is np.ndarray and x.dtype == y.dtype and np.array_equal(x, y)
    if isinstance(x, dict):
        return type(y) is dict and x.keys() == y.keys() and all(_same(x[k], y[k]) for k in x)
    if isinstance(x, (list, tuple)):
        return type(x) is type(y) and len(x) == len(y) and all(_same(a, b) for a, b in zip(x, y))
    return x == y


def _send(writer: SlotWriter, batch) -> Packed:
    writer.begin()
    return writer.pack(batch)


def test_round_trip_keeps_structure_types_and_values():
    writer, reader = SlotWriter(3), SlotReader()
    packed = _send(writer, _batch(1))
    assert isinstance(packed, Packed) and packed.arena is not None
    assert packed.payload["words"] == ["a", "b"]  # not arrays: sent as they are
    got = reader.unpack(packed)
    assert _same(got, _batch(1))
    later = _send(writer, _batch(2))
    assert later.arena is None  # the arena went over once
    assert _same(reader.unpack(later), _batch(2)) and _same(got, _batch(1))


def test_a_slot_is_reused_only_when_nothing_of_its_batch_is_left():
    writer, reader = SlotWriter(2), SlotReader()
    first = reader.unpack(_send(writer, _batch(1)))
    view = first["images"][1:3]  # a view keeps the slot
    del first
    gc.collect()
    second = reader.unpack(_send(writer, _batch(2)))
    assert _same(second, _batch(2))
    assert not isinstance(_send(writer, _batch(3)), Packed)  # both slots taken: PyTorch's way
    assert int(view.max()) == 1 and int(view.min()) == 1
    del view
    third = _send(writer, _batch(4))
    assert isinstance(third, Packed) and third.slot == 0
    assert _same(reader.unpack(third), _batch(4)) and _same(second, _batch(2))
    del second
    numpy_only = reader.unpack(_send(writer, _batch(5)))["numpy"]  # NumPy arrays hold it too
    kept = reader.unpack(_send(writer, _batch(6)))
    assert not isinstance(_send(writer, _batch(7)), Packed)
    assert numpy_only.tolist() == [[5, 5], [5, 5]] and _same(kept, _batch(6))
    del numpy_only
    assert _send(writer, _batch(8)).slot == 0


def test_arrays_decoded_into_the_slot_are_not_copied():
    writer, reader = SlotWriter(2), SlotReader()
    reader.unpack(_send(writer, {"x": torch.zeros(8)}))  # makes the arena (8 floats a batch)
    writer.begin()
    arr = writer.alloc((8,), np.float32)
    arr[:] = np.arange(8)
    tensor = torch.from_numpy(arr)
    packed = writer.pack({"x": tensor, "y": torch.ones(2)})
    assert packed.payload["x"].offset == arr.ctypes.data - writer.arena.data_ptr()
    got = reader.unpack(packed)
    assert got["x"].tolist() == list(range(8)) and got["y"].tolist() == [1, 1]


def test_a_bigger_batch_gets_a_bigger_arena_and_the_old_batches_stay(monkeypatch):
    writer, reader = SlotWriter(2), SlotReader()
    small = reader.unpack(_send(writer, {"x": torch.zeros(4)}))
    first = writer.token
    writer.begin()
    out = writer.alloc((100_000,), np.int64)  # no room in a slot: ordinary memory
    assert not writer.arena.data_ptr() <= out.ctypes.data < writer.arena.data_ptr() + writer.arena.numel()
    big = torch.arange(100_000)
    packed = writer.pack({"x": torch.ones(4), "big": big})
    assert packed.arena is not None and packed.token != first and packed.token[:2] == first[:2]
    got = reader.unpack(packed)
    assert torch.equal(got["big"], big) and got["x"].tolist() == [1] * 4
    assert small["x"].tolist() == [0] * 4 and first not in reader._arenas  # kept by its batch
    again = _send(writer, {"x": torch.ones(4), "big": big})  # fits the new slots: no new arena
    assert again.arena is None and torch.equal(reader.unpack(again)["big"], big)
    monkeypatch.setattr("arrowds.integrations.torch_slots._MAX_SLOT_BYTES", 1 << 20)
    huge = torch.zeros(1 << 20)  # 4 MiB: over the limit, PyTorch's way
    assert _send(writer, {"huge": huge})["huge"] is huge
    assert writer._flags.tolist().count(1) == 1  # only `got`'s slot: the one begin() took is free again
    plain = SlotWriter(2)
    assert plain.pack(["no arrays"]) == ["no arrays"] and plain.arena is None


def test_bad_slot_count_and_unknown_arena():
    with pytest.raises(ValueError, match="slots"):
        SlotWriter(0)
    writer = SlotWriter(1)
    _send(writer, {"x": torch.zeros(2)})
    writer._flags[:] = 0
    with pytest.raises(RuntimeError, match="arrived before the arena"):
        SlotReader().unpack(_send(writer, {"x": torch.zeros(2)}))


# -- through ds.pytorch(num_workers=2) -------------------------------------------------------
def _expected(ds, index: list[int]) -> tuple[np.ndarray, np.ndarray]:
    return np.stack([ds.images[i].numpy() for i in index]), np.array([ds.labels[i].numpy()[0] for i in index])


def test_workers_reuse_slots_when_batches_are_dropped(small):
    loader = small.pytorch(batch_size=8, shuffle=True, seed=3, num_workers=2, return_index=True,
                           tensors=["images", "labels"])
    seen, addresses = [], set()
    for batch in loader:
        index = batch["index"].tolist()
        images, labels = _expected(small, index)
        assert np.array_equal(batch["images"].numpy(), images)
        assert batch["labels"].ravel().tolist() == labels.tolist()
        seen += index
        addresses.add(batch["images"].data_ptr())
    assert sorted(seen) == list(range(len(small)))
    assert loader._slot_reader.packed == len(loader)  # every batch came through a slot
    assert len(addresses) <= 2 * (loader.prefetch_factor + 3)


@pytest.mark.parametrize("transform", [None, "per-tensor"])
def test_kept_batches_stay_intact(small, transform):
    tf = {"images": lambda im: im[:, ::-1].copy()} if transform else None
    loader = small.pytorch(batch_size=4, num_workers=2, return_index=True, transform=tf,
                           tensors=["images", "labels", "captions"])
    kept = list(loader)  # slots run out: the rest go PyTorch's way, nothing is overwritten
    assert 0 < loader._slot_reader.packed < len(kept)
    for batch in kept:
        images, labels = _expected(small, batch["index"].tolist())
        if transform:
            images = images[:, :, ::-1]
        assert np.array_equal(np.asarray(batch["images"]), images)
        assert batch["labels"].ravel().tolist() == labels.tolist()
        assert batch["captions"] == [small.captions[i].text() for i in batch["index"].tolist()]


def test_no_slots_with_pinned_memory_or_in_process(small):
    loader = small.pytorch(batch_size=8, num_workers=0)
    list(loader)
    assert loader.dataset._slots == 0 and loader._slot_reader.packed == 0
    with pytest.warns(UserWarning):  # no accelerator here: torch warns and does not pin
        pinned = small.pytorch(batch_size=8, num_workers=2, pin_memory=True, tensors=["labels"])
        assert len(list(pinned)) == len(pinned)
    assert pinned.dataset._slots == 0 and pinned._slot_reader.packed == 0


def test_samples_of_growing_shapes_all_come_through_slots():
    import arrowds as ads

    ds = ads.empty(f"mem://slots-{np.random.default_rng().integers(1 << 62)}")
    ds.create_tensor("x", dtype="float32")
    ds.x.extend([np.full((k + 1, 3), k, np.float32) for k in range(64)])  # later batches are bigger
    loader = ds.pytorch(batch_size=8, num_workers=2, return_index=True)
    for batch in loader:
        assert [a.shape[0] for a in batch["x"]] == [i + 1 for i in batch["index"].tolist()]
        assert all(float(a.max()) == i for a, i in zip(batch["x"], batch["index"].tolist()))
    assert loader._slot_reader.packed == len(loader)
