"""Audit lines a caller cannot blow up: whatever it sends, each line stays under about 4 KiB
(journald keeps lines up to 48 KiB), with a marker where a value was clipped."""

from __future__ import annotations

import json
from pathlib import Path

from injector.signer import audit, protocol
from tests.signer.conftest import NOBODY, Custody, aws_request, send_as, start


def test_oversized_audiences_and_context_make_short_audit_lines(
    custody: Custody, scratch: Path
) -> None:
    signer = start(
        custody,
        scratch,
        f'[[allow]]\nuid = {NOBODY}\nsubjects = ["*"]\naudiences = ["aws.workload.identity"]\n'
        "caller_names_context = true\n",
    )
    huge = "a" * 60_000
    many = [f"{index}" + "b" * 3_500 for index in range(protocol.MAX_AUDIENCES)]
    try:
        answers = send_as(
            NOBODY,
            signer.socket,
            [
                aws_request(audiences=[huge]),
                aws_request(audiences=many),
                aws_request(audiences=["\u0001" * 10_000]),  # 6 bytes each, escaped
            ],
        )
    finally:
        assert signer.stop() == 0
    assert [answer and answer["error"] for answer in answers] == ["refused", "refused", "invalid"]
    # The caller is told in full (its own data); the audit line is clipped.
    assert answers[0] is not None and huge in str(answers[0]["message"])
    text = signer.stderr_path.read_text()
    lines = [line for line in text.splitlines() if line.startswith("{")]
    assert len(lines) == 3
    for line in lines:
        assert len(line.encode()) <= audit.LINE_BYTES
        assert json.loads(line)["uid"] == NOBODY
    for line in lines[:2]:  # the refusals repeat the audiences in `aud` and the reason
        assert json.loads(line)["clipped"] is True
        assert "more characters]" in line
    first = json.loads(lines[0])
    assert str(first["aud"][0]).startswith("a" * 32)
    assert "more items]" in lines[1]


def test_a_line_under_the_limit_is_written_as_it_is() -> None:
    record: dict[str, object] = {"uid": 1, "aud": ["x" * 100], "reason": "r" * 1000}
    assert audit.line(record) == json.dumps(record, separators=(",", ":"))
    groups: dict[str, object] = {"uid": 1, "groups": list(range(65_536))}
    clipped = json.loads(audit.line(groups))
    assert clipped["groups"][:8] == list(range(8)) and clipped["clipped"] is True
    assert clipped["groups"][-1] == "...[65528 more items]"
