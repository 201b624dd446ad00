"""The federated token: the claims Terrakube puts in it, signed with the issuer's key, and the
phases a token may be for. Shared by the job (which signs with a key file) and the signer (which
signs for the job): neither side owns it, so the signer needs nothing from `injector.job`."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from injector.config.job_context import JobContext

if TYPE_CHECKING:
    from injector.config.signing_keys import SigningKey


PHASES = ("plan", "apply")
# The claim that says the phase, in a token that opted in (or that the signer's template shapes).
PHASE_CLAIM_NAME = "terrakube_run_phase"


@dataclass(frozen=True)
class Token:
    header: dict[str, object]
    claims: dict[str, object]
    compact: str  # the signed JWT: a secret, never logged or printed unless asked for

    def __repr__(self) -> str:  # keeps the JWT out of tracebacks and debug output
        return f"Token(claims={self.claims!r})"


def random_uuid() -> str:
    """A version 4 UUID in its text form, as str(uuid.uuid4()) gives (RFC 9562 section 5.4):
    `uuid` itself loads `platform` and more at import, and its object costs the signer time."""
    octets = bytearray(os.urandom(16))
    octets[6] = (octets[6] & 0x0F) | 0x40  # version 4
    octets[8] = (octets[8] & 0x3F) | 0x80  # variant 10
    text = octets.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def claim_set(
    job: JobContext,
    subject: str,
    issuer: str,
    audience: str,
    now: int,
    ttl_minutes: int,
    extra: Mapping[str, object] | None = None,
) -> dict[str, object]:
    """The claim set Terrakube's DynamicCredentialsService builds, in its order (the names after
    the ids, the job id after them), then any `extra` (opted-in or the cloud's own); `jti` is
    fresh each time. `subject`: the job's `sub`, rendered from the issuer's template."""
    return {
        "sub": subject,
        "aud": audience,
        "jti": random_uuid(),
        "terrakube_workspace_id": job.workspace_id,
        "terrakube_organization_id": job.organization_id,
        "terrakube_workspace_name": job.workspace,
        "terrakube_organization_name": job.organization,
        "terrakube_job_id": job.job_id,
        "iat": now,
        "iss": issuer,
        "exp": now + ttl_minutes * 60,
        **(extra or {}),
    }


def mint(key: SigningKey, token_claims: dict[str, object]) -> Token:
    # Imported here: through the signer the job never signs, and never loads `cryptography`.
    from injector.jose import jws

    header: dict[str, object] = {"kid": key.key_id, "alg": key.algorithm, "typ": "JWT"}
    return Token(
        header=header, claims=token_claims, compact=jws.sign(header, token_claims, key.private_key)
    )


def _segment(text: str) -> dict[str, object]:
    document = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    if not isinstance(document, dict):
        raise ValueError("a JWT segment that is not a JSON object")
    return document


def decoded(compact: str) -> Token:
    """A token signed elsewhere (the signer), with its header and claims read back, unverified:
    the job only shows and schedules them; the clouds verify."""
    header, body, _signature = compact.split(".")
    return Token(header=_segment(header), claims=_segment(body), compact=compact)
