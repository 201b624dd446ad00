"""The few Vault/OpenBao HTTP calls injector makes: the JWT login, renew-self, revoke-self,
and the probes `doctor` runs. httpx is imported here only, and this module only when Vault is
enabled, so jobs without Vault keep the hot path free of any HTTP client.

Every failure is a `VaultError` that carries Vault's own error messages (its `errors` list),
never the request's body: the body holds the JWT, and the answers hold the Vault token.
"""

from __future__ import annotations

import json
import ssl
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from injector.errors import InjectorError

TIMEOUT_SECONDS = 10.0
MESSAGE_LIMIT = 400


class VaultError(InjectorError):
    """Vault refused or could not be reached. `status` is the HTTP status (None: no answer)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


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
    with (VAULT_CACERT; else the system's)."""

    def __init__(self, address: str, namespace: str | None, ca_cert: Path | None) -> None:
        self.address = address.rstrip("/")
        headers = {"X-Vault-Namespace": namespace} if namespace else {}
        verify: ssl.SSLContext | bool = True
        if ca_cert is not None:
            try:
                verify = ssl.create_default_context(cafile=str(ca_cert))
            except (OSError, ssl.SSLError) as error:
                raise VaultError(f"cannot load VAULT_CACERT {ca_cert}: {error}") from None
        self._http = httpx.Client(headers=headers, verify=verify, timeout=TIMEOUT_SECONDS)

    def close(self) -> None:
        self._http.close()

    def login(self, mount: str, role: str, jwt: str) -> Auth:
        """`POST /v1/auth/<mount>/login` with the role and the JWT."""
        answer = self._call("POST", f"auth/{mount}/login", body={"role": role, "jwt": jwt})
        return _auth(answer, f"auth/{mount}/login")

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
            ttl_seconds=duration if isinstance(duration, int) else 0,
            renewable=bool(answer.get("renewable")),
        )

    def renew_lease(self, token: str, lease_id: str) -> int:
        """`PUT sys/leases/renew`: the lease's new TTL in seconds."""
        answer = self._call("PUT", "sys/leases/renew", token=token, body={"lease_id": lease_id})
        duration = answer.get("lease_duration")
        return duration if isinstance(duration, int) else 0

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
            self._call("POST", f"auth/{mount}/login", body={})
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
    ) -> dict[str, object]:
        url = f"{self.address}/v1/{path}"
        headers = {"X-Vault-Token": token} if token is not None else {}
        try:
            answer = self._http.request(method, url, json=body, params=params, headers=headers)
        except httpx.HTTPError as error:
            # httpx's messages name the URL and the cause, never a header or the body.
            raise VaultError(f"cannot reach Vault at {url}: {_short(str(error))}") from None
        if answer.is_success and (answer.status_code == 204 or not answer.content):
            return {}
        try:
            document = answer.json()
        except json.JSONDecodeError:
            document = None
        if not answer.is_success:
            said = document.get("errors") if isinstance(document, dict) else None
            reason = "; ".join(str(e) for e in said) if isinstance(said, list) and said else ""
            reason = reason or answer.reason_phrase or "no error message"
            raise VaultError(
                f"{method} {url}: {answer.status_code}: {_short(reason)}", answer.status_code
            )
        if not isinstance(document, dict):
            raise VaultError(f"{method} {url}: the answer is not a JSON object", answer.status_code)
        return document


def _auth(answer: dict[str, object], path: str) -> Auth:
    auth = answer.get("auth")
    if not isinstance(auth, dict) or not isinstance(auth.get("client_token"), str):
        raise VaultError(f"{path}: the answer has no auth.client_token")
    token = auth["client_token"]
    if not token:
        raise VaultError(f"{path}: the answer's auth.client_token is empty")
    policies = auth.get("token_policies") or auth.get("policies") or []
    duration = auth.get("lease_duration")
    return Auth(
        client_token=token,
        accessor=str(auth.get("accessor", "")),
        ttl_seconds=duration if isinstance(duration, int) else 0,
        renewable=bool(auth.get("renewable")),
        policies=tuple(str(p) for p in policies) if isinstance(policies, list) else (),
    )


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 3] + "..."
