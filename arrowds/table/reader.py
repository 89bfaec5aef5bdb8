"""Read cells of fragments: direct byte ranges where the file allows, pyarrow otherwise."""

from __future__ import annotations

import struct
import threading
from collections import OrderedDict
from collections.abc import Iterable

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from arrowds.errors import DatasetCorruptError
from arrowds.format.parquet import FileLayout
from arrowds.storage import Storage
from arrowds.table.manifest import Fragment

_FOOTER_CACHE_FILES = 2048
_FOOTER_GUESS = 64 * 1024
#: Decoded row-group columns kept for sample-by-sample reads: at most this many bytes in all,
#: and only column chunks up to _CHUNK_CACHE_ITEM (labels, boxes, text; not media).
_CHUNK_CACHE_BYTES = 64 << 20
_CHUNK_CACHE_ITEM = 1 << 20


class FragmentReader:
    """Cached footers and open files of one dataset's fragments.

    Fragments are immutable, so a footer read once stays true forever: every later sample
    read from that file costs only the bytes of the sample (or of its row group).
    """

    def __init__(self, storage: Storage):
        self.storage = storage
        self._layouts: OrderedDict[str, FileLayout] = OrderedDict()
        self._files: OrderedDict[str, pq.ParquetFile] = OrderedDict()
        self._sizes: dict[str, tuple[int, int | None]] = {}
        self._chunks: OrderedDict[tuple[str, str, int], pa.Array] = OrderedDict()
        self._chunk_bytes = 0
        self._lock = threading.Lock()

    def know_fragments(self, fragments: Iterable[Fragment]) -> None:
        """Remember file and footer sizes (from a manifest) so a footer is one exact ranged
        read, with no size request."""
        self._sizes.update((f.file, (f.size, f.footer)) for f in fragments)

    def layout(self, file: str) -> FileLayout:
        """The parsed footer of ``file``: one ranged read of its tail (two if the footer is
        bigger than the first guess)."""
        lay = self._layouts.get(file)
        if lay is not None:
            return lay
        with self._lock:
            lay = self._layouts.get(file)
            if lay is None:
                lay = FileLayout.from_metadata(self._read_footer(file, *self._sizes.get(file, (0, None))))
                self._layouts[file] = lay
                while len(self._layouts) > _FOOTER_CACHE_FILES:
                    self._layouts.popitem(last=False)
            return lay

    def _read_footer(self, file: str, size: int, footer: int | None) -> pq.FileMetaData:
        if not size:
            size = self.storage.size(file)
        tail = self.storage.read_range(file, max(0, size - (footer or _FOOTER_GUESS)), size)
        if len(tail) < 8 or tail[-4:] != b"PAR1":
            raise DatasetCorruptError(f"{self.storage.key_url(file)} is not a Parquet file")
        need = struct.unpack("<I", tail[-8:-4])[0] + 8
        if need > len(tail):  # fetch only the head of the footer the first read missed
            tail = self.storage.read_range(file, size - need, size - len(tail)) + tail
        try:
            return pq.read_metadata(pa.BufferReader(tail[-need:]))
        except (OSError, pa.ArrowException) as e:
            raise DatasetCorruptError(f"{self.storage.key_url(file)} has a corrupt footer: {e}") from e

    def parquet_file(self, file: str) -> pq.ParquetFile:
        pf = self._files.get(file)
        if pf is not None:
            return pf
        with self._lock:
            pf = self._files.get(file)
            if pf is None:
                lay = self.layout(file)
                pf = pq.ParquetFile(self.storage.open_input(file), metadata=lay.metadata)
                self._files[file] = pf
                while len(self._files) > 64:
                    _, old = self._files.popitem(last=False)
                    old.close()
            return pf

    def has_column(self, file: str, column: str) -> bool:
        return column in self.layout(file).column_index

    # -- generic path --------------------------------------------------------------------
    def read_columns(self, file: str, columns: list[str], offsets: np.ndarray) -> dict[str, pa.Array]:
        """Values of ``columns`` at physical ``offsets`` (any order, repeats allowed), through
        pyarrow, reading only the row groups that hold them. Absent columns come back null.

        A read within one row group keeps that group's decoded columns (the small ones) in a
        bounded cache, so sample-by-sample reads (``ds.labels[i]`` in a loop) decode each row
        group once instead of once per sample."""
        lay = self.layout(file)
        present = [c for c in columns if c in lay.column_index]
        offsets = np.asarray(offsets, np.int64)
        out: dict[str, pa.Array] = {}
        if present:
            rgs = np.unique(lay.row_group_of(offsets))
            data = (self._one_row_group(file, lay, present, int(rgs[0])) if len(rgs) == 1
                    else self._row_groups(file, present, rgs))
            base = lay.rg_starts[rgs]
            counts = lay.rg_starts[rgs + 1] - base
            table_start = np.zeros(len(rgs), np.int64)
            np.cumsum(counts[:-1], out=table_start[1:])
            which = np.searchsorted(rgs, lay.row_group_of(offsets))
            idx = table_start[which] + (offsets - base[which])
            contiguous = idx.size and idx[0] + idx.size == idx[-1] + 1 and np.all(np.diff(idx) == 1)
            for c in present:
                col = data[c]
                col = col.slice(int(idx[0]), idx.size) if contiguous else col.take(pa.array(idx))
                out[c] = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
        for c in columns:
            if c not in out:
                out[c] = None  # caller knows the type; None means "no such column in file"
        return out

    def _row_groups(self, file: str, columns: list[str], rgs: np.ndarray) -> dict[str, pa.ChunkedArray]:
        pf = self.parquet_file(file)
        with self._lock:  # a ParquetFile's file object is not safe across threads
            table = pf.read_row_groups(rgs.tolist(), columns=columns, use_threads=False)
        return {c: table.column(c) for c in columns}

    def _one_row_group(self, file: str, lay: FileLayout, columns: list[str], g: int) -> dict[str, pa.Array]:
        got: dict[str, pa.Array] = {}
        with self._lock:
            for c in columns:
                hit = self._chunks.get((file, c, g))
                if hit is not None:
                    self._chunks.move_to_end((file, c, g))
                    got[c] = hit
        missing = [c for c in columns if c not in got]
        if missing:
            table = self._row_groups(file, missing, np.array([g]))
            rg = lay.metadata.row_group(g)
            with self._lock:
                for c in missing:
                    col = table[c].combine_chunks()
                    got[c] = col
                    leaf = rg.column(lay.column_index[c])
                    if leaf.total_uncompressed_size <= _CHUNK_CACHE_ITEM and col.nbytes <= _CHUNK_CACHE_ITEM:
                        self._chunks[(file, c, g)] = col
                        self._chunk_bytes += col.nbytes
                while self._chunk_bytes > _CHUNK_CACHE_BYTES and self._chunks:
                    self._chunk_bytes -= self._chunks.popitem(last=False)[1].nbytes
        return got

    def read_table(self, file: str, columns: list[str] | None = None) -> pa.Table:
        pf = self.parquet_file(file)
        with self._lock:
            return pf.read(columns=columns, use_threads=False)

    # -- direct path ---------------------------------------------------------------------
    def is_direct(self, file: str, column: str) -> bool:
        lay = self.layout(file)
        return column in lay.blob or column in lay.fixed

    def read_blobs(self, file: str, column: str, offsets: np.ndarray) -> list[bytes]:
        """Media bytes of the rows at ``offsets`` of a direct blob column: one ranged read each."""
        starts, lens = self.layout(file).blob[column]
        s = starts[offsets]
        e = s + lens[offsets]
        return self.storage.read_ranges(file, s.tolist(), e.tolist())

    def read_fixed(self, file: str, column: str, offsets: np.ndarray, dtype: np.dtype,
                   out: np.ndarray) -> None:
        """Fill ``out`` (rows x values) with a direct fixed column's rows at ``offsets``."""
        if len(offsets) == 0:
            return
        lay = self.layout(file)
        flat = out.reshape(len(offsets), -1).view(np.uint8).reshape(len(offsets), -1)
        offsets = np.asarray(offsets, np.int64)
        if offsets.size and np.all(np.diff(offsets) == 1):
            pos = 0
            for _, b0, b1 in lay.fixed_runs(column, int(offsets[0]), int(offsets[-1]) + 1):
                n = (b1 - b0) // flat.shape[1] if flat.shape[1] else 0
                self._read_into(file, b0, b1, flat[pos:pos + n])
                pos += n
            return
        for i, r in enumerate(offsets.tolist()):
            b0, b1 = lay.byte_range(column, r)
            self._read_into(file, b0, b1, flat[i:i + 1])

    def _read_into(self, file: str, start: int, end: int, dest: np.ndarray) -> None:
        readinto = getattr(self.storage, "readinto", None)
        if readinto is not None:
            readinto(file, start, memoryview(dest).cast("B"))
        else:
            dest.reshape(-1)[:] = np.frombuffer(self.storage.read_range(file, start, end), np.uint8)

    def close(self) -> None:
        with self._lock:
            for pf in self._files.values():
                pf.close()
            self._files.clear()
            self._layouts.clear()

