"""``arrowds build [PATH_OR_NAME]``: download and prepare a dataset builder.

PATH_OR_NAME is a builder folder (default: here; the one holding ``*_dataset_builder.py``), a
``.py`` file defining builders, or a registered name (``mnist``, ``my_ds/small:1.0.0``).
Without ``--config`` every config is built (TFDS). ``--ray`` encodes and writes the splits with
Ray tasks (``arrowds.builders.distributed``). ``arrowds info NAME`` shows the result.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import inspect
import pdb
import sys
from pathlib import Path
from types import ModuleType

from arrowds.builders import DownloadConfig, GeneratorBasedBuilder, registry
from arrowds.builders.loading import builder as get_builder


def _import_path(path: Path) -> ModuleType:
    """Import a builder folder (as a package, so relative imports work) or a .py file."""
    if path.is_dir():
        mods = sorted(path.glob("*_dataset_builder.py"))
        if not mods:
            raise FileNotFoundError(f"no *_dataset_builder.py in {path}; pass a builder folder, a .py "
                                    "file or a dataset name")
        if (path / "__init__.py").exists():
            sys.path.insert(0, str(path.resolve().parent))
            return importlib.import_module(f"{path.resolve().name}.{mods[0].stem}")
        path = mods[0]
    spec = importlib.util.spec_from_file_location(path.stem, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


def _builder_classes(target: str) -> list[type[GeneratorBasedBuilder]]:
    path = Path(target)
    if path.exists():
        module = _import_path(path)
        found = [c for _, c in inspect.getmembers(module, inspect.isclass)
                 if issubclass(c, GeneratorBasedBuilder) and c.__module__ == module.__name__]
        if not found:
            raise LookupError(f"{target} defines no GeneratorBasedBuilder")
        return found
    parsed = registry.parse_name(target)
    cls = registry.registered(parsed.name) if parsed else None
    if cls is None:
        raise LookupError(f"Dataset {target} not found: not a folder, a .py file or a registered builder "
                          f"(known: {', '.join(registry.list_builders())})")
    return [cls]


def run(args: argparse.Namespace) -> None:
    try:
        _build(args)
    except Exception:
        if args.pdb:
            pdb.post_mortem(sys.exc_info()[2])
        raise


def _build(args: argparse.Namespace) -> None:
    dc = DownloadConfig(manual_dir=args.manual_dir, download_dir=args.download_dir, mirror=args.mirror,
                        register_checksums=args.register_checksums,
                        force_checksums_validation=args.force_checksums_validation,
                        max_examples_per_split=args.max_examples_per_split,
                        overwrite=args.overwrite, fail_if_exists=args.fail_if_exists)
    parsed = registry.parse_name(args.target) if not Path(args.target).exists() else None
    for cls in _builder_classes(args.target):
        configs = [args.config or (parsed.config if parsed else None)]
        if configs == [None] and cls.BUILDER_CONFIGS:
            configs = [c.name for c in cls.BUILDER_CONFIGS]
        for config in configs:
            b = get_builder(cls.name + (f"/{config}" if config else ""), data_dir=args.data_dir,
                            version=parsed.version if parsed else None)
            was_prepared = b.is_prepared
            b.download_and_prepare(dc, scheduler="ray" if args.ray or args.ray_address else "local",
                                   ray_address=args.ray_address)
            if args.max_examples_per_split == 0:
                print(f"Downloaded the files of {b.full_name} (--max_examples_per_split 0: nothing built)")
            elif was_prepared and not args.overwrite:
                print(f"Reusing dataset {b.full_name} ({b.data_path}); --overwrite rebuilds it")
            else:
                print(f"Dataset generation complete: {b.data_path}")
                print(b.info)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("build", help="download and prepare a dataset builder")
    p.add_argument("target", nargs="?", default=".", metavar="PATH_OR_NAME",
                   help="builder folder or .py file (default: here), or a registered dataset name")
    p.add_argument("--data_dir", default=None, help="where prepared datasets go (default: "
                   "$ARROWDS_DATA_DIR or ~/arrowds_datasets)")
    p.add_argument("--config", "-c", default=None, help="build only this config (default: all)")
    p.add_argument("--overwrite", action="store_true",
                   help="rebuild a prepared version; the old data is deleted only after success")
    p.add_argument("--fail_if_exists", action="store_true", help="fail if the version is prepared")
    p.add_argument("--max_examples_per_split", type=int, default=None, metavar="N",
                   help="at most N examples per split (0: only download)")
    p.add_argument("--register_checksums", action="store_true",
                   help="record url/size/sha256 of every download in checksums.tsv beside the builder")
    p.add_argument("--force_checksums_validation", action="store_true",
                   help="fail on a download without a registered checksum")
    p.add_argument("--manual_dir", default=None, help="folder of files placed by hand")
    p.add_argument("--download_dir", default=None, help="download cache (default: <data_dir>/downloads)")
    p.add_argument("--mirror", default=None, help="folder searched for each URL's file name before "
                   "the network (air-gapped machines; also $ARROWDS_DOWNLOAD_MIRROR)")
    p.add_argument("--ray", action="store_true", help="encode and write the splits with Ray tasks "
                   "(the connected cluster, $RAY_ADDRESS, or a new local one); same data as a local build")
    p.add_argument("--ray_address", default=None, metavar="ADDR",
                   help="the Ray cluster for --ray (implies --ray), e.g. ray://head:10001 or auto")
    p.add_argument("--pdb", action="store_true", help="enter the debugger on an error")
    p.set_defaults(func=run)
