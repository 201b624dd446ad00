"""The two Transit calls the issuer makes: read the key (its public parts, latest version)
and sign digests with one pinned version. httpx is imported here only (through injector.net),
and this module only when the Transit settings are set: one deadline per call, a capped
answer, redirects within the origin only.

Only digests go to OpenBao (`prehashed`): the claims never leave the signer. Every failure is
a `TransitError` carrying OpenBao's own error messages, never a header (the token), which is
blanked out even where the server echoes it.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass

from injector.jose import algorithms
from injector.net.guarded import GuardedClient, HttpError
from injector.net.redact import clean
from injector.transit.settings import TOKEN_FILE, TransitSettings

# The whole call (connect, every byte, redirects): under the signer's 5 s answer deadline.
TIMEOUT_SECONDS = 3.0
MESSAGE_LIMIT = 300
# A key's versions or a batch's signatures: well under this.
MAX_ANSWER_BYTES = 4 << 20
_HASHES = {"RS256": "sha2-256", "RS384": "sha2-384", "RS512": "sha2-512", "ES256": "sha2-256"}
# The Transit key types that can sign each family of JWS algorithms.
_RSA_TYPES = ("rsa-2048", "rsa-3072", "rsa-4096")
_EC_TYPES = ("ecdsa-p256",)


class TransitError(HttpError):
    """OpenBao refused or could not be reached. `status`: the HTTP status (None: no answer)."""


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
        try:
            # The signer's own settings only: no proxy or CA from the environment.
            self._http = GuardedClient(
                settings.address,
                verify=settings.trust,
                timeout=TIMEOUT_SECONDS,
                max_bytes=MAX_ANSWER_BYTES,
                headers={"X-Vault-Token": settings.token},
            )
        except HttpError as error:
            raise TransitError(f"{TOKEN_FILE} {settings.token_file}: {error}") from None

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
            said = clean(str(result["error"]), (self.settings.token,), MESSAGE_LIMIT)
            raise TransitError(f"{self._url(path)}: {said}")
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
        hidden = (self.settings.token,)
        try:
            answer = self._http.call(
                method, f"v1/{self.settings.mount}/{path}", body=body, secrets=hidden
            )
        except HttpError as error:
            raise TransitError(f"cannot reach OpenBao at {url}: {error}", error.status) from None
        document = answer.document()
        if not answer.ok:
            said = document.get("errors") if isinstance(document, dict) else None
            reason = "; ".join(str(e) for e in said) if isinstance(said, list) and said else ""
            reason = clean(reason or answer.reason or "no error message", hidden, MESSAGE_LIMIT)
            if answer.status == 403:
                reason += (
                    f" (the token in {TOKEN_FILE} {self.settings.token_file} is revoked, "
                    f"expired, or its policy does not allow {method} on this path)"
                )
            raise TransitError(f"{method} {url}: {answer.status}: {reason}", answer.status)
        data = document.get("data") if isinstance(document, dict) else None
        if not isinstance(data, dict):
            raise TransitError(f"{method} {url}: the answer has no data object", answer.status)
        return data
