"""A job's uid plants what the signer would trust: a policy it owns or can replace, a key it
can read, a socket folder it can write. Each is exit 2 before anything listens, naming the
file (or folder) and the reason."""

from __future__ import annotations

import os
import socket as stdlib_socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.signer.conftest import NOBODY, POLICY, Custody, write_policy
from tests.support import signer as support


def _signer(env: dict[str, str], socket: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "injector", "signer", "--socket", str(socket), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _refused(result: subprocess.CompletedProcess[str], socket: Path, *expected: str) -> None:
    assert result.returncode == 2, result.stderr
    for text in expected:
        assert text in result.stderr
    assert "Traceback" not in result.stderr
    assert not socket.exists()
    assert result.stdout == ""


def _planted(scratch: Path, how: str) -> tuple[Path, str]:
    """A policy file a job's uid (nobody) could change, and the reason expected."""
    if how == "owned":
        policy = write_policy(scratch)
        os.chown(policy, NOBODY, NOBODY)
        return policy, f"{policy} belongs to uid {NOBODY}"
    if how == "writable":
        policy = write_policy(scratch)
        policy.chmod(0o666)
        return policy, f"{policy} (mode 0666) is writable by anyone"
    if how == "folder":
        folder = support.owned_by(scratch / "nobodys", NOBODY, 0o755)
        return write_policy(folder), f"folder {folder} belongs to uid {NOBODY}"
    if how == "open-folder":
        folder = scratch / "open"
        folder.mkdir(mode=0o777)
        folder.chmod(0o777)
        return write_policy(folder), f"folder {folder} (mode 0777) is writable by anyone"
    assert how == "symlink"
    folder = support.owned_by(scratch / "job" / "planted", NOBODY, 0o755)
    target = write_policy(folder)
    link = scratch / "policy.toml"
    link.symlink_to(target)
    return link, f"(through the symlink {link})"


@pytest.mark.parametrize("how", ["owned", "writable", "folder", "open-folder", "symlink"])
def test_a_policy_another_uid_could_change_is_refused(
    custody: Custody, scratch: Path, how: str
) -> None:
    policy, reason = _planted(scratch, how)
    socket = scratch / "signer.sock"
    result = _signer(custody.env, socket, "--policy", str(policy))
    _refused(result, socket, "--policy: ", reason, "refused")


@pytest.mark.parametrize(
    ("mode", "group", "reason"),
    [
        (0o644, 0, "(mode 0644) is readable by anyone"),
        (0o640, NOBODY, f"(mode 0640) is readable by group {NOBODY}"),
        (0o660, 0, "(mode 0660) is writable by group 0"),
    ],
    ids=["world-readable", "group-readable", "group-writable"],
)
def test_a_key_another_uid_can_read_is_refused(
    custody: Custody, scratch: Path, mode: int, group: int, reason: str
) -> None:
    key = scratch / "key.pem"
    key.write_bytes(custody.key.read_bytes())
    os.chown(key, 0, group)
    key.chmod(mode)
    env = {**custody.env, "DynamicCredentialPrivateKeyPath": str(key)}
    socket = scratch / "signer.sock"
    result = _signer(env, socket, "--policy", str(write_policy(scratch)))
    _refused(result, socket, f"DynamicCredentialPrivateKeyPath: {key} {reason}")
    assert "BEGIN" not in result.stderr


def test_a_key_behind_a_symlink_into_a_job_folder_is_refused(
    custody: Custody, scratch: Path
) -> None:
    folder = support.owned_by(scratch / "job" / "keys", NOBODY, 0o755)
    key = folder / "key.pem"
    key.write_bytes(custody.key.read_bytes())
    key.chmod(0o600)  # root's, 0600: but nobody owns the folder and may swap it
    link = scratch / "key.pem"
    link.symlink_to(key)
    env = {**custody.env, "DynamicCredentialPrivateKeyPath": str(link)}
    socket = scratch / "signer.sock"
    result = _signer(env, socket, "--policy", str(write_policy(scratch)))
    _refused(result, socket, f"folder {folder.parent} belongs to uid {NOBODY}", f"symlink {link}")


def test_a_socket_folder_another_uid_can_write_is_refused(custody: Custody, scratch: Path) -> None:
    folder = scratch / "run"
    folder.mkdir()
    folder.chmod(0o777)
    socket = folder / "signer.sock"
    result = _signer(custody.env, socket, "--policy", str(write_policy(scratch)))
    _refused(result, socket, f"--socket: folder {folder} (mode 0777) is writable by anyone")
    shared = support.owned_by(scratch / "shared", 0, 0o775)
    os.chown(shared, 0, NOBODY)
    result = _signer(custody.env, shared / "s.sock", "--policy", str(write_policy(scratch)))
    _refused(result, shared / "s.sock", f"folder {shared} (mode 0775) is writable by group")


def test_a_sticky_folder_is_accepted_unless_the_name_is_another_uids(
    custody: Custody, scratch: Path
) -> None:
    folder = scratch / "sticky"
    folder.mkdir()
    folder.chmod(0o1777)
    socket = folder / "signer.sock"
    with support.running_signer(custody.env, socket, "--policy", str(write_policy(scratch))):
        assert socket.stat().st_uid == os.getuid()
    socket.unlink(missing_ok=True)  # removal on SIGTERM is test_server's to show
    with stdlib_socket.socket(stdlib_socket.AF_UNIX) as planted:  # a stale one, the job's
        planted.bind(str(socket))
    os.chown(socket, NOBODY, NOBODY)
    result = _signer(custody.env, socket, "--policy", str(write_policy(scratch)))
    assert result.returncode == 2
    assert f"{socket} belongs to uid {NOBODY} in the sticky folder {folder}" in result.stderr


def test_the_shipped_test_layout_passes(custody: Custody, scratch: Path) -> None:
    """The key in a root folder under the sticky /tmp, as every other signer test has it."""
    with support.running_signer(
        custody.env, scratch / "signer.sock", "--policy", str(write_policy(scratch, POLICY))
    ) as signer:
        assert support.connects(signer.socket)


def test_a_folder_on_a_read_only_mount_is_not_writable_whatever_its_mode(
    custody: Custody, scratch: Path
) -> None:
    """A pod's emptyDir (0777) mounted readOnly in the signer's container: nobody writes there,
    so a key in it passes; the same folder mounted read-write is refused."""
    folder = scratch / "keys"
    folder.mkdir()
    folder.chmod(0o777)
    key = folder / "key.pem"
    key.write_bytes(custody.key.read_bytes())
    key.chmod(0o600)
    check = (
        "from pathlib import Path; from injector.errors import ConfigError; "
        "from injector.signer import custody\n"
        f"try:\n    custody.check_file('K', Path('{key}'), True); print('accepted')\n"
        "except ConfigError as error:\n    print(error)"
    )
    outcomes = []
    for mount in ("-o ro", ""):
        script = f'mount --bind {mount} {folder} {folder} && exec {sys.executable} -c "{check}"'
        result = subprocess.run(
            ["unshare", "-m", "sh", "-c", script],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            cwd=support.ROOT,
        )
        assert result.returncode == 0, result.stderr
        outcomes.append(result.stdout.strip())
    assert outcomes[0] == "accepted"
    assert outcomes[1].startswith(f"K: folder {folder} (mode 0777) is writable by anyone")
