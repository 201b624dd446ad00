"""The few Vault/OpenBao HTTP calls injector makes: the JWT login, renew-self, revoke-self,
and the probes `doctor` runs. httpx is imported here only (through injector.net), and this
module only when Vault is enabled, so jobs without Vault keep the hot path free of any HTTP
client.

The server is treated as possibly hostile (injector.net.guarded): one deadline per call, a
capped answer, redirects within its origin only. Every failure is a `VaultError` carrying
Vault's own error messages with the JWT and the Vault token blanked out, never the request's
body; a token the server hands over that an HTTP header could not carry is refused before use.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from injector.clouds.vault import MOUNT_FORM, plain_mount
from injector.net.guarded import GuardedClient, HttpError, header_safe
from injector.net.redact import clean

TIMEOUT_SECONDS = 10.0
MESSAGE_LIMIT = 400
# A login, renewal or lookup answer is a few KiB; health and errors less.
MAX_ANSWER_BYTES = 64 * 1024
# Far above any Vault's max_lease_ttl (32 days unless raised): a longer lease_duration is
# taken as this, since the renewals wait half of it and no clock can wait 10**30 s.
MAX_TTL_SECONDS = 366 * 24 * 3600


class VaultError(HttpError):
    """Vault refused or could not be reached. `status` is the HTTP status (None: no answer)."""


@dataclass(frozen=True)
class Auth:
    """What a login or a renewal gave: the token (a secret) and its lease."""

    client_token: str = field(repr=False)
    accessor: str
    ttl_seconds: int
    renewable: bool
    policies: tuple[str, ...]


@dataclass(frozen=True)
class Secret:
    """A secrets engine's answer: its data (secrets) and the lease it is under."""

    data: dict[str, object] = field(repr=False)
    lease_id: str
    ttl_seconds: int
    renewable: bool


class VaultClient:
    """One Vault server: its address, namespace (X-Vault-Namespace) and the CA it is trusted
    with (VAULT_CACERT, or the certificates of its encoded form; else the system's)."""

    def __init__(
        self,
        address: str,
        namespace: str | None,
        ca_cert: Path | None,
        ca_pem: bytes | None = None,
    ) -> None:
        self.address = address.rstrip("/")
        headers = {"X-Vault-Namespace": namespace} if namespace else {}
        verify: ssl.SSLContext | None = None
        if ca_pem is not None:
            # Parsed already (config.certificates): the same ones the job's file holds; OpenSSL
            # may still refuse one that cryptography reads.
            try:
                verify = ssl.create_default_context(cadata=ca_pem.decode("ascii"))
            except ssl.SSLError as error:
                raise VaultError(f"cannot trust the encoded CA certificates: {error}") from None
        elif ca_cert is not None:
            try:
                verify = ssl.create_default_context(cafile=str(ca_cert))
            except (OSError, ssl.SSLError) as error:
                raise VaultError(f"cannot load VAULT_CACERT {ca_cert}: {error}") from None
        try:
            self._http = GuardedClient(
                self.address,
                verify=verify,
                timeout=TIMEOUT_SECONDS,
                max_bytes=MAX_ANSWER_BYTES,
                headers=headers,
            )
        except HttpError as error:
            raise VaultError(str(error)) from None

    def close(self) -> None:
        self._http.close()

    def login(self, mount: str, role: str, jwt: str) -> Auth:
        """`POST /v1/auth/<mount>/login` with the role and the JWT."""
        path = _login_path(mount)
        answer = self._call("POST", path, body={"role": role, "jwt": jwt}, secrets=(jwt,))
        return _auth(answer, path)

    def renew_self(self, token: str) -> Auth:
        answer = self._call("POST", "auth/token/renew-self", token=token, body={})
        return _auth(answer, "auth/token/renew-self")

    def revoke_self(self, token: str) -> None:
        self._call("POST", "auth/token/revoke-self", token=token, body={})

    def lookup_self(self, token: str) -> dict[str, object]:
        data = self._call("GET", "auth/token/lookup-self", token=token).get("data")
        return data if isinstance(data, dict) else {}

    def secret(
        self, method: str, path: str, token: str, body: dict[str, object] | None = None
    ) -> Secret:
        """A secrets engine's credentials at `path` (`aws/creds/<role>`), read with `token`."""
        answer = self._call(method, path, token=token, body=body)
        data = answer.get("data")
        if not isinstance(data, dict):
            raise VaultError(f"{path}: the answer has no data")
        duration = answer.get("lease_duration")
        return Secret(
            data=data,
            lease_id=str(answer.get("lease_id") or ""),
            ttl_seconds=_seconds(duration),
            renewable=bool(answer.get("renewable")),
        )

    def renew_lease(self, token: str, lease_id: str) -> int:
        """`PUT sys/leases/renew`: the lease's new TTL in seconds."""
        answer = self._call("PUT", "sys/leases/renew", token=token, body={"lease_id": lease_id})
        duration = answer.get("lease_duration")
        return _seconds(duration)

    def revoke_lease(self, token: str, lease_id: str) -> None:
        self._call("PUT", "sys/leases/revoke", token=token, body={"lease_id": lease_id})

    def health(self) -> dict[str, object]:
        """`GET /v1/sys/health`: initialized, sealed, version. Answers even when sealed (the
        status codes then say it; they are asked to be 200 so the body can be read)."""
        return self._call("GET", "sys/health", params={"sealedcode": "200", "uninitcode": "200"})

    def mount_answers(self, mount: str) -> bool:
        """Whether an auth method is mounted at `mount`: a login with no role gets a 400 from
        the method ("missing role"); Vault answers 403 for a path where nothing is mounted."""
        try:
            self._call("POST", _login_path(mount), body={})
        except VaultError as error:
            if error.status == 403:
                return False
            if error.status == 400:
                return True
            raise
        return True

    def _call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        body: dict[str, object] | None = None,
        params: dict[str, str] | None = None,
        secrets: tuple[str, ...] = (),
    ) -> dict[str, object]:
        url = f"{self.address}/v1/{path}"
        if token is not None and not header_safe(token):
            raise VaultError(
                f"{method} {url}: the Vault token has characters an HTTP header cannot carry: "
                "not sent"
            )
        hidden = (*secrets, *((token,) if token is not None else ()))
        try:
            answer = self._http.call(
                method,
                f"v1/{path}",
                body=body,
                params=params,
                headers={"X-Vault-Token": token} if token is not None else {},
                secrets=hidden,
            )
        except HttpError as error:
            raise VaultError(f"cannot reach Vault at {url}: {error}", error.status) from None
        if answer.ok and (answer.status == 204 or not answer.body):
            return {}
        document = answer.document()
        if not answer.ok:
            said = document.get("errors") if isinstance(document, dict) else None
            reason = "; ".join(str(e) for e in said) if isinstance(said, list) and said else ""
            reason = reason or answer.reason or "no error message"
            raise VaultError(
                f"{method} {url}: {answer.status}: {clean(reason, hidden, MESSAGE_LIMIT)}",
                answer.status,
            )
        if not isinstance(document, dict):
            raise VaultError(f"{method} {url}: the answer is not a JSON object", answer.status)
        return document


def _login_path(mount: str) -> str:
    if not plain_mount(mount):
        raise VaultError(
            f"the auth mount {clean(mount, limit=80)!r} is not {MOUNT_FORM}: not called"
        )
    return f"auth/{quote(mount, safe='/')}/login"


def _seconds(duration: object) -> int:
    """A lease_duration as the renewals can wait on it: 0 unless a non-negative int, at most
    MAX_TTL_SECONDS."""
    if not isinstance(duration, int) or isinstance(duration, bool) or duration < 0:
        return 0
    return min(duration, MAX_TTL_SECONDS)


def _auth(answer: dict[str, object], path: str) -> Auth:
    auth = answer.get("auth")
    if not isinstance(auth, dict) or not isinstance(auth.get("client_token"), str):
        raise VaultError(f"{path}: the answer has no auth.client_token")
    token = auth["client_token"]
    if not token:
        raise VaultError(f"{path}: the answer's auth.client_token is empty")
    if not header_safe(token):
        # Sent back as X-Vault-Token, it would break the header (or smuggle another one).
        raise VaultError(
            f"{path}: the answer's auth.client_token has characters an HTTP header cannot "
            "carry (a line break, a control character or non-ASCII): refused"
        )
    policies = auth.get("token_policies") or auth.get("policies") or []
    duration = auth.get("lease_duration")
    return Auth(
        client_token=token,
        accessor=clean(str(auth.get("accessor", "")), (token,), 120),
        ttl_seconds=_seconds(duration),
        renewable=bool(auth.get("renewable")),
        policies=tuple(clean(str(p), (token,), 120) for p in policies)
        if isinstance(policies, list)
        else (),
    )
