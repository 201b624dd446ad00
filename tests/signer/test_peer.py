"""The caller as the kernel names it, and the guard against a pid reused mid-request."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
from pathlib import Path
from subprocess import CompletedProcess

import pytest

from injector.config import issuer_settings, job_context
from injector.job.example import EXAMPLE_ENV
from injector.signer import peer, policy, protocol
from injector.signer.audit import Audit
from injector.signer.backend import KeyFileBackend
from injector.signer.peer import Peer, PeerChanged
from injector.signer.service import Service
from tests.conftest import KeyFiles
from tests.signer.conftest import NOBODY, POLICY, STRANGER, Custody, job_env, start
from tests.support import reachable
from tests.support import signer as support


def _stat_line(start: int) -> str:
    # Fields 3..: state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime
    # stime cutime cstime priority nice threads itrealvalue starttime ...
    fields = ["S", "1", "4242", "4242", "0", "-1", "4194560"] + ["0"] * 12 + [str(start), "0"]
    return "4242 (a (tricky) name) " + " ".join(fields) + "\n"


def test_start_time_is_field_22_even_with_parentheses_in_the_name(tmp_path: Path) -> None:
    (tmp_path / "4242").mkdir()
    (tmp_path / "4242" / "stat").write_text(_stat_line(987654))
    assert peer.start_time(4242, tmp_path) == 987654
    assert peer.start_time(4243, tmp_path) is None


def test_start_time_of_a_real_process_is_stable() -> None:
    mine = peer.start_time(os.getpid())
    assert isinstance(mine, int) and mine > 0
    assert peer.start_time(os.getpid()) == mine


def _connected_child(folder: Path, groups: list[int]) -> tuple[socket.socket, socket.socket, int]:
    """(listener, the accepted connection, the child's pid): a child process with `groups` as
    its supplementary groups connects, then waits to be killed."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(folder / "peer.sock"))
    listener.listen()
    child = os.fork()
    if child == 0:  # the caller
        try:
            os.setgroups(groups)
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as caller:
                caller.connect(str(folder / "peer.sock"))
                caller.recv(1)  # until the parent closes
        finally:
            os._exit(0)
    accepted, _ = listener.accept()
    return listener, accepted, child


def test_supplementary_groups_come_from_the_socket_not_from_proc(tmp_path: Path) -> None:
    """SO_PEERGROUPS: the groups the caller had when it connected, from the kernel."""
    listener, accepted, child = _connected_child(tmp_path, [27, 100, 4242])
    with listener, accepted:
        found = peer.identify(accepted, with_groups=True)
        peer.release(found)
        assert peer.identify(accepted).groups == frozenset()  # not asked: not read
    os.waitpid(child, 0)
    assert found.pid == child and found.uid == os.getuid()
    assert found.groups == {27, 100, 4242}


def test_a_pidfd_names_the_caller_until_it_is_gone(tmp_path: Path) -> None:
    """Where the kernel has SO_PEERPIDFD, the guard holds the caller's process itself: alive
    while it runs, refused once it has exited (whatever later takes its pid)."""
    listener, accepted, child = _connected_child(tmp_path, [])
    with listener, accepted:
        found = peer.identify(accepted)
        try:
            if found.pidfd is None:
                pytest.fail(f"this kernel ({os.uname().release}) gives no SO_PEERPIDFD")
            peer.check_unchanged(found, lambda _pid: pytest.fail("read /proc"))
            accepted.close()
            os.waitpid(child, 0)
            with pytest.raises(PeerChanged, match=f"process {child} ended"):
                peer.check_unchanged(found)
        finally:
            peer.release(found)


def test_the_kernel_names_the_peer() -> None:
    left, right = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with left, right:
        found = peer.identify(left)
    assert (found.pid, found.uid, found.gid) == (os.getpid(), os.getuid(), os.getgid())
    # With a pidfd the start time is not read; without, it is /proc's.
    assert found.pidfd is not None or found.start_time == peer.start_time(os.getpid())
    peer.check_unchanged(found)  # the same process: no complaint
    peer.release(found)


def test_a_reused_pid_is_refused() -> None:
    starts = iter([100, 250])  # another process took the pid between the two reads
    caller = Peer(pid=4242, uid=1000, gid=1000, start_time=next(starts))
    with pytest.raises(PeerChanged, match="pid 4242 was reused"):
        peer.check_unchanged(caller, lambda _pid: next(starts))


def test_a_caller_that_is_gone_or_unseen_is_refused() -> None:
    with pytest.raises(PeerChanged, match="ended"):
        peer.check_unchanged(Peer(4242, 1000, 1000, 100), lambda _pid: None)
    with pytest.raises(PeerChanged, match="cannot be seen"):
        peer.check_unchanged(Peer(4242, 1000, 1000, None))  # gone before it was identified


def test_a_caller_without_a_pid_has_nothing_to_guard() -> None:
    """pid 0: another pid namespace. Its uid and gid are the kernel's record; nothing is read
    about a pid."""
    peer.check_unchanged(Peer(0, 1000, 1000, None), lambda _pid: pytest.fail("read /proc"))


def test_a_real_child_that_exits_is_no_longer_the_caller() -> None:
    left, right = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    child = os.fork()
    if child == 0:  # the caller: hand over its end of the socket, then exit
        left.close()
        os._exit(0)
    right.close()
    # A socketpair's credentials are those of its creator; a child connecting itself would
    # be the same. Use the child's pid as the caller, as the kernel would name it.
    caller = Peer(child, os.getuid(), os.getgid(), peer.start_time(child))
    os.waitpid(child, 0)
    left.close()
    with pytest.raises(PeerChanged):
        peer.check_unchanged(caller)


def test_the_service_refuses_the_answer_when_the_pid_changed(key_files: KeyFiles) -> None:
    env = {
        issuer_settings.HOSTNAME: "terrakube-api.example.com",
        issuer_settings.PRIVATE_KEY_PATH: str(key_files.private_pkcs8),
    }
    issuer = issuer_settings.from_env(env)
    stream = io.StringIO()
    service = Service(
        issuer=issuer,
        backend=KeyFileBackend.load(issuer),
        policy=policy.own_user(),
        audit=Audit(stream),
        read_start=lambda _pid: 9,  # /proc now shows another process under the caller's pid
    )
    caller = Peer(pid=4242, uid=os.getuid(), gid=os.getgid(), start_time=1)
    request = protocol.TokenRequest(job_context.from_env(EXAMPLE_ENV), ("aws.workload.identity",))
    answer = json.loads(service.answer(caller, json.loads(request.encoded())))
    assert answer["ok"] is False and answer["error"] == "refused"
    assert "pid 4242 was reused" in answer["message"]
    assert "tokens" not in answer
    audit = json.loads(stream.getvalue())
    assert audit["decision"] == "refuse" and audit["pid"] == 4242
    assert "eyJ" not in stream.getvalue()  # no token, not even its header


# A pod without shareProcessNamespace: the signer and the job each in a pid namespace of its
# own, neither an ancestor of the other, so SO_PEERCRED gives the signer pid 0. (A job in a new
# pid namespace under a signer in the tests' own is seen: its pid is the signer's to see.) The
# first process of a pid namespace ignores a signal it has no handler for: the signer handles
# SIGTERM; the job, should unshare be killed (a timeout), gets SIGKILL.
_SIGNERS_PID_NAMESPACE = ("unshare", "--pid", "--fork", "--kill-child=SIGTERM")
_JOBS_PID_NAMESPACE = ("unshare", "--pid", "--fork", "--kill-child")
# A signer in a user namespace that maps its own uid (root) only: a caller of any other uid
# arrives as the overflow uid (65534), as SO_PEERCRED reports across user namespaces. (A job in
# a user namespace of its own without a map is 65534 to itself only: the signer sees its uid.)
_ROOT_ONLY_USER_NAMESPACE = ("unshare", "--user", "--map-root-user", "--fork", "--kill-child")
_ROOT_ONLY_USER_AND_OWN_PID_NAMESPACE = (*_ROOT_ONLY_USER_NAMESPACE, "--pid")


def _env_as(uid: int, creds: Path, socket_path: Path, *namespaces: str) -> CompletedProcess[str]:
    """`injector env` as `uid` (its gid too, no other groups) writing in `creds` (whose folder
    `uid` owns) through the signer at `socket_path`, in the namespaces `namespaces` (a command
    prefix) makes."""
    return subprocess.run(
        [
            *namespaces,
            "setpriv",
            f"--reuid={uid}",
            f"--regid={uid}",
            "--clear-groups",
            support.SYSTEM_PYTHON,
            "-m",
            "injector",
            "env",
            "--format",
            "json",
            "--dir",
            str(creds),
        ],
        env={
            "PATH": os.environ["PATH"],
            "LANG": "C.UTF-8",
            "PYTHONPATH": reachable.python_path(),
            "HOME": str(creds.parent),  # a uid with no account has no home otherwise
            **job_env(socket_path),
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_caller_in_a_pid_namespace_the_signer_cannot_see_is_served(
    custody: Custody, scratch: Path
) -> None:
    """Signer and job (nobody, whom the policy allows) in sibling pid namespaces: the kernel
    names the job by uid and gid only (pid 0), and that is what the policy decides on."""
    signer = start(custody, scratch, POLICY, prefix=_SIGNERS_PID_NAMESPACE)
    creds = scratch / "job" / "creds"
    try:
        result = _env_as(NOBODY, creds, signer.socket, *_JOBS_PID_NAMESPACE)
    finally:
        assert signer.stop() == 0
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["AWS_WEB_IDENTITY_TOKEN_FILE"] == str(creds / "aws.jwt")
    assert (creds / "aws.jwt").stat().st_uid == NOBODY
    (line,) = signer.audit()
    assert line["decision"] == "allow", line
    assert (line["uid"], line["gid"], line["pid"], line["pid_visible"]) == (
        NOBODY,
        NOBODY,
        0,
        False,
    )


def test_a_caller_the_signers_user_namespace_cannot_map_is_refused(
    custody: Custody, scratch: Path
) -> None:
    """The policy allows nobody (65534); a caller of a uid the signer's user namespace does not
    map arrives as that same number, the overflow uid, and is refused: with its pid hidden
    (another pid namespace) or seen."""
    for namespaces, visible in (
        (_ROOT_ONLY_USER_AND_OWN_PID_NAMESPACE, False),
        (_ROOT_ONLY_USER_NAMESPACE, True),
    ):
        folder = support.owned_by(scratch / f"visible-{visible}", 0, 0o755)
        signer = start(custody, folder, POLICY, prefix=namespaces)
        creds = support.owned_by(scratch / f"stranger-{visible}", STRANGER) / "creds"
        try:
            result = _env_as(STRANGER, creds, signer.socket)
        finally:
            assert signer.stop() == 0
        assert result.returncode == 2, result.stderr
        assert "overflow uid" in result.stderr
        assert not creds.exists()
        (line,) = signer.audit()
        assert line["decision"] == "refuse", line
        assert (line["uid"], line["gid"]) == (NOBODY, NOBODY)
        assert (line["pid"] != 0) is visible
        assert "65534 is the overflow uid" in line["reason"]
        assert "no mapping in the signer's user namespace" in line["reason"]
