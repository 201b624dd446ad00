"""The socket's name against a job that can write its folder: bound in a private folder and
renamed into place, so a racer swapping the name for a symlink to the key never gets the key a
mode or a group; and a job that reaches the socket through a read-only mount still connects."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import textwrap
from pathlib import Path

from injector.errors import InjectorError
from injector.signer import listener
from tests.signer.conftest import NOBODY, Custody, job_env, start
from tests.support import reachable
from tests.support import signer as support

RACER = textwrap.dedent(
    """
    import os, sys
    name, target = sys.argv[1], sys.argv[2]
    folder = os.path.dirname(name)
    while True:
        for attempt in (lambda: os.symlink(target, name), lambda: os.unlink(name)):
            try:
                attempt()
            except OSError:
                pass
        for entry in os.listdir(folder):  # the signer's private folder: try to get in
            try:
                os.symlink(target, os.path.join(folder, entry, "signer.sock"))
            except OSError:
                pass
    """
)


def test_a_racer_swapping_the_name_never_gets_the_key_a_mode_or_group(
    custody: Custody, scratch: Path
) -> None:
    """The job (nobody) may write the sticky socket folder and races symlinks to a root-only
    secret onto the socket's name, 300 starts long. Every start either listens on a socket of
    the mode and group asked, or fails naming --socket; the secret never changes."""
    folder = scratch / "sticky"
    folder.mkdir()
    folder.chmod(0o1777)
    secret = scratch / "secret.pem"
    secret.write_bytes(b"not for the job\n")
    secret.chmod(0o600)
    before = secret.stat()
    name = folder / "signer.sock"
    racer = subprocess.Popen(
        [support.SYSTEM_PYTHON, "-c", RACER, str(name), str(secret)],
        preexec_fn=lambda: support.as_user(NOBODY),
    )
    listened = refused = 0
    try:
        for _ in range(300):
            try:
                bound = listener.listen(name, 0o660, NOBODY)
            except InjectorError as error:
                assert str(error).startswith("--socket: "), error
                refused += 1
                continue
            with bound.socket:
                info = os.lstat(name)
                # The name may already be the racer's again (it may unlink ours): only ours is
                # checked, by its inode.
                if (info.st_dev, info.st_ino) == bound.identity:
                    assert stat.S_ISSOCK(info.st_mode)
                    assert stat.S_IMODE(info.st_mode) == 0o660
                    assert (info.st_uid, info.st_gid) == (os.getuid(), NOBODY)
                bound.remove()
            listened += 1
    finally:
        racer.kill()
        racer.wait()
    after = secret.stat()
    assert (after.st_mode, after.st_uid, after.st_gid) == (before.st_mode, 0, 0)
    assert listened + refused == 300 and listened > 0
    assert not [entry for entry in folder.iterdir() if entry.name.startswith(".injector-signer-")]


def test_a_job_connects_through_a_read_only_mount_it_cannot_write(
    custody: Custody, scratch: Path
) -> None:
    """As in the pod example: the socket's folder mounted read-only where the job runs. The
    mount is made in a mount namespace of its own (unshare -m); the job (nobody) then runs
    `injector env` through it, and cannot create a file there."""
    run = support.owned_by(scratch / "run", 0, 0o755)
    signer = start(custody, run)
    view = support.owned_by(scratch / "view", 0, 0o755)
    creds = scratch / "job" / "creds"
    env = {
        "PATH": os.environ["PATH"],
        "LANG": "C.UTF-8",
        "PYTHONPATH": reachable.python_path(),
        **job_env(view / "signer.sock"),
    }
    script = (
        f"mount --bind -o ro {run} {view} && "
        f"setpriv --reuid={NOBODY} --regid={NOBODY} --clear-groups sh -c "
        f"'touch {view}/planted 2>/dev/null && echo wrote; "
        f"exec {support.SYSTEM_PYTHON} -m injector env --format json --dir {creds}'"
    )
    try:
        result = subprocess.run(
            ["unshare", "-m", "sh", "-c", script],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        assert signer.stop() == 0
    assert result.returncode == 0, result.stderr
    assert "wrote" not in result.stdout
    exports = json.loads(result.stdout)
    assert exports["AWS_WEB_IDENTITY_TOKEN_FILE"] == str(creds / "aws.jwt")
    assert (creds / "aws.jwt").stat().st_uid == NOBODY
    assert not (run / "planted").exists()
    assert [line["decision"] for line in signer.audit()] == ["allow"]
