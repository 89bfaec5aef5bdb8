"""One module per benchmarked system; each exposes an image peer and/or an embedding peer."""

from __future__ import annotations

from .base import EmbeddingPeer, ImagePeer


def image_peers() -> list[ImagePeer]:
    from . import arrowds_peer, hf_peer, lance_peer, parquet_peer, rawfiles_peer

    return [
        arrowds_peer.ArrowdsImages(),
        parquet_peer.ParquetImages(row_group_size=100),
        parquet_peer.ParquetImages(row_group_size=1000),
        hf_peer.HFImages(),
        lance_peer.LanceImages(),
        rawfiles_peer.RawFileImages(),
    ]


def embedding_peers() -> list[EmbeddingPeer]:
    from . import arrowds_peer, hf_peer, lance_peer, npy_peer, parquet_peer

    return [
        arrowds_peer.ArrowdsEmbeddings(),
        parquet_peer.ParquetEmbeddings(),
        hf_peer.HFEmbeddings(),
        lance_peer.LanceEmbeddings(),
        npy_peer.NpyEmbeddings(),
    ]
