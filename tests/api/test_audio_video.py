"""Audio and video kept in their native compression, decoded lazily and by range."""

from __future__ import annotations

import numpy as np
import pytest

import arrowds as ads

av = pytest.importorskip("av")


def _frames(n: int = 90, h: int = 48, w: int = 64) -> np.ndarray:
    """Frame k shows k in binary as 8 black/white columns, so a decoded frame tells its index
    whatever the codec's loss."""
    out = np.zeros((n, h, w, 3), np.uint8)
    for k in range(n):
        for bit in range(8):
            if k >> bit & 1:
                out[k, :, bit * (w // 8):(bit + 1) * (w // 8)] = 255
    return out


def _tone(n: int = 24000, rate: int = 16000) -> np.ndarray:
    t = np.arange(n) / rate
    left, right = 0.5 * np.sin(2 * np.pi * 440 * t), 0.25 * np.sin(2 * np.pi * 220 * t)
    return np.stack([left, right], 1).astype(np.float32)


def _index_of(frame: np.ndarray) -> int:
    w = frame.shape[1] // 8
    return sum(1 << bit for bit in range(8) if frame[:, bit * w + 2:(bit + 1) * w - 2].mean() > 128)


@pytest.mark.parametrize("comp", ["mp4", "mkv", "avi"])
def test_video_shape_without_decoding_and_frame_ranges(url, comp):
    ds = ads.empty(url)
    ds.create_tensor("video", htype="video", sample_compression=comp, fps=30)
    ds.video.append(_frames())
    ds = ads.load(url)
    assert ds.video[0].shape == (90, 48, 64, 3)
    part = ds.video[0][40:50].numpy()
    assert part.shape == (10, 48, 64, 3)
    assert [_index_of(f) for f in part] == list(range(40, 50))
    assert [_index_of(f) for f in ds.video[0][10:20:3].numpy()] == [10, 13, 16, 19]
    assert _index_of(ds.video[0][77].numpy()) == 77 and ds.video[0][77].numpy().shape == (48, 64, 3)
    assert ds.video[0][40:50, 0, 0, 0].numpy().shape == (10,)
    whole = ds.video[0].numpy()
    assert [_index_of(f) for f in whole] == list(range(90))
    ts = ds.video[0].timestamps
    assert ts.shape == (90,) and np.allclose(np.diff(ts), 1 / 30, atol=1e-3)
    info = ds.video[0].sample_info
    assert info["fps"] == 30 and info["shape"] == (90, 48, 64, 3)


def test_video_file_bytes_are_stored_unchanged(url, tmp_path):
    data = ads.media.get_codec("mp4").encode(_frames(30), fps=30)
    path = tmp_path / "clip.mp4"
    path.write_bytes(data)
    ds = ads.empty(url)
    ds.create_tensor("video", htype="video", sample_compression="mp4")
    ds.video.append(ads.read(str(path)))
    assert ds.video[0].tobytes() == data and ds.video[0].shape == (30, 48, 64, 3)


def test_video_range_reads_only_part_of_the_bytes(tmp_path):
    """A range decode reads from a lazily fetched file: far fewer bytes than the sample."""
    url = str(tmp_path / "ds")
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 255, (300, 64, 64, 3), dtype=np.uint8)  # noise: big, even frames
    ds = ads.empty(url)
    ds.create_tensor("video", htype="video", sample_compression="mp4", fps=30)
    ds.video.append(frames)
    ds = ads.load(url)
    storage = ds._core.storage
    total = len(ds.video[0].tobytes())
    seen = []
    real = storage.read_range

    def counting(key, start, end):
        seen.append(end - start)
        return real(key, start, end)

    storage.read_range = counting
    assert ds.video[0][250:253].numpy().shape == (3, 64, 64, 3)
    assert 0 < sum(seen) < total * 0.5, (sum(seen), total)


@pytest.mark.parametrize("comp,exact", [("wav", True), ("flac", False), ("mp3", False)])
def test_audio_roundtrip_and_ranges(url, comp, exact):
    tone = _tone()
    ds = ads.empty(url)
    ds.create_tensor("audio", htype="audio", sample_compression=comp, sample_rate=16000)
    ds.audio.append(tone)
    ds = ads.load(url)
    got = ds.audio[0].numpy()
    assert got.dtype == np.float32 and got.shape[1] == 2
    assert ds.audio[0].sample_info["sample_rate"] == 16000
    if exact:
        np.testing.assert_array_equal(got, tone)
        np.testing.assert_array_equal(ds.audio[0][5000:5100].numpy(), tone[5000:5100])
    elif comp == "flac":
        np.testing.assert_allclose(got, tone, atol=1e-4)
        np.testing.assert_allclose(ds.audio[0][5000:5100].numpy(), tone[5000:5100], atol=1e-4)
    else:  # mp3: lossy, and the range must line up with the whole decode
        whole = ds.audio[0].numpy()
        np.testing.assert_allclose(ds.audio[0][8000:8100].numpy(), whole[8000:8100], atol=1e-6)
    assert ds.audio[0][100:200].numpy().shape == (100, 2)


def test_audio_needs_a_sample_rate_and_files_must_match_it(url, tmp_path):
    ds = ads.empty(url)
    ds.create_tensor("audio", htype="audio", sample_compression="wav")
    with pytest.raises(ads.SampleShapeError, match="sample_rate"):
        ds.audio.append(_tone())
    wav16 = ads.media.get_codec("wav").encode(_tone(), sample_rate=16000)
    wav8 = ads.media.get_codec("wav").encode(_tone(), sample_rate=8000)
    ds.audio.append(ads.read(wav16, compression="wav"))
    assert ds.audio.info.sample_rate == 16000
    with pytest.raises(ads.SampleShapeError, match="8000 Hz.*16000 Hz"):
        ds.audio.append(ads.read(wav8, compression="wav"))
    assert len(ds.audio) == 1


def test_corrupt_video_is_refused_on_append_and_named_on_decode(url):
    good = ads.media.get_codec("mp4").encode(_frames(30), fps=30)
    ds = ads.empty(url)
    ds.create_tensor("video", htype="video", sample_compression="mp4")
    with pytest.raises(ads.SampleDecodeError) as e:
        ds.video.append(ads.read(good[: len(good) // 3], compression="mp4"))
    assert e.value.codec == "mp4" and e.value.tensor == "video" and e.value.index == 0
    assert len(ds.video) == 0
    with pytest.raises(ads.SampleDecodeError, match="mp4"):
        ads.media.get_codec("mp4").decode(b"\x00\x00\x00\x18ftypmp42" + bytes(100))


def test_bbox_coordinates_are_validated(url):
    ds = ads.empty(url)
    with pytest.raises(ValueError, match="coords"):
        ds.create_tensor("b", htype="bbox", coords={"kind": "x"})
    with pytest.raises(ValueError, match="mode"):
        ds.create_tensor("b", htype="bbox", coords={"mode": "XYXY"})
    ds.create_tensor("boxes", htype="bbox", coords={"type": "fractional", "mode": "LTRB"})
    assert ds.boxes.info.coords == {"type": "fractional", "mode": "LTRB"}
    ds.boxes.append(np.array([[0.1, 0.1, 0.5, 0.6]], np.float32))
    with pytest.raises(ads.SampleShapeError, match="outside"):
        ds.boxes.append(np.array([[0.1, 0.1, 1.5, 0.6]], np.float32))
    with pytest.raises(ads.SampleShapeError, match="LTRB"):
        ds.boxes.append(np.array([[0.5, 0.1, 0.2, 0.6]], np.float32))
    with pytest.raises(ads.SampleShapeError, match="last dimension of 4"):
        ds.boxes.append(np.zeros((2, 3), np.float32))
    assert len(ds.boxes) == 1
    # TFDS's order: ymin, xmin, ymax, xmax
    ds.create_tensor("tfds", htype="bbox", coords={"type": "fractional", "mode": "TLBR"})
    ds.tfds.append(np.array([[0.1, 0.5, 0.2, 0.6]], np.float32))
    with pytest.raises(ads.SampleShapeError, match="TLBR"):
        ds.tfds.append(np.array([[0.3, 0.5, 0.2, 0.6]], np.float32))


def test_other_compressions_are_transcoded_once_on_write(url):
    flac = ads.media.get_codec("flac").encode(_tone(), sample_rate=16000)
    avi = ads.media.get_codec("avi").encode(_frames(20), fps=25)
    ds = ads.empty(url)
    ds.create_tensor("audio", htype="audio", sample_compression="wav")
    ds.create_tensor("video", htype="video", sample_compression="mp4")
    ds.append({"audio": ads.read(flac, compression="flac"), "video": ads.read(avi, compression="avi")})
    assert ads.media.sniff_compression(ds.audio[0].tobytes()) == "wav"
    assert ds.audio.info.sample_rate == 16000 and ds.audio[0].shape == (24000, 2)
    np.testing.assert_allclose(ds.audio[0].numpy(), _tone(), atol=1e-4)
    assert ds.video[0].sample_info["fps"] == 25
    assert [_index_of(f) for f in ds.video[0].numpy()] == list(range(20))


def test_mp3_range_reads_seek_and_read_only_bytes_near_the_range(tmp_path):
    """A constant-bitrate mp3 range is decoded from a window near it: a small part of the file
    is read, and the samples equal the whole decode's (same decoder, warmed up on earlier frames)."""
    from tests.counting import CountingFileSystem

    rate = 44100
    t = np.arange(40 * rate) / rate
    noise = np.random.default_rng(1).standard_normal(t.size) * 0.05
    audio = np.stack([0.3 * np.sin(2 * np.pi * 440 * t) + noise, 0.2 * np.sin(2 * np.pi * 300 * t)], 1)
    url = "countbytes://" + str(tmp_path / "ds")
    ds = ads.empty(url)
    ds.create_tensor("audio", htype="audio", sample_compression="mp3", sample_rate=rate)
    ds.audio.append(audio.astype(np.float32))
    ds = ads.load(url)
    size = len(ds.audio[0].tobytes())
    whole = ds.audio[0].numpy()
    assert whole.shape == (40 * rate, 2)
    for a in (35 * rate + 123, 20 * rate, 3 * rate + 1):
        CountingFileSystem.reset()
        part = ds.audio[0][a:a + 4410].numpy()
        read = CountingFileSystem.read_under(url)
        assert part.shape == (4410, 2)
        np.testing.assert_allclose(part, whole[a:a + 4410], atol=1e-5)
        assert read < size * 0.25, (a, read, size)
    # the last samples, and a range that runs past the end, line up too
    np.testing.assert_allclose(ds.audio[0][-1000:].numpy(), whole[-1000:], atol=1e-5)
    np.testing.assert_allclose(ds.audio[0][39 * rate:].numpy(), whole[39 * rate:], atol=1e-5)


def test_audio_info_records_sample_rate_and_channels(url):
    ds = ads.empty(url)
    ds.create_tensor("audio", htype="audio", sample_compression="flac", sample_rate=16000)
    ds.audio.append(_tone(1600))
    assert ds.audio.info.sample_rate == 16000 and ds.audio.info.channels == 2
    ds.audio.append(_tone(1600)[:, :1])  # mono next to stereo: allowed, the count is no longer one
    assert ads.load(url).audio.info.channels is None
    wav = ads.media.get_codec("wav").encode(_tone(800)[:, :1], sample_rate=8000)
    ds.create_tensor("speech", htype="audio", sample_compression="wav")
    ds.speech.append(ads.read(wav, compression="wav"))
    assert dict(ads.load(url).speech.info) == {"sample_rate": 8000, "channels": 1}
