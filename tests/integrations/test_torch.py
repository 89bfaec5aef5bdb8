"""ds.pytorch(): every sample once per epoch across workers and ranks, seeded shuffles,
mid-epoch resume, projections, transforms, pinned versions."""

from __future__ import annotations

import json

import numpy as np
import pytest

import arrowds as ads
from tests.counting import CountingFileSystem
from tests.integrations.conftest import N, build

torch = pytest.importorskip("torch")

ROWS = N - 2


def _indices(loader) -> list[int]:
    return [i for batch in loader for i in batch["index"].tolist()]


@pytest.mark.parametrize("num_workers", [0, 2])
def test_in_order_without_shuffle(small, num_workers):
    loader = small.pytorch(batch_size=16, num_workers=num_workers, return_index=True)
    batches = list(loader)
    assert [i for b in batches for i in b["index"].tolist()] == list(range(ROWS))
    assert len(loader) == len(batches) == -(-ROWS // 16)
    first = batches[0]
    assert set(first) == {"images", "labels", "captions", "emb", "index"}
    assert first["images"].shape == (16, 16, 24, 3) and first["images"].dtype == torch.uint8
    assert torch.equal(first["images"][5], torch.from_numpy(small.images[5].numpy()))
    assert first["labels"].shape == (16, 1) and first["labels"].dtype == torch.int64
    assert first["labels"].ravel().tolist() == small.labels[:16].numpy().ravel().tolist()
    assert first["captions"] == small.captions[:16].text()
    assert torch.equal(first["emb"], torch.from_numpy(small.emb[:16].numpy()))


@pytest.mark.parametrize("num_workers", [0, 2])
def test_shuffle_once_per_epoch_seeded_and_new_each_epoch(small, num_workers):
    kw = dict(batch_size=8, shuffle=True, num_workers=num_workers, seed=7, return_index=True,
              tensors=["labels"], block_rows=16, buffer_size=32)
    loader = small.pytorch(**kw)
    e0, e1 = _indices(loader), _indices(loader)
    assert sorted(e0) == sorted(e1) == list(range(ROWS))
    assert e0 != list(range(ROWS)) and e0 != e1
    again = small.pytorch(**kw)
    assert _indices(again) == e0 and _indices(again) == e1
    assert _indices(small.pytorch(**{**kw, "seed": 8})) != e0


def test_no_seed_follows_torch_manual_seed(small):
    torch.manual_seed(3)
    a = _indices(small.pytorch(batch_size=10, shuffle=True, return_index=True, tensors=["labels"]))
    torch.manual_seed(3)
    b = _indices(small.pytorch(batch_size=10, shuffle=True, return_index=True, tensors=["labels"]))
    assert a == b and sorted(a) == list(range(ROWS))


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("num_workers", [0, 2])
def test_two_ranks_split_the_epoch(small, shuffle, num_workers):
    got = [_indices(small.pytorch(batch_size=8, shuffle=shuffle, seed=1, num_workers=num_workers,
                                  return_index=True, tensors=["labels"], rank=r, world_size=2,
                                  block_rows=8))
           for r in range(2)]
    assert not set(got[0]) & set(got[1])
    assert sorted(got[0] + got[1]) == list(range(ROWS))
    assert abs(len(got[0]) - len(got[1])) <= 8


@pytest.mark.parametrize("num_workers", [0, 2])
def test_resume_mid_epoch(small, num_workers):
    kw = dict(batch_size=8, shuffle=True, seed=5, num_workers=num_workers, return_index=True,
              block_rows=16, buffer_size=24)
    full = small.pytorch(**kw)
    _indices(full)  # epoch 0
    expected = _indices(full)  # epoch 1
    loader = small.pytorch(**kw)
    _indices(loader)
    seen = []
    for step, batch in enumerate(loader):
        seen.extend(batch["index"].tolist())
        if step == 4:
            state = json.loads(json.dumps(loader.state_dict()))
            break
    assert state["epoch"] == 1
    resumed = small.pytorch(**{**kw, "seed": None})  # the seed comes back with the state
    resumed.load_state_dict(state)
    rest = _indices(resumed)
    assert not set(seen) & set(rest)
    assert sorted(seen + rest) == list(range(ROWS))
    if num_workers == 0:
        assert seen + rest == expected
    assert resumed.epoch == 2
    assert sorted(_indices(resumed)) == list(range(ROWS))  # then whole epochs again


def test_resume_skips_without_decoding(small):
    decoded = []

    def count(img):
        decoded.append(1)
        return img

    kw = dict(batch_size=10, shuffle=True, seed=2, transform={"images": count}, return_index=True)
    loader = small.pytorch(**kw)
    it = iter(loader)
    seen = [i for _ in range(3) for i in next(it)["index"].tolist()]
    state = loader.state_dict()
    decoded.clear()
    resumed = small.pytorch(**kw)
    resumed.load_state_dict(state)
    rest = _indices(resumed)
    assert len(decoded) == len(rest) == ROWS - len(seen)
    with pytest.raises(ValueError, match="units"):
        small.pytorch(batch_size=10, num_workers=2).load_state_dict(state)


def test_transforms_index_decode_and_drop_last(small):
    loader = small.pytorch(batch_size=16, tensors=["images", "labels"], drop_last=True,
                           transform={"images": lambda a: a.astype(np.float32) / 255, "labels": None})
    batches = list(loader)
    assert len(batches) == ROWS // 16 and set(batches[0]) == {"images", "labels"}
    assert batches[0]["images"].dtype == torch.float32
    as_tuple = small.pytorch(batch_size=4, transform=lambda s: (s["images"], int(s["labels"][0])))
    img, lab = next(iter(as_tuple))
    assert img.shape == (4, 16, 24, 3) and lab.tolist() == small.labels[:4].numpy().ravel().tolist()
    raw = next(iter(small.pytorch(batch_size=3, decode=False, tensors=["images"])))
    assert raw["images"] == small.images[:3].tobytes()
    own = torch.utils.data.DataLoader(small[10:20].torch_dataset(tensors=["captions"], return_index=True),
                                      batch_size=4, )
    assert [c for b in own for c in b["captions"]] == small.captions[10:20].text()


def test_views_groups_and_collate_fn(small):
    view = small[[5, 1, 1, 30]]
    got = _indices(view.pytorch(batch_size=2, return_index=True, tensors=["labels"]))
    assert got == [5, 1, 1, 30]
    out = list(small[:10].pytorch(batch_size=5, tensors=["captions"], collate_fn=lambda s: len(s)))
    assert out == [5, 5]


def test_loader_is_pinned_to_its_version(tmp_path):
    ds = build(str(tmp_path / "ds"))
    loader = ds.pytorch(batch_size=50, tensors=["captions"])
    ds.extend({"images": [ds.images[0].numpy()], "labels": [1], "captions": ["late"],
               "emb": np.zeros((1, 4), np.float32)})
    ds.captions[0] = "changed"
    caps = [c for b in loader for c in b["captions"]]
    assert len(caps) == ROWS and caps[0] == "c0" and "late" not in caps
    with ds:
        ds.extend({"images": [ds.images[0].numpy()], "labels": [1], "captions": ["buffered"],
                   "emb": np.zeros((1, 4), np.float32)})
        caps = [c for b in ds.pytorch(batch_size=64, tensors=["captions"]) for c in b["captions"]]
    assert caps[-1] == "buffered"


def test_tensors_reads_only_those_columns(tmp_path):
    url = "countbytes://" + str(tmp_path / "ds")
    ds = build(url)
    image_bytes = sum(map(len, ds.images.tobytes()))
    ds = ads.load(url, read_only=True)
    CountingFileSystem.reset()
    labels = [x for b in ds.pytorch(batch_size=32, tensors=["labels"], shuffle=True, seed=0)
              for x in b["labels"].ravel().tolist()]
    assert sorted(labels) == sorted(ds.labels.numpy().ravel().tolist())
    assert CountingFileSystem.read_under(url) < 3 * 64 * 1024 + image_bytes / 10


def test_bad_arguments(small):
    with pytest.raises(ads.TensorDoesNotExistError):
        small.pytorch(tensors=["nope"])
    with pytest.raises(ValueError):
        small.pytorch(batch_size=0)
    with pytest.raises(ValueError):
        small.pytorch(rank=2, world_size=2)


def _rank_batches(ds, world, **kw):
    out = []
    for r in range(world):
        loader = ds.pytorch(rank=r, world_size=world, return_index=True, tensors=["labels"], **kw)
        batches = [b["index"].tolist() for b in loader]
        assert len(batches) == len(loader)
        out.append(batches)
    return out


@pytest.mark.parametrize("world", [2, 3])
@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.parametrize("shuffle", [False, True])
def test_ranks_yield_equal_batch_counts(small, world, drop_last, shuffle):
    """DDP needs every rank to take the same number of steps: shares are equal over rows
    (padded by repeating the first samples, or cut with drop_last), as DistributedSampler does."""
    for view, n in ((small, ROWS), (small[3:104], 101)):
        got = _rank_batches(view, world, batch_size=8, shuffle=shuffle, seed=4, drop_last=drop_last,
                            block_rows=16, buffer_size=16)
        counts = {len(b) for b in got}
        assert len(counts) == 1
        share = n // world if drop_last else -(-n // world)
        assert counts.pop() == (share // 8 if drop_last else -(-share // 8))
        flat = [i for rank in got for b in rank for i in b]
        visible = view.pytorch(batch_size=n, return_index=True, tensors=["labels"])
        ids = next(iter(visible))["index"].tolist()
        if drop_last:
            assert len(flat) == len(set(flat)) == world * (share // 8) * 8 and set(flat) <= set(ids)
        else:
            assert sorted(set(flat)) == sorted(ids) and len(flat) == world * share
            assert len(flat) - len(set(flat)) == world * share - n  # the padding repeats


def test_worker_split_keeps_the_rank_batch_count(small):
    """With workers, a rank's share is dealt in batch_size pieces: same count as without."""
    per = [[len(list(small.pytorch(batch_size=8, num_workers=nw, rank=r, world_size=3, tensors=["labels"],
                                  shuffle=True, seed=1)))
            for r in range(3)] for nw in (0, 2)]
    assert per[0] == per[1] == [5, 5, 5]  # ceil(ceil(118 / 3) / 8)


def test_images_of_several_shapes_and_scattered_rows(tmp_path, monkeypatch):
    from arrowds.dataset import read
    from tests.conftest import jpeg_bytes, photo

    ds = ads.empty(str(tmp_path / "mixed"))
    ds.create_tensor("images", htype="image", sample_compression="jpeg")
    sizes = [(16, 24)] * 6 + [(20, 24)] + [(16, 24)] * 5
    with ds:
        ds.images.extend([ads.read(jpeg_bytes(photo(i, h, w)), compression="jpeg")
                          for i, (h, w) in enumerate(sizes)])
    expect = [ds.images[i].numpy() for i in range(len(sizes))]
    batches = list(ds.pytorch(batch_size=6, return_index=True))
    assert isinstance(batches[0]["images"], torch.Tensor)  # one shape: decoded into one array
    assert isinstance(batches[1]["images"], list)  # two shapes: a list, as default_collate does
    for b in batches:
        for i, img in zip(b["index"].tolist(), b["images"]):
            assert np.array_equal(np.asarray(img), expect[i])
    monkeypatch.setattr(read, "_GAP", 0)  # every scattered row its own ranged read
    order = [11, 2, 2, 9, 0, 5]
    got = next(iter(ds[order].pytorch(batch_size=6, return_index=True)))
    assert got["index"].tolist() == order
    assert all(np.array_equal(got["images"][k].numpy(), expect[i]) for k, i in enumerate(order))


def test_corrupt_image_in_a_batch_names_tensor_and_index(tmp_path):
    from tests.conftest import jpeg_bytes, photo

    ds = ads.empty(str(tmp_path / "bad"))
    ds.create_tensor("images", htype="image", sample_compression="jpeg")
    good = jpeg_bytes(photo(0, 16, 24))
    bad = good[:200] + bytes(len(good) - 200)  # header intact, entropy data zeroed
    with ds:
        ds.images.extend([ads.read(b, compression="jpeg") for b in [good] * 5 + [bad] + [good] * 2])
    with pytest.raises(ads.errors.SampleDecodeError, match=r"images.*5|5.*images"):
        list(ds.pytorch(batch_size=4))


class _FirstBatchInWorker(torch.utils.data.Dataset):
    """Runs an IterableDataset's first batch inside a real DataLoader worker and reports, from
    there, whether its image column already lives in shared memory and how many objects the
    worker's garbage collector keeps frozen."""

    def __init__(self, it):
        self.it = it

    def __len__(self) -> int:
        return 1

    def __getitem__(self, i):
        import gc

        batch = next(iter(self.it))
        images = batch["images"]
        return {"shared": isinstance(images, torch.Tensor) and images.is_shared(),
                "frozen": gc.get_freeze_count(), "batch": batch}


@pytest.mark.parametrize("num_workers", [0, 2])
def test_torch_dataset_with_batch_size_gives_plain_batches_to_a_users_loader(small, num_workers):
    it = small.torch_dataset(batch_size=16, tensors=["labels"], return_index=True)
    loader = torch.utils.data.DataLoader(it, batch_size=None, num_workers=num_workers)
    batches = list(loader)
    assert all(type(b) is dict and set(b) == {"labels", "index"} for b in batches)
    assert sorted(i for b in batches for i in b["index"].tolist()) == list(range(ROWS))


def test_worker_batches_are_decoded_into_shared_memory(small):
    it = small.torch_dataset(batch_size=16, tensors=["images", "labels"], return_index=True)
    got = torch.utils.data.DataLoader(_FirstBatchInWorker(it), batch_size=None, num_workers=1)
    (out,) = list(got)
    assert out["shared"]  # made in shared memory: the hand-over sends a handle, not a copy
    assert out["frozen"] > 0  # the inherited heap is out of the worker's collections
    expect = next(iter(small.pytorch(batch_size=16, tensors=["images", "labels"], return_index=True)))
    assert out["batch"]["index"].tolist() == expect["index"].tolist()
    assert torch.equal(out["batch"]["images"], expect["images"])
    assert torch.equal(out["batch"]["labels"], expect["labels"])
    # the main process decodes into ordinary memory (nothing to hand over)
    assert not next(iter(small.pytorch(batch_size=16)))["images"].is_shared()


@pytest.mark.parametrize("dtype", ["uint8", "int16", "float32", "uint16"])
def test_shared_batch_arrays_keep_the_collated_dtype(dtype):
    from arrowds.integrations.torch import _column, _shared_array

    made: list = []
    arr = _shared_array((2, 3), np.dtype(dtype), made)
    arr[...] = np.arange(6).reshape(2, 3)
    col = _column(made[0] if made[0] is not None else arr)
    want = np.arange(6).reshape(2, 3).astype(np.int64 if dtype == "uint16" else dtype)
    assert col.numpy().dtype == want.dtype and np.array_equal(col.numpy(), want)
    assert col.is_shared() == (dtype != "uint16")  # uint16 becomes int64: a new array anyway
