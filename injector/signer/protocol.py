"""The signer's wire format, for the job side and any other tool that wants a token.

One connection carries one request and one answer. Each is a single JSON object encoded in
UTF-8 and ended by a newline (the request may also be ended by closing the sending side). A
request over MAX_REQUEST_BYTES is refused unread.

Request::

    {"version": 1,
     "context": {"organizationName": "...", "workspaceName": "...", "organizationId": "...",
                 "workspaceId": "...", "jobId": "..."},
     "audiences": ["aws.workload.identity", ...],      # 1 to MAX_AUDIENCES, one token each
     "phase": "plan",               # optional: fills {phase} in sub, adds terrakube_run_phase
     "subject_token": "<JWT>"}      # optional: the platform's token; the signer then takes
                                    # context and phase from it (context may then be left out)

Answer, allowed::

    {"ok": true, "tokens": ["<JWT for audiences[0]>", ...]}

Answer, not allowed or not valid (`error` is "refused", "invalid", "unavailable": a platform's
keys cannot be fetched now, or "internal")::

    {"ok": false, "error": "refused", "message": "...",
     "problems": [{"variable": "workspaceName", "message": "..."}]}   # for "invalid"

The context is validated with the job side's own rules (same variable names, same messages).
Standard library only: the job side imports this module.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass

from injector.claims import PHASES
from injector.config import job_context, values
from injector.config.job_context import JobContext
from injector.errors import ConfigError, Problem, Problems

VERSION = 1
MAX_REQUEST_BYTES = 64 * 1024
# Tokens are about a kilobyte each; an answer is never near this.
MAX_ANSWER_BYTES = 1024 * 1024
MAX_AUDIENCES = 16
# Objects and lists inside one another: a request needs 2, an answer 3. json's parser recurses
# once per level, so a line of 60 KB of `[` would otherwise exhaust the stack.
MAX_NESTING = 8
CONTEXT_FIELDS = tuple(job_context.OPTIONS)

REFUSED = "refused"
INVALID = "invalid"
INTERNAL = "internal"
UNAVAILABLE = "unavailable"


class ProtocolError(Exception):
    """A message that is not one JSON object within the size cap."""


class NoMessage(ProtocolError):
    """The peer closed without sending a byte (a liveness probe): nothing to answer."""


@dataclass(frozen=True)
class TokenRequest:
    job: JobContext | None  # None only with a subject token: the signer derives it
    audiences: tuple[str, ...]
    phase: str | None = None
    subject_token: str | None = None

    def encoded(self) -> bytes:
        document: dict[str, object] = {"version": VERSION, "audiences": list(self.audiences)}
        if self.job is not None:
            document["context"] = context_fields(self.job)
        if self.phase is not None:
            document["phase"] = self.phase
        if self.subject_token is not None:
            document["subject_token"] = self.subject_token
        return encode(document)


def context_fields(job: JobContext) -> dict[str, str]:
    """The job context as the request's `context` object (the job side's variable names)."""
    return {
        job_context.ORGANIZATION_NAME: job.organization,
        job_context.WORKSPACE_NAME: job.workspace,
        job_context.ORGANIZATION_ID: job.organization_id,
        job_context.WORKSPACE_ID: job.workspace_id,
        job_context.JOB_ID: job.job_id,
        # Optional: the signer's claims carry the project only when there is one.
        **({job_context.PROJECT_NAME: job.project} if job.project else {}),
    }


def encode(document: Mapping[str, object]) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode("utf-8") + b"\n"


def read_message(connection: socket.socket, limit: int) -> dict[str, object]:
    """One JSON object read up to its newline (or the peer's end of sending), at most `limit`
    bytes. Raises ProtocolError, or OSError (a timeout included) from the socket."""
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = connection.recv(65536)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise ProtocolError(f"message over {limit} bytes")
        if b"\n" in chunk:
            break
    return decode(b"".join(chunks))


def decode(data: bytes) -> dict[str, object]:
    """The one JSON object in `data`, everything the peer sent (ended by a newline or not).
    Raises NoMessage for nothing at all, ProtocolError for anything but one JSON object."""
    if not data:
        raise NoMessage("nothing sent")
    line, _, rest = data.partition(b"\n")
    if rest.strip():
        raise ProtocolError("more than one message on the connection")
    if not nesting_within(line, MAX_NESTING):
        raise ProtocolError(f"JSON nested deeper than {MAX_NESTING} levels")
    try:
        document = json.loads(line)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ProtocolError("not a JSON document") from None
    if not isinstance(document, dict):
        raise ProtocolError("not a JSON object")
    return document


_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_BRACKET = re.compile(rb"[\[\]{}]")


def nesting_within(line: bytes, limit: int) -> bool:
    """Whether no object or list in the JSON text `line` lies more than `limit` deep."""
    if line.count(b"[") + line.count(b"{") <= limit:
        return True  # the usual case, decided in C: not enough openings to nest deeper
    depth = 0
    for bracket in _BRACKET.findall(_STRING.sub(b'""', line)):
        depth += 1 if bracket in b"[{" else -1
        if depth > limit:
            return False
    return True


def _audiences(value: object) -> tuple[str, ...]:
    form = f"a list of 1 to {MAX_AUDIENCES} audience strings"
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_AUDIENCES:
        raise ConfigError.of("audiences", f"expected {form}")
    if not all(isinstance(item, str) for item in value):
        raise ConfigError.of("audiences", f"expected {form}")
    return tuple(
        values.text("audiences", item, "an audience without control characters") for item in value
    )


def _phase(value: object) -> str | None:
    if value is None:
        return None
    if value not in PHASES:
        raise ConfigError.of("phase", f"expected one of {', '.join(PHASES)} or no phase")
    assert isinstance(value, str)  # noqa: S101 (one of PHASES)
    return value


def _context(value: object) -> JobContext:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ConfigError.of(
            "context", f"expected an object of strings: {', '.join(CONTEXT_FIELDS)}"
        )
    unknown = sorted(set(value) - set(CONTEXT_FIELDS))
    if unknown:
        raise ConfigError.of("context", f"unknown field(s) {', '.join(unknown)}")
    return job_context.from_env(value)


def parse_request(document: Mapping[str, object]) -> TokenRequest:
    """The request, validated; raises ConfigError listing every problem."""
    if document.get("version") != VERSION:
        raise ConfigError.of("version", f"expected {VERSION}")
    unknown = sorted(set(document) - {"version", "context", "audiences", "phase", "subject_token"})
    problems = Problems()
    if unknown:
        problems.add("request", f"unknown field(s) {', '.join(unknown)}")
    subject_token = document.get("subject_token")
    if subject_token is not None and (not isinstance(subject_token, str) or not subject_token):
        problems.add("subject_token", "expected the platform's token as a string")
        subject_token = None
    # With a subject token the signer takes the context from it; one sent anyway is compared.
    job = (
        problems.run(_context, document.get("context"))
        if subject_token is None or "context" in document
        else None
    )
    audiences = problems.get((), _audiences, document.get("audiences"))
    phase = problems.get(None, _phase, document.get("phase"))
    problems.raise_if_any()
    assert job is not None or subject_token is not None  # noqa: S101 (raised otherwise)
    return TokenRequest(job=job, audiences=audiences, phase=phase, subject_token=subject_token)


def allowed(tokens: list[str]) -> bytes:
    return encode({"ok": True, "tokens": tokens})


def failed(error: str, message: str, problems: tuple[Problem, ...] = ()) -> bytes:
    document: dict[str, object] = {"ok": False, "error": error, "message": message}
    if problems:
        document["problems"] = [{"variable": p.variable, "message": p.message} for p in problems]
    return encode(document)
