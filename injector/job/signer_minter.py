"""Minting through `injector signer`: the job sends its context and audiences, the signer
answers with tokens it signed and claims it chose (`iss`, `kid`, TTL). Standard library only."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from injector import claims
from injector.claims import Token
from injector.config import issuer_settings
from injector.config.job_context import JobContext
from injector.errors import ConfigError, InjectorError
from injector.signer import client
from injector.signer.protocol import TokenRequest


@dataclass(frozen=True)
class SignerMinter:
    socket: Path

    @property
    def description(self) -> str:
        return f"the signer at unix:{self.socket} (DynamicCredentialSigner), which holds the key"

    def mint(
        self,
        job: JobContext,
        audiences: Sequence[str],
        extra_claims: Mapping[str, object],
        now: int,  # the signer's clock decides `iat`
        own_claims: Sequence[Mapping[str, object]] = (),
        phase: str | None = None,
    ) -> list[Token]:
        if any(own_claims):
            # The signer builds every claim itself and takes none from the job: a cloud's own
            # claims (AWS session tags) would have to be derived there from the context.
            names = sorted({name for own in own_claims for name in own})
            raise ConfigError.of(
                issuer_settings.SIGNER,
                f"the signer does not mint the claims {', '.join(names)} yet: switch off the "
                "setting that adds them, or mint with a key file",
            )
        # The phase always goes to the signer: its own template may put {phase} in sub (and it
        # then adds terrakube_run_phase too, as the wire format says).
        request = TokenRequest(job=job, audiences=tuple(audiences), phase=phase)
        minted = [claims.decoded(compact) for compact in client.request(self.socket, request)]
        # The signer's template shapes sub, so the job cannot predict it; one request is for
        # one job, so every token must carry the same one.
        subjects = {token.claims.get("sub") for token in minted}
        for token, audience in zip(minted, audiences, strict=True):
            if token.claims.get("aud") != audience or len(subjects) != 1 or None in subjects:
                raise InjectorError(
                    f"the signer at unix:{self.socket} answered a token for another sub or aud"
                )
        return minted
