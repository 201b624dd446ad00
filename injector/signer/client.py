"""The job side's way to the signer: one request over its Unix socket, the tokens back.

Standard library only (`socket`, `json`): a job that mints through the signer loads neither
`cryptography` nor any HTTP client, and never sees the key.
"""

from __future__ import annotations

import socket
from pathlib import Path

from injector.config.issuer_settings import SIGNER
from injector.errors import ConfigError, InjectorError, Problem
from injector.signer import protocol
from injector.signer.protocol import TokenRequest

TIMEOUT_SECONDS = 10.0


class SignerUnreachable(InjectorError):
    """No signer answers on the socket (exit 1): nothing was minted."""


def _exchange(path: Path, data: bytes, timeout: float) -> dict[str, object]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(timeout)
        try:
            connection.connect(str(path))
        except OSError as error:
            reason = error.strerror or type(error).__name__
            raise SignerUnreachable(
                f"{SIGNER}: cannot reach the signer at unix:{path}: {reason}"
            ) from None
        try:
            connection.sendall(data)
            return protocol.read_message(connection, protocol.MAX_ANSWER_BYTES)
        except (OSError, protocol.ProtocolError) as error:
            reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
            raise InjectorError(
                f"{SIGNER}: the signer at unix:{path} gave no answer: {reason}"
            ) from None


def request(path: Path, token_request: TokenRequest, timeout: float = TIMEOUT_SECONDS) -> list[str]:
    """The signed tokens, one per audience of `token_request`, in order.

    Raises ConfigError (exit 2) when the signer refuses or finds the request invalid, with its
    message; SignerUnreachable (exit 1) when nothing listens; InjectorError for anything else.
    """
    answer = _exchange(path, token_request.encoded(), timeout)
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
