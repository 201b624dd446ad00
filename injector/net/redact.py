"""A server's words made fit for a message: one line, clipped, and every secret the call
carried blanked, since a hostile or careless server may echo the request it got. Standard
library only: a keyless job's exchange (urllib) uses it as well as the httpx clients."""

from __future__ import annotations

from collections.abc import Sequence

MESSAGE_LIMIT = 400
REDACTED = "<redacted>"


def clean(text: str, secrets: Sequence[str] = (), limit: int = MESSAGE_LIMIT) -> str:
    """`text` on one line, every secret replaced, clipped to `limit` characters."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
