"""Vault-backed AWS's exchange: the Vault login, then the AWS secrets engine's credentials
(`<mount>/creds/<role>` for an IAM user, `<mount>/sts/<role>` for STS credentials), written as
a shared credentials file; and the lease that renews and revokes both. A failure after the login
revokes the Vault token before the error goes up, so a refused job leaves nothing behind."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from injector.clouds.facets import Exchanged
from injector.net.redact import clean

# Every AWS key, secret and session token is base64 or letters and digits.
_ONE_WORD = re.compile(r"[\x21-\x7e]+", re.ASCII)

if TYPE_CHECKING:
    from injector.clouds.vault_backed_aws import VaultBackedAwsConfig
    from injector.clouds.vault_http import Auth, Secret, VaultClient


@dataclass
class AwsLease:
    """The engine's lease on the AWS credentials, and the Vault token that holds it."""

    config: VaultBackedAwsConfig
    client: VaultClient
    auth: Auth
    secret: Secret

    @property
    def ttl_seconds(self) -> int:
        lives = [t for t in (self.auth.ttl_seconds, self.secret.ttl_seconds) if t > 0]
        return min(lives, default=0)

    @property
    def renewable(self) -> bool:
        # STS credentials have no renewable lease: a fresh exchange replaces them.
        return self.auth.renewable and self.secret.renewable

    def renew(self) -> int:
        self.auth = self.client.renew_self(self.auth.client_token)
        ttl = self.client.renew_lease(self.auth.client_token, self.secret.lease_id)
        self.secret = _with_ttl(self.secret, ttl)
        return self.ttl_seconds

    def revoke(self) -> None:
        try:
            if self.secret.lease_id:
                self.client.revoke_lease(self.auth.client_token, self.secret.lease_id)
        finally:
            try:
                self.client.revoke_self(self.auth.client_token)
            finally:
                self.client.close()

    def describe(self) -> str:
        tag = "" if self.config.tag is None else f" (configuration {self.config.tag})"
        # The lease id is the server's: one line, so it cannot pose as lines of injector's.
        lease = clean(self.secret.lease_id, limit=120) or "none"
        return (
            f"AWS {self.config.auth_type} credentials{tag} from {_path(self.config)} "
            f"(lease {lease}, TTL {self.ttl_seconds} s) through the Vault token "
            f"{self.auth.accessor}"
        )


def _with_ttl(secret: Secret, ttl: int) -> Secret:
    return replace(secret, ttl_seconds=ttl)


def _path(config: VaultBackedAwsConfig) -> str:
    from injector.clouds.vault_backed_aws import IAM_USER

    kind = "creds" if config.auth_type == IAM_USER else "sts"
    return f"{config.mount_path}/{kind}/{config.vault_role}"


def exchange(config: VaultBackedAwsConfig, token: str, folder: Path) -> Exchanged:
    """Log in, then read the credentials. Raises VaultError (an InjectorError) with Vault's
    message; the Vault token is revoked first when the engine refuses or is down."""
    from injector.clouds.vault_backed_aws import ASSUMED_ROLE, CREDENTIALS_FILE, IAM_USER

    client = config.vault.client()
    try:
        auth = client.login(config.vault.auth_path, config.vault.role, token)
    except BaseException:
        client.close()
        raise
    try:
        if config.auth_type == IAM_USER:
            secret = client.secret("GET", _path(config), auth.client_token)
        else:
            body: dict[str, object] = {}
            if config.auth_type == ASSUMED_ROLE:
                body["role_arn"] = config.role_arn
            secret = client.secret("POST", _path(config), auth.client_token, body)
    except BaseException:
        try:
            client.revoke_self(auth.client_token)
        finally:
            client.close()
        raise
    lease = AwsLease(config, client, auth, secret)
    try:
        content = _credentials_file(secret)
        # IAM is eventually consistent: a new IAM user's keys may be refused for a while.
        time.sleep(config.sleep_seconds)
    except BaseException:  # a refused answer, a signal: the lease is not the session's yet
        lease.revoke()
        raise
    path = config.credentials_file(folder)
    exports = {} if config.tag is not None else {CREDENTIALS_FILE: str(path)}
    return Exchanged(exports=exports, secrets={}, files={path: content}, lease=lease)


def _credentials_file(secret: Secret) -> bytes:
    """The shared credentials file, profile `default`, written by configparser (the format
    botocore reads it with)."""
    import configparser  # here: the hot path of a job without this cloud never pays for it
    import io

    from injector.clouds.vault_http import VaultError

    access, key = secret.data.get("access_key"), secret.data.get("secret_key")
    session_field = "security_token" if secret.data.get("security_token") else "session_token"
    session = secret.data.get(session_field)
    if not isinstance(access, str) or not isinstance(key, str) or not access or not key:
        raise VaultError("the AWS secrets engine's answer has no access_key and secret_key")
    profile = {"aws_access_key_id": access, "aws_secret_access_key": key}
    if isinstance(session, str) and session:
        profile["aws_session_token"] = session
    # configparser writes a carriage return as it is and botocore reads it as a line break: a
    # value holding one would add keys to [default] (a role to assume, a command to run).
    fields = {"aws_access_key_id": "access_key", "aws_secret_access_key": "secret_key"}
    for name, value in profile.items():
        if not _ONE_WORD.fullmatch(value):
            field = fields.get(name, session_field)
            raise VaultError(
                f"the AWS secrets engine's {field} is not one word of visible ASCII (it holds a "
                "line break, a space or a control character): refused, nothing written"
            )
    parser = configparser.ConfigParser(interpolation=None)
    parser["default"] = profile
    out = io.StringIO()
    parser.write(out)
    return out.getvalue().encode()
