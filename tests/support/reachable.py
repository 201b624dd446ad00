"""The project as another uid can import it: a copy of the `injector` package, with the
dependencies it needs to sign (cryptography and cffi), in a folder under /tmp that every uid may
read, made once per test session and removed at its end.

The checkout itself cannot serve: a clone under /root or in a `mktemp -d` folder (0700) is closed
to `nobody`, whose `python -m injector` would then fail with "No module named injector". The
venv's own Python may live under /root too (pyenv), so the other uid runs Debian's
/usr/bin/python3 (the same minor version: the compiled parts of cffi are per minor version).
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import cryptography

import injector

SYSTEM_PYTHON = "/usr/bin/python3"
_SKIP = shutil.ignore_patterns("__pycache__", "*.pyc")


def _open_to_all(root: Path) -> None:
    """Folders 0755, files 0644 (0755 if executable): whatever the umask the checkout was made
    with, the other uid must read everything."""
    root.chmod(0o755)
    for top, folders, names in os.walk(root):
        for name in folders:
            Path(top, name).chmod(0o755)
        for name in names:
            path = Path(top, name)
            path.chmod(0o755 if path.stat().st_mode & 0o100 else 0o644)


def _reachable_folder(fill: Callable[[Path], None]) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="injector-reachable-", dir="/tmp"))
    atexit.register(shutil.rmtree, folder, True)
    fill(folder)
    # Compiled once here: the other uid cannot write __pycache__ and would compile every run.
    subprocess.run(
        [SYSTEM_PYTHON, "-m", "compileall", "-q", str(folder)], check=True, capture_output=True
    )
    _open_to_all(folder)
    return folder


def _package(folder: Path) -> None:
    shutil.copytree(Path(injector.__file__).resolve().parent, folder / "injector", ignore=_SKIP)


def _dependencies(folder: Path) -> None:
    site = Path(cryptography.__file__).resolve().parent.parent
    for name in ("cryptography", "cffi", "pycparser"):
        shutil.copytree(site / name, folder / name, ignore=_SKIP)
    for backend in site.glob("_cffi_backend*.so"):
        shutil.copy(backend, folder / backend.name)


@functools.cache
def _package_folder() -> Path:
    return _reachable_folder(_package)


# boto3 and what it imports: botocore, jmespath, python-dateutil (with six), urllib3, s3transfer.
_AWS_SDK = ("boto3", "botocore", "jmespath", "dateutil", "six", "urllib3", "s3transfer")


def _aws_sdk(folder: Path) -> None:
    import boto3  # only the tests that run the SDK as another uid pay for it

    site = Path(boto3.__file__).resolve().parent.parent
    for name in _AWS_SDK:
        if (site / name).is_dir():
            readable_copy(site / name, folder / name)
        else:
            shutil.copy(site / f"{name}.py", folder / f"{name}.py")
            (folder / f"{name}.py").chmod(0o644)


@functools.cache
def aws_sdk_path() -> str:
    """The PYTHONPATH under which another uid's Debian Python imports boto3 (hard links of the
    venv's packages: 35 MB in a moment). Made on first use."""
    folder = Path(tempfile.mkdtemp(prefix="injector-reachable-sdk-", dir="/tmp"))
    atexit.register(shutil.rmtree, folder, True)
    # Not _open_to_all: a mode changed on a hard link is the venv's file's mode.
    folder.chmod(0o755)
    _aws_sdk(folder)
    return str(folder)


@functools.cache
def _dependencies_folder() -> Path:
    return _reachable_folder(_dependencies)


def python_path(*, keys: bool = False) -> str:
    """The PYTHONPATH for a process of another uid: the package alone (the job's path through
    the signer needs only the standard library, and the tests keep it so), or with `keys`,
    what reading and signing with a key file needs too. Made on first use."""
    folders = [_package_folder(), *([_dependencies_folder()] if keys else [])]
    return os.pathsep.join(map(str, folders))


def readable_copy(source: Path, target: Path) -> None:
    """`source` (a venv's site-packages) at `target`, which another uid can read wherever
    `source` is. Files already readable to all are hard-linked (800 MB of packages in a moment,
    and their __pycache__ still matches); the others, or across file systems, are copied and
    opened to all. The originals' modes are never changed."""

    def place(source_file: str, target_file: str) -> str:
        mode = Path(source_file).stat().st_mode
        if mode & 0o004:
            try:
                Path(target_file).hardlink_to(source_file)
                return target_file
            except OSError:
                pass  # another file system, or links refused: a copy then
        shutil.copy2(source_file, target_file)
        Path(target_file).chmod(0o755 if mode & 0o100 else 0o644)
        return target_file

    shutil.copytree(source, target, symlinks=True, copy_function=place)
    target.chmod(0o755)
    for top, folders, _names in os.walk(target):
        for name in folders:
            Path(top, name).chmod(0o755)
