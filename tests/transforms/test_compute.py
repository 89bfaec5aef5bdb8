"""@ads.compute / ads.compose over every scheduler: same outputs, same order, all or nothing."""

from __future__ import annotations

import os
import signal
import time
import uuid

import numpy as np
import pytest

import arrowds as ads
from tests.conftest import jpeg_bytes, photo

N = 300  # two slices for two workers


@ads.compute
def repeat(x, samples_out, base=0):
    """x % 3 outputs per input: 0, 1 or 2 rows."""
    for k in range(x % 3):
        samples_out.append({"values": base + x, "names": f"{x}-{k}"})


@ads.compute
def scale(sample_in, samples_out, factor=2):
    samples_out.values.append(sample_in.values.numpy() * factor)
    samples_out.names.append(sample_in.names.text() + "!")


@ads.compute
def fail_at(x, samples_out, bad=37):
    if x == bad:
        raise ValueError(f"cannot handle {x}")
    samples_out.append({"values": x, "names": str(x)})


@ads.compute
def wrong_shape_at(x, samples_out, bad=37):
    samples_out.values.append(np.zeros((3, 3)) if x == bad else np.zeros(2))
    samples_out.names.append(str(x))


@ads.compute
def die_at(x, samples_out, bad=37):
    if x == bad:
        os._exit(3)
    samples_out.append({"values": x, "names": str(x)})


@ads.compute
def interrupt_at(x, samples_out, bad=37, driver=None):
    """Ctrl-C in the driver at input ``bad`` (its pid given for Ray workers)."""
    if x == bad:
        pid = driver or (os.getpid() if os.environ.get("ADS_TEST_SERIAL") else os.getppid())
        os.kill(pid, signal.SIGINT)
        time.sleep(2)  # the driver stops this worker
    samples_out.append({"values": x, "names": str(x)})


@ads.compute
def flip(sample_in, samples_out):
    samples_out.images.append(sample_in.images.numpy()[:, ::-1])
    samples_out.labels.append(sample_in.labels.numpy())


@ads.compute
def label_names(x, samples_out):
    samples_out.labels.append(["cat", "dog", "bird"][x % 3])


def mem() -> str:
    return f"mem://transforms-{uuid.uuid4().hex}"


def target(url: str) -> ads.Dataset:
    ds = ads.empty(url)
    ds.create_tensor("values")
    ds.create_tensor("names", htype="text")
    return ds


def expected_repeat(n: int, base: int = 0) -> tuple[list[int], list[str]]:
    rows = [(base + x, f"{x}-{k}") for x in range(n) for k in range(x % 3)]
    return [v for v, _ in rows], [s for _, s in rows]


def contents(ds: ads.Dataset) -> tuple[list[int], list[str]]:
    return ds.values.numpy().ravel().tolist(), [ds.names[i].text() for i in range(len(ds))]


def snapshot(ds: ads.Dataset) -> tuple:
    reopened = ads.load(ds.path)
    return (len(reopened), reopened._core.base_ref.seq, reopened._core.manifest.to_json())


def test_serial_and_threaded_match_in_memory():
    want = expected_repeat(N, 5)
    for workers in (0, 2):
        ds = target(mem())
        repeat(base=5).eval(list(range(N)), ds, num_workers=workers, progressbar=False)
        assert contents(ds) == want


def test_outputs_in_input_order(scheduler, tmp_path):
    ds = target(str(tmp_path / "out"))
    repeat(base=5).eval(range(N), ds, num_workers=2, scheduler=scheduler, progressbar=False)
    assert contents(ds) == expected_repeat(N, 5)
    assert len(ds._core.manifest.fragments) >= 2  # written by more than one worker
    assert contents(ads.load(ds.path)) == expected_repeat(N, 5)


def test_dataset_in_dataset_out(scheduler, tmp_path):
    src = ads.empty(str(tmp_path / "src"))
    src.create_tensor("images", htype="image", sample_compression="jpeg")
    src.create_tensor("labels", htype="class_label", class_names=["a", "b", "c"])
    src.extend({"images": [ads.read(jpeg_bytes(photo(i, 16, 20)), compression="jpeg") for i in range(40)],
                "labels": [i % 3 for i in range(40)]})
    out = ads.empty(str(tmp_path / "out"))
    out.create_tensor("images", htype="image", sample_compression="png")
    out.create_tensor("labels", htype="class_label", class_names=["a", "b", "c"])
    view = src[5:35]
    flip().eval(view, out, num_workers=2, scheduler=scheduler, progressbar=False)
    assert len(out) == 30
    np.testing.assert_array_equal(out.images.numpy(), src.images[5:35].numpy()[:, :, ::-1])
    np.testing.assert_array_equal(out.labels.numpy(), src.labels[5:35].numpy())


def test_compose(scheduler, tmp_path):
    ds = target(str(tmp_path / "out"))
    ads.compose([repeat(base=1), scale(factor=10)]).eval(list(range(N)), ds, num_workers=2,
                                                         scheduler=scheduler, progressbar=False)
    values, names = expected_repeat(N, 1)
    assert contents(ds) == ([v * 10 for v in values], [s + "!" for s in names])


def test_failure_names_index_and_leaves_target_unchanged(scheduler, tmp_path):
    ds = target(str(tmp_path / "out"))
    ds.extend({"values": [1, 2], "names": ["a", "b"]})
    before = snapshot(ds)
    with pytest.raises(ads.TransformError, match="input 237") as info:
        fail_at(bad=237).eval(list(range(N)), ds, num_workers=2, scheduler=scheduler, progressbar=False)
    assert info.value.index == 237
    assert info.value.original_type == "ValueError"
    assert "transform fail_at failed on input 237 of data_in: ValueError: cannot handle 237" \
        in str(info.value)
    assert snapshot(ds) == before
    assert contents(ds) == ([1, 2], ["a", "b"])
    ds.extend({"values": [3], "names": ["c"]})  # the handle is still usable
    assert contents(ads.load(ds.path)) == ([1, 2, 3], ["a", "b", "c"])


def test_bad_sample_names_its_input(scheduler, tmp_path):
    ds = target(str(tmp_path / "out"))
    before = snapshot(ds)
    with pytest.raises(ads.TransformError) as info:
        wrong_shape_at(bad=201).eval(list(range(N)), ds, num_workers=2, scheduler=scheduler,
                                     progressbar=False)
    assert info.value.index == 201
    assert "values" in str(info.value)
    assert snapshot(ds) == before


@pytest.mark.parametrize("sched", ["processed", "ray"])
def test_killed_worker_fails_the_eval(sched, tmp_path, request):
    if sched == "ray":
        request.getfixturevalue("ray_cluster")
    ds = target(str(tmp_path / "out"))
    before = snapshot(ds)
    with pytest.raises(ads.TransformError) as info:
        die_at(bad=37).eval(list(range(N)), ds, num_workers=2, scheduler=sched, progressbar=False)
    msg = str(info.value)
    assert info.value.index == 37 and "input 37 of data_in" in msg and "die_at" in msg
    if sched == "processed":
        assert "died (exit code 3)" in msg
    else:  # the worker's exception
        assert "Ray worker" in msg and "WorkerCrashedError" in msg
    assert snapshot(ds) == before


@pytest.mark.parametrize("sched", ["serial", "threaded", "processed", "ray"])
def test_ctrl_c_stops_without_commit(sched, tmp_path, monkeypatch, request):
    if sched in ("serial", "threaded"):
        monkeypatch.setenv("ADS_TEST_SERIAL", "1")  # the signal goes to this process
    if sched == "ray":
        request.getfixturevalue("ray_cluster")
    ds = target(str(tmp_path / "out"))
    before = snapshot(ds)
    with pytest.raises(KeyboardInterrupt):
        interrupt_at(bad=20, driver=os.getpid() if sched == "ray" else None).eval(
            list(range(N)), ds, num_workers=2, scheduler=sched, progressbar=False)
    assert snapshot(ds) == before
    repeat().eval(list(range(10)), ds, num_workers=2, scheduler="threaded", progressbar=False)
    assert contents(ds) == expected_repeat(10)


@pytest.mark.parametrize("sched", ["processed", "ray"])
def test_memory_target_needs_threads(sched):
    ds = target(mem())
    with pytest.raises(ValueError, match="memory"):
        repeat().eval([1, 2], ds, num_workers=2, scheduler=sched, progressbar=False)


def test_inside_with_block_publishes_at_exit(tmp_path):
    ds = target(str(tmp_path / "out"))
    with ds:
        ds.extend({"values": [-1], "names": ["first"]})
        repeat().eval(list(range(6)), ds, num_workers=2, progressbar=False)
        assert len(ads.load(ds.path)) == 0
    values, names = expected_repeat(6)
    assert contents(ads.load(ds.path)) == ([-1, *values], ["first", *names])


def test_new_class_names(scheduler, tmp_path):
    ds = ads.empty(str(tmp_path / "out"))
    ds.create_tensor("labels", htype="class_label")
    label_names().eval(list(range(N)), ds, num_workers=2, scheduler=scheduler, progressbar=False)
    assert ds.labels.info.class_names == ["cat", "dog", "bird"]
    assert ds.labels.numpy().ravel().tolist() == [x % 3 for x in range(N)]


def _half_label(x: int) -> str:
    return ["dog", "cat"][x % 2] if x < N // 2 else ["bird", "cat", "dog"][x % 3]


@ads.compute
def labels_by_half(x, samples_out):
    """Each half of the input discovers class names in its own order."""
    first = x < N // 2
    samples_out.labels.append(_half_label(x))
    samples_out.tags.append(["cat", "fish"] if x % 4 == 0 else (["owl"] if first else ["fox", "owl"]))


def test_slices_that_number_new_class_names_differently_are_renumbered(scheduler, tmp_path):
    def made(url: str, workers: int, sched: str) -> ads.Dataset:
        ds = ads.empty(url)
        ds.create_tensor("labels", htype="class_label", class_names=["cat"])
        ds.create_tensor("tags", htype="class_label")
        labels_by_half().eval(list(range(N)), ds, num_workers=workers, scheduler=sched, progressbar=False)
        return ds

    want = made(str(tmp_path / "serial"), 0, "serial")
    got = made(str(tmp_path / "out"), 2, scheduler)
    for name in ("labels", "tags"):
        assert got[name].info.class_names == want[name].info.class_names
        ids = [[a.tolist() for a in ds[name].numpy(aslist=True)] for ds in (got, want)]
        assert ids[0] == ids[1]
    assert want.labels.info.class_names == ["cat", "dog", "bird"]
    names = want.labels.info.class_names
    assert [names[int(i)] for i in got.labels.numpy().ravel()] == [_half_label(x) for x in range(N)]
    files = {f.file for f in got._core.manifest.fragments}
    on_disk = {f"data/{p.name}" for p in (tmp_path / "out" / "data").iterdir()}
    assert on_disk == files  # the slices' first files were removed


def test_skip_ok(tmp_path):
    ds = target(str(tmp_path / "out"))

    @ads.compute
    def only_values(x, samples_out):
        samples_out.values.append(x)

    with pytest.raises(ads.TransformError, match="skip_ok"):
        only_values().eval([1, 2], ds, progressbar=False)
    only_values().eval([1, 2], ds, num_workers=2, skip_ok=True, progressbar=False)
    assert ds.values.numpy().ravel().tolist() == [1, 2]
    assert len(ds.names) == 0


@ads.compute
def grow(sample_in, samples_out):
    """Row i becomes i % 3 rows with growing arrays (shape bounds must follow the new rows)."""
    v = int(sample_in.values.numpy()[0])
    for k in range(v % 3):
        samples_out.append({"values": np.full(k + 1, v), "names": f"{sample_in.names.text()}.{k}"})


@ads.compute
def fail_row(sample_in, samples_out, bad=237):
    v = int(sample_in.values.numpy()[0])
    if v == bad:
        raise ValueError(f"cannot handle {v}")
    samples_out.append({"values": np.full(2, v), "names": "x"})


def test_in_place(scheduler, tmp_path):
    ds = ads.empty(str(tmp_path / "ds"))
    ds.create_tensor("values")
    ds.create_tensor("names", htype="text")
    ds.extend({"values": [np.full(5, i) for i in range(N)], "names": [f"n{i}" for i in range(N)]})
    old = ds._core.manifest
    first_version = snapshot(ds)
    with pytest.raises(ads.TransformError, match="input 237"):
        fail_row(bad=237).eval(ds, num_workers=2, scheduler=scheduler, progressbar=False)
    assert snapshot(ds) == first_version
    grow().eval(ds, num_workers=2, scheduler=scheduler, progressbar=False)
    want = [(i, k) for i in range(N) for k in range(i % 3)]
    for got in (ds, ads.load(ds.path)):
        assert len(got) == len(want)
        assert [got.names[j].text() for j in range(len(want))] == [f"n{i}.{k}" for i, k in want]
        assert [got.values[j].numpy().tolist() for j in (0, 2, len(want) - 1)] == \
            [[1], [2, 2], [N - 1, N - 1]]
        assert got.values.shape == (len(want), None)  # bounds of the new rows only
        assert got._core.manifest.spec("values").max_shape == (2,)
    assert not set(f.file for f in ds._core.manifest.fragments) & set(f.file for f in old.fragments)


def test_in_place_needs_a_whole_writable_dataset(tmp_path):
    ds = target(str(tmp_path / "ds"))
    ds.extend({"values": [1, 2], "names": ["a", "b"]})
    with pytest.raises(ValueError, match="not a view"):
        scale().eval(ds[:1], progressbar=False)
    with pytest.raises(ValueError, match="skip_ok"):
        scale().eval(ds, skip_ok=True, progressbar=False)
    with pytest.raises(ads.ArrowdsError):
        scale().eval(ads.load(ds.path, read_only=True), progressbar=False)
    scale(factor=3).eval(ds, progressbar=False)
    assert contents(ds) == ([3, 6], ["a!", "b!"])


def test_progress_bar(scheduler, tmp_path, capsys):
    ds = target(str(tmp_path / "out"))
    repeat().eval(list(range(N)), ds, num_workers=2, scheduler=scheduler)
    assert f"{N}/{N}" in capsys.readouterr().err


def test_bad_arguments():
    ds = target(mem())
    with pytest.raises(ValueError, match="scheduler"):
        repeat().eval([1], ds, scheduler="dask")
    with pytest.raises(TypeError, match="in place"):
        repeat().eval([1])
    with pytest.raises(TypeError, match=r"repeat\(\)"):
        ads.compose([repeat])
    with pytest.raises(ads.TensorDoesNotExistError):
        fail = ads.compute(lambda x, out: out["nope"].append(x))
        try:
            fail().eval([1], ds, progressbar=False)
        except ads.TransformError as e:
            raise e.original from None


@ads.compute
def describe_row(sample_in, samples_out):
    samples_out.values.append(np.asarray(sample_in.images.shape) + sample_in.labels.numpy()[0])
    samples_out.names.append(sample_in.captions.text() + str(sample_in["captions"].numpy()[0]))


def test_sample_in_reads_like_a_row_view():
    src = ads.empty(mem())
    src.create_tensor("images", htype="image", sample_compression="png")
    src.create_tensor("labels")
    src.create_tensor("captions", htype="text")
    src.extend({"images": [np.zeros((4 + i, 3, 3), np.uint8) for i in range(70)],
                "labels": list(range(70)), "captions": [f"c{i}" for i in range(70)]})
    out = target(mem())
    describe_row().eval(src[::-1], out, progressbar=False)
    rows = [src[i] for i in range(69, -1, -1)]
    assert out.values.numpy().tolist() == [[4 + i + i, 3 + i, 3 + i] for i in range(69, -1, -1)]
    assert [out.names[k].text() for k in range(70)] == [r.captions.text() * 2 for r in rows]


def test_samples_out_names_that_look_like_its_own_attributes():
    from arrowds.transforms.outputs import SamplesOut

    out = SamplesOut(["_tensors", "append", "images", "boxes/xyxy"])
    out.images.append(1)
    out["_tensors"].append(2)
    out["append"].append(3)
    out.boxes.xyxy.append(4)
    out.append({"images": 5, "_tensors": 6, "append": 7, "boxes/xyxy": 8})
    assert out.lengths() == {"_tensors": 2, "append": 2, "images": 2, "boxes/xyxy": 2}
    assert out.take()["append"] == [3, 7]


@ads.compute
def uneven_at(x, samples_out, bad=150, names_given=2):
    """Input ``bad`` gives ``names`` ``names_given`` samples but ``values`` one."""
    samples_out.values.append(x)
    for _ in range(names_given if x == bad else 1):
        samples_out.names.append(str(x))


@pytest.mark.parametrize("workers", [0, 2])
@pytest.mark.parametrize("given, message", [(2, "different numbers of samples"),
                                            (0, r"gave no sample to \['names'\]")])
def test_uneven_outputs_name_their_input(workers, given, message):
    ds = target(mem())
    with pytest.raises(ads.TransformError, match=message) as info:
        uneven_at(bad=150, names_given=given).eval(list(range(N)), ds, num_workers=workers,
                                                   progressbar=False)
    assert info.value.index == 150 and "input 150" in str(info.value)
    assert len(ds) == 0


def test_skip_ok_needs_the_same_tensors_for_every_input():
    @ads.compute
    def switch(x, samples_out):
        (samples_out.values if x < 200 else samples_out.names).append(x if x < 200 else str(x))

    ds = target(mem())
    with pytest.raises(ads.TransformError, match="fill the same tensors") as info:
        switch().eval(list(range(N)), ds, skip_ok=True, progressbar=False)
    assert info.value.index == 200
    assert len(ds) == 0


def test_progress_is_reported_in_batches_and_in_full(monkeypatch):
    from arrowds.transforms import worker

    ds = target(mem())
    job = worker.Job((repeat(),), worker.Target(ds.path, {}, ds._core.manifest,
                                                {n: n for n in ds.tensors}), list(range(N)))
    calls: list[int] = []
    assert worker.run_chunk(job, 0, 0, N, calls.append).error is None
    assert sum(calls) == N and len(calls) < N // 10  # a fast transform: a few reports, not one per input
    monkeypatch.setattr(worker, "REPORT_EVERY", 0.0)
    calls.clear()
    assert worker.run_chunk(job, 0, 10, 40, calls.append).error is None
    assert calls == [1] * 30


@ads.compute
def copy_row(sample_in, samples_out):
    samples_out.images.append(ads.read(sample_in.images.tobytes(), compression="jpeg"))
    samples_out.labels.append(sample_in.labels.numpy())
    samples_out.captions.append(sample_in.captions.text())


def test_copied_jpegs_are_stored_unchanged(scheduler, tmp_path):
    """``sample_in.<tensor>.tobytes()`` / ``.text()`` come from the prefetched blocks, and the
    outputs (several prepare batches per worker) are written with the images laid out direct."""
    n = 700
    blobs = [jpeg_bytes(photo(i % 11, 16 + i % 5, 20)) for i in range(n)]
    src = ads.empty(str(tmp_path / "src"))
    src.create_tensor("images", htype="image", sample_compression="jpeg")
    src.create_tensor("labels", htype="class_label")
    src.create_tensor("captions", htype="text")
    src.extend({"images": [ads.read(b, compression="jpeg") for b in blobs], "labels": list(range(n)),
                "captions": [f"c{i}" for i in range(n)]})
    out = ads.empty(str(tmp_path / "out"))
    out.create_tensor("images", htype="image", sample_compression="jpeg")
    out.create_tensor("labels", htype="class_label")
    out.create_tensor("captions", htype="text")
    copy_row().eval(src[::-1], out, num_workers=2, scheduler=scheduler, progressbar=False)
    for got in (out, ads.load(out.path)):
        assert got.images.tobytes() == blobs[::-1]
        assert got.labels.numpy().ravel().tolist() == list(range(n))[::-1]
        assert [got.captions[i].text() for i in (0, 300, n - 1)] == [f"c{n - 1}", f"c{n - 301}", "c0"]
    column = out._core.manifest.spec("images").column
    assert all(out._core.reader.is_direct(f.file, column) for f in out._core.manifest.fragments)


@ads.compute
def read_labels_as(sample_in, samples_out, how="tobytes"):
    samples_out.values.append(len(getattr(sample_in.labels, how)()))
    samples_out.names.append("x")


@pytest.mark.parametrize("how, message", [("tobytes", "tensor 'labels' stores no compressed media"),
                                          ("text", r"\.text\(\) reads text tensors")])
def test_sample_in_media_and_text_reads_refuse_other_tensors(how, message):
    src = ads.empty(mem())
    src.create_tensor("labels")
    src.extend({"labels": [1, 2]})
    with pytest.raises(ads.TransformError, match=f"input 0 of data_in: TypeError: .*{message}"):
        read_labels_as(how=how).eval(src, target(mem()), progressbar=False)


@ads.compute
def mean_pixel(sample_in, samples_out):
    samples_out.values.append(int(sample_in.images.numpy().astype(np.int64).sum()))
    samples_out.names.append(str(sample_in.images.numpy().shape))


@pytest.mark.parametrize("gray", [False, True])
def test_sample_in_decodes_like_the_dataset_and_names_corrupt_samples(gray, tmp_path):
    """Images of one stored shape are decoded without their header walk (``decode_shaped``):
    the arrays are those of ``ds.images[i].numpy()`` (gray ones H x W x 1), and a corrupt
    sample still fails with the tensor and index named."""
    images = [photo(i, 16, 20)[:, :, :1] if gray else photo(i, 16, 20) for i in range(6)]
    blobs = [jpeg_bytes(im[:, :, 0] if gray else im) for im in images]
    src = ads.empty(str(tmp_path / "src"))
    src.create_tensor("images", htype="image", sample_compression="jpeg")
    src.extend({"images": [ads.read(b, compression="jpeg") for b in blobs]})
    assert src._core.manifest.spec("images").max_shape == (16, 20, 1 if gray else 3)
    out = target(str(tmp_path / "out"))
    mean_pixel().eval(src, out, progressbar=False)
    want = [src.images[i].numpy() for i in range(6)]
    assert out.values.numpy().ravel().tolist() == [int(w.astype(np.int64).sum()) for w in want]
    assert {out.names[i].text() for i in range(6)} == {str((16, 20, 1 if gray else 3))}

    src.append({"images": ads.read(blobs[0][: len(blobs[0]) // 2], compression="jpeg")})  # truncated
    src.flush()
    with pytest.raises(ads.TransformError, match=r"input 6 of data_in: SampleDecodeError: .*tensor "
                                                 r"'images', index 6"):
        mean_pixel().eval(src, target(str(tmp_path / "out2")), progressbar=False)
