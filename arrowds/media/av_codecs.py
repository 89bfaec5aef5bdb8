"""Audio (wav, flac, mp3) and video (mp4, mkv, avi) codecs on PyAV (FFmpeg), decoded lazily.

Both read from bytes *or* a seekable binary file object, so the dataset layer can hand them a
file that fetches byte ranges on demand: decoding frames 100-110 of a long video then reads and
decodes only what FFmpeg needs for them (the index, the keyframe before frame 100, and on).
PyAV is optional (``pip install 'arrowds[av]'``) and imported on first use.
"""

from __future__ import annotations

import io
from typing import Any, BinaryIO, ClassVar

import numpy as np

from arrowds._optional import import_optional
from arrowds.errors import SampleDecodeError, SampleShapeError, TensorDtypeMismatchError
from arrowds.media.codec import BytesLike, Codec

Source = BytesLike | BinaryIO
_FLOAT32 = np.dtype(np.float32)
_UINT8 = np.dtype(np.uint8)


def _av() -> Any:
    return import_optional("av", extra="av", purpose="audio and video")


def _open(source: Source, codec: str) -> Any:
    av = _av()
    f = io.BytesIO(bytes(source)) if isinstance(source, (bytes, bytearray, memoryview)) else source
    try:
        return av.open(f, "r")
    except (av.error.FFmpegError, ValueError, OSError) as e:
        raise SampleDecodeError(f"cannot open {codec} data: {e}", codec=codec) from None


class AudioCodec(Codec):
    """Audio as float32 ``(samples, channels)``; the sample rate travels as an option/info."""

    kind: ClassVar[str] = "audio"

    def __init__(self, name: str, container: str, encoder: str, sample_fmt: str, lossless: bool,
                 extensions: tuple[str, ...]):
        self.name, self._container, self._encoder = name, container, encoder
        self._fmt, self.lossless, self.extensions = sample_fmt, lossless, extensions

    def encode(self, array: np.ndarray, *, sample_rate: int | None = None) -> bytes:
        """Compress ``(samples,)`` or ``(samples, channels)`` float audio in [-1, 1]."""
        if sample_rate is None:
            raise SampleShapeError(f"{self.name} encoding needs the sample rate: create the tensor "
                                   "with sample_rate=... (e.g. 16000)")
        arr = np.asarray(array)
        if arr.dtype.kind != "f":
            raise TensorDtypeMismatchError(f"{self.name} encodes float audio in [-1, 1], got {arr.dtype}")
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim != 2 or not 1 <= arr.shape[1] <= 8:
            raise SampleShapeError(
                f"{self.name} takes (samples,) or (samples, channels) arrays, got {arr.shape}")
        av = _av()
        out = io.BytesIO()
        with av.open(out, "w", format=self._container) as c:
            layout = {1: "mono", 2: "stereo"}.get(arr.shape[1], f"{arr.shape[1]}c")
            st = c.add_stream(self._encoder, rate=int(sample_rate), layout=layout)
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(arr.T, np.float32), format="fltp",
                                               layout=layout)
            frame.sample_rate = int(sample_rate)
            resampler = av.AudioResampler(format=self._fmt, layout=layout, rate=int(sample_rate))
            for f in resampler.resample(frame) + resampler.resample(None):
                for p in st.encode(f):
                    c.mux(p)
            for p in st.encode(None):
                c.mux(p)
        return out.getvalue()

    def _frames(self, c: Any, start_s: float | None = None) -> Any:
        st = c.streams.audio[0]
        if start_s:
            origin = st.start_time or 0
            c.seek(origin + int(start_s / st.time_base), stream=st, backward=True, any_frame=False)
        resampler = _av().AudioResampler(format="fltp", layout=st.layout, rate=st.rate)
        for frame in c.decode(st):
            yield from resampler.resample(frame)

    def decode(self, data: Source) -> np.ndarray:
        return self.decode_range(data, 0, None)

    def decode_range(self, data: Source, start: int, stop: int | None) -> np.ndarray:
        """Samples ``[start, stop)``, decoding from the frame before ``start`` only."""
        if self.name == "mp3" and start > 0:
            part = _mp3_cbr_range(data, start, stop)
            if part is not None:
                return part
            if not isinstance(data, (bytes, bytearray, memoryview)):
                # the probe moved the file under its buffer: read on through a view that seeks
                data = io.BufferedReader(_Window(getattr(data, "raw", data), 0), 1 << 16)
        av = _av()
        with _open(data, self.name) as c:
            st = c.streams.audio[0]
            rate = st.rate
            origin = st.start_time or 0  # mp3 streams start after the encoder delay
            parts, first = [], None
            try:
                preroll = 0 if self.lossless else 4096  # mp3/flac decoders warm up on earlier frames
                seek_to = max(0, start - preroll)
                for f in self._frames(c, seek_to / rate if seek_to else None):
                    t0 = round((f.pts - origin) * f.time_base * rate) if f.pts is not None else (first or 0)
                    arr = f.to_ndarray().T.astype(np.float32, copy=False)
                    if first is None:
                        first = t0
                    parts.append((t0, arr))
                    if stop is not None and t0 + len(arr) >= stop:
                        break
            except av.error.FFmpegError as e:
                raise SampleDecodeError(f"corrupt {self.name} data: {e}", codec=self.name) from None
            channels = st.channels
        if not parts:
            return np.zeros((0, channels), np.float32)
        base = parts[0][0]
        audio = np.concatenate([a for _, a in parts])
        lo = max(0, start - base)
        hi = None if stop is None else max(lo, stop - base)
        return np.ascontiguousarray(audio[lo:hi])

    def info(self, data: Source) -> dict[str, Any]:
        with _open(data, self.name) as c:
            st = c.streams.audio[0]
            return {"sample_rate": st.rate, "channels": st.channels,
                    "duration": float(c.duration / 1e6) if c.duration else None}

    def header(self, data: Source) -> tuple[tuple[int, ...], np.dtype]:
        """``(samples, channels)``: from the stream's duration for wav/flac (exact), by decoding
        for mp3 (whose header only estimates it)."""
        if self.name != "mp3":
            with _open(data, self.name) as c:
                st = c.streams.audio[0]
                if st.duration is not None and st.time_base is not None:
                    n = round(st.duration * st.time_base * st.rate)
                    return (int(n), st.channels), _FLOAT32
        return self.decode(data).shape, _FLOAT32


# -- mp3 range reads -------------------------------------------------------------------------
# FFmpeg's mp3 demuxer does not seek by the Xing/Info table unless asked, and then only to 1%
# of the file with estimated timestamps; its exact seek reads the file from the start. A
# constant-bitrate file (LAME writes an "Info" tag for those) places frame k at the first
# audio frame's offset plus k times the mean frame length (padding bytes keep the mean exact),
# so the range is decoded from a window of the file that starts a few frames before it.
_MP3_PREROLL_FRAMES = 4  # bit reservoir (<= 511 bytes back) and the MDCT overlap warm up on these


def _mp3_header_key(b: bytes) -> tuple[int, int, int]:
    return b[0], b[1], b[2] & 0xFC  # sync/version/layer, bitrate and rate; not padding/private bits


def _mp3_cbr_range(data: Source, start: int, stop: int | None) -> np.ndarray | None:
    """Samples ``[start, stop)`` of a CBR mp3 decoded from a window near ``start``, or None when
    the file is not provably CBR (then the caller decodes from FFmpeg's seek)."""
    av = _av()
    f = io.BytesIO(bytes(data)) if isinstance(data, (bytes, bytearray, memoryview)) else data
    f.seek(0)
    head = f.read(1 << 14)  # ID3 and the LAME tag; FFmpeg's open below reads this part again
    f.seek(0)
    with _open(f, "mp3") as c:
        st = c.streams.audio[0]
        rate, channels, fs = st.rate, st.channels, st.codec_context.frame_size
        bit_rate = st.codec_context.bit_rate
        delay = round((st.start_time or 0) * st.time_base * rate)  # encoder delay skipped at the start
        first = next((p for p in c.demux(st) if p.size), None)
        offset = first.pos if first is not None else None
    if not (fs and bit_rate and offset and 0 < offset <= len(head)):
        return None
    key = _mp3_header_key(head[offset:offset + 4])
    head = head[:offset]
    if b"Info" not in head or b"Xing" in head:  # LAME's tag: Info = constant bitrate
        return None
    k0 = (start + delay) // fs - _MP3_PREROLL_FRAMES
    if k0 <= 0:
        return None
    mean = bit_rate * fs / 8 / rate
    guess = offset + int(k0 * mean)
    raw = getattr(f, "raw", f)  # under f's buffer: read only the bytes asked for from here on
    raw.seek(guess - 8)
    window = raw.read(24)
    cands = [guess - 8 + i for i in range(len(window) - 3)
             if window[i] == 0xFF and _mp3_header_key(window[i:i + 4]) == key]
    if not cands:
        return None
    pos = min(cands, key=lambda q: abs(q - guess))
    cut = _Window(raw, pos)
    out = []
    got = 0
    base = k0 * fs - delay  # sample index (in the whole decode) of the cut's first sample
    need = None if stop is None else stop - base
    try:
        with av.open(io.BufferedReader(cut, 1 << 14), "r", format="mp3") as c2:
            s2 = c2.streams.audio[0]
            resampler = av.AudioResampler(format="fltp", layout=s2.layout, rate=s2.rate)
            for frame in c2.decode(s2):
                for r in resampler.resample(frame):
                    arr = r.to_ndarray().T.astype(np.float32, copy=False)
                    out.append(arr)
                    got += len(arr)
                if need is not None and got >= need:
                    break
    except av.error.FFmpegError as e:
        raise SampleDecodeError(f"corrupt mp3 data: {e}", codec="mp3") from None
    if not out:
        return np.zeros((0, channels), np.float32)
    audio = np.concatenate(out)
    return np.ascontiguousarray(audio[start - base: None if stop is None else stop - base])


class _Window(io.RawIOBase):
    """The bytes of a seekable file from ``offset`` on, as a file of their own."""

    def __init__(self, f: BinaryIO, offset: int):
        super().__init__()
        self._f, self._offset, self._pos = f, offset, 0
        self._blocks: list[tuple[int, bytes]] = []

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, pos: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_END:
            self._pos = max(0, self._f.seek(0, io.SEEK_END) - self._offset + pos)
        else:
            self._pos = max(0, pos + (self._pos if whence == io.SEEK_CUR else 0))
        return self._pos

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        # FFmpeg reads its probe, the file's tail, then the probe again: keep the last blocks
        hit = next(((at, b) for at, b in self._blocks if 0 <= self._pos - at < len(b)), None)
        if hit is None:
            self._f.seek(self._offset + self._pos)
            hit = (self._pos, self._f.read(len(view)) or b"")
            self._blocks = [hit, *self._blocks[:3]]
        at, cached = hit
        lo = self._pos - at
        n = min(len(view), len(cached) - lo)
        view[:n] = cached[lo:lo + n]
        self._pos += n
        return n


class VideoCodec(Codec):
    """Video as uint8 ``(frames, height, width, 3)``; frame ``k`` is the k-th in presentation order."""

    kind: ClassVar[str] = "video"
    lossless: ClassVar[bool] = False

    def __init__(self, name: str, container: str, encoders: tuple[str, ...], extensions: tuple[str, ...]):
        self.name, self._container, self._encoders, self.extensions = name, container, encoders, extensions

    def encode(self, array: np.ndarray, *, fps: int = 30, crf: int = 18) -> bytes:
        arr = np.asarray(array)
        if arr.dtype != np.uint8:
            raise TensorDtypeMismatchError(f"{self.name} encodes uint8 frames, got {arr.dtype}")
        if arr.ndim != 4 or arr.shape[-1] != 3:
            raise SampleShapeError(f"{self.name} takes (frames, height, width, 3) arrays, got {arr.shape}")
        if arr.shape[1] % 2 or arr.shape[2] % 2:
            raise SampleShapeError(f"{self.name} needs an even height and width, got {arr.shape[1:3]}")
        av = _av()
        encoder = next((e for e in self._encoders if e in av.codecs_available), None)
        if encoder is None:
            raise SampleShapeError(f"this FFmpeg build has none of the encoders {self._encoders}")
        out = io.BytesIO()
        with av.open(out, "w", format=self._container) as c:
            st = c.add_stream(encoder, rate=fps)
            st.width, st.height, st.pix_fmt = arr.shape[2], arr.shape[1], "yuv420p"
            if encoder == "libx264":
                st.options = {"crf": str(crf), "g": str(max(1, fps))}
            else:
                st.bit_rate = 4_000_000
                st.gop_size = max(1, fps)
            for frame in arr:
                for p in st.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                    c.mux(p)
            for p in st.encode(None):
                c.mux(p)
        return out.getvalue()

    def decode(self, data: Source) -> np.ndarray:
        return self.decode_frames(data, 0, None)

    def decode_frames(self, data: Source, start: int, stop: int | None, step: int = 1) -> np.ndarray:
        """Frames ``start:stop:step``: seek to the keyframe before ``start``, decode on to ``stop``."""
        av = _av()
        with _open(data, self.name) as c:
            st = c.streams.video[0]
            rate = float(st.average_rate or st.guessed_rate or 30)
            t_start = float(st.start_time * st.time_base) if st.start_time is not None else 0.0
            if start:
                c.seek(int((t_start + start / rate) / st.time_base), stream=st, backward=True,
                       any_frame=False)
            w, h = st.width, st.height
            total = stop if stop is not None else (st.frames or None)
            # decode straight into one array when the frame count is known: no second copy
            out = np.empty((len(range(start, total, step)), h, w, 3), np.uint8) if total else None
            frames: list[np.ndarray] = []
            n = 0
            try:
                for f in c.decode(st):
                    idx = round((float(f.pts * f.time_base) - t_start) * rate) if f.pts is not None else None
                    if idx is None or idx < start:
                        continue
                    if stop is not None and idx >= stop:
                        break
                    if (idx - start) % step == 0:
                        frame = f.to_ndarray(format="rgb24")
                        if out is not None and n < len(out):
                            out[n] = frame
                        else:
                            frames.append(frame)
                        n += 1
            except av.error.FFmpegError as e:
                raise SampleDecodeError(f"corrupt {self.name} data: {e}", codec=self.name) from None
        if out is None:
            return np.stack(frames) if frames else np.zeros((0, h, w, 3), np.uint8)
        if frames:  # the container undercounted its frames
            return np.concatenate([out, np.stack(frames)])
        return out[:n]

    def timestamps(self, data: Source) -> np.ndarray:
        """Presentation time in seconds of every frame, from the packets (nothing is decoded)."""
        with _open(data, self.name) as c:
            st = c.streams.video[0]
            pts = sorted(p.pts for p in c.demux(st) if p.pts is not None and p.size)
            t0 = pts[0] if pts else 0
            return np.array([(p - t0) * float(st.time_base) for p in pts], np.float64)

    def info(self, data: Source) -> dict[str, Any]:
        with _open(data, self.name) as c:
            st = c.streams.video[0]
            duration = float(c.duration / 1e6) if c.duration else None
            return {"fps": float(st.average_rate or 0), "duration": duration, "width": st.width,
                    "height": st.height}

    def header(self, data: Source) -> tuple[tuple[int, ...], np.dtype]:
        """``(frames, height, width, 3)``: frames from the container index when it has one, else
        counted from the packets (mkv/webm report 0), never by decoding."""
        with _open(data, self.name) as c:
            st = c.streams.video[0]
            n = st.frames or sum(1 for p in c.demux(st) if p.size)
            return (int(n), st.height, st.width, 3), _UINT8


AUDIO_CODECS = (
    AudioCodec("wav", "wav", "pcm_f32le", "flt", True, (".wav",)),
    AudioCodec("flac", "flac", "flac", "s16", False, (".flac",)),
    AudioCodec("mp3", "mp3", "libmp3lame", "fltp", False, (".mp3",)),
)
VIDEO_CODECS = (
    VideoCodec("mp4", "mp4", ("libx264", "mpeg4"), (".mp4",)),
    VideoCodec("mkv", "matroska", ("libx264", "mpeg4"), (".mkv",)),
    VideoCodec("avi", "avi", ("mpeg4",), (".avi",)),
)
