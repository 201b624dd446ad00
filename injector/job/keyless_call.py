"""One call of a keyless job (the signer's token exchange, GitHub's token request) with the
standard library: the job's hot path loads no HTTP client. One deadline for the whole call (a
server that drips bytes cannot hold the job), no redirect (the platform token goes only to the
URL named), a bounded answer, and an error's description blanked of the request's secrets."""

from __future__ import annotations

import http.client
import json
import ssl
import urllib.error
import urllib.request
from collections.abc import Sequence

from injector.config.issuer_settings import SIGNER
from injector.errors import ConfigError, InjectorError
from injector.net import redact
from injector.net.no_redirect import NoRedirect
from injector.net.watchdog import Watchdog

TIMEOUT_SECONDS = 15.0
MAX_ANSWER_BYTES = 256 * 1024


def _opener(context: ssl.SSLContext | None, watchdog: Watchdog) -> urllib.request.OpenerDirector:
    # No redirect is followed: the platform token goes only to the URL the operator named.
    return urllib.request.build_opener(*watchdog.handlers(context), NoRedirect())


def json_answer(
    request: urllib.request.Request,
    context: ssl.SSLContext | None,
    name: str,
    secrets: Sequence[str] = (),
) -> dict[str, object]:
    """The answer's JSON object. An error's description is the server's words: blanked of the
    `secrets` the request carried (a server may echo the request) and kept to one line."""
    watchdog = Watchdog(TIMEOUT_SECONDS)
    try:
        with watchdog, _opener(context, watchdog).open(request, timeout=TIMEOUT_SECONDS) as answer:
            body = answer.read(MAX_ANSWER_BYTES + 1)
    except urllib.error.HTTPError as error:
        body = error.read(MAX_ANSWER_BYTES + 1)
        document = _decoded(body)
        description = redact.clean(
            str(document.get("error_description", document.get("error", ""))), secrets, 500
        )
        if error.code == 400 and name == SIGNER:
            raise ConfigError.of(
                SIGNER, f"the signer at {request.full_url} refused: {description}"
            ) from None
        raise InjectorError(
            f"{name}: {request.full_url} answered HTTP {error.code}: {description}"
        ) from None
    except (OSError, ValueError, http.client.HTTPException) as error:
        if watchdog.fired:
            raise _late(name, request) from None
        reason = getattr(error, "reason", None) or error
        raise InjectorError(f"{name}: cannot reach {request.full_url}: {reason}") from None
    if watchdog.fired:  # the answer was cut short without an error
        raise _late(name, request)
    if len(body) > MAX_ANSWER_BYTES:
        raise InjectorError(f"{name}: the answer of {request.full_url} is too large")
    return _decoded(body)


def _late(name: str, request: urllib.request.Request) -> InjectorError:
    return InjectorError(
        f"{name}: no complete answer from {request.full_url} within {TIMEOUT_SECONDS:g} s"
    )


def _decoded(body: bytes) -> dict[str, object]:
    try:
        document = json.loads(body)
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}
