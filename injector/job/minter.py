"""Who signs the job's tokens: the job itself with a key file, or the signer over its socket.

The plan and the refresher only see a `Minter`; which one is chosen from the settings, and the
module behind each is imported only when chosen, so a job that mints through the signer never
loads `cryptography` (or reads any key).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from injector.claims import Token
from injector.config.job_context import JobContext
from injector.job.settings import Settings


class Minter(Protocol):
    @property
    def description(self) -> str:
        """Who signs, for the dry run's `signed by` line."""
        ...

    def mint(
        self,
        job: JobContext,
        audiences: Sequence[str],
        extra_claims: Mapping[str, object],
        now: int,
        own_claims: Sequence[Mapping[str, object]] = (),
        phase: str | None = None,
    ) -> list[Token]:
        """One token per audience, in order; `own_claims[i]`, when given, go into the token of
        `audiences[i]` only (a cloud's own claims, such as AWS session tags). `phase` fills the
        subject template's {phase} (whoever holds the template renders `sub`). Raises ConfigError
        when the request is refused, InjectorError when the signer cannot be reached or fails."""
        ...


def for_settings(
    settings: Settings, *, dry_run: bool = False, keyless: Minter | None = None
) -> Minter:
    """`keyless` for a keyless job (made by injector.job.keyless), the signer's client when
    DynamicCredentialSigner is a socket, else the key file's minter (in a dry run without a key,
    a throw-away key)."""
    if keyless is not None:
        return keyless
    if settings.signer is not None:
        from injector.job.signer_minter import SignerMinter

        return SignerMinter(settings.signer, settings.signer_user)
    from injector.job.key_minter import KeyFileMinter

    assert settings.issuer is not None  # noqa: S101 (settings hold one or the other)
    return KeyFileMinter.from_settings(settings.issuer, dry_run=dry_run)
