"""Class 10: `injector serve` facing a hostile client and an encrypted key. Real `injector serve`
processes: a request whose path decodes to CR LF and terminal escapes cannot forge or erase
access log lines, and a TLS key that needs a passphrase is exit 2 at once, even with a
terminal to prompt on."""

from __future__ import annotations

import fcntl
import os
import select
import socket
import subprocess
import sys
import termios
import time
from pathlib import Path
from typing import TYPE_CHECKING

from tests.support.issuers import (
    clean_env,
    injector_command,
    injector_serve,
    issuer_environment,
    make_issuer_keys,
)

if TYPE_CHECKING:
    from tests.standins.fixtures import TestTls

pytest_plugins = ["tests.standins.fixtures"]

HOSTILE_TARGETS = [
    b"/a%0D%0A[2026-01-01 00:00:00 +0000] 10.0.0.1 - %22GET /admin HTTP/1.1%22 200",
    b"/b%1B[2K%1B[1A%0A",
    b"/.well-known/jwks?x=%0D%0Aforged%00",
    b"/c%E2%80%AEgol",  # a right-to-left override, decoded
]


def _request(port: int, target: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := connection.recv(4096):
            answer += chunk
    return answer


def test_access_log_escapes_what_the_client_sent(tmp_path: Path) -> None:
    env = issuer_environment(make_issuer_keys(tmp_path / "keys"))
    log = tmp_path / "stdout.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            injector_command("serve", "--port", str(port := _free()), "--access-log"),
            env=clean_env(env),
            stdout=out,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait(port)
            for target in HOSTILE_TARGETS:
                assert _request(port, target).startswith(b"HTTP/1.1 ")
            time.sleep(0.5)  # the worker's last line reaches the file
        finally:
            process.terminate()
            process.wait(20)
    text = log.read_bytes()
    assert b"\x1b" not in text
    assert b"\r" not in text
    assert "\u202e".encode() not in text
    requests = [line for line in text.decode().splitlines() if '"GET ' in line]
    # One line per request (plus the readiness probes), none forged: each starts like a log
    # line of this server, from 127.0.0.1.
    assert len(requests) >= len(HOSTILE_TARGETS)
    assert all(' 127.0.0.1 - "GET ' in line for line in requests), requests
    assert not any("10.0.0.1 - " in line and "127.0.0.1" not in line for line in requests)
    assert any("%0D%0A" in line for line in requests)  # the target as sent, still there


def _free() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if b" 200 " in _request(port, b"/healthz").split(b"\r\n")[0] + b" ":
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("injector serve did not start")


def _login_tty(fd: int) -> None:
    """Make the terminal `fd` the child's controlling terminal, as a user's shell has it."""
    if sys.version_info >= (3, 11):
        os.login_tty(fd)
    else:  # login_tty's first steps; Popen has already made `fd` the child's 0, 1 and 2
        os.setsid()
        fcntl.ioctl(fd, termios.TIOCSCTTY, 0)


def test_an_encrypted_tls_key_is_exit_2_not_a_prompt(test_tls: TestTls, tmp_path: Path) -> None:
    """With a terminal as its controlling tty and stdin, OpenSSL would prompt for the
    passphrase and wait for ever: `serve` must say exit 2 without asking."""
    encrypted = tmp_path / "encrypted.key"
    subprocess.run(
        [
            "openssl",
            "pkey",
            "-in",
            str(test_tls.keyfile),
            "-aes256",
            "-passout",
            "pass:s3cret",
            "-out",
            str(encrypted),
        ],
        check=True,
        capture_output=True,
    )
    env = issuer_environment(make_issuer_keys(tmp_path / "keys"))
    master, slave = os.openpty()
    process = subprocess.Popen(
        injector_command(
            "serve",
            "--port",
            str(_free()),
            "--certfile",
            str(test_tls.certfile),
            "--keyfile",
            str(encrypted),
        ),
        env=clean_env(env),
        stdin=slave,
        stdout=slave,
        stderr=slave,
        preexec_fn=lambda: _login_tty(slave),
    )
    os.close(slave)
    output = b""
    deadline = time.monotonic() + 30
    while process.poll() is None and time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                output += os.read(master, 4096)
            except OSError:
                break
    try:
        process.wait(max(0.1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise AssertionError(f"serve waited at a prompt: {output!r}") from None
    try:
        while chunk := os.read(master, 4096):
            output += chunk
    except OSError:
        pass  # the child closed its terminal
    os.close(master)
    assert process.returncode == 2, output
    assert b"--keyfile" in output
    assert b"needs a passphrase" in output
    assert b"pass phrase" not in output.lower()


def test_serve_with_an_unencrypted_key_still_starts(test_tls: TestTls, tmp_path: Path) -> None:
    import ssl

    env = issuer_environment(make_issuer_keys(tmp_path / "keys"))
    args = ("--certfile", str(test_tls.certfile), "--keyfile", str(test_tls.keyfile))
    context = ssl.create_default_context(cafile=str(test_tls.ca_file))
    with injector_serve(env, *args, context=context) as server:
        assert server.process.poll() is None
