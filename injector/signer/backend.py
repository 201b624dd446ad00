"""Signing backends: what turns a header and claims into a signed JWT inside the signer.

A PEM key file (the issuer's DynamicCredentialPrivateKeyPath), signing in the event loop's
thread, or a key that never exists as a file (an OpenBao/Vault Transit key, `transit_backend`),
signing over HTTP: a `blocking` backend is called from worker threads, so that a slow server
never holds up the other callers. `server.load` chooses; nothing else in the signer knows how
tokens are signed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from injector.config import signing_keys
from injector.config.issuer_settings import IssuerSettings
from injector.config.signing_keys import SigningKey
from injector.errors import InjectorError
from injector.jose import jws


class SigningFailed(InjectorError):
    """A backend could not sign. The message (for the signer's log and audit line) may name
    the backend's server; `brief` is what the caller is told."""

    def __init__(self, message: str, brief: str) -> None:
        super().__init__(message)
        self.brief = brief


class SigningBackend(Protocol):
    @property
    def key_id(self) -> str: ...

    @property
    def algorithm(self) -> str: ...

    @property
    def description(self) -> str:
        """For the start-up log line: the key's type and where it lives."""
        ...

    @property
    def blocking(self) -> bool:
        """True: signing waits on I/O; the signer calls `sign_all` from a worker thread."""
        ...

    def sign_all(
        self, header: Mapping[str, object], claims: Sequence[Mapping[str, object]]
    ) -> list[str]:
        """The compact JWS of each of `claims` under `header`, in order. May be called from
        several threads. Raises SigningFailed when it cannot sign (audited, the caller told)."""
        ...


@dataclass(frozen=True)
class KeyFileBackend:
    key: SigningKey
    path: str

    @classmethod
    def load(cls, issuer: IssuerSettings) -> KeyFileBackend:
        """The key the issuer settings name, checked as the job side checks it. ConfigError."""
        return cls(signing_keys.load(issuer), str(issuer.private_key_path))

    @property
    def key_id(self) -> str:
        return self.key.key_id

    @property
    def algorithm(self) -> str:
        return self.key.algorithm

    @property
    def description(self) -> str:
        return f"{self.key.description} from {self.path}"

    @property
    def blocking(self) -> bool:
        return False

    def sign_all(
        self, header: Mapping[str, object], claims: Sequence[Mapping[str, object]]
    ) -> list[str]:
        return [jws.sign(header, claim, self.key.private_key) for claim in claims]
