"""The wire format: one JSON object each way, validated with the job side's own rules."""

from __future__ import annotations

import json
import socket

import pytest

from injector.errors import ConfigError
from injector.job.example import EXAMPLE_ENV
from injector.signer import protocol

CONTEXT = {name: EXAMPLE_ENV[name] for name in protocol.CONTEXT_FIELDS if name in EXAMPLE_ENV}


def _request(**changes: object) -> dict[str, object]:
    return {
        "version": 1,
        "context": dict(CONTEXT),
        "audiences": ["aws.workload.identity"],
        **changes,
    }


def test_a_request_round_trips() -> None:
    parsed = protocol.parse_request(_request(phase="apply"))
    assert parsed.job is not None
    assert (parsed.job.organization, parsed.job.workspace) == ("simple", "simple-cli")
    assert parsed.audiences == ("aws.workload.identity",) and parsed.phase == "apply"
    assert protocol.parse_request(json.loads(parsed.encoded())) == parsed


def test_the_context_is_checked_with_the_job_sides_messages() -> None:
    context = {**CONTEXT, "workspaceName": "a\x00b", "jobId": ""}
    with pytest.raises(ConfigError) as raised:
        protocol.parse_request(
            _request(context=context, audiences=[], phase="destroy", iss="https://evil")
        )
    problems = {p.variable: p.message for p in raised.value.problems}
    assert problems["workspaceName"].startswith("contains a control character")
    assert problems["jobId"].startswith("is required")
    assert "audiences" in problems and "phase" in problems
    assert problems["request"] == "unknown field(s) iss"  # claims are the signer's own


def test_a_wrong_version_is_refused() -> None:
    with pytest.raises(ConfigError, match="version: expected 1"):
        protocol.parse_request(_request(version=2))


def test_messages_over_the_cap_or_not_json_are_refused() -> None:
    left, right = socket.socketpair()
    with left, right:
        left.sendall(b"{" + b" " * 200)
        with pytest.raises(protocol.ProtocolError, match="over 100 bytes"):
            protocol.read_message(right, 100)
    left, right = socket.socketpair()
    with left, right:
        left.sendall(b"[1, 2]\n")
        with pytest.raises(protocol.ProtocolError, match="not a JSON object"):
            protocol.read_message(right, 100)
    left, right = socket.socketpair()
    with left, right:
        left.close()
        with pytest.raises(protocol.NoMessage):
            protocol.read_message(right, 100)


def test_a_request_may_end_by_closing_the_sending_side() -> None:
    left, right = socket.socketpair()
    with left, right:
        left.sendall(json.dumps(_request()).encode())
        left.shutdown(socket.SHUT_WR)
        assert protocol.read_message(right, protocol.MAX_REQUEST_BYTES) == _request()
