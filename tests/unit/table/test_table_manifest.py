"""Manifests and fragments: frozen values that round-trip through JSON, and a reader that refuses
a newer format major (FormatVersionError) or garbage (DatasetCorruptError)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arrowds import _config
from arrowds.errors import DatasetCorruptError, FormatVersionError
from arrowds.format import HTYPES, TensorSpec
from arrowds.format.spec import LAYOUTS
from arrowds.table import deletion
from arrowds.table.manifest import Fragment, Manifest, check_format_version

SETTINGS = settings(max_examples=120, deadline=None)

NAME = st.text(st.characters(codec="utf-8", exclude_characters="/"), min_size=1, max_size=8)
DIM = st.integers(0, 1 << 20)
JSON_SCALAR = (st.none() | st.booleans() | st.integers(-(2**63), 2**63) | st.text(max_size=8)
               | st.floats(allow_nan=False, allow_infinity=False))
JSON = st.recursive(JSON_SCALAR, lambda kids: st.lists(kids, max_size=3)
                    | st.dictionaries(st.text(max_size=6), kids, max_size=3), max_leaves=10)


@st.composite
def specs(draw: st.DrawFn, name: str | None = None) -> TensorSpec:
    ndim = draw(st.none() | st.integers(0, 4))
    dims = st.lists(DIM, min_size=ndim or 0, max_size=ndim or 0).map(tuple)
    return TensorSpec(
        name=name or draw(NAME),
        htype=draw(st.sampled_from(sorted(HTYPES))),
        dtype=draw(st.none() | st.sampled_from(["uint8", "int64", "float32", "bool", "str", "json", "list"])),
        sample_compression=draw(st.none() | st.sampled_from(["jpeg", "png", "wav", "mp4", "auto"])),
        chunk_compression=draw(st.none() | st.sampled_from(["zstd", "lz4"])),
        layout=draw(st.none() | st.sampled_from(LAYOUTS)),
        ndim=ndim,
        shape=draw(st.none() | st.lists(st.none() | DIM, min_size=ndim or 0, max_size=ndim or 0).map(tuple)),
        min_shape=draw(st.none() | dims),
        max_shape=draw(st.none() | dims),
    )


@st.composite
def fragments(draw: st.DrawFn) -> Fragment:
    rows = draw(st.integers(0, 50))
    deleted = deletion.from_offsets(draw(st.lists(st.integers(0, max(rows - 1, 0)), max_size=rows)))
    if draw(st.booleans()):
        ids = dict(first_rowid=draw(st.integers(0, 1 << 40)), rowids=None)
    else:
        ids = dict(first_rowid=None, rowids=tuple(draw(st.lists(st.integers(0, 1 << 40),
                                                                min_size=rows, max_size=rows))))
    return Fragment(file=f"data/{draw(st.uuids()).hex}.parquet", rows=rows,
                    size=draw(st.integers(0, 1 << 40)), deleted=deleted, **ids)


@st.composite
def manifests(draw: st.DrawFn) -> Manifest:
    names = draw(st.lists(NAME, unique=True, max_size=4))
    return Manifest(
        tensors=tuple(draw(specs(name=n)) for n in names),
        fragments=tuple(draw(st.lists(fragments(), max_size=4))),
        lengths={n: draw(st.integers(0, 1 << 40)) for n in names},
        tensor_info={n: draw(st.dictionaries(st.text(max_size=6), JSON, max_size=3)) for n in names},
        info=draw(st.dictionaries(st.text(max_size=6), JSON, max_size=3)),
        next_rowid=draw(st.integers(0, 1 << 50)),
        format_version=draw(st.sampled_from([_config.FORMAT_VERSION, "1.1", "0.9", "1"])),
    )


@SETTINGS
@given(manifests())
def test_manifest_json_round_trip(m: Manifest) -> None:
    data = m.to_json()
    assert isinstance(data, bytes)
    back = Manifest.from_json(data)
    assert back == m
    assert back.to_json() == data  # stable bytes: the same manifest always serialises alike


@SETTINGS
@given(fragments())
def test_fragment_dict_round_trip(f: Fragment) -> None:
    d = json.loads(json.dumps(f.to_dict()))
    assert Fragment.from_dict(d) == f
    assert f.visible == f.rows - deletion.count(f.deleted) == len(f.visible_offsets())
    assert len(f.rowid_array()) == f.rows


@SETTINGS
@given(specs())
def test_tensor_spec_dict_round_trip(s: TensorSpec) -> None:
    assert TensorSpec.from_dict(json.loads(json.dumps(s.to_dict()))) == s


@SETTINGS
@given(manifests())
def test_unknown_fields_of_a_newer_minor_are_ignored(m: Manifest) -> None:
    """A same-major manifest with fields this library does not know still reads."""
    d = m.to_dict()
    d["format_version"] = f"{_major()}.99"
    d["added_later"] = {"x": 1}
    for t in d["tensors"]:
        t["added_later"] = [1, 2]
    back = Manifest.from_json(json.dumps(d).encode())
    assert back.replace(format_version=m.format_version) == m


def test_manifest_is_frozen() -> None:
    m = Manifest()
    with pytest.raises(AttributeError):
        m.next_rowid = 3  # type: ignore[misc]
    with pytest.raises(AttributeError):
        Fragment("f", 1, 1, 0).rows = 2  # type: ignore[misc]


def test_appended_assigns_row_ids() -> None:
    m = Manifest(next_rowid=10)
    m2 = m.appended(Fragment("a", 3, 9, first_rowid=None, rowids=(7, 8, 9)), {"x": 3})
    assert m2.fragments[-1].first_rowid == 10 and m2.fragments[-1].rowids is None
    assert m2.fragments[-1].rowid_array().tolist() == [10, 11, 12]
    assert m2.next_rowid == 13 and m2.lengths == {"x": 3}
    assert m.fragments == () and m.next_rowid == 10  # the original is unchanged


# -- format version --------------------------------------------------------------------------
def _major() -> int:
    return int(_config.FORMAT_VERSION.split(".")[0])


@pytest.mark.parametrize("version", [_config.FORMAT_VERSION, f"{_major()}.99", f"{_major()}", "0.1",
                                     _major(), float(_major())])
def test_check_format_version_accepts_same_or_older_major(version) -> None:
    check_format_version(version, "x")


@pytest.mark.parametrize("version", [f"{_major() + 1}.0", f"{_major() + 1}", f"{_major() + 10}.3",
                                     _major() + 1])
def test_check_format_version_refuses_newer_major(version) -> None:
    with pytest.raises(FormatVersionError, match="Upgrade arrowds") as e:
        check_format_version(version, "gs://b/ds/manifests/m.json")
    assert "gs://b/ds/manifests/m.json" in str(e.value)
    assert str(version) in str(e.value)


@pytest.mark.parametrize("version", [None, "", "abc", "v1.0", "one.zero", [1], {"major": 1}])
def test_check_format_version_refuses_garbage(version) -> None:
    with pytest.raises(DatasetCorruptError, match="format_version") as e:
        check_format_version(version, "mem://ds/arrowds.json")
    assert not isinstance(e.value, FormatVersionError)
    assert "mem://ds/arrowds.json" in str(e.value)


def test_manifest_from_json_refuses_newer_major() -> None:
    d = Manifest().to_dict()
    d["format_version"] = f"{_major() + 1}.0"
    with pytest.raises(FormatVersionError):
        Manifest.from_json(json.dumps(d).encode(), "mem://ds/manifests/a.json")


def _manifest_json(**changes) -> bytes:
    d = Manifest().to_dict()
    d.update(changes)
    return json.dumps(d).encode()


@pytest.mark.parametrize("data", [b"", b"not json", b"{}", b'{"format_version": "1.0"}',
                                  _manifest_json(fragments=[{}]), _manifest_json(tensors=[{"name": "x"}]),
                                  _manifest_json(next_rowid="many"), _manifest_json(format_version="x")])
def test_manifest_from_json_refuses_garbage_naming_the_file(data: bytes) -> None:
    with pytest.raises(DatasetCorruptError) as e:
        Manifest.from_json(data, "mem://ds/manifests/a.json")
    assert not isinstance(e.value, FormatVersionError)
    assert "mem://ds/manifests/a.json" in str(e.value)


@pytest.mark.parametrize("data", [b"[]", b'"x"', _manifest_json(tensors=[1]), _manifest_json(fragments=[5]),
                                  _manifest_json(lengths=[])])
def test_manifest_from_json_refuses_wrong_json_shapes(data: bytes) -> None:
    with pytest.raises(DatasetCorruptError, match="mem://ds/manifests/a.json"):
        Manifest.from_json(data, "mem://ds/manifests/a.json")


def test_newer_manifest_error_names_the_file() -> None:
    with pytest.raises(FormatVersionError, match="mem://ds/manifests/a.json"):
        Manifest.from_json(_manifest_json(format_version=f"{_major() + 1}.0"), "mem://ds/manifests/a.json")
