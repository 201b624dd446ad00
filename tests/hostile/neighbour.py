"""A real second local user for the hostile tests: `nobody` (uid 65534), in a child process.

The tests run as root, whose venv under /root the other user cannot read, so the child runs
Debian's /usr/bin/python3 with only the standard library. A shared sticky folder, like /tmp,
is made directly under /tmp (the pytest folders are 0700, closed to the other user).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

NOBODY = 65534
SYSTEM_PYTHON = "/usr/bin/python3"


def as_nobody(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `code` (stdlib Python) as uid/gid 65534; fails the test if the child fails."""

    def drop() -> None:
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)

    result = subprocess.run(
        [SYSTEM_PYTHON, "-c", code, *args],
        preexec_fn=drop,  # the point is the uid: setuid in the child before exec
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        cwd="/",
    )
    assert result.returncode == 0, result.stderr
    return result


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
