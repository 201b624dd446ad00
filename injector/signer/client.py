"""The job side's way to the signer: one request over its Unix socket, the tokens back.

Before sending anything, the job asks the kernel who listens (SO_PEERCRED): a process of the
job's own uid is no signer (a signer holds a key the job must not read) but another job that
took the socket's name, unless DynamicCredentialSignerUser names that uid itself (a signer
container run as the job's uid, the key mounted in its container only: the operator's choice);
DynamicCredentialSignerUser, when set, names the only acceptable one. When it is not set, a
listener of another uid is trusted only where nobody but root and that uid could have laid out
the way to the socket (socket_way.py): otherwise a neighbour who listened there first would get
the request, a keyless job's platform token with it. Each refusal is exit 1 naming the socket
and the uid; nothing is sent.

Standard library only (`socket`, `json`): a job that mints through the signer loads neither
`cryptography` nor any HTTP client, and never sees the key.
"""

from __future__ import annotations

import os
import socket
import struct
from pathlib import Path

from injector.config.issuer_settings import SIGNER, SIGNER_USER
from injector.errors import ConfigError, InjectorError, Problem
from injector.signer import protocol
from injector.signer.protocol import TokenRequest
from injector.signer.socket_way import Way

TIMEOUT_SECONDS = 10.0
_UCRED = struct.Struct("3i")  # struct ucred: pid, uid, gid
_TIMEVAL = struct.Struct("ll")  # struct timeval: seconds, microseconds


class SignerUnreachable(InjectorError):
    """No signer answers on the socket (exit 1): nothing was minted."""


class ImpostorSigner(InjectorError):
    """What listens on the socket is not the signer (exit 1): nothing was sent."""


def _check_listener(
    connection: socket.socket, path: Path, signer_uid: int | None, way: Way | None
) -> None:
    _pid, uid, _gid = _UCRED.unpack(
        connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size)
    )
    if signer_uid is not None and uid != signer_uid:
        raise ImpostorSigner(
            f"{SIGNER}: the process listening at unix:{path} runs as uid {uid}, not as the "
            f"signer's uid {signer_uid} ({SIGNER_USER}): refused as an impostor, nothing sent"
        )
    if uid == os.getuid() and signer_uid is None:
        raise ImpostorSigner(
            f"{SIGNER}: the process listening at unix:{path} runs as uid {uid}, the job's own "
            f"uid, which a signer is not unless {SIGNER_USER} says so (it holds a key the job must "
            "not read): refused as an impostor, nothing sent"
        )
    doubt = way.doubt(uid) if way is not None else None
    if doubt is not None:
        raise ImpostorSigner(
            f"{SIGNER}: the process listening at unix:{path} runs as uid {uid}, but {doubt}: "
            "someone other than root and that uid could have been first to listen there, so "
            "it may not be the signer; refused, nothing sent. Keep the socket in a folder only "
            f"root or the signer's uid may write, or name the signer's uid in {SIGNER_USER}"
        )


def _connect(connection: socket.socket, path: Path, address: str, timeout: float) -> None:
    # Blocking, with a send timeout: a Unix connect() then waits (up to `timeout`) for room in
    # a full backlog, where a non-blocking one (settimeout) fails at once with EAGAIN.
    connection.setsockopt(
        socket.SOL_SOCKET,
        socket.SO_SNDTIMEO,
        _TIMEVAL.pack(int(timeout), int((timeout % 1) * 1_000_000)),
    )
    try:
        connection.connect(address)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise SignerUnreachable(
            f"{SIGNER}: cannot reach the signer at unix:{path}: {reason}"
        ) from None


def _way(path: Path) -> Way:
    try:
        return Way(path)
    except OSError as error:
        raise SignerUnreachable(
            f"{SIGNER}: cannot reach the signer at unix:{path}: {error.strerror}"
        ) from None


def _exchange(path: Path, data: bytes, timeout: float, signer_uid: int | None) -> dict[str, object]:
    # Named, the signer's uid is all that matters; unnamed, so is who could have laid out the way.
    way = _way(path) if signer_uid is None else None
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        try:
            _connect(connection, path, str(path) if way is None else way.address, timeout)
            _check_listener(connection, path, signer_uid, way)
        finally:
            if way is not None:
                way.close()
        connection.settimeout(timeout)
        try:
            connection.sendall(data)
            return protocol.read_message(connection, protocol.MAX_ANSWER_BYTES)
        except (OSError, protocol.ProtocolError) as error:
            reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
            raise InjectorError(
                f"{SIGNER}: the signer at unix:{path} gave no answer: {reason}"
            ) from None


def request(
    path: Path,
    token_request: TokenRequest,
    timeout: float = TIMEOUT_SECONDS,
    *,
    signer_uid: int | None = None,
) -> list[str]:
    """The signed tokens, one per audience of `token_request`, in order.

    `signer_uid`: the only uid accepted as the signer (else any uid but the caller's own).
    Raises ConfigError (exit 2) when the signer refuses or finds the request invalid, with its
    message; SignerUnreachable (exit 1) when nothing listens; ImpostorSigner (exit 1) when the
    listener is not the signer; InjectorError for anything else.
    """
    answer = _exchange(path, token_request.encoded(), timeout, signer_uid)
    if answer.get("ok") is True:
        tokens = answer.get("tokens")
        if (
            isinstance(tokens, list)
            and len(tokens) == len(token_request.audiences)
            and all(isinstance(token, str) and token.count(".") == 2 for token in tokens)
        ):
            return [str(token) for token in tokens]
        raise InjectorError(f"{SIGNER}: the signer at unix:{path} answered without the tokens")
    message = str(answer.get("message", "no message"))
    if answer.get("error") == protocol.REFUSED:
        raise ConfigError.of(SIGNER, f"the signer at unix:{path} refused: {message}")
    if answer.get("error") == protocol.INVALID:
        listed = answer.get("problems")
        problems = [
            Problem(str(item.get("variable")), str(item.get("message")))
            for item in (listed if isinstance(listed, list) else [])
            if isinstance(item, dict)
        ]
        raise ConfigError(problems or [Problem(SIGNER, f"the signer at unix:{path}: {message}")])
    raise InjectorError(f"{SIGNER}: the signer at unix:{path} failed: {message}")
