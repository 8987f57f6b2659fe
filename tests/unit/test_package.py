"""The Lambda zips are reproducible: same sources, same bytes, whatever the file times."""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pytest

from sosw_core.deploy.package import (
    LAYER_DISTRIBUTIONS,
    NATIVE_SUFFIXES,
    build_function_zip,
    build_layer_zip,
    build_package,
    environment_installer,
    layer_requirements,
    source_root,
)

ROOT = source_root()


def _infos(path: Path) -> list[zipfile.ZipInfo]:
    with zipfile.ZipFile(path) as archive:
        return archive.infolist()


def _assert_normalised(path: Path) -> None:
    infos = _infos(path)
    names = [i.filename for i in infos]
    assert names == sorted(names)
    assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".pyo")) or n.endswith("/")]
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {(i.external_attr >> 16) & 0o777 for i in infos} == {0o644}


def _copy_with_fresh_times(src: Path, dst: Path) -> None:
    """A copy whose files have other mtimes, plus bytecode caches that must not be packed."""
    shutil.copytree(src, dst, copy_function=shutil.copy)
    for path in dst.rglob("*.py"):
        os.utime(path, (1_800_000_000, 1_800_000_000))
        cache = path.parent / "__pycache__"
        cache.mkdir(exist_ok=True)
        (cache / f"{path.stem}.cpython-312.pyc").write_bytes(os.urandom(16))


def test_function_zip_is_reproducible(tmp_path):
    first = build_function_zip(ROOT, tmp_path / "a" / "functions.zip")
    second = build_function_zip(ROOT, tmp_path / "b" / "functions.zip")
    assert first.sha256 == second.sha256
    assert (tmp_path / "a" / "functions.zip").read_bytes() == (tmp_path / "b" / "functions.zip").read_bytes()
    _assert_normalised(first.path)


def test_function_zip_ignores_file_times_and_caches(tmp_path):
    copy = tmp_path / "src"
    for folder in ("essentials", "workers"):
        _copy_with_fresh_times(ROOT / folder, copy / folder)
    if (ROOT / "config" / "schemas").is_dir():
        shutil.copytree(ROOT / "config" / "schemas", copy / "config" / "schemas")
    original = build_function_zip(ROOT, tmp_path / "original.zip")
    copied = build_function_zip(copy, tmp_path / "copied.zip")
    assert copied.sha256 == original.sha256


def test_function_zip_holds_the_entry_points(tmp_path):
    artifact = build_function_zip(ROOT, tmp_path / "functions.zip")
    names = {i.filename for i in _infos(artifact.path)}
    assert {"essentials/__init__.py", "workers/__init__.py"} <= names
    assert all(n.startswith(("essentials/", "workers/", "config/schemas/")) for n in names)


class FakeInstaller:
    """Stands in for pip: writes a tiny distribution (and things the layer must drop)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []

    def __call__(self, requirements: Sequence[str], target: Path) -> None:
        self.calls.append(tuple(requirements))
        (target / "fakepkg" / "__pycache__").mkdir(parents=True)
        (target / "fakepkg" / "__init__.py").write_text("VALUE = 1\n")
        (target / "fakepkg" / "__pycache__" / "__init__.cpython-312.pyc").write_bytes(os.urandom(8))
        (target / "fakepkg-1.0.dist-info").mkdir()
        (target / "fakepkg-1.0.dist-info" / "METADATA").write_text("Name: fakepkg\nVersion: 1.0\n")
        (target / "boto3").mkdir()
        (target / "boto3" / "__init__.py").write_text("")
        (target / "botocore-1.0.dist-info").mkdir()
        (target / "botocore-1.0.dist-info" / "METADATA").write_text("")
        (target / "bin").mkdir()
        (target / "bin" / "tool").write_text("#!/bin/sh\n")
        for path in target.rglob("*"):
            os.utime(path, None)  # "now": differs between the two builds


def test_layer_zip_is_reproducible_and_lean(tmp_path):
    installer = FakeInstaller()
    first = build_layer_zip(ROOT, tmp_path / "a.zip", installer, requirements=["fakepkg==1.0"])
    second = build_layer_zip(ROOT, tmp_path / "b.zip", installer, requirements=["fakepkg==1.0"])
    assert first.sha256 == second.sha256
    assert installer.calls == [("fakepkg==1.0",), ("fakepkg==1.0",)]
    _assert_normalised(first.path)
    names = {i.filename for i in _infos(first.path)}
    assert {"python/fakepkg/__init__.py", "python/fakepkg-1.0.dist-info/METADATA",
            "python/sosw_core/__init__.py", "python/sosw_core/adapters/dynamodb/models.py"} <= names
    assert all(n.startswith("python/") for n in names)
    tops = {n.split("/")[1] for n in names}
    assert not tops & {"boto3", "botocore-1.0.dist-info", "bin"}


def test_build_package_writes_both_zips(tmp_path):
    package = build_package(ROOT, tmp_path, FakeInstaller(), requirements=["fakepkg==1.0"])
    assert package.layer.path == tmp_path / "layer.zip"
    assert package.function.path == tmp_path / "functions.zip"
    assert package.layer.size == package.layer.path.stat().st_size


def test_layer_requirements_pin_the_tested_versions():
    pins = layer_requirements()
    assert [p.split("==")[0] for p in pins] == list(LAYER_DISTRIBUTIONS)
    assert not [p for p in pins if p.split("==")[0] in ("boto3", "botocore")]
    assert pins[0] == f"pynamodb=={importlib.metadata.version('pynamodb')}"


def test_missing_distribution_is_named():
    with pytest.raises(RuntimeError, match="no-such-dist"):
        layer_requirements(["no-such-dist"])


# -- the default installer: the pinned distributions copied from this environment (offline) ------
def test_default_layer_carries_the_installed_versions_and_is_reproducible(tmp_path):
    first = build_layer_zip(ROOT, tmp_path / "a.zip")
    second = build_layer_zip(ROOT, tmp_path / "b.zip")
    assert first.sha256 == second.sha256
    _assert_normalised(first.path)
    names = {i.filename for i in _infos(first.path)}
    for name in LAYER_DISTRIBUTIONS:
        dist = importlib.metadata.distribution(name)
        packed = {f"python/{f.as_posix()}" for f in dist.files
                  if ".." not in f.parts and "__pycache__" not in f.parts and f.suffix != ".pyc"}
        assert packed and packed <= names, name
    with zipfile.ZipFile(first.path) as archive:
        metadata = archive.read(f"python/pynamodb-{importlib.metadata.version('pynamodb')}.dist-info/METADATA")
    assert f"Version: {importlib.metadata.version('pynamodb')}".encode() in metadata
    assert not {n.split("/")[1] for n in names} & {"boto3", "botocore", "bin"}


def test_environment_installer_refuses_another_version(tmp_path):
    installed = importlib.metadata.version("six")
    with pytest.raises(RuntimeError, match=f"six: {installed} is installed, the layer pins 0.0.1"):
        environment_installer(["six==0.0.1"], tmp_path)
    with pytest.raises(RuntimeError, match="pinned"):
        environment_installer(["six"], tmp_path)
    assert list(tmp_path.iterdir()) == []


def _native_distribution() -> importlib.metadata.Distribution | None:
    for dist in importlib.metadata.distributions():
        if any(str(f).endswith(NATIVE_SUFFIXES) for f in dist.files or ()):
            return dist
    return None


def test_environment_installer_refuses_native_code(tmp_path):
    dist = _native_distribution()
    if dist is None:
        pytest.skip("no distribution with native code installed here")
    with pytest.raises(RuntimeError, match="not pure Python"):
        environment_installer([f"{dist.metadata['Name']}=={dist.version}"], tmp_path)


def test_every_handler_imports_from_the_built_zips_alone(tmp_path):
    """As Lambda lays them out: the function zip in the task root, the layer under /opt/python.

    The interpreter starts without site-packages (``-S``), so ``sosw_core`` and its requirements
    can only come from the zips; boto3 and botocore come from this venv, as the runtime provides
    them. The layer leaves out what runs on a person's machine (CLI, local runtime, test kit).
    """
    import subprocess
    import sys
    import sysconfig

    package = build_package(ROOT, tmp_path / "build")
    task_root, opt = tmp_path / "task", tmp_path / "opt"
    with zipfile.ZipFile(package.function.path) as archive:
        archive.extractall(task_root)
    with zipfile.ZipFile(package.layer.path) as archive:
        archive.extractall(opt)
    layer_packages = {p.name for p in (opt / "python" / "sosw_core").iterdir() if p.is_dir()}
    assert not layer_packages & {"cli", "local", "deploy", "testing", "examples"}
    handlers = sorted(f"essentials.{p.stem}" for p in (task_root / "essentials").glob("*.py")
                      if p.stem != "__init__")
    handlers += sorted(f"workers.{p.parent.name}.handler" for p in (task_root / "workers").glob("*/handler.py"))
    script = (
        "import importlib, sys\n"
        f"sys.path[:0] = [{str(task_root)!r}, {str(opt / 'python')!r}]\n"
        f"sys.path.append({sysconfig.get_paths()['purelib']!r})  # boto3/botocore: the runtime's\n"
        f"for name in {handlers!r}:\n"
        "    module = importlib.import_module(name)\n"
        "    assert callable(getattr(module, 'lambda_handler', None) or getattr(module, 'handler', None)), name\n"
        "import sosw_core\n"
        f"assert sosw_core.__file__.startswith({str(opt)!r}), sosw_core.__file__\n"
        "print(len(sys.argv) and 'ok')\n")
    done = subprocess.run([sys.executable, "-S", "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok" and len(handlers) >= 5
