"""Pixels and JSON for the viewer: thumbnails, mask overlays, WAV for raw audio, and
JSON-safe summaries of samples. Pure functions of arrays; no dataset access here."""

from __future__ import annotations

import io
import json
import math
import wave
from typing import Any

import numpy as np
from PIL import Image

#: Overlay colours (RGB) for mask classes / channels; the page uses the same order for boxes.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48), (145, 30, 180),
    (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212), (0, 128, 128), (220, 190, 255),
)
MASK_ALPHA = 110
#: Content types of stored media, by sample compression.
MEDIA_TYPES = {
    "wav": "audio/wav", "flac": "audio/flac", "mp3": "audio/mpeg",
    "mp4": "video/mp4", "mkv": "video/x-matroska", "avi": "video/x-msvideo",
}


def to_uint8_image(arr: np.ndarray) -> np.ndarray:
    """An array shaped like an image (H×W, H×W×1..4) as uint8 H×W or H×W×3/4 for Pillow:
    booleans become 0/255, floats in [0, 1] are scaled, everything else is clipped."""
    a = np.asarray(arr)
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    elif a.ndim == 3 and a.shape[-1] == 2:
        a = a[..., 0]
    elif a.ndim == 3 and a.shape[-1] > 4:
        a = a[..., :3]
    elif a.ndim > 3:
        a = a.reshape(a.shape[0], a.shape[1], -1)[..., :3]
    elif a.ndim < 2:
        a = np.atleast_2d(a)
    if a.dtype == np.bool_:
        return a.astype(np.uint8) * 255
    if a.dtype.kind == "f":
        finite = a[np.isfinite(a)]
        if finite.size and finite.max() <= 1.0 and finite.min() >= 0.0:
            a = a * 255.0
        return np.clip(np.nan_to_num(a), 0, 255).astype(np.uint8)
    if a.dtype != np.uint8:
        return np.clip(a, 0, 255).astype(np.uint8)
    return a


def thumbnail(arr: np.ndarray, size: int) -> tuple[bytes, str]:
    """``(bytes, content type)`` of the image scaled to fit ``size``×``size``: JPEG, or PNG
    when it has an alpha channel."""
    img = Image.fromarray(to_uint8_image(arr))
    img.thumbnail((size, size), Image.Resampling.BILINEAR)
    buf = io.BytesIO()
    if img.mode in ("RGBA", "LA"):
        img.save(buf, format="PNG")
        return buf.getvalue(), "image/png"
    img.save(buf, format="JPEG", quality=85)
    return buf.getvalue(), "image/jpeg"


def mask_overlay(mask: np.ndarray, htype: str, size: int) -> bytes:
    """A transparent PNG with each class (segment_mask: class id > 0) or channel
    (binary_mask: H×W×N) painted in its palette colour, scaled to fit ``size``."""
    m = np.asarray(mask)
    if m.ndim == 3 and m.shape[-1] == 1:
        m = m[..., 0]
    h, w = m.shape[:2]
    rgba = np.zeros((h, w, 4), np.uint8)
    if htype == "binary_mask":
        layers = m[..., None] if m.ndim == 2 else m.reshape(h, w, -1)
        for k in range(layers.shape[-1]):
            on = layers[..., k].astype(bool)
            rgba[on, :3] = PALETTE[k % len(PALETTE)]
            rgba[on, 3] = MASK_ALPHA
    else:
        ids = m if m.ndim == 2 else m.reshape(h, w, -1)[..., 0]
        ids = ids.astype(np.int64)
        lut = np.array(PALETTE, np.uint8)
        on = ids > 0
        rgba[on, :3] = lut[(ids[on] - 1) % len(PALETTE)]
        rgba[on, 3] = MASK_ALPHA
    img = Image.fromarray(rgba, "RGBA")
    img.thumbnail((size, size), Image.Resampling.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def wav_bytes(samples: np.ndarray, rate: int) -> bytes:
    """16-bit PCM WAV of raw audio (``(n,)`` or ``(n, channels)``; floats in [-1, 1])."""
    a = np.asarray(samples)
    if a.ndim == 1:
        a = a[:, None]
    if a.dtype.kind == "f":
        a = np.clip(np.nan_to_num(a), -1.0, 1.0) * 32767.0
    a = np.clip(a, -32768, 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(a.shape[1])
        w.setsampwidth(2)
        w.setframerate(int(rate))
        w.writeframes(a.tobytes())
    return buf.getvalue()


def json_value(x: Any) -> Any:
    """``x`` (NumPy values included) as something ``json.dumps(allow_nan=False)`` accepts;
    NaN and infinities become the strings ``"nan"``, ``"inf"``, ``"-inf"``."""
    if isinstance(x, np.ndarray):
        return json_value(x.tolist())
    if isinstance(x, np.generic):
        return json_value(x.item())
    if isinstance(x, float):
        return x if math.isfinite(x) else str(x)
    if isinstance(x, dict):
        return {str(k): json_value(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [json_value(v) for v in x]
    if isinstance(x, bytes):
        return f"<{len(x)} bytes>"
    return x


def numeric_summary(arr: np.ndarray, max_values: int) -> dict[str, Any]:
    """Shape, dtype, min/max/mean and (when it has at most ``max_values`` elements) the values."""
    a = np.asarray(arr)
    out: dict[str, Any] = {"kind": "numeric", "shape": list(a.shape), "dtype": str(a.dtype)}
    if a.size and a.dtype.kind in "biuf":
        finite = a[np.isfinite(a)] if a.dtype.kind == "f" else a
        if finite.size:
            out.update(min=json_value(finite.min()), max=json_value(finite.max()),
                       mean=json_value(float(finite.astype(np.float64).mean())))
    if a.size <= max_values:
        out["values"] = json_value(a)
    return out


def short_text(s: str, limit: int) -> dict[str, Any]:
    """The first ``limit`` characters of ``s`` and whether it was cut."""
    return {"value": s[:limit], "truncated": len(s) > limit, "length": len(s)}


def json_text(value: Any, limit: int) -> dict[str, Any]:
    """A JSON sample pretty-printed, cut to ``limit`` characters."""
    return short_text(json.dumps(json_value(value), indent=1, ensure_ascii=False), limit)
