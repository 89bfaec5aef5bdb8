"""arrowds new / build / info, as a user runs them (a loopback http.server for downloads)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

import arrowds as ads
from arrowds.cli.main import main

BUILDER = '''
import arrowds as ads


class Builder(ads.builders.GeneratorBasedBuilder):
    VERSION = ads.Version("1.0.0")
    BUILDER_CONFIGS = [ads.BuilderConfig("all"), ads.BuilderConfig("odd")]
    MANUAL_DOWNLOAD_INSTRUCTIONS = "Place extra.txt in manual_dir."
    URL = "{url}"

    def _info(self):
        return self.dataset_info_from_configs(features={{"text": ads.features.Text(), "n": int}})

    def _split_generators(self, dl_manager):
        path = dl_manager.download_and_extract(self.URL)
        extra = (dl_manager.manual_dir / "extra.txt").read_text().strip()
        return {{"train": self._gen(path, extra)}}

    def _gen(self, path, extra):
        for i, line in enumerate((path / "rows.txt").read_text().splitlines()):
            if self.builder_config.name == "odd" and i % 2 == 0:
                continue
            yield i, {{"text": line + extra, "n": i}}
'''


# subprocesses import this checkout's arrowds whatever their working folder
_PATHS = [str(Path(ads.__file__).parent.parent)] + [p for p in [os.environ.get("PYTHONPATH")] if p]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(_PATHS)}


def run_cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "arrowds.cli.main", *args], capture_output=True,
                          text=True, timeout=120, cwd=cwd, env=ENV)


def test_new_writes_a_template_whose_test_passes(tmp_path):
    r = run_cli("new", "my_ds", "--dir", str(tmp_path))
    assert r.returncode == 0, r.stderr
    root = tmp_path / "my_ds"
    assert sorted(p.name for p in root.iterdir()) == sorted([
        "__init__.py", "my_ds_dataset_builder.py", "my_ds_dataset_builder_test.py", "README.md",
        "CITATIONS.bib", "TAGS.txt", "checksums.tsv", "dummy_data"])
    t = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(root)],
                       capture_output=True, text=True, timeout=120, cwd=tmp_path, env=ENV)
    assert t.returncode == 0, t.stdout + t.stderr
    assert "4 passed" in t.stdout
    assert run_cli("new", "my_ds", "--dir", str(tmp_path)).returncode == 1  # exists


@pytest.fixture
def project(tmp_path, server):
    root, base = server
    with zipfile.ZipFile(root / "rows.zip", "w") as zf:
        zf.writestr("rows.txt", "a\nb\nc\nd\n")
    name = f"cli_ds_{abs(hash(str(tmp_path))) % 10**8}"
    pkg = tmp_path / name
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / f"{name}_dataset_builder.py").write_text(BUILDER.format(url=f"{base}/rows.zip"))
    manual = tmp_path / "manual"
    manual.mkdir()
    (manual / "extra.txt").write_text("!")
    return pkg, name, root, base, manual


def test_build_with_every_flag(project, tmp_path, capsys):
    pkg, name, www, base, manual = project
    data = str(tmp_path / "data")
    common = ["--data_dir", data, "--manual_dir", str(manual), "--download_dir", str(tmp_path / "dl")]
    assert main(["build", str(pkg), *common, "--register_checksums"]) == 0
    out = capsys.readouterr().out
    assert "Dataset generation complete" in out and "train: 4 examples" in out and "train: 2 examples" in out
    tsv = (pkg / "checksums.tsv").read_text().split("\t")
    assert tsv[0] == f"{base}/rows.zip" and tsv[3].strip() == "rows.zip"
    assert sorted(r[0] for r in [(t,) for t in ads.load(f"{name}/all", split="train", data_dir=data)
                                 .text.numpy(aslist=True)]) == ["a!", "b!", "c!", "d!"]
    assert json.loads((tmp_path / "data" / name / ".config" / "metadata.json").read_text()) == {
        "default_config_name": "all"}

    assert main(["build", str(pkg), *common, "--config", "odd", "--overwrite",
                 "--max_examples_per_split", "1"]) == 0
    assert len(ads.load(f"{name}/odd", split="train", data_dir=data)) == 1
    assert main(["build", str(pkg), *common, "--config", "odd"]) == 0
    assert "Reusing dataset" in capsys.readouterr().out
    assert main(["build", str(pkg), *common, "--config", "odd", "--fail_if_exists"]) == 1

    # upstream changed: the verified rebuild fails and the old data stays
    with zipfile.ZipFile(www / "rows.zip", "w") as zf:
        zf.writestr("rows.txt", "x\n")
    fresh = ["--data_dir", data, "--manual_dir", str(manual), "--download_dir", str(tmp_path / "dl2")]
    assert main(["build", str(pkg), *fresh, "--config", "all", "--overwrite"]) == 1
    err = capsys.readouterr().err
    assert "NonMatchingChecksumError" in err and f"{base}/rows.zip" in err
    assert len(ads.load(f"{name}/all", split="train", data_dir=data)) == 4

    # air-gapped: the server is not asked, the mirror has the file
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "rows.zip").write_bytes((www / "rows.zip").read_bytes())
    (www / "rows.zip").unlink()
    assert main(["build", str(pkg), *fresh, "--config", "all", "--overwrite", "--mirror", str(mirror),
                 "--register_checksums"]) == 0
    assert len(ads.load(f"{name}/all", split="train", data_dir=data)) == 1

    assert main(["build", str(pkg), "--data_dir", data, "--config", "all", "--overwrite",
                 "--manual_dir", str(tmp_path / "nowhere"), "--mirror", str(mirror)]) == 1
    assert "Place extra.txt in manual_dir." in capsys.readouterr().err

    assert main(["info", f"{name}/odd", "--data_dir", data]) == 0
    out = capsys.readouterr().out
    assert f"{name}/odd/1.0.0" in out and "train: 1 examples" in out and "prepared: " in out


def test_build_errors_are_one_line(tmp_path):
    r = run_cli("build", "no_such_dataset_xyz", "--data_dir", str(tmp_path))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.startswith("arrowds: error:") and "no_such_dataset_xyz not found" in r.stderr
    r = run_cli("build", str(tmp_path))
    assert r.returncode == 1 and "no *_dataset_builder.py" in r.stderr


def test_info_of_a_prepared_version_folder(tmp_path, capsys):
    class InfoDs(ads.builders.GeneratorBasedBuilder):
        VERSION = "1.2.3"

        def _info(self):
            return self.dataset_info_from_configs(features={"x": int}, homepage="https://h")

        def _split_generators(self, dl_manager):
            return {"train": ((i, {"x": i}) for i in range(3))}

    InfoDs(data_dir=tmp_path).download_and_prepare()
    assert main(["info", str(tmp_path / "info_ds" / "1.2.3")]) == 0
    out = capsys.readouterr().out
    assert "info_ds/1.2.3" in out and "homepage: https://h" in out and textwrap.dedent("train: 3") in out
