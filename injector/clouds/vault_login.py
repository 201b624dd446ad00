"""Vault's exchange: the login with the minted token, the lease (renew-self, revoke-self) and
`doctor`'s probes of the address and the auth mount. HTTP through vault_http, imported only when
a job enables Vault; this module imports the Vault module only inside its functions, which the
Vault configuration's methods call."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from injector.clouds.exchange_facet import Finding
from injector.clouds.facets import Exchanged

if TYPE_CHECKING:
    from injector.clouds.vault import VaultConfig
    from injector.clouds.vault_http import Auth, VaultClient


@dataclass
class VaultLease:
    """The Vault token of one login, renewed and revoked through its own endpoints."""

    config: VaultConfig
    client: VaultClient
    auth: Auth

    @property
    def ttl_seconds(self) -> int:
        return self.auth.ttl_seconds

    @property
    def renewable(self) -> bool:
        return self.auth.renewable

    def renew(self) -> int:
        self.auth = self.client.renew_self(self.auth.client_token)
        return self.auth.ttl_seconds

    def revoke(self) -> None:
        try:
            self.client.revoke_self(self.auth.client_token)
        finally:
            self.client.close()

    def describe(self) -> str:
        policies = ", ".join(self.auth.policies) or "none"
        tag = "" if self.config.tag is None else f" (configuration {self.config.tag})"
        return (
            f"Vault token{tag} (accessor {self.auth.accessor}) from auth/"
            f"{self.config.auth_path} role {self.config.role}: policies {policies}, "
            f"TTL {self.auth.ttl_seconds} s"
        )


def exchange(config: VaultConfig, token: str, folder: Path) -> Exchanged:
    """Log in with the minted token. Raises VaultError (an InjectorError) with Vault's message
    when the login is refused or Vault cannot be reached."""
    from injector.clouds import vault

    client = config.client()
    try:
        auth = client.login(config.auth_path, config.role, token)
    except BaseException:
        client.close()
        raise
    token_file = config.token_file(folder)
    lease = VaultLease(config, client, auth)
    files = {token_file: auth.client_token.encode()}
    if config.tag is not None:
        # Files only: VAULT_TOKEN and its file's export stay the untagged configuration's.
        return Exchanged(exports={}, secrets={}, files=files, lease=lease)
    return Exchanged(
        exports={vault.TOKEN_FILE_EXPORT: str(token_file)},
        secrets={vault.TOKEN: auth.client_token},
        files=files,
        lease=lease,
    )


def preflight(config: VaultConfig) -> list[Finding]:
    """Is Vault reachable, unsealed, and is an auth method mounted at the auth path? The role
    and the token itself are checked by `doctor --login`, which logs in."""
    from injector.clouds.vault import AUTH_PATH
    from injector.clouds.vault_http import VaultError

    client = config.client()
    try:
        try:
            health = client.health()
        except VaultError as error:
            return [Finding("address", False, str(error))]
        if health.get("sealed") or not health.get("initialized"):
            return [Finding("address", False, f"{config.address}: sealed or not initialized")]
        found = [Finding("address", True, f"{config.address}: version {health.get('version')}")]
        try:
            mounted = client.mount_answers(config.auth_path)
        except VaultError as error:
            return [*found, Finding("mount", False, str(error))]
        where = f"auth/{config.auth_path}" + (
            f" in namespace {config.namespace}" if config.namespace else ""
        )
        if not mounted:
            message = f"nothing is mounted at {where} (Vault answers 403): set {AUTH_PATH}"
            return [*found, Finding("mount", False, message, "permission denied")]
        return [*found, Finding("mount", True, f"{where} answers logins")]
    finally:
        client.close()
