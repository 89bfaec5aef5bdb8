"""Manifests: the frozen, JSON description of one version of a dataset.

A version's rows are its fragments' rows, in manifest order, minus each fragment's deleted
rows (FORMAT.md invariant 1). Row ids are stable logical ids kept here, not in the files:
an appended fragment holds ``first_rowid .. first_rowid + rows``, a patch fragment lists them.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from arrowds import _config
from arrowds.errors import DatasetCorruptError, FormatVersionError
from arrowds.format.spec import TensorSpec
from arrowds.table import deletion


@dataclass(frozen=True)
class Fragment:
    """One Parquet file of the version, with the rows of it that are hidden."""

    file: str  # key relative to the dataset root
    rows: int  # physical rows in the file
    size: int  # bytes of the file
    first_rowid: int | None = None
    rowids: tuple[int, ...] | None = None
    deleted: deletion.Ranges = ()
    footer: int | None = None  # bytes at the end of the file holding the Parquet footer

    @property
    def visible(self) -> int:
        return self.rows - deletion.count(self.deleted)

    def visible_offsets(self) -> np.ndarray:
        return deletion.visible_offsets(self.rows, self.deleted)

    def rowid_array(self) -> np.ndarray:
        """Row id of every physical row."""
        if self.rowids is not None:
            return np.asarray(self.rowids, np.int64)
        return np.arange(self.first_rowid, self.first_rowid + self.rows, dtype=np.int64)

    def replace(self, **kw: Any) -> Fragment:
        return dataclasses.replace(self, **kw)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"file": self.file, "rows": self.rows, "size": self.size}
        if self.rowids is not None:
            d["rowids"] = list(self.rowids)
        else:
            d["first_rowid"] = self.first_rowid
        if self.deleted:
            d["deleted"] = [list(r) for r in self.deleted]
        if self.footer is not None:
            d["footer"] = self.footer
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Fragment:
        rowids = d.get("rowids")
        return cls(
            file=d["file"], rows=int(d["rows"]), size=int(d.get("size", 0)),
            first_rowid=d.get("first_rowid"),
            rowids=tuple(rowids) if rowids is not None else None,
            deleted=tuple((int(a), int(b)) for a, b in d.get("deleted", ())),
            footer=int(d["footer"]) if d.get("footer") is not None else None,
        )


@dataclass(frozen=True)
class Manifest:
    """Everything that makes up one version: tensors, info, lengths, fragments."""

    tensors: tuple[TensorSpec, ...] = ()
    fragments: tuple[Fragment, ...] = ()
    lengths: dict[str, int] = field(default_factory=dict)
    tensor_info: dict[str, dict[str, Any]] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    next_rowid: int = 0
    format_version: str = _config.FORMAT_VERSION

    # -- queries -------------------------------------------------------------------------
    @property
    def num_rows(self) -> int:
        return sum(f.visible for f in self.fragments)

    def spec(self, name: str) -> TensorSpec | None:
        for s in self.tensors:
            if s.name == name:
                return s
        return None

    @property
    def tensor_names(self) -> list[str]:
        return [s.name for s in self.tensors]

    # -- changes -------------------------------------------------------------------------
    def replace(self, **kw: Any) -> Manifest:
        return dataclasses.replace(self, **kw)

    def with_spec(self, spec: TensorSpec) -> Manifest:
        """Add or replace the spec of a tensor (keeping creation order)."""
        specs = list(self.tensors)
        for i, s in enumerate(specs):
            if s.name == spec.name:
                specs[i] = spec
                break
        else:
            specs.append(spec)
        return self.replace(tensors=tuple(specs))

    def appended(self, frag: Fragment, new_lengths: dict[str, int]) -> Manifest:
        """The manifest with ``frag`` appended; its rows get the next row ids."""
        frag = frag.replace(first_rowid=self.next_rowid, rowids=None)
        return self.replace(
            fragments=self.fragments + (frag,),
            lengths={**self.lengths, **new_lengths},
            next_rowid=self.next_rowid + frag.rows,
        )

    # -- JSON ----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": self.format_version,
            "tensors": [s.to_dict() for s in self.tensors],
            "tensor_info": self.tensor_info,
            "info": self.info,
            "lengths": self.lengths,
            "next_rowid": self.next_rowid,
            "fragments": [f.to_dict() for f in self.fragments],
        }

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), separators=(",", ":"), sort_keys=False).encode()

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str = "manifest") -> Manifest:
        if not isinstance(d, dict):
            raise DatasetCorruptError(f"{where} is not a JSON object")
        check_format_version(d.get("format_version"), where)
        return cls(
            tensors=tuple(TensorSpec.from_dict(t) for t in d["tensors"]),
            fragments=tuple(Fragment.from_dict(f) for f in d["fragments"]),
            lengths={k: int(v) for k, v in d["lengths"].items()},
            tensor_info=d.get("tensor_info", {}),
            info=d.get("info", {}),
            next_rowid=int(d["next_rowid"]),
            format_version=d["format_version"],
        )

    @classmethod
    def from_json(cls, data: bytes, where: str = "manifest") -> Manifest:
        try:
            return cls.from_dict(json.loads(data), where)
        except DatasetCorruptError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise DatasetCorruptError(f"{where} is not a valid arrowds manifest: {e}") from e


def check_format_version(version: Any, what: str) -> None:
    """Refuse metadata written by a newer major format (and anything unparseable)."""
    try:
        major = int(str(version).split(".")[0])
    except ValueError:
        raise DatasetCorruptError(f"{what} has no valid format_version: {version!r}") from None
    ours = int(_config.FORMAT_VERSION.split(".")[0])
    if major > ours:
        raise FormatVersionError(
            f"{what} was written with arrowds format {version}, newer than this library's "
            f"{_config.FORMAT_VERSION}. Upgrade arrowds to read it."
        )
