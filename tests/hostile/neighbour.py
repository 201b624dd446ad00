"""A real second local user for the hostile tests: `nobody` (uid 65534), in a child process.

The tests run as root, whose venv (and maybe checkout) under /root the other user cannot read,
so the child runs Debian's /usr/bin/python3: with only the standard library, or, for injector
itself, with a copy of the package the other user can read (tests/support/reachable.py). A
shared sticky folder, like /tmp, is made directly under /tmp (the pytest folders are 0700,
closed to the other user).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from tests.support import reachable

NOBODY = 65534
SYSTEM_PYTHON = "/usr/bin/python3"


def _dropping_to(uid: int) -> Callable[[], None]:
    """preexec_fn: become uid/gid `uid` in the child before exec (the point is the uid)."""

    def drop() -> None:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)

    return drop


def _run_as_nobody(
    args: list[str], env: Mapping[str, str], cwd: Path | str, uid: int = NOBODY
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SYSTEM_PYTHON, *args],
        preexec_fn=_dropping_to(uid),
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=cwd,
    )


def as_nobody(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `code` (stdlib Python) as uid/gid 65534; fails the test if the child fails."""
    result = _run_as_nobody(["-c", code, *args], {}, "/")
    assert result.returncode == 0, result.stderr
    return result


def injector_as_nobody(
    *args: str, env: Mapping[str, str], cwd: Path | str = "/", uid: int = NOBODY
) -> subprocess.CompletedProcess[str]:
    """`python -m injector ARGS` as uid/gid 65534 (or `uid`), from a copy of the package (and
    of the libraries that read keys) that uid can read; the caller checks the result."""
    path = {"LANG": "C.UTF-8", "PYTHONPATH": reachable.python_path(keys=True)}
    return _run_as_nobody(["-m", "injector", *args], {**path, **env}, cwd, uid)


@pytest.fixture
def shared() -> Iterator[Path]:
    """A root-owned folder with mode 1777 (world-writable and sticky), as /tmp is."""
    folder = Path(tempfile.mkdtemp(prefix="injector-shared-", dir="/tmp"))
    folder.chmod(0o1777)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def files_nobody_can_read(root: Path) -> list[str]:
    """Every file under `root` that uid 65534 can open for reading (what they could steal)."""
    code = (
        "import os, sys\n"
        "found = []\n"
        "for top, dirs, names in os.walk(sys.argv[1]):\n"
        "    for name in names:\n"
        "        try:\n"
        "            with open(os.path.join(top, name), 'rb') as f: f.read(1)\n"
        "            found.append(os.path.join(top, name))\n"
        "        except OSError: pass\n"
        "print('\\n'.join(found))\n"
    )
    return [line for line in as_nobody(code, str(root)).stdout.splitlines() if line]
