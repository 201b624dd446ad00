"""The Unix socket's signing workers while a platform's keys are being fetched: requests that
need those keys wait without holding a worker, so a request that needs none of them (no
platform token, here) is answered at once however many wait. A real signer process, the
stand-in GitHub over TLS stalling its documents until the test releases it."""

from __future__ import annotations

import socket
import tempfile
import time
from pathlib import Path

from injector.signer import protocol
from injector.signer.protocol import TokenRequest
from injector.signer.workers import SIGNING_WORKERS
from tests.signer.conftest import Custody, aws_request
from tests.standins.platforms import AUDIENCE, Platforms, github_table
from tests.support import signer as support

pytest_plugins = ["tests.standins.fixtures", "tests.standins.platform_fixtures"]

AWS = "aws.workload.identity"


def _policy(platforms: Platforms) -> str:
    return github_table(platforms.github.url, platforms.ca_file) + (
        '[[allow]]\nattestation = "github"\nsubjects = ["organization:acme:workspace:*"]\n\n'
        '[[allow]]\nuid = 0\nsubjects = ["*"]\ncaller_names_context = true\n'
    )


def _sent(path: Path, request: bytes) -> socket.socket:
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    connection.settimeout(60)
    connection.connect(str(path))
    connection.sendall(request)
    return connection


def test_requests_waiting_for_a_platforms_keys_do_not_hold_every_worker(
    custody: Custody, platforms: Platforms
) -> None:
    """More requests than workers wait on one stalled fetch of GitHub's keys; a request without
    a platform token, sent after them, is answered before that fetch ends."""
    folder = Path(tempfile.mkdtemp(dir=custody.folder))
    (folder / "policy.toml").write_text(_policy(platforms))
    github = platforms.github
    signer = support.start_signer(
        custody.env, folder / "signer.sock", "--policy", str(folder / "policy.toml")
    )
    attested = TokenRequest(None, (AWS,), subject_token=github.github(AUDIENCE)).encoded()
    waiting: list[socket.socket] = []
    github.released.clear()
    github.set_mode("stall")
    try:
        seen = len(github.server.seen)
        for _ in range(SIGNING_WORKERS + 2):  # the first fetches; the others wait for it
            waiting.append(_sent(signer.socket, attested))
        deadline = time.monotonic() + 30
        while len(github.server.seen) == seen and time.monotonic() < deadline:
            time.sleep(0.01)  # until the fetch reaches the platform, where it stalls
        with _sent(signer.socket, aws_request()) as plain:
            answer = protocol.read_message(plain, protocol.MAX_ANSWER_BYTES)
        github.released.set()
        answers = [protocol.read_message(one, protocol.MAX_ANSWER_BYTES) for one in waiting]
    finally:
        github.released.set()
        github.set_mode("ok")
        for one in waiting:
            one.close()
        signer.stop()
    assert answer["ok"] is True, answer
    # Each waiting request was answered: its token once the keys came in, or "unavailable" if
    # the stalled fetch outlasted its deadline on a loaded machine.
    for late in answers:
        assert late["ok"] is True or late["error"] == protocol.UNAVAILABLE, late
    decisions = [("attestation" in line, line["decision"]) for line in signer.audit()]
    assert decisions[0] == (False, "allow"), decisions  # before any request needing the keys
    assert len(decisions) == SIGNING_WORKERS + 3
