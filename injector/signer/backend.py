"""Signing backends: what turns a header and claims into a signed JWT inside the signer.

Today a PEM key file (the issuer's DynamicCredentialPrivateKeyPath). The seam is here for a
key that never exists as a file (a Vault/OpenBao Transit key): implement `SigningBackend` and
choose it in `server.load`; nothing else in the signer knows how tokens are signed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from injector.config import keys
from injector.config.issuer_settings import IssuerSettings
from injector.config.keys import SigningKey
from injector.jose import jws


class SigningBackend(Protocol):
    @property
    def key_id(self) -> str: ...

    @property
    def algorithm(self) -> str: ...

    @property
    def description(self) -> str:
        """For the start-up log line: the key's type and where it lives."""
        ...

    def sign(self, header: Mapping[str, object], claims: Mapping[str, object]) -> str:
        """The compact JWS of `claims` under `header`. May be called from several threads."""
        ...


@dataclass(frozen=True)
class KeyFileBackend:
    key: SigningKey
    path: str

    @classmethod
    def load(cls, issuer: IssuerSettings) -> KeyFileBackend:
        """The key the issuer settings name, checked as the job side checks it. ConfigError."""
        return cls(keys.load(issuer), str(issuer.private_key_path))

    @property
    def key_id(self) -> str:
        return self.key.key_id

    @property
    def algorithm(self) -> str:
        return self.key.algorithm

    @property
    def description(self) -> str:
        return f"{self.key.description} from {self.path}"

    def sign(self, header: Mapping[str, object], claims: Mapping[str, object]) -> str:
        return jws.sign(header, claims, self.key.private_key)
