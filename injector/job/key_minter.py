"""Minting in the job with the issuer's key file: the job holds the key (see the signer for
the alternative). Imports `cryptography`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from injector import claims
from injector.claims import Token
from injector.config import signing_keys
from injector.config.issuer_settings import IssuerSettings
from injector.config.job_context import JobContext
from injector.config.signing_keys import SigningKey


@dataclass(frozen=True)
class KeyFileMinter:
    key: SigningKey
    issuer: IssuerSettings

    @classmethod
    def from_settings(cls, issuer: IssuerSettings, *, dry_run: bool = False) -> KeyFileMinter:
        """The configured key; in a dry run without one, a throw-away key."""
        if dry_run and issuer.private_key_path is None:
            return cls(signing_keys.throwaway(issuer.key_id, issuer.algorithm), issuer)
        return cls(signing_keys.load(issuer), issuer)

    @property
    def description(self) -> str:
        if self.key.throwaway:
            return (
                f"a throw-away {self.key.description}: no key is configured "
                "(DynamicCredentialPrivateKeyPath), so no cloud would accept these tokens"
            )
        return f"{self.key.description} from {self.issuer.private_key_path}"

    def mint(
        self,
        job: JobContext,
        audiences: Sequence[str],
        extra_claims: Mapping[str, object],
        now: int,
        own_claims: Sequence[Mapping[str, object]] = (),
        phase: str | None = None,
    ) -> list[Token]:
        owns = list(own_claims) or [{} for _ in audiences]
        subject = self.issuer.subject_template.render(job, phase)
        return [
            claims.mint(
                self.key,
                claims.claim_set(
                    job,
                    subject,
                    self.issuer.issuer,
                    audience,
                    now,
                    self.issuer.ttl_minutes,
                    {**extra_claims, **own},
                ),
            )
            for audience, own in zip(audiences, owns, strict=True)
        ]
