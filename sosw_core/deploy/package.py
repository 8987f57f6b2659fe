"""Build the Lambda artifacts, reproducibly: the same sources give the same bytes.

Two zips:

* the **layer** (``python/`` at its root, as Lambda's Python runtimes expect): ``sosw_core``
  copied from the source tree (less :data:`LAYER_LEAVES_OUT`, which no function imports), plus :data:`LAYER_DISTRIBUTIONS` at the versions installed here,
  so the layer carries what the tests ran with. By default their files are copied from this
  environment (:func:`environment_installer`: offline, and refused for anything that is not
  pure Python, which the Lambda runtime could not load); :func:`pip_installer` fetches the
  same pinned versions from the package index instead. boto3 and botocore are left out: the
  Lambda runtime provides them.
* the **function** zip: ``essentials/`` (the four entry points) and ``workers/``.

Reproducible means: entries sorted by name, a fixed timestamp (1980-01-01, the zip epoch),
fixed permissions (0644), a fixed compression level, no directory entries, no ``__pycache__``
or ``*.pyc``. The sha256 of a zip is therefore a content address, used in the S3 keys.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644  # regular file, rw-r--r--
UNIX = 3  # ZipInfo.create_system for Unix, so external_attr carries the mode
COMPRESS_LEVEL = 9

LAYER_DISTRIBUTIONS = ("pynamodb", "python-dateutil", "six")
LAMBDA_PYTHON_VERSION = "3.12"
# Provided by the Lambda Python runtime; never shipped even if an installer brings them.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3")
FUNCTION_PACKAGES = ("essentials", "workers")
FUNCTION_OPTIONAL = ("config/schemas",)  # job schemas the Scheduler reads from LAMBDA_TASK_ROOT
LIBRARY_PACKAGE = "sosw_core"
# Subpackages that run on a person's machine, never in a Lambda function: the command line, the
# local runtime and demo, packaging and deploy, and the worker test kit. The pip package keeps
# them; the layer leaves them out (a test imports every handler from the built zips).
LAYER_LEAVES_OUT = ("cli", "local", "deploy", "testing", "examples")
EXCLUDED_DIRS = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"})
EXCLUDED_SUFFIXES = (".pyc", ".pyo")

Installer = Callable[[Sequence[str], Path], None]
"""Installs the given requirement specifiers into a target folder (the layer's ``python/``)."""


@dataclass(frozen=True)
class Artifact:
    path: Path
    sha256: str
    size: int


@dataclass(frozen=True)
class Package:
    layer: Artifact
    function: Artifact


def tree_entries(root: Path, arc_prefix: str = "") -> dict[str, Path]:
    """Every file under ``root`` (bar caches and bytecode) by its archive name ``arc_prefix/rel``."""
    if not root.is_dir():
        raise FileNotFoundError(f"no folder {root}")
    entries: dict[str, Path] = {}
    for path in root.rglob("*"):
        rel = path.relative_to(root)
        if any(part in EXCLUDED_DIRS for part in rel.parts) or not path.is_file():
            continue
        if path.suffix in EXCLUDED_SUFFIXES:
            continue
        entries["/".join(filter(None, (arc_prefix, *rel.parts)))] = path
    return entries


def write_zip(entries: Mapping[str, Path | bytes], dest: Path) -> Artifact:
    """Write ``entries`` (archive name -> file or bytes) to ``dest`` deterministically."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(dest, "w") as archive:
        for name in sorted(entries):
            source = entries[name]
            data = source if isinstance(source, bytes) else source.read_bytes()
            info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            info.create_system = UNIX
            info.external_attr = FILE_MODE << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data, compresslevel=COMPRESS_LEVEL)
    return describe(dest)


def describe(path: Path) -> Artifact:
    data = path.read_bytes()
    return Artifact(path=path, sha256=hashlib.sha256(data).hexdigest(), size=len(data))


def build_function_zip(source_root: Path, dest: Path) -> Artifact:
    """``essentials/``, ``workers/`` (and ``config/schemas/`` if present) at the zip root.

    Handlers are ``essentials/<name>.lambda_handler``.
    """
    entries: dict[str, Path] = {}
    for package in FUNCTION_PACKAGES:
        entries.update(tree_entries(source_root / package, package))
    for folder in FUNCTION_OPTIONAL:
        if (source_root / folder).is_dir():
            entries.update(tree_entries(source_root / folder, folder))
    return write_zip(entries, dest)


def layer_requirements(distributions: Sequence[str] = LAYER_DISTRIBUTIONS) -> tuple[str, ...]:
    """``name==version`` for each distribution, as installed in the running environment."""
    pinned = []
    for name in distributions:
        try:
            pinned.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError as exc:
            raise RuntimeError(f"{name} is not installed here; install the package first "
                               f"(pip install -e .) so the layer can pin its version") from exc
    return tuple(pinned)


def pip_installer(requirements: Sequence[str], target: Path) -> None:
    """pip from the package index only: pure-Python wheels for the Lambda Python, no deps, no .pyc."""
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
               "--no-deps", "--no-compile", "--only-binary=:all:", "--implementation", "cp",
               "--python-version", LAMBDA_PYTHON_VERSION, "--target", str(target), *requirements]
    logger.info("installing layer requirements: %s", " ".join(requirements))
    subprocess.run(command, check=True)


NATIVE_SUFFIXES = (".so", ".pyd", ".dylib", ".dll")


def environment_installer(requirements: Sequence[str], target: Path) -> None:
    """Copy each pinned distribution's files from this environment (no network, no pip).

    Refuses a requirement whose installed version differs from the pin, and one that is not
    pure Python (a ``WHEEL`` without ``Root-Is-Purelib: true``, or native extension files).
    Files outside site-packages (console scripts) and bytecode are not copied.
    """
    for requirement in requirements:
        name, sep, version = requirement.partition("==")
        if not sep:
            raise RuntimeError(f"{requirement!r}: the layer needs pinned requirements (name==version)")
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError as exc:
            raise RuntimeError(f"{name} is not installed here: pip install -e . first") from exc
        if dist.version != version:
            raise RuntimeError(f"{name}: {dist.version} is installed, the layer pins {version}")
        files = [f for f in dist.files or () if ".." not in f.parts]
        wheel = dist.read_text("WHEEL") or ""
        native = [str(f) for f in files if str(f).endswith(NATIVE_SUFFIXES)]
        if "Root-Is-Purelib: true" not in wheel or native:
            raise RuntimeError(f"{name} is not pure Python ({native[:2] or 'WHEEL'}): "
                               f"build the layer with --pip on a matching platform")
        for file in files:
            if any(part in EXCLUDED_DIRS for part in file.parts) or file.suffix in EXCLUDED_SUFFIXES:
                continue
            dest = target.joinpath(*file.parts)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(Path(str(dist.locate_file(file))).read_bytes())


def _runtime_provided(top_level: str) -> bool:
    name = top_level.split("-")[0].lower()
    return name in RUNTIME_PROVIDED


def build_layer_zip(source_root: Path, dest: Path, installer: Installer = environment_installer,
                    requirements: Sequence[str] | None = None) -> Artifact:
    """``python/sosw_core`` from ``source_root`` plus the installed requirements under ``python/``."""
    wanted = tuple(requirements) if requirements is not None else layer_requirements()
    with tempfile.TemporaryDirectory(prefix="sosw-layer-") as tmp:
        target = Path(tmp)
        if wanted:
            installer(wanted, target)
        entries: dict[str, Path] = {}
        for arc_name, path in tree_entries(target, "python").items():
            top_level = arc_name.split("/")[1]
            if top_level == "bin" or _runtime_provided(top_level):
                continue
            entries[arc_name] = path
        library = {name: path for name, path in
                   tree_entries(source_root / LIBRARY_PACKAGE, f"python/{LIBRARY_PACKAGE}").items()
                   if name.split("/")[2] not in LAYER_LEAVES_OUT}
        overlap = sorted(set(entries) & set(library))
        if overlap:
            raise RuntimeError(f"an installed requirement ships {LIBRARY_PACKAGE} files: {overlap[:3]}")
        entries.update(library)
        return write_zip(entries, dest)


def build_package(source_root: Path, out_dir: Path, installer: Installer = environment_installer,
                  requirements: Sequence[str] | None = None) -> Package:
    """Both zips into ``out_dir`` (``layer.zip``, ``functions.zip``)."""
    layer = build_layer_zip(source_root, out_dir / "layer.zip", installer, requirements)
    function = build_function_zip(source_root, out_dir / "functions.zip")
    return Package(layer=layer, function=function)


def source_root() -> Path:
    """The checkout this package was imported from (the folder holding ``sosw_core/``)."""
    return Path(__file__).resolve().parents[2]
