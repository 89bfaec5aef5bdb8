"""ads.features: each feature's tensor, encoding, errors and features.json round trip."""

from __future__ import annotations

import io
import json
import uuid

import numpy as np
import pyarrow as pa
import pytest
from PIL import Image as PILImage

import arrowds as ads
from arrowds.builders import features as F
from arrowds.dataset.encoded import extend_encoded
from arrowds.media import get_codec


def write_features(fd: F.FeaturesDict, examples: list[dict]):
    """Encode examples the way the writer does (cells -> stored Arrow columns -> the dataset's
    write buffer) and read them back."""
    ds = ads.empty(f"mem://feat-{uuid.uuid4().hex}")
    fd.create_tensors(ds)
    cells = [fd.encode_cells(e) for e in examples]
    extend_encoded(ds, {name: leaf.to_encoded([c[name] for c in cells]) for name, leaf in fd.leaves.items()})
    return ds


def png(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    PILImage.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def test_every_feature_maps_to_its_htype():
    fd = F.FeaturesDict({
        "image": F.Image(shape=(None, None, 3)), "label": F.ClassLabel(names=["a", "b"]),
        "text": F.Text(), "emb": F.Tensor(shape=(3,), dtype="float32"), "n": F.Scalar(np.int64),
        "audio": F.Audio(sample_rate=16000), "video": F.Video(shape=(None, 4, 4, 3)),
        "box": F.BBoxFeature(), "labels": F.Sequence(F.ClassLabel(num_classes=3)),
        "tags": F.Sequence(F.Text()), "objects": F.Sequence({"bbox": F.BBoxFeature(), "area": np.float32}),
    })
    ds = ads.empty(f"mem://h-{uuid.uuid4().hex}")
    fd.create_tensors(ds)
    htypes = {name: t.htype for name, t in ds.tensors.items()}
    assert htypes == {"image": "image", "label": "class_label", "text": "text", "emb": "generic",
                      "n": "generic", "audio": "audio", "video": "video", "box": "bbox",
                      "labels": "class_label", "tags": "list", "objects/bbox": "bbox",
                      "objects/area": "generic"}
    assert ds.label.info.class_names == ["a", "b"]
    assert ds.labels.info.class_names == ["0", "1", "2"]
    assert ds.audio.info.sample_rate == 16000
    tfds_boxes = {"type": "fractional", "mode": "TLBR"}  # ymin, xmin, ymax, xmax in [0, 1]
    assert ds.box.info.coords == tfds_boxes and ds["objects/bbox"].info.coords == tfds_boxes


def test_values_round_trip_through_a_dataset(tmp_path):
    rgb = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
    (tmp_path / "x.png").write_bytes(png(rgb))
    fd = F.FeaturesDict({
        "image": F.Image(shape=(4, 5, 3)), "label": F.ClassLabel(names=["cat", "dog"]), "text": F.Text(),
        "emb": F.Tensor(shape=(2, 2), dtype="float32"), "var": F.Tensor(shape=(None,), dtype="int16"),
        "n": np.int64, "seq": F.Sequence(F.ClassLabel(names=["x", "y", "z"])),
        "objects": F.Sequence({"bbox": F.BBoxFeature(), "kind": F.Text()}),
    })
    examples = [
        {"image": rgb, "label": "dog", "text": b"caf\xc3\xa9", "emb": np.eye(2), "var": [1, 2, 3],
         "n": 7, "seq": ["z", "x"], "objects": [{"bbox": [0, 0, 0.5, 1], "kind": "a"},
                                                {"bbox": [0.1, 0.1, 0.2, 0.2], "kind": "b"}]},
        {"image": tmp_path / "x.png", "label": 0, "text": "two", "emb": np.zeros((2, 2)), "var": [],
         "n": -1, "seq": [], "objects": {"bbox": [], "kind": []}},
    ]
    ds = write_features(fd, examples)
    assert (ds.image.numpy() == rgb).all()
    assert ds.label.numpy().ravel().tolist() == [1, 0]
    assert ds.text[0].text() == "café"
    assert ds.emb.numpy().tolist() == [np.eye(2).tolist(), np.zeros((2, 2)).tolist()]
    assert [v.tolist() for v in ds.var.numpy(aslist=True)] == [[1, 2, 3], []]
    assert ds.n.numpy().ravel().tolist() == [7, -1]
    assert [v.tolist() for v in ds.seq.numpy(aslist=True)] == [[2, 0], []]
    boxes = ds["objects/bbox"].numpy(aslist=True)
    assert boxes[0].shape == (2, 4) and boxes[1].shape == (0, 4)
    assert list(ds["objects/kind"].numpy(aslist=True)[0]) == ["a", "b"]


def test_image_formats_bytes_files_and_transcoding(tmp_path):
    rgb = np.full((6, 6, 3), 100, np.uint8)
    as_png = png(rgb)
    keep = F.Image()
    assert keep.encode(as_png) == as_png                      # stored unchanged
    jpeg = F.Image(encoding_format="jpeg").encode(as_png)     # transcoded
    assert jpeg[:2] == b"\xff\xd8"
    assert F.Image().encode(io.BytesIO(as_png)) == as_png     # file objects
    gray = F.Image(shape=(6, 6, 1)).encode(np.zeros((6, 6), np.uint8))
    assert gray[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match=r"Shape \(6, 6, 3\) was incompatible with \(6, 6, 1\)"):
        F.Image(shape=(6, 6, 1)).encode(rgb)
    with pytest.raises(ValueError, match="dtype should be uint8"):
        F.Image().encode(rgb.astype(np.float32))


def test_encode_errors_name_the_feature_like_tfds():
    fd = F.FeaturesDict({"i": np.int64, "label": F.ClassLabel(names=["no", "yes"])})
    with pytest.raises(ValueError) as e:
        fd.encode_example({"i": "not-an-int", "label": "no"})
    assert str(e.value).startswith("Failed to encode example:\n")
    assert "In <Scalar> with name 'i':" in str(e.value)
    with pytest.raises(ValueError, match="Invalid string class label 'maybe'"):
        fd.encode_example({"i": 1, "label": "maybe"})
    with pytest.raises(ValueError, match=r"not an integer in \[0, 2\)"):
        fd.encode_example({"i": 1, "label": 2})
    with pytest.raises(ValueError, match="missing feature 'label'"):
        fd.encode_example({"i": 1})
    with pytest.raises(ValueError, match="without changing them"):
        F.Scalar(np.uint8).encode(300)
    with pytest.raises(ValueError, match="BBox coordinates should be in"):
        F.BBoxFeature().encode([0, 0, 2, 1])


def test_class_label_sources(tmp_path):
    f = tmp_path / "names.txt"
    f.write_text("cat\ndog\n\n")
    assert F.ClassLabel(names_file=f).names == ["cat", "dog"]
    label = F.ClassLabel(num_classes=3)
    assert (label.names, label.str2int("2"), label.int2str(1)) == (["0", "1", "2"], 2, "1")
    with pytest.raises(ValueError, match="exactly one of"):
        F.ClassLabel(names=["a"], num_classes=1)


def test_unsupported_forms_say_why():
    with pytest.raises(ValueError, match=r"Audio format 'ogg' is not one arrowds has a codec for; "
                                         r"use one of \['wav', 'flac', 'mp3'\]"):
        F.Audio(file_format="ogg")
    with pytest.raises(ValueError, match="Video format 'png' is not one"):
        F.Video(encoding_format="png")
    with pytest.raises(ValueError, match="feature name"):
        F.FeaturesDict({"a.b": F.Text()})


def test_features_json_round_trip():
    fd = F.FeaturesDict({
        "image": F.Image(shape=(28, 28, 1), encoding_format="png"), "label": F.ClassLabel(names=["a"]),
        "t": F.Text(), "x": F.Tensor(shape=(None, 3), dtype=np.float16), "s": F.Scalar(np.bool_),
        "a": F.Audio(sample_rate=8000, shape=(None, 2)), "v": F.Video(), "b": F.BBoxFeature(),
        "seq": F.Sequence({"k": F.ClassLabel(num_classes=2), "w": F.Text()}, length=None),
        "nested": {"deep": F.Sequence(F.Tensor(shape=(2,), dtype=np.int32), length=3)},
    })
    text = json.dumps(fd.to_json())
    back = F.from_json(json.loads(text))
    assert back == fd and back.leaves.keys() == fd.leaves.keys()
    assert list(fd.leaves) == ["image", "label", "t", "x", "s", "a", "v", "b", "seq/k", "seq/w",
                               "nested/deep"]


def test_sequence_of_images_is_a_video_tensor_of_frames(tmp_path):
    frames = [np.full((4, 5, 3), k * 40, np.uint8) for k in range(3)]
    (tmp_path / "f.png").write_bytes(png(frames[1]))
    fd = F.FeaturesDict({"frames": F.Sequence(F.Image(shape=(4, 5, 3))),
                         "gray": F.Sequence(F.Image(), length=2),
                         "steps": F.Sequence({"obs": F.Image(shape=(None, None, 3)), "reward": np.float32})})
    ds = write_features(fd, [
        {"frames": [frames[0], tmp_path / "f.png", png(frames[2])], "gray": [np.zeros((2, 2), np.uint8)] * 2,
         "steps": [{"obs": frames[0], "reward": 1.0}, {"obs": frames[2], "reward": 0.5}]},
        {"frames": [], "gray": [np.ones((3, 1, 1), np.uint8)] * 2, "steps": {"obs": [], "reward": []}},
    ])
    assert {n: t.htype for n, t in ds.tensors.items()} == {
        "frames": "video", "gray": "video", "steps/obs": "video", "steps/reward": "generic"}
    assert (ds.frames[0].numpy() == np.stack(frames)).all()     # paths and bytes decoded
    assert ds.frames[1].numpy().shape == (0, 4, 5, 3)
    assert ds.gray[0].numpy().shape == (2, 2, 2, 1) and ds.gray[1].numpy().shape == (2, 3, 1, 1)
    assert ds["steps/obs"][0].numpy().shape == (2, 4, 5, 3)
    assert F.from_json(fd.to_json()) == fd
    ok = {"frames": [], "gray": [np.zeros((2, 2), np.uint8)] * 2, "steps": []}
    fd.encode_example(ok)
    with pytest.raises(ValueError, match="In <Sequence> with name 'steps/obs'.*\n.*must share a shape"):
        fd.encode_example({**ok, "steps": [{"obs": frames[0], "reward": 1},
                                           {"obs": frames[0][:2], "reward": 1}]})
    with pytest.raises(ValueError, match="In <Sequence> with name 'frames'.*\n.*incompatible"):
        fd.encode_example({**ok, "frames": [np.zeros((5, 5, 3), np.uint8)]})
    with pytest.raises(ValueError, match="In <Sequence> with name 'gray'.*\n.*incompatible"):
        fd.encode_example({**ok, "gray": [np.zeros((2, 2), np.uint8)]})     # length=2
    with pytest.raises(ValueError, match="image dtype should be uint8"):
        fd.encode_example({**ok, "frames": [np.zeros((4, 5, 3), np.float32)]})


def test_record_batch_columns_are_taken_as_arrow():
    """Columns of a yielded RecordBatch: numbers, labels by name, fixed lists and image bytes
    become the stored columns without encoding values one by one; bad values are named."""
    label = F.ClassLabel(names=["cat", "dog"])
    enc = label.encode_arrow(pa.array(["dog", "cat", "dog"]))
    assert enc.layout == "scalar" and enc.data.type == pa.uint32() and enc.data.to_pylist() == [1, 0, 1]
    with pytest.raises(ValueError, match="Invalid string class label 'cow'"):
        label.encode_arrow(pa.array(["dog", "cow"]))
    with pytest.raises(ValueError, match="not an integer in"):
        label.encode_arrow(pa.array([0, 2]))
    emb = F.Tensor(shape=(2, 2), dtype="float32")
    nested = emb.encode_arrow(pa.array([[[1, 2], [3, 4]], [[5, 6], [7, 8]]]))
    flat = emb.encode_arrow(pa.FixedSizeListArray.from_arrays(pa.array(np.arange(8.0)), 4))
    assert nested.data.type == flat.data.type == pa.list_(pa.float32(), 4)
    assert nested.data.flatten().to_pylist() == list(range(1, 9)) and nested.shape == (2, 2)
    with pytest.raises(ValueError, match="Shape"):
        emb.encode_arrow(pa.array([[[1, 2, 3]], [[4, 5, 6]]]))   # not (2, 2): the slow path says why
    with pytest.raises(ValueError, match="without changing them"):
        F.Scalar(np.uint8).encode_arrow(pa.array([1, 300]))
    images = [np.zeros((3, 4, 3), np.uint8), np.ones((5, 2, 3), np.uint8)]
    col = pa.array([png(a) for a in images], pa.binary())
    enc = F.Image(shape=(None, None, 3)).encode_arrow(col)
    assert enc.compression == "png" and enc.data.to_pylist() == col.to_pylist()
    assert enc.shapes.to_pylist() == [[3, 4, 3], [5, 2, 3]]
    with pytest.raises(ValueError, match="incompatible"):
        F.Image(shape=(3, 4, 3)).encode_arrow(col)
    text = F.Text().encode_arrow(pa.array(["a", "b"], pa.large_string()))
    assert text.data.type == pa.string()


def test_audio_and_video_files(tmp_path):
    """``Audio(file_format=)`` / ``Video(encoding_format=)`` store files: arrays are encoded,
    files in the format kept byte for byte, others transcoded; shapes come from the headers."""
    t = np.linspace(0, 1, 800, dtype=np.float32)
    tone = (0.5 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    wav = get_codec("wav").encode(tone, sample_rate=8000)
    flac = get_codec("flac").encode(tone, sample_rate=8000)
    (tmp_path / "a.wav").write_bytes(wav)
    frames = np.zeros((3, 16, 16, 3), np.uint8)
    frames[:, 4:12, 4:12] = 200
    fd = F.FeaturesDict({"audio": F.Audio(sample_rate=8000, file_format="wav"),
                         "video": F.Video(shape=(None, 16, 16, 3), encoding_format="mp4")})
    assert fd["audio"].encode(tmp_path / "a.wav") == wav                   # kept as it is
    ds = write_features(fd, [{"audio": tone, "video": frames}, {"audio": flac, "video": frames[:2]},
                             {"audio": tmp_path / "a.wav", "video": frames}])
    audio = ds.audio
    assert (audio.htype, audio.meta.sample_compression, audio.info.sample_rate) == ("audio", "wav", 8000)
    assert ds.video.meta.sample_compression == "mp4"
    for k in range(3):
        np.testing.assert_allclose(ds.audio[k].numpy()[:, 0], tone, atol=1e-3)   # flac was transcoded
    assert ds.video[1].shape == (2, 16, 16, 3) and ds.video[0].numpy().shape == (3, 16, 16, 3)
    assert abs(int(ds.video[0].numpy()[0, 8, 8, 0]) - 200) < 20                   # lossy, close
    assert F.from_json(fd.to_json()) == fd
    with pytest.raises(ValueError, match="sampled at 16000 Hz, the feature at 8000 Hz"):
        fd.encode_example({"audio": get_codec("wav").encode(tone, sample_rate=16000),
                           "video": frames})
    with pytest.raises(ValueError, match=r"Shape \(3, 8, 8, 3\) was incompatible"):
        fd.encode_example({"audio": tone, "video": np.zeros((3, 8, 8, 3), np.uint8)})
    with pytest.raises(ValueError, match="needs sample_rate= to encode arrays"):
        F.Audio(file_format="flac").encode(tone)
