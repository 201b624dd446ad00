"""The two Transit calls the issuer makes: read the key (its public parts, latest version)
and sign digests with one pinned version. httpx is imported here only, and this module only
when the Transit settings are set.

Only digests go to OpenBao (`prehashed`): the claims never leave the signer. Every failure is
a `TransitError` carrying OpenBao's own error messages, never a header (the token).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from injector.errors import InjectorError
from injector.jose import algorithms
from injector.transit.settings import TOKEN_FILE, TransitSettings

# Per step (connect, write, read): under the signer's 5 s answer deadline.
TIMEOUT_SECONDS = 3.0
MESSAGE_LIMIT = 300
_HASHES = {"RS256": "sha2-256", "RS384": "sha2-384", "RS512": "sha2-512", "ES256": "sha2-256"}
# The Transit key types that can sign each family of JWS algorithms.
_RSA_TYPES = ("rsa-2048", "rsa-3072", "rsa-4096")
_EC_TYPES = ("ecdsa-p256",)


class TransitError(InjectorError):
    """OpenBao refused or could not be reached. `status`: the HTTP status (None: no answer)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class TransitKey:
    """A Transit key's latest version and that version's public key (PEM)."""

    name: str
    type: str
    version: int
    public_pem: bytes


def key_types(algorithm: str) -> tuple[str, ...]:
    return _EC_TYPES if algorithm in algorithms.EC_ALGORITHMS else _RSA_TYPES


class TransitClient:
    def __init__(self, settings: TransitSettings) -> None:
        self.settings = settings
        verify: object = settings.trust if settings.trust is not None else True
        self._http = httpx.Client(
            base_url=f"{settings.address}/v1/{settings.mount}/",
            headers={"X-Vault-Token": settings.token},
            verify=verify,  # type: ignore[arg-type]
            timeout=TIMEOUT_SECONDS,
            trust_env=False,  # the signer's own settings only: no proxy or CA from the env
        )

    def close(self) -> None:
        self._http.close()

    def read_key(self) -> TransitKey:
        """`GET <mount>/keys/<key>`: its type and latest version's public key."""
        path = f"keys/{self.settings.key}"
        data = self._call("GET", path)
        latest, versions, kind = data.get("latest_version"), data.get("keys"), data.get("type")
        if not isinstance(latest, int) or not isinstance(versions, dict):
            raise TransitError(f"{self._url(path)}: the answer has no keys and latest_version")
        entry = versions.get(str(latest))
        public = entry.get("public_key") if isinstance(entry, dict) else None
        # A symmetric key has none: `public_key.public_key` refuses it by its type.
        pem = public.encode("ascii", "replace") if isinstance(public, str) else b""
        return TransitKey(self.settings.key, str(kind), latest, pem)

    def sign_digests(self, digests: Sequence[bytes], algorithm: str, version: int) -> list[bytes]:
        """The raw JWS signatures (RSA: PKCS#1 v1.5; EC: r||s) of `digests`, made by key
        `version` in one request."""
        body: dict[str, object] = {
            "batch_input": [{"input": base64.b64encode(d).decode("ascii")} for d in digests],
            "prehashed": True,
            "hash_algorithm": _HASHES[algorithm],
            "key_version": version,
        }
        if algorithm in algorithms.EC_ALGORITHMS:
            body["marshaling_algorithm"] = "jws"
        else:
            body["signature_algorithm"] = "pkcs1v15"
        path = f"sign/{self.settings.key}"
        results = self._call("POST", path, body).get("batch_results")
        if not isinstance(results, list) or len(results) != len(digests):
            raise TransitError(f"{self._url(path)}: expected {len(digests)} batch_results")
        return [self._signature(path, result, algorithm, version) for result in results]

    def _signature(self, path: str, result: object, algorithm: str, version: int) -> bytes:
        said = result.get("signature") if isinstance(result, dict) else None
        if isinstance(result, dict) and result.get("error"):
            raise TransitError(f"{self._url(path)}: {_short(str(result['error']))}")
        prefix = f"vault:v{version}:"
        if not isinstance(said, str) or not said.startswith(prefix):
            raise TransitError(f"{self._url(path)}: expected a signature starting {prefix!r}")
        encoded = said[len(prefix) :]
        try:
            if algorithm in algorithms.EC_ALGORITHMS:  # marshaling_algorithm=jws: base64url
                return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            return base64.b64decode(encoded, validate=True)
        except ValueError:
            raise TransitError(f"{self._url(path)}: the signature is not base64") from None

    def _url(self, path: str) -> str:
        return f"{self.settings.address}/v1/{self.settings.mount}/{path}"

    def _call(
        self, method: str, path: str, body: dict[str, object] | None = None
    ) -> dict[str, object]:
        url = self._url(path)
        try:
            answer = self._http.request(method, path, json=body)
        except httpx.HTTPError as error:
            # httpx's messages name the URL and the cause, never a header.
            raise TransitError(f"cannot reach OpenBao at {url}: {_short(str(error))}") from None
        try:
            document = answer.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            document = None
        if not answer.is_success:
            said = document.get("errors") if isinstance(document, dict) else None
            reason = "; ".join(str(e) for e in said) if isinstance(said, list) and said else ""
            reason = _short(reason or answer.reason_phrase or "no error message")
            if answer.status_code == 403:
                reason += (
                    f" (the token in {TOKEN_FILE} {self.settings.token_file} is revoked, "
                    f"expired, or its policy does not allow {method} on this path)"
                )
            raise TransitError(
                f"{method} {url}: {answer.status_code}: {reason}", answer.status_code
            )
        data = document.get("data") if isinstance(document, dict) else None
        if not isinstance(data, dict):
            raise TransitError(f"{method} {url}: the answer has no data object", answer.status_code)
        return data


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 3] + "..."
