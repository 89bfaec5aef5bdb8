"""scheduler="ray" on an existing cluster given by address: a head started by another process
(1 CPU), a driver process that connects with ``ray_address=`` and runs a transform on it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

import arrowds as ads

ROOT = Path(__file__).resolve().parents[2]

HEAD = textwrap.dedent("""
    import os, sys, time, ray
    ray.init(num_cpus=1, object_store_memory=128 * 2**20, include_dashboard=False, _temp_dir=sys.argv[1],
             runtime_env={"env_vars": {"PYTHONPATH": os.environ["PYTHONPATH"]}})
    print(ray.get_runtime_context().gcs_address, flush=True)
    try:
        while True:
            time.sleep(0.2)
    except KeyboardInterrupt:
        ray.shutdown()
""")

DRIVER = textwrap.dedent("""
    import sys
    import ray
    import arrowds as ads

    @ads.compute
    def inc(x, samples_out):
        samples_out.values.append(x + 1)

    ds = ads.empty(sys.argv[2])
    ds.create_tensor("values")
    inc().eval(list(range(300)), ds, num_workers=1, scheduler="ray", ray_address=sys.argv[1],
               progressbar=False)
    assert ray.get_runtime_context().gcs_address == sys.argv[1]
    print("rows", len(ds))
""")


def test_eval_on_a_cluster_by_address(tmp_path):
    pytest.importorskip("ray")
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    temp = tempfile.mkdtemp(prefix="ray-")  # short: Ray's socket paths must fit 107 bytes
    head = subprocess.Popen([sys.executable, "-c", HEAD, temp], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        address = head.stdout.readline().strip()
        assert address, "the Ray head did not start"
        r = subprocess.run([sys.executable, "-c", DRIVER, address, str(tmp_path / "out")],
                           capture_output=True, text=True, timeout=180, env=env)
        assert r.returncode == 0, r.stderr[-3000:]
        assert "rows 300" in r.stdout
    finally:
        head.send_signal(signal.SIGINT)
        try:
            head.wait(timeout=30)
        except subprocess.TimeoutExpired:
            head.kill()
            head.wait()
        time.sleep(0.5)
        shutil.rmtree(temp, ignore_errors=True)
    assert ads.load(str(tmp_path / "out")).values.numpy().ravel().tolist() == list(range(1, 301))
