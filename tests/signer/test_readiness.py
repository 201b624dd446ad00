"""The signer says when it is ready (a `ready` line at the default log level, READY=1 to
systemd), and SIGHUP reloads its policy: a good one takes effect for the next request, a bad
one keeps the old and says why."""

from __future__ import annotations

import os
import signal
import socket
import sys
import time
from pathlib import Path

from tests.signer.conftest import NOBODY, POLICY, Custody, aws_request, send_as, write_policy
from tests.support import processes
from tests.support import signer as support


def test_ready_line_and_ready_1_to_the_service_manager(custody: Custody, scratch: Path) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as manager:
        manager.bind(str(scratch / "notify.sock"))
        manager.settimeout(60)
        env = {**custody.env, "NOTIFY_SOCKET": str(scratch / "notify.sock")}
        policy = write_policy(scratch)
        with support.running_signer(env, scratch / "signer.sock", "--policy", str(policy)):
            assert manager.recv(100) == b"READY=1"
            # The policy's glob entries also warn that callers name their context: other lines.
            lines = (scratch / "signer.stderr").read_text().splitlines()
            (ready,) = [line for line in lines if line.startswith("injector: signer ready")]
    assert ready.startswith(f"injector: signer ready on unix:{scratch / 'signer.sock'} (mode 0660)")
    assert f"policy {policy} (2 entries)" in ready
    assert "kid signer-kid" in ready


def test_sighup_reloads_a_good_policy_and_keeps_the_old_one_on_a_bad(
    custody: Custody, scratch: Path
) -> None:
    policy = write_policy(scratch, f'[[allow]]\nuid = {NOBODY}\nsubjects = ["nothing"]\n')
    signer = support.start_signer(
        custody.env, scratch / "signer.sock", "--policy", str(policy), "--socket-mode", "0666"
    )
    try:
        before = send_as(NOBODY, signer.socket, [aws_request()])
        policy.write_text(POLICY)
        signer.process.send_signal(signal.SIGHUP)
        signer.wait_for_log("policy reloaded")
        after = send_as(NOBODY, signer.socket, [aws_request()])
        policy.write_text("allow = [")
        signer.process.send_signal(signal.SIGHUP)
        log = signer.wait_for_log("not reloaded")
        kept = send_as(NOBODY, signer.socket, [aws_request()])
        os.chown(policy, NOBODY, NOBODY)  # planted: refused on reload too
        policy.write_text(POLICY.replace(f"uid = {NOBODY}", "uid = 1"))
        signer.process.send_signal(signal.SIGHUP)
        signer.wait_for_log(f"belongs to uid {NOBODY}")
        planted = send_as(NOBODY, signer.socket, [aws_request()])
    finally:
        assert signer.stop() == 0
    assert [answer and answer["ok"] for answer in before + after + kept + planted] == [
        False,
        True,
        True,
        True,
    ]
    assert f"policy reloaded from {policy}: 2 entries" in log
    assert "SIGHUP: policy not reloaded, the 2 entries loaded before stay: --policy" in log
    assert "is not valid TOML" in log


def test_a_sighup_the_moment_the_socket_accepts_is_a_reload(
    custody: Custody, scratch: Path
) -> None:
    """A supervisor that waits for the socket, then reloads, must find a signer that reloads:
    the handlers are in place before the socket is bound. Sent at the first connection that
    succeeds, as fast as a loop can see it, on several starts: before, the SIGHUP landed in the
    gap between the socket and the handlers and ended the signer (Python's default)."""
    policy = write_policy(scratch)
    for attempt in range(8):
        socket_path = scratch / f"signer-{attempt}.sock"
        stderr_path = scratch / f"signer-{attempt}.stderr"
        command = [sys.executable, "-m", "injector", "signer", "--socket", str(socket_path)]
        with stderr_path.open("a") as stderr:
            process = processes.spawn(
                [*command, "--policy", str(policy)], env=custody.env, stderr=stderr, text=True
            )
        try:
            deadline = time.monotonic() + 30
            while not support.connects(socket_path):
                assert process.poll() is None, stderr_path.read_text()
                assert time.monotonic() < deadline, stderr_path.read_text()
            process.send_signal(signal.SIGHUP)
            signer = support.Signer(process, socket_path, stderr_path, command)
            signer.wait_for_log("policy reloaded")
            assert process.poll() is None
        finally:
            processes.stop(process)
