"""Signing with an OpenBao/Vault Transit key: the private key never leaves OpenBao.

At start the key is read (`<mount>/keys/<key>`): its latest version is pinned, its type is
checked against DynamicCredentialAlgorithm, and its public part is what the issuer publishes
under DynamicCredentialId. Each request is one `<mount>/sign/<key>` call with the digests of
all its tokens (`batch_input`, `prehashed`: the claims never leave the signer), and every
signature is checked against the pinned public key before a token leaves: a rotated or
swapped key in OpenBao cannot hand a caller a token that the published JWKS does not verify.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from injector.config import signing_keys
from injector.config.issuer_settings import IssuerSettings
from injector.jose import algorithms, jws
from injector.signer.backend import SigningFailed
from injector.transit.client import TransitClient, TransitError, TransitKey
from injector.transit.public_key import public_key
from injector.transit.settings import TransitSettings

_DIGESTS = {
    "RS256": hashlib.sha256,
    "RS384": hashlib.sha384,
    "RS512": hashlib.sha512,
    "ES256": hashlib.sha256,
}
_HASHES: dict[str, hashes.HashAlgorithm] = {
    "RS256": hashes.SHA256(),
    "RS384": hashes.SHA384(),
    "RS512": hashes.SHA512(),
    "ES256": hashes.SHA256(),
}


@dataclass
class TransitBackend:
    client: TransitClient
    key: TransitKey
    public: signing_keys.PublicKey
    key_id: str
    algorithm: str

    @classmethod
    def load(cls, issuer: IssuerSettings, transit: TransitSettings) -> TransitBackend:
        client = TransitClient(transit)
        try:
            key = client.read_key()
            public = public_key(key, issuer.algorithm)
        except BaseException:
            client.close()
            raise
        return cls(client, key, public, issuer.key_id, issuer.algorithm)

    @property
    def blocking(self) -> bool:
        return True

    @property
    def description(self) -> str:
        return (
            f"{signing_keys.kind(self.public)} ({self.algorithm}, kid {self.key_id}) from "
            f"{self.client.settings.where}, version {self.key.version}"
        )

    def sign_all(
        self, header: Mapping[str, object], claims: Sequence[Mapping[str, object]]
    ) -> list[str]:
        inputs = [jws.to_sign(header, claim) for claim in claims]
        digests = [_DIGESTS[self.algorithm](data).digest() for data in inputs]
        try:
            signatures = self.client.sign_digests(digests, self.algorithm, self.key.version)
        except TransitError as error:
            brief = f"HTTP {error.status}" if error.status else "no answer"
            raise SigningFailed(
                f"signing through Transit: {error}", f"OpenBao/Vault Transit failed ({brief})"
            ) from None
        for data, signature in zip(inputs, signatures, strict=True):
            self._check(data, signature)
        return [
            f"{data.decode('ascii')}.{jws.b64url(sig)}"
            for data, sig in zip(inputs, signatures, strict=True)
        ]

    def _check(self, data: bytes, signature: bytes) -> None:
        try:
            if isinstance(self.public, rsa.RSAPublicKey):
                self.public.verify(signature, data, padding.PKCS1v15(), _HASHES[self.algorithm])
            else:
                half = len(signature) // 2
                der = encode_dss_signature(
                    int.from_bytes(signature[:half], "big"), int.from_bytes(signature[half:], "big")
                )
                self.public.verify(der, data, ec.ECDSA(_HASHES[self.algorithm]))
        except InvalidSignature:
            raise SigningFailed(
                f"signing through Transit: {self.client.settings.where} returned a signature "
                f"that version {self.key.version}'s public key does not verify",
                "OpenBao/Vault Transit returned a signature that does not verify",
            ) from None

    def close(self) -> None:
        self.client.close()


assert set(_DIGESTS) == set(algorithms.ALGORITHMS)  # noqa: S101 (one list of names)
