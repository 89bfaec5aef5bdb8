"""The htype table: what each kind of tensor stores, and its defaults."""

from __future__ import annotations

from dataclasses import dataclass

from arrowds.errors import UnsupportedHtypeError

IMAGE_COMPRESSIONS = ("jpeg", "png", "webp")
AUDIO_COMPRESSIONS = ("wav", "flac", "mp3")
VIDEO_COMPRESSIONS = ("mp4", "mkv", "avi")
#: Parquet codecs a tensor may ask for as ``chunk_compression`` (``None`` = uncompressed).
CHUNK_COMPRESSIONS = ("zstd", "lz4", "snappy", "gzip", "brotli")

#: ``sample_compression="auto"`` (image default): keep the compression of the first sample
#: read with ``ads.read``; for arrays, use this lossless codec.
AUTO = "auto"
AUTO_IMAGE_COMPRESSION = "png"


@dataclass(frozen=True)
class Htype:
    """Defaults and rules of one htype.

    ``kind`` says how samples are stored: ``numeric`` (Arrow numeric/list columns), ``media``
    (compressed file bytes in a binary column), ``text``, ``json`` or ``strlist``.
    """

    name: str
    kind: str
    dtype: str | None = None
    compressions: tuple[str, ...] = ()
    default_compression: str | None = None
    chunk_compression: str | None = "zstd"
    ndim: int | None = None
    last_dim: tuple[int, ...] | None = None
    class_names: bool = False
    one_value: bool = False  # one scalar per sample unless created with shape=
    fixed_shape: bool = False  # every sample has the shape of the first


HTYPES: dict[str, Htype] = {
    h.name: h
    for h in (
        Htype("generic", "numeric"),
        Htype("image", "media", "uint8", IMAGE_COMPRESSIONS, AUTO, ndim=None),
        Htype("class_label", "numeric", "uint32", class_names=True, one_value=True),
        Htype("bbox", "numeric", "float32", ndim=2, last_dim=(4,)),
        Htype("segment_mask", "numeric", "uint32", class_names=True),
        Htype("binary_mask", "numeric", "bool"),
        Htype("keypoints_coco", "numeric", "int32"),
        Htype("point", "numeric", "int32", last_dim=(2, 3)),
        Htype("polygon", "numeric", "float32", last_dim=(2,)),
        Htype("audio", "media", "float32", AUDIO_COMPRESSIONS, None),
        Htype("video", "media", "uint8", VIDEO_COMPRESSIONS, None, ndim=4),
        Htype("text", "text", "str"),
        Htype("json", "json", "json"),
        Htype("list", "strlist", "list"),
        Htype("embedding", "numeric", "float32", chunk_compression=None, ndim=1, fixed_shape=True),
    )
}


def get_htype(name: str) -> Htype:
    """The Htype called ``name``; UnsupportedHtypeError lists the known ones."""
    try:
        return HTYPES[name]
    except KeyError:
        raise UnsupportedHtypeError(
            f"Htype {name!r} does not exist. Available htypes: {sorted(HTYPES)}"
        ) from None
