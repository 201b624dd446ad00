"""The caller as the kernel names it, and the guard against a pid reused mid-request."""

from __future__ import annotations

import io
import json
import os
import socket
from pathlib import Path

import pytest

from injector.config import issuer_settings, job_context
from injector.job.example import EXAMPLE_ENV
from injector.signer import peer, policy, protocol
from injector.signer.audit import Audit
from injector.signer.backend import KeyFileBackend
from injector.signer.peer import Peer, PeerChanged
from injector.signer.service import Service
from tests.conftest import KeyFiles


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
        peer.check_unchanged(Peer(0, 1000, 1000, None))


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
