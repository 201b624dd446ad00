"""A keyless job's signer endpoint (`DynamicCredentialSigner=https://...`) as a hostile server:
a stand-in on 127.0.0.1 over TLS of the test CA that echoes the request it got, the platform
token in it, into its error, or drips its answer a byte at a time. The real `injector env`
runs; the platform token never reaches stderr, the server's words stay on one line, and the
job ends in time."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from injector.job.example import EXAMPLE_ENV
from tests.conftest import run_injector
from tests.hostile.servers import Hostile, drip
from tests.support.jobs import switched_off

if TYPE_CHECKING:
    from tests.standins.fixtures import TestTls

pytest_plugins = ["tests.standins.fixtures"]

# JWT-shaped, as the job checks its platform token to be; a fake.
PLATFORM_TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOmFjbWUvaW5mcmEifQ.c2VjcmV0LXNpZ25hdHVyZQ"
CONTEXT = ("organizationName", "workspaceName", "organizationId", "workspaceId", "jobId")


def _echo(connection: socket.socket, server: Hostile) -> None:
    """400 with the request (head and form body) as the error's description, and a line break
    followed by a line posing as injector's own."""
    echoed = server.requests[-1].decode(errors="replace")
    document = {
        "error": "invalid_request",
        "error_description": f"{echoed}\ninjector: all clouds ready",
    }
    body = json.dumps(document).encode()
    head = "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
    head += f"Content-Length: {len(body)}\r\n\r\n"
    connection.sendall(head.encode() + body)


def _keyless(server: Hostile, test_tls: TestTls, tmp_path: Path) -> dict[str, str]:
    """The example workspace without Vault, keyless against `server`."""
    token_file = tmp_path / "platform.jwt"
    token_file.write_text(PLATFORM_TOKEN)
    env = {
        name: value
        for name, value in EXAMPLE_ENV.items()
        if not name.startswith("DynamicCredential") and name not in CONTEXT
    }
    env.update(switched_off("vault"), **switched_off("vault_backed_aws"))
    env.update(
        DynamicCredentialSigner=server.base,
        DynamicCredentialSignerCA=str(test_tls.ca_file),
        INJECTOR_SUBJECT_TOKEN_FILE=str(token_file),
    )
    return env


def test_a_signer_echoing_the_platform_token_into_its_error_never_shows_it(
    hostile: Callable[..., Hostile], test_tls: TestTls, tmp_path: Path
) -> None:
    server = hostile(_echo)
    env = _keyless(server, test_tls, tmp_path)
    result = run_injector("env", "--dir", str(tmp_path / "creds"), env=env)
    assert server.connections == 1 and PLATFORM_TOKEN.encode() in server.requests[0]
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert PLATFORM_TOKEN not in result.stderr and PLATFORM_TOKEN.split(".")[1] not in result.stderr
    assert "the signer at" in result.stderr and "refused" in result.stderr
    assert "\ninjector: all clouds ready" not in result.stderr
    assert result.stdout == ""
    assert not (tmp_path / "creds").exists()


def test_a_dripping_signer_cannot_hold_the_job(
    hostile: Callable[..., Hostile], test_tls: TestTls, tmp_path: Path
) -> None:
    """One deadline for the whole exchange: before, each read had 15 s, so a byte a second
    held the job for ever (`run_injector` gives up after 60 s)."""
    server = hostile(drip)
    result = run_injector(
        "env", "--dir", str(tmp_path / "creds"), env=_keyless(server, test_tls, tmp_path)
    )
    assert result.returncode == 1, result.stderr
    assert f"no complete answer from {server.base}/token within 15 s" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert not (tmp_path / "creds").exists()
