"""`make demo` as a user who is not root: uid 65534 with a HOME of its own, in a copy of the
checkout it owns, with the project's venv (read-only to it). The demo must show a verified
login and a refused one, and print no token."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.hostile.neighbour import NOBODY, SYSTEM_PYTHON

# What the copy leaves out: the venv (the project's is used), caches, git's own folder.
LEFT_OUT = shutil.ignore_patterns(
    ".venv", ".git", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis", "dist", "build", "site"
)


@pytest.fixture
def nobodys_checkout() -> Iterator[Path]:
    """A copy of the checkout owned by uid 65534, in a folder under /tmp it can enter (pytest's
    own folders are 0700, closed to it)."""
    top = Path(tempfile.mkdtemp(prefix="injector-demo-test-", dir="/tmp"))
    checkout = top / "checkout"
    shutil.copytree(ROOT, checkout, ignore=LEFT_OUT)  # copy2: times kept, so make sees no change
    (top / "home").mkdir()
    _give_to_nobody(top)
    try:
        yield checkout
    finally:
        shutil.rmtree(top, ignore_errors=True)


def _give_to_nobody(top: Path) -> None:
    for folder, dirs, names in os.walk(top):
        for name in [*dirs, *names, "."]:
            os.chown(Path(folder, name), NOBODY, NOBODY, follow_symlinks=False)


def _as_nobody() -> None:
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)


def _venv_for_nobody(folder: Path) -> Path:
    """A venv of Debian's Python (the project's interpreter may sit under /root, closed to
    nobody) that reads the packages of the project's venv: no download in a test."""
    venv = folder / "venv"
    subprocess.run([SYSTEM_PYTHON, "-m", "venv", "--without-pip", str(venv)], check=True)
    [site_packages] = venv.glob("lib/python3*/site-packages")
    (site_packages / "project-venv.pth").write_text(
        "\n".join(path for path in sys.path if path.endswith("site-packages")) + "\n"
    )
    return venv


def test_make_demo_as_a_user_who_is_not_root(nobodys_checkout: Path) -> None:
    venv = _venv_for_nobody(nobodys_checkout.parent)
    # `-o`: the demo's extra is in the venv already (make install put it in the project's).
    command = ["make", "--no-print-directory", "-o", f"{venv}/.installed-demo", f"VENV={venv}"]
    process = subprocess.Popen(
        [*command, "demo"],
        cwd=nobodys_checkout,
        env={
            "PATH": f"{venv}/bin:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(nobodys_checkout.parent / "home"),
            "LANG": "C.UTF-8",
            # The copy's code, not the checkout the venv's editable install points at.
            "PYTHONPATH": str(nobodys_checkout),
        },
        preexec_fn=_as_nobody,  # the point is the uid: setuid in the child before exec
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            # SIGTERM first: the demo then stops the servers it started in sessions of their own.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=60)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    assert process.returncode == 0, stdout + stderr
    assert "signature             verifies with the published key demo-" in stdout
    assert "Apply complete!" in stdout or "assumed arn:aws:sts::" in stdout
    assert "(AccessDenied) when calling the AssumeRoleWithWebIdentity operation" in stdout
    assert "one login accepted, one refused" in stdout
    assert "eyJ" not in stdout + stderr  # no JWT (its header starts so) on either stream
    assert "Traceback" not in stdout + stderr
