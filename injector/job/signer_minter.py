"""Minting through `injector signer`: the job sends its context and audiences, the signer
answers with tokens it signed and claims it chose (`iss`, `kid`, TTL). Standard library only.

Nothing the signer answers is written before it is compared with what was asked: each token's
`aud` is its audience, its `terrakube_*` claims are exactly the job's (and the phase asked),
and its `sub` is the same in every token and names the job's organization and workspace (the
signer's template shapes it, so the job cannot predict it whole). A listener that answers
another job's tokens, or tokens of its own making, is refused (exit 1)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
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
    signer_uid: int | None = None  # DynamicCredentialSignerUser
    # A keyless job's platform token, read at each request (a projected token rotates): the
    # signer then derives the context from it and compares the one sent (injector.job.keyless).
    subject_token: Callable[[], str] | None = None
    attested_phase: str | None = None  # the phase the platform attests, when not asked for

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
        request = TokenRequest(job, tuple(audiences), phase, self._subject_token())
        answered = client.request(self.socket, request, signer_uid=self.signer_uid)
        minted = [claims.decoded(compact) for compact in answered]
        for token, audience in zip(minted, audiences, strict=True):
            expected = phase if phase is not None else self.attested_phase
            wrong = _mismatch(token, job, audience, expected, minted[0].claims.get("sub"))
            if wrong is not None:
                raise InjectorError(
                    f"{issuer_settings.SIGNER}: the signer at unix:{self.socket} answered a "
                    f"token with {wrong}: refused, nothing written"
                )
        return minted

    def attested(self, audience: str) -> Token:
        """A keyless job's first token, for `audience`: the context is left to the signer, so
        only `aud` can be checked here (injector.job.keyless.resolve reads the context from it,
        and every later token is checked against that)."""
        request = TokenRequest(None, (audience,), None, self._subject_token())
        (compact,) = client.request(self.socket, request, signer_uid=self.signer_uid)
        token = claims.decoded(compact)
        if token.claims.get("aud") != audience:
            raise InjectorError(
                f"{issuer_settings.SIGNER}: the signer at unix:{self.socket} answered a token "
                f"for aud {token.claims.get('aud')!r} where {audience!r} was asked: refused"
            )
        return token

    def _subject_token(self) -> str | None:
        return None if self.subject_token is None else self.subject_token()


def _mismatch(
    token: Token, job: JobContext, audience: str, phase: str | None, subject: object
) -> str | None:
    """What in `token` is not what the job asked for, or None."""
    got = token.claims
    if got.get("aud") != audience:
        return f"aud {got.get('aud')!r} where {audience!r} was asked"
    expected = {
        name: value
        for name, value in claims.claim_set(job, "", "", audience, 0, 0).items()
        if name.startswith("terrakube_")
    }
    if phase is not None:
        expected[claims.PHASE_CLAIM_NAME] = phase
    received = {name: value for name, value in got.items() if name.startswith("terrakube_")}
    if received != expected:
        names = sorted(
            name
            for name in expected.keys() | received.keys()
            if expected.get(name) != received.get(name)
        )
        return f"other {', '.join(names)} than this job's"
    sub = got.get("sub")
    if not isinstance(sub, str) or sub != subject:
        return "another sub than the request's other tokens"
    if not any(org in sub for org in (job.organization, job.organization_id)) or not any(
        workspace in sub for workspace in (job.workspace, job.workspace_id)
    ):
        return f"sub {sub!r}, which does not name both this job's organization and its workspace"
    return None
