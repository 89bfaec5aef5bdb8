"""Transient faults are retried away; a fault during a commit never leaves a half-visible
version; permanent faults give one clear error naming the URL; credentials never leak.

Faults come from a proxy in front of the moto server (``tests.servers.Proxy``): 500 and 503
answers, and connections dropped before or after the request reached the server.
"""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

import arrowds as ads
from arrowds.storage import open_storage
from tests.conftest import jpeg_bytes, photo
from tests.servers import Faults, MotoServer, Proxy

SECRET = "Sup3r-s3cret-VALUE-4417"


@pytest.fixture
def faulty(s3_server):
    proxy = Proxy(s3_server.port, Faults(rate=0.1, seed=7))
    yield proxy
    proxy.stop()


@pytest.mark.slow
def test_reads_and_writes_succeed_through_faults(s3_server, faulty) -> None:
    url = f"s3://{s3_server.new_bucket()}/ds"
    opts = s3_server.options(faulty.endpoint)
    ds = ads.empty(url, storage_options=opts)
    ds.create_tensor("images", htype="image", sample_compression="jpeg")
    ds.create_tensor("labels", htype="class_label")
    jpegs = [jpeg_bytes(photo(i)) for i in range(10)]
    for b in range(4):
        ds.extend({"images": [ads.read(j, compression="jpeg") for j in jpegs],
                   "labels": [b] * len(jpegs)})
    ds.commit("forty")
    ds.labels[3] = 7
    ds.commit("edit")
    again = ads.load(url, storage_options=opts)
    assert len(again) == 40 and again.labels[3].numpy().item() == 7
    assert [again.images[i].numpy().shape for i in (0, 17, 39)] == [(32, 48, 3)] * 3
    assert [c.message for c in again.log()] == ["edit", "forty"]
    kinds = faulty.faults.injected
    assert sum(kinds.values()) >= 4 and set(kinds) == {"500", "503", "drop_before", "drop_after"}, kinds
    direct = ads.load(url, storage_options=s3_server.options())  # what the server really holds
    assert np.array_equal(direct.labels.numpy(), again.labels.numpy())


def _check_every_version_complete(url: str, opts: dict) -> int:
    """Every ref of main points at a manifest whose fragments all exist and read."""
    st = open_storage(url, opts)
    refs = [n for n in st.list("refs/branches/main") if n.endswith(".json")]  # not the HEAD hint
    for name in refs:
        ref = json.loads(st.read(f"refs/branches/main/{name}"))
        manifest = json.loads(st.read(ref["manifest"]))
        for frag in manifest["fragments"]:
            assert st.size(frag["file"]) == frag["size"]
    return len(refs)


@pytest.mark.slow
def test_a_fault_during_a_commit_never_leaves_a_half_visible_version(s3_server) -> None:
    # (a connection dropped before the server saw the request is a 500 as far as the stored
    # state goes, and costs s3fs seconds of reconnecting: left out here, tested above)
    proxy = Proxy(s3_server.port, Faults(rate=0.1, seed=3, kinds=("500", "drop_after", "503")))
    url = f"s3://{s3_server.new_bucket()}/ds"
    direct = s3_server.options()
    # no retries at all: every fault surfaces, at every step of a publish
    opts = s3_server.options(proxy.endpoint, config_kwargs={"retries": {"total_max_attempts": 1}})
    ads.empty(url, storage_options=direct).create_tensor("x", dtype="int64")
    failed = done = 0
    try:
        for b in range(12):
            try:
                ds = ads.load(url, storage_options=opts)
                ds.x.extend(np.arange(b * 10, b * 10 + 10))
                ds.commit(f"batch {b}")
                done += 1
            except ads.errors.StorageError as e:
                failed += 1
                assert url.split("/")[2] in str(e)  # names the URL
            head = ads.load(url, storage_options=direct)
            x = head.x.numpy().ravel()
            assert len(x) % 10 == 0 and all(np.array_equal(x[i:i + 10], x[i] + np.arange(10))
                                            for i in range(0, len(x), 10))
            _check_every_version_complete(url, direct)
    finally:
        proxy.stop()
    assert failed and done, (failed, done, proxy.faults.injected)


def test_missing_bucket_names_the_url(s3_server) -> None:
    url = "s3://no-such-bucket-x1/ds"
    with pytest.raises(ads.DatasetNotFoundError, match="s3://no-such-bucket-x1/ds"):
        ads.load(url, storage_options=s3_server.options())
    with pytest.raises(ads.errors.StorageError, match="s3://no-such-bucket-x1/ds.*bucket 'no-such-bucket-x1' "
                       "does not exist"):
        ads.empty(url, storage_options=s3_server.options())


@pytest.fixture(scope="module")
def iam_server():
    """A second moto server with IAM checks on: its first 3 requests are free (a bucket, a
    user without any policy, and that user's access key), every later one is checked."""
    pytest.importorskip("boto3")
    import boto3

    srv = MotoServer(env={"INITIAL_NO_AUTH_ACTION_COUNT": "3"})
    kw = {"endpoint_url": srv.endpoint, "aws_access_key_id": "x", "aws_secret_access_key": "x",
          "region_name": "us-east-1"}
    boto3.client("s3", **kw).create_bucket(Bucket="locked")
    iam = boto3.client("iam", **kw)
    iam.create_user(UserName="nobody")
    key = iam.create_access_key(UserName="nobody")["AccessKey"]
    yield srv, key["AccessKeyId"], key["SecretAccessKey"]
    srv.stop()


@pytest.mark.parametrize("who", ["bad credentials", "no permission"])
def test_bad_credentials_and_no_permission_one_clear_error(iam_server, who, caplog) -> None:
    srv, key_id, secret = iam_server
    if who == "bad credentials":
        key_id, secret = "AKIAUNKNOWN000000000", SECRET
    opts = {"key": key_id, "secret": secret, "endpoint_url": srv.endpoint}
    caplog.set_level(logging.DEBUG)
    for call in (lambda: ads.load("s3://locked/ds", storage_options=opts),
                 lambda: ads.empty("s3://locked/ds", storage_options=opts)):
        with pytest.raises(ads.errors.StorageError) as info:
            call()
        msg = str(info.value)
        assert "permission denied" in msg and "s3://locked/ds" in msg, msg
        assert secret not in msg and secret not in repr(info.value)
    assert secret not in caplog.text


def test_credentials_are_never_written_or_logged(s3_server, caplog, tmp_path) -> None:
    caplog.set_level(logging.DEBUG)
    bucket = s3_server.new_bucket()
    url = f"s3://{bucket}/ds"
    opts = {**s3_server.options(), "secret": SECRET}  # moto accepts any secret when IAM is off
    ds = ads.empty(url, storage_options=opts)
    ds.create_tensor("labels", htype="class_label")
    ds.labels.extend([1, 2, 3])
    ds.commit("three")
    ds.tag("t")
    texts = [repr(ds), str(ds._core.storage), ds._summary_text()]
    ads.copy(url, str(tmp_path / "copy"), src_storage_options=opts)
    for bad in ("s3://no-such-bucket-zz/ds", f"s3://{bucket}/missing"):
        for call in (lambda u=bad: ads.load(u, storage_options=opts),
                     lambda u=bad: ads.empty(u, storage_options=opts)):
            try:
                call()
            except Exception as e:  # noqa: BLE001 - any error: its text must be clean
                texts.append(f"{type(e).__name__}: {e!s} {e!r}")
    st = open_storage(url, opts)
    stored = b"".join(st.read(k) for k in st.list_all())
    assert stored and SECRET.encode() not in stored
    copied = b"".join(p.read_bytes() for p in (tmp_path / "copy").rglob("*") if p.is_file())
    assert copied and SECRET.encode() not in copied
    assert not any(SECRET in t for t in texts)
    assert SECRET not in caplog.text


class _FirstOnly(Faults):
    """Drop the connection after the first request reached the server; nothing else."""

    def pick(self) -> str | None:
        if self.injected:
            return None
        self.injected["drop_after"] += 1
        return "drop_after"


def test_a_retried_conditional_put_that_landed_counts_as_a_win(s3_server) -> None:
    """The first PUT lands but its answer is lost; botocore retries and gets 412. put_if_absent
    reads the object back, finds its own bytes, and reports the win (not a lost race)."""
    proxy = Proxy(s3_server.port, _FirstOnly())
    try:
        st = open_storage(f"s3://{s3_server.new_bucket()}/ds", s3_server.options(proxy.endpoint))
        assert st.put_if_absent("refs/0.json", b"mine")
        assert proxy.faults.injected["drop_after"] == 1
        assert proxy.count("PUT") == 2  # the original and botocore's retry (answered 412)
        assert not st.put_if_absent("refs/0.json", b"someone else's")
    finally:
        proxy.stop()
