"""Vault and OpenBao: the JWT auth method's login, done job-side by injector (Terrakube does it
in its API server), with Terrakube's variable names.

The minted token goes to `$VAULT_ADDR/v1/auth/<WORKLOAD_IDENTITY_VAULT_AUTH_PATH>/login` with
the role; Vault's answer is a Vault token, which the job gets as VAULT_TOKEN and in a 0600
token file (for the Vault provider's `auth_login_token_file`). A refused login fails the job
with Vault's message: never an empty VAULT_TOKEN.

A tagged configuration (`ENABLE_DYNAMIC_CREDENTIALS_VAULT_<TAG>`) logs in on its own, with its
own token and role, into its own token file (`vault_<TAG>-token`); only the untagged one is in
the environment, the others are reached through `TF_VAR_tfc_vault_dynamic_credentials`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from injector.clouds import rules, tags, vault_login
from injector.clouds.base import CloudConfig, CloudOf, CloudOutputs
from injector.clouds.exchange_facet import Exchange, Finding
from injector.clouds.facets import Exchanged, Hcp, HcpName, Rivals, TerraformShape
from injector.clouds.hcp import boolean_form
from injector.config import certificates, urls, values
from injector.config.job_context import JobContext
from injector.errors import ConfigError, Problems, require_modules
from injector.jose import algorithms

if TYPE_CHECKING:
    from injector.clouds.vault_http import VaultClient

NAME = "vault"
ENABLE = "ENABLE_DYNAMIC_CREDENTIALS_VAULT"
ADDRESS = "VAULT_ADDR"
ROLE = "WORKLOAD_IDENTITY_VAULT_ROLE"
AUDIENCE = "WORKLOAD_IDENTITY_VAULT_AUDIENCE"
AUTH_PATH = "WORKLOAD_IDENTITY_VAULT_AUTH_PATH"
NAMESPACE = "VAULT_NAMESPACE"
CA_CERT = "VAULT_CACERT"
# The same CA as a value (HCP's TFC_VAULT_ENCODED_CACERT): injector's name, as Vault's own
# clients read no such variable; written into the job's folder, VAULT_CACERT pointing at it.
ENCODED_CA_CERT = "WORKLOAD_IDENTITY_VAULT_ENCODED_CACERT"
# Variable and file names, not secrets.
TOKEN = "VAULT_TOKEN"  # noqa: S105
TOKEN_FILE_EXPORT = "INJECTOR_VAULT_TOKEN_FILE"  # noqa: S105
TOKEN_FILE = "vault-token"  # noqa: S105

# HCP Terraform's default audience for Vault, which Terrakube's documentation uses too.
DEFAULT_AUDIENCE = "vault.workload.identity"
DEFAULT_AUTH_PATH = "jwt"
# The claim Terrakube's OpenBao example binds user_claim to (Vault's own default is `sub`).
USER_CLAIM = "terrakube_workspace_name"
# A VAULT_TOKEN or token helper in the job's environment would be used instead of this login.
STATIC_CREDENTIALS: tuple[str, ...] = (TOKEN,)

_ADDRESS_FORM = "https://<host>[:port] (http only to 127.0.0.1, localhost or [::1])"
# A plain mount name, so that `auth/<mount>/login` stays under `/v1/auth/`: no `.` or `..`
# segment, no `/` at either end, no `%` or other escape.
_MOUNT = re.compile(r"(?!\.\.?(?:/|$))[\w.-]+(?:/(?!\.\.?(?:/|$))[\w.-]+)*", re.ASCII)
MOUNT_FORM = (
    "an auth mount path such as jwt or teams/terrakube-jwt (letters, digits and _.-; no . or "
    ".. segment, no / at either end)"
)


def plain_mount(mount: str) -> bool:
    return _MOUNT.fullmatch(mount) is not None


_ROLE = re.compile(r"[A-Za-z0-9_.@-]+")
_ROLE_FORM = "a JWT auth role name (letters, digits and _.@-)"
_NAMESPACE = re.compile(r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*/?")
_NAMESPACE_FORM = "a namespace path such as admin or admin/team-a"
_ENCODED_CA_FORM = "Vault's PEM CA certificates encoded in base64 (base64 -w0 ca.pem)"

# The JWT auth method (vault-plugin-auth-jwt, which OpenBao ships too): for a `jwt` role the
# supported algorithms default to all of them; `bound_audiences` must hold the token's aud;
# `bound_subject` / `bound_claims` match sub and other claims; times allow 60 s of clock skew
# (`clock_skew_leeway`), expiry 150 s more (`expiration_leeway`); `user_claim` must be present.
RULES = rules.CloudRules(
    name=NAME,
    label="Vault",
    checks=rules.TokenChecks(
        algorithms=algorithms.ANY_VERIFIER,
        clock_skew_seconds=60,
        default_audience=DEFAULT_AUDIENCE,
        required_claims={
            USER_CLAIM: "the role's user_claim (Terrakube's example binds it to this claim)",
        },
        recognizes=lambda audience: audience == DEFAULT_AUDIENCE,
    ),
    codes={
        rules.MALFORMED: "error validating token",
        rules.ISSUER_FORM: "error validating token",
        rules.ISSUER: "error validating token",
        rules.KEY: "error validating token: error verifying token signature",
        rules.ALGORITHM: "error validating token: error verifying token signature",
        rules.SIGNATURE: "error validating token: error verifying token signature",
        rules.EXPIRED: "error validating claims: token is expired",
        rules.NOT_YET_VALID: "error validating claims: token not valid yet",
        rules.AUDIENCE: "error validating claims: invalid audience (aud) claim",
        # bound_subject's refusal, then bound_claims' one.
        rules.SUBJECT: 'invalid subject (sub) claim / claim "sub" does not match any '
        "associated bound claim values",
        rules.CLAIM: f'claim "{USER_CLAIM}" not found in token',
    },
    advice=rules.OperatorAdvice(
        trusts="the CA in the auth method's jwks_ca_pem, else the system's CAs"
    ),
)

EXAMPLE = {
    ENABLE: "true",
    ADDRESS: "https://vault.example.com:8200",
    ROLE: "terrakube-simple-cli",
    AUDIENCE: DEFAULT_AUDIENCE,
}


@dataclass(frozen=True)
class VaultConfig(CloudConfig):
    address: str
    role: str
    audience: str
    auth_path: str
    namespace: str | None
    ca_cert: Path | None
    # The certificates of ENCODED_CA_CERT, in PEM: the job's folder gets them as a file.
    ca_pem: bytes | None = None

    @property
    def identity(self) -> str:
        return f"role {self.role} of auth/{self.auth_path} at {self.address}"

    def outputs(self, token_file: Path, job: JobContext) -> CloudOutputs:
        # The minted JWT (token_file) stays injector's: Vault's own token is what the job uses.
        files: dict[Path, bytes] = {}
        if self.ca_pem is not None:
            files[self.written_ca_file(token_file.parent)] = self.ca_pem
        if self.tag is not None:
            # The environment is the untagged configuration's: files only.
            return CloudOutputs(exports={}, extra_files=files)
        exports = {ADDRESS: self.address}
        if self.namespace:
            exports[NAMESPACE] = self.namespace
        ca_file = self.ca_file(token_file.parent)
        if ca_file is not None:
            exports[CA_CERT] = str(ca_file)
        return CloudOutputs(exports=exports, extra_files=files)

    def written_ca_file(self, folder: Path) -> Path:
        """Where the encoded CA goes: `vault-ca.pem`, `vault_<TAG>-ca.pem` for a tag."""
        return folder / f"{tags.configuration_id(self)}-ca.pem"

    def ca_file(self, folder: Path) -> Path | None:
        """The CA file the job's Vault clients trust: VAULT_CACERT's, or the encoded one's in
        `folder`; None for the system's CAs."""
        return self.written_ca_file(folder) if self.ca_pem is not None else self.ca_cert

    def token_file(self, folder: Path) -> Path:
        """Where the login's Vault token goes: `vault-token`, `vault_<TAG>-token` for a tag."""
        return folder / f"{tags.configuration_id(self)}-token"

    def client(self) -> VaultClient:
        """The HTTP client for the login, renewals and revocation. Raises ConfigError (exit 2,
        before anything is written) with the install command when httpx is missing."""
        require_modules(ENABLE, "vault", ("httpx",))
        from injector.clouds.vault_http import VaultClient

        return VaultClient(self.address, self.namespace, self.ca_cert, self.ca_pem)

    def exchange(self, token: str, folder: Path) -> Exchanged:
        return vault_login.exchange(self, token, folder)

    def preflight(self) -> list[Finding]:
        return vault_login.preflight(self)

    def terraform_value(self, token_file: Path, job: JobContext) -> TerraformShape:
        """HCP's object: `token_filename` is the Vault token the login writes (not the JWT)."""
        ca_file = self.ca_file(token_file.parent)
        return TerraformShape(
            value={
                "token_filename": str(self.token_file(token_file.parent)),
                "address": self.address,
                "namespace": self.namespace or "",
                "ca_cert_file": str(ca_file) if ca_file is not None else "",
            }
        )


def read(env: Mapping[str, str]) -> VaultConfig:
    """The Vault configuration of a workspace that switched Vault on. Raises ConfigError
    listing every problem."""
    problems = Problems()
    config = VaultConfig(
        address=problems.get("", _address, env),
        role=problems.get("", _required_matching, env, ROLE, _ROLE, _ROLE_FORM),
        audience=problems.get(
            "",
            values.claim,
            AUDIENCE,
            values.optional(env, AUDIENCE) or DEFAULT_AUDIENCE,
            "an audience listed in the role's bound_audiences",
        ),
        auth_path=problems.get(
            "",
            values.matching,
            AUTH_PATH,
            values.optional(env, AUTH_PATH) or DEFAULT_AUTH_PATH,
            _MOUNT,
            MOUNT_FORM,
        ),
        namespace=problems.get(
            None, values.optional_matching, env, NAMESPACE, _NAMESPACE, _NAMESPACE_FORM
        ),
        ca_cert=problems.get(None, _ca_cert, env),
        ca_pem=problems.get(None, _encoded_ca_cert, env),
    )
    problems.raise_if_any()
    return config


def _address(env: Mapping[str, str]) -> str:
    value = values.required(env, ADDRESS, _ADDRESS_FORM).rstrip("/")
    return urls.endpoint_url(ADDRESS, value, _ADDRESS_FORM)


def _required_matching(
    env: Mapping[str, str], name: str, pattern: re.Pattern[str], form: str
) -> str:
    return values.matching(name, values.required(env, name, form), pattern, form)


def _ca_cert(env: Mapping[str, str]) -> Path | None:
    value = values.optional(env, CA_CERT)
    if value is None:
        return None
    path = Path(value)
    if not path.is_file():
        raise ConfigError.of(
            CA_CERT, f"{path} is not a file: expected a PEM file of CA certificates"
        )
    return path.absolute()


def _unwrapped(value: str) -> str:
    """base64 as one line: wrapped (`base64 ca.pem`) or not, the same certificates."""
    return "".join(value.split())


def _encoded_ca_cert(env: Mapping[str, str]) -> bytes | None:
    value = values.optional(env, ENCODED_CA_CERT)
    if value is None:
        return None
    if values.optional(env, CA_CERT) is not None:
        raise ConfigError.of(
            ENCODED_CA_CERT,
            f"is set and so is {CA_CERT}: give Vault's CA once, either {_ENCODED_CA_FORM} "
            f"here or a PEM file's path in {CA_CERT}",
        )
    return certificates.decoded(ENCODED_CA_CERT, value, _ENCODED_CA_FORM)


CLOUD = CloudOf(
    name=NAME,
    label="Vault",
    switch=ENABLE,
    read=read,
    rules=RULES,
    rivals=Rivals("the Vault provider and CLI", STATIC_CREDENTIALS),
    phased=(ROLE,),
    variables=(ADDRESS, AUDIENCE, AUTH_PATH, NAMESPACE, CA_CERT, ENCODED_CA_CERT),
    tagged=(ADDRESS, AUDIENCE, AUTH_PATH, NAMESPACE, CA_CERT, ENCODED_CA_CERT),
    # A configuration that gives its CA one way inherits none given the other way.
    alternatives=((CA_CERT, ENCODED_CA_CERT),),
    hcp=Hcp(
        names=(
            HcpName(ENABLE, "PROVIDER_AUTH", canonical=boolean_form),
            HcpName(ADDRESS, "ADDR"),
            HcpName(ROLE, "RUN_ROLE"),
            HcpName(NAMESPACE, "NAMESPACE"),
            HcpName(AUTH_PATH, "AUTH_PATH"),
            HcpName(AUDIENCE, "WORKLOAD_IDENTITY_AUDIENCE"),
            HcpName(ENCODED_CA_CERT, "ENCODED_CACERT", canonical=_unwrapped, quoted=False),
        )
    ),
    example=EXAMPLE,
    exchange=Exchange("httpx (Vault's HTTP API)"),
)
VaultConfig.cloud = CLOUD
