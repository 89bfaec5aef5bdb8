"""from_huggingface / to_huggingface / from_pandas / from_arrow: features map to htypes and
back, and image bytes pass through unchanged."""

from __future__ import annotations

import io
import uuid

import numpy as np
import pyarrow as pa
import pytest
from PIL import Image

import arrowds as ads
from tests.conftest import jpeg_bytes, photo


def _png(seed: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(photo(seed, 8, 10)).save(buf, format="PNG")
    return buf.getvalue()


def _url() -> str:
    return f"mem://conv-{uuid.uuid4().hex}"


def test_huggingface_round_trip():
    datasets = pytest.importorskip("datasets")
    pngs = [_png(i) for i in range(6)]
    feats = datasets.Features({
        "image": datasets.Image(),
        "label": datasets.ClassLabel(names=["cat", "dog", "eel"]),
        "text": datasets.Value("string"),
        "score": datasets.Value("float32"),
        "count": datasets.Value("int64"),
        "tokens": datasets.List(datasets.Value("int32")),
        "tags": datasets.List(datasets.Value("string")),
        "emb": datasets.List(datasets.Value("float32"), length=4),
    })
    src = {"image": [{"bytes": b, "path": None} for b in pngs], "label": [0, 1, 2, 1, 0, 2],
           "text": [f"t{i}" for i in range(6)], "score": [i / 2 for i in range(6)], "count": list(range(6)),
           "tokens": [list(range(i)) for i in range(6)], "tags": [["a"] * (i % 3) for i in range(6)],
           "emb": [[float(i)] * 4 for i in range(6)]}
    hf = datasets.Dataset.from_dict(src, features=feats)
    ds = ads.from_huggingface(hf, _url())
    htypes = {k: t.htype for k, t in ds.tensors.items()}
    assert htypes == {"image": "image", "label": "class_label", "text": "text", "score": "generic",
                      "count": "generic", "tokens": "generic", "tags": "list", "emb": "embedding"}
    assert ds.image.sample_compression == "png"
    assert ds.image.tobytes() == pngs  # no re-encode
    assert ds.label.info.class_names == ["cat", "dog", "eel"]
    assert ds.label.numpy().ravel().tolist() == src["label"]
    assert ds.text.text() == src["text"] and ds.tags.list() == src["tags"]
    assert [t.tolist() for t in ds.tokens.numpy(aslist=True)] == src["tokens"]
    assert ds.emb.numpy().tolist() == src["emb"]

    back = ds.to_huggingface()
    assert back.features == feats
    assert back.with_format("arrow")["image"].combine_chunks().field("bytes").to_pylist() == pngs
    row = back[3]
    assert row["label"] == 1 and row["text"] == "t3" and row["tokens"] == [0, 1, 2] and row["tags"] == []
    assert row["image"].size == (10, 8)
    for k in ("score", "count", "emb"):
        assert back[k] == hf[k]
    assert ds[2:4].to_huggingface(["text"])["text"] == ["t2", "t3"]


def test_from_huggingface_jpeg_and_json():
    datasets = pytest.importorskip("datasets")
    jpegs = [jpeg_bytes(photo(i)) for i in range(3)]
    hf = datasets.Dataset.from_dict({"img": [{"bytes": b, "path": None} for b in jpegs],
                                     "meta": [{"a": i} for i in range(3)]},
                                    features=datasets.Features({"img": datasets.Image(),
                                                                "meta": datasets.Json()}))
    ds = ads.from_huggingface(hf, _url())
    assert ds.img.sample_compression == "jpeg" and ds.img.tobytes() == jpegs
    assert ds.meta.htype == "json" and ds.meta.dict() == [{"a": 0}, {"a": 1}, {"a": 2}]
    assert ds.to_huggingface()["meta"] == [{"a": 0}, {"a": 1}, {"a": 2}]


def test_from_pandas():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"labels": pd.Categorical(["cat", "dog", "cat"]), "x": [1.5, 2.5, 3.5],
                       "n": [1, 2, 3], "caption": ["a", "b", "c"],
                       "img": [jpeg_bytes(photo(i)) for i in range(3)]})
    ds = ads.from_pandas(df, _url())
    assert {k: t.htype for k, t in ds.tensors.items()} == {
        "labels": "class_label", "x": "generic", "n": "generic", "caption": "text", "img": "image"}
    assert ds.labels.info.class_names == ["cat", "dog"] and ds.labels.numpy().ravel().tolist() == [0, 1, 0]
    assert ds.x.numpy().ravel().tolist() == [1.5, 2.5, 3.5] and ds.n.dtype == np.int64
    assert ds.img.tobytes() == df["img"].tolist()
    assert ds.to_pandas(["caption", "n"]).equals(df[["caption", "n"]])


def test_from_arrow_types_and_errors():
    table = pa.table({
        "emb": pa.FixedSizeListArray.from_arrays(pa.array(np.arange(12, dtype=np.float32)), 4),
        "seq": pa.array([[1, 2], [], [3]], pa.list_(pa.int16())),
        "flag": pa.array([True, False, True]),
        "obj": pa.array([{"k": 1}, {"k": 2}, {"k": 3}]),
    })
    ds = ads.from_arrow(table, _url(), htypes={"flag": "generic"})
    assert ds.emb.htype == "embedding" and ds.emb.numpy().shape == (3, 4)
    assert [s.tolist() for s in ds.seq.numpy(aslist=True)] == [[1, 2], [], [3]]
    assert ds.flag.numpy().ravel().tolist() == [True, False, True]
    assert ds.obj.htype == "json" and ds.obj.dict()[1] == {"k": 2}
    assert ds.to_arrow(["emb"]).column(0).to_pylist() == table.column("emb").to_pylist()
    with pytest.raises(TypeError, match="not an image"):
        ads.from_arrow(pa.table({"b": pa.array([b"xx"])}), _url())
    with pytest.raises(KeyError):
        ads.from_arrow(table, _url(), htypes={"nope": "text"})


def test_huggingface_audio_round_trip_keeps_the_file_bytes():
    datasets = pytest.importorskip("datasets")
    pytest.importorskip("av")  # arrowds' audio codecs
    wav = ads.media.get_codec("wav")
    tones = [(np.sin(np.arange(800 + 100 * i) / (5 + i)) * 0.5).astype(np.float32) for i in range(3)]
    waves = [wav.encode(t, sample_rate=8000) for t in tones]
    feats = datasets.Features({"audio": datasets.Audio(decode=False), "label": datasets.Value("int64")})
    plain = datasets.Dataset.from_dict({"audio": [{"bytes": w, "path": None} for w in waves],
                                        "label": [0, 1, 2]})
    hf = plain.cast(feats)  # an Arrow-level cast: from_dict would want torchcodec to encode
    ds = ads.from_huggingface(hf, _url())
    assert ds.audio.htype == "audio" and ds.audio.sample_compression == "wav"
    assert ds.audio.tobytes() == waves  # no re-encode
    assert ds.audio[1].numpy().shape[0] == 900
    back = ds.to_huggingface()
    assert isinstance(back.features["audio"], datasets.Audio)
    assert back.with_format("arrow")["audio"].combine_chunks().field("bytes").to_pylist() == waves
