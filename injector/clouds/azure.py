"""Azure: an Entra ID federated client assertion, through the variables azure-identity's
WorkloadIdentityCredential (AZURE_*) and the azurerm provider (ARM_*) read."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from injector.clouds import rules
from injector.clouds.base import CloudConfig, CloudOf, CloudOutputs
from injector.clouds.facets import (
    Hcp,
    HcpName,
    LoginOutcome,
    Rivals,
    SdkLogin,
    ServedToken,
    TerraformShape,
    TokenFileCache,
)
from injector.clouds.hcp import boolean_form
from injector.config import urls, values
from injector.config.job_context import JobContext
from injector.errors import Problems

NAME = "azure"
ENABLE = "ENABLE_DYNAMIC_CREDENTIALS_AZURE"
CLIENT_ID = "ARM_CLIENT_ID"
TENANT_ID = "ARM_TENANT_ID"
SUBSCRIPTION_ID = "ARM_SUBSCRIPTION_ID"
AUDIENCE = "WORKLOAD_IDENTITY_AUDIENCE_AZURE"
AUTHORITY_HOST = "AZURE_AUTHORITY_HOST"
# GitHub Actions' OIDC token protocol, which go-azure-sdk (azurerm, azuread) speaks: a GET to
# ARM_OIDC_REQUEST_URL (`audience` appended as a query parameter) with ARM_OIDC_REQUEST_TOKEN as
# bearer, answered with {"value": <token>}.
REQUEST_URL = "ARM_OIDC_REQUEST_URL"
REQUEST_TOKEN = "ARM_OIDC_REQUEST_TOKEN"  # noqa: S105 (a variable name)
TOKEN_FILE_PATH = "ARM_OIDC_TOKEN_FILE_PATH"  # noqa: S105 (a variable name)

DEFAULT_AUDIENCE = "api://AzureADTokenExchange"
DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com/"
STATIC_CREDENTIALS: tuple[str, ...] = (
    # A token given inline: azurerm refuses it next to ARM_OIDC_TOKEN_FILE_PATH ("mismatch").
    "ARM_OIDC_TOKEN",
    "ARM_CLIENT_SECRET",
    # azurerm 3.x and later read the secret from this file: tried before OIDC, like the secret.
    "ARM_CLIENT_SECRET_FILE_PATH",
    "ARM_CLIENT_CERTIFICATE_PATH",
    "ARM_CLIENT_CERTIFICATE",
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_PASSWORD",
)

# A federated identity credential's audience: at most 600 characters (Microsoft Graph's
# federatedIdentityCredential resource).
MAX_AUDIENCE = 600

# azure-identity reads the federated token file at most every 10 minutes and presents what it
# read until then: a token must outlive that, with a margin for the request itself.
TOKEN_FILE_CACHE = TokenFileCache(reader="azure-identity", seconds=10 * rules.MINUTE)
MIN_LIFETIME_SECONDS = TOKEN_FILE_CACHE.seconds + 2 * rules.MINUTE

# Sources: Entra ID's AADSTS error reference for workload identity federation.
RULES = rules.CloudRules(
    name=NAME,
    label="Entra ID",
    checks=rules.TokenChecks(
        algorithms=("RS256",),
        require_kid=True,
        clock_skew_seconds=5 * rules.MINUTE,
        default_audience=DEFAULT_AUDIENCE,
        recognizes=lambda audience: audience.startswith(DEFAULT_AUDIENCE),
    ),
    codes={
        rules.MALFORMED: "AADSTS50027",
        rules.ISSUER_FORM: "AADSTS70021",
        rules.ISSUER: "AADSTS90061",
        rules.KEY: "AADSTS700027",
        rules.ALGORITHM: "AADSTS700027",
        rules.SIGNATURE: "AADSTS700027",
        rules.EXPIRED: "AADSTS700024",
        rules.NOT_YET_VALID: "AADSTS700024",
        rules.LIFETIME: "AADSTS700024",
        rules.AUDIENCE: "AADSTS70021",
        rules.SUBJECT: "AADSTS70021",
    },
    advice=rules.OperatorAdvice(
        trusts="a public CA",
        recommended_min=rules.LifetimeNote(
            MIN_LIFETIME_SECONDS,
            f"{TOKEN_FILE_CACHE.reader} keeps the token file's content up to "
            f"{TOKEN_FILE_CACHE.seconds // rules.MINUTE} min, so it can present this token "
            "after it expired",
        ),
    ),
)

EXAMPLE = {
    ENABLE: "true",
    CLIENT_ID: "11111111-2222-3333-4444-555555555555",
    TENANT_ID: "66666666-7777-8888-9999-000000000000",
    SUBSCRIPTION_ID: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
}


@dataclass(frozen=True)
class AzureConfig(CloudConfig):
    client_id: str
    tenant_id: str
    subscription_id: str | None
    audience: str
    authority_host: str

    @property
    def identity(self) -> str:
        return f"client {self.client_id} in tenant {self.tenant_id}"

    def outputs(self, token_file: Path, job: JobContext) -> CloudOutputs:
        if self.tag is not None:
            # A tagged configuration is reached through its files only (provider aliases
            # read them, TF_VAR_tfc_azure_dynamic_credentials names them): the environment
            # is the untagged one's.
            return CloudOutputs(exports={})
        exports = {
            "ARM_USE_OIDC": "true",
            TOKEN_FILE_PATH: str(token_file),
            "ARM_CLIENT_ID": self.client_id,
            "ARM_TENANT_ID": self.tenant_id,
        }
        if self.subscription_id:
            exports["ARM_SUBSCRIPTION_ID"] = self.subscription_id
        exports.update(
            {
                "AZURE_CLIENT_ID": self.client_id,
                "AZURE_TENANT_ID": self.tenant_id,
                "AZURE_FEDERATED_TOKEN_FILE": str(token_file),
                "AZURE_AUTHORITY_HOST": self.authority_host,
            }
        )
        return CloudOutputs(exports=exports)

    def terraform_value(self, token_file: Path, job: JobContext) -> TerraformShape:
        """HCP's pair of files: azurerm reads the client id from `client_id_file_path`."""
        path = client_id_file(token_file)
        return TerraformShape(
            value={"client_id_file_path": str(path), "oidc_token_file_path": str(token_file)},
            files={path: self.client_id.encode()},
        )

    def served_outputs(
        self, outputs: CloudOutputs, token_file: Path, url: str, bearer: str
    ) -> CloudOutputs:
        exports = dict(outputs.exports)
        # Measured with Terraform 1.11.4's azurerm backend: with both set, the file wins and
        # the URL gets no request; so the file goes, and azurerm asks the URL for every
        # assertion. azure-identity reads only AZURE_FEDERATED_TOKEN_FILE, which the refresher
        # keeps fresh.
        del exports[TOKEN_FILE_PATH]
        exports[REQUEST_URL] = url
        exports[REQUEST_TOKEN] = bearer
        return CloudOutputs(exports=exports, extra_files=dict(outputs.extra_files))


def client_id_file(token_file: Path) -> Path:
    return token_file.with_suffix(".client-id")


def _served_body(token: str) -> bytes:
    return json.dumps({"value": token}).encode()


SERVED_TOKEN = ServedToken(
    body=_served_body,
    exported=f"{REQUEST_URL} and {REQUEST_TOKEN}, instead of {TOKEN_FILE_PATH}",
)


def _guid(env: Mapping[str, str], name: str) -> str:
    return values.guid(name, values.required(env, name, "a GUID"))


def _optional_guid(env: Mapping[str, str], name: str) -> str | None:
    value = values.optional(env, name)
    return None if value is None else values.guid(name, value)


def read(env: Mapping[str, str]) -> AzureConfig:
    """The Azure configuration of a workspace that switched Azure on. Raises ConfigError if
    the client or tenant id is missing or not a GUID, or a value is malformed."""
    problems = Problems()
    config = AzureConfig(
        client_id=problems.get("", _guid, env, CLIENT_ID),
        tenant_id=problems.get("", _guid, env, TENANT_ID),
        subscription_id=problems.get(None, _optional_guid, env, SUBSCRIPTION_ID),
        audience=problems.get(
            "",
            values.claim,
            AUDIENCE,
            values.optional(env, AUDIENCE) or DEFAULT_AUDIENCE,
            "the audience of the federated identity credential",
            max_length=MAX_AUDIENCE,
        ),
        authority_host=problems.get(
            "",
            urls.https_url,
            AUTHORITY_HOST,
            values.optional(env, AUTHORITY_HOST) or DEFAULT_AUTHORITY_HOST,
            "an https:// URL such as https://login.microsoftonline.com/",
        ),
    )
    problems.raise_if_any()
    return config


_ERROR_CODE = re.compile(r"AADSTS[0-9]+")


def login() -> LoginOutcome:
    """Get an access token through azure-identity's WorkloadIdentityCredential, as a Terraform
    job's Azure SDK would. Runs in a child process that has only the exports."""
    from azure.core.exceptions import AzureError
    from azure.identity import WorkloadIdentityCredential

    try:
        WorkloadIdentityCredential().get_token("https://management.azure.com/.default")
    except AzureError as error:
        message = f"{type(error).__name__}: {error.message}"
        found = _ERROR_CODE.search(message)
        return {"ok": False, "code": found.group(0) if found else None, "message": message}
    except ValueError as error:
        return {"ok": False, "code": "configuration", "message": str(error)}
    return {
        "ok": True,
        "detail": "azure-identity WorkloadIdentityCredential: an access token for "
        "https://management.azure.com",
    }


CLOUD = CloudOf(
    name=NAME,
    label="Azure",
    switch=ENABLE,
    read=read,
    rules=RULES,
    rivals=Rivals(
        "azure-identity and azurerm",
        STATIC_CREDENTIALS,
        # azurerm reads a token file before it asks a request URL; azure-identity reads the file.
        identity=(TOKEN_FILE_PATH, "AZURE_FEDERATED_TOKEN_FILE", REQUEST_URL, REQUEST_TOKEN),
    ),
    phased=(CLIENT_ID,),
    tagged=(TENANT_ID, SUBSCRIPTION_ID, AUDIENCE),
    hcp=Hcp(
        names=(
            HcpName(ENABLE, "PROVIDER_AUTH", canonical=boolean_form),
            HcpName(CLIENT_ID, "RUN_CLIENT_ID", canonical=str.lower),
            HcpName(AUDIENCE, "WORKLOAD_IDENTITY_AUDIENCE"),
        )
    ),
    example=EXAMPLE,
    token_file_cache=TOKEN_FILE_CACHE,
    login=SdkLogin("azure-identity", login),
    variables=(TENANT_ID, SUBSCRIPTION_ID, AUDIENCE, AUTHORITY_HOST, *STATIC_CREDENTIALS),
    served_token=SERVED_TOKEN,
)
AzureConfig.cloud = CLOUD
