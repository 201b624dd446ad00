"""Azure: an Entra ID federated client assertion, through the variables azure-identity's
WorkloadIdentityCredential (AZURE_*) and the azurerm provider (ARM_*) read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from injector import values
from injector.clouds.base import CloudOutputs, refuse_static_credentials
from injector.errors import Problems
from injector.job import JobContext

ENABLE = "ENABLE_DYNAMIC_CREDENTIALS_AZURE"
CLIENT_ID = "ARM_CLIENT_ID"
TENANT_ID = "ARM_TENANT_ID"
SUBSCRIPTION_ID = "ARM_SUBSCRIPTION_ID"
AUDIENCE = "WORKLOAD_IDENTITY_AUDIENCE_AZURE"
AUTHORITY_HOST = "AZURE_AUTHORITY_HOST"

DEFAULT_AUDIENCE = "api://AzureADTokenExchange"
DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com/"
STATIC_CREDENTIALS: tuple[str, ...] = (
    # A token given inline: azurerm refuses it next to ARM_OIDC_TOKEN_FILE_PATH ("mismatch").
    "ARM_OIDC_TOKEN",
    "ARM_CLIENT_SECRET",
    "ARM_CLIENT_CERTIFICATE_PATH",
    "ARM_CLIENT_CERTIFICATE",
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_PASSWORD",
)


@dataclass(frozen=True)
class AzureConfig:
    name: ClassVar[str] = "azure"
    client_id: str
    tenant_id: str
    subscription_id: str | None
    audience: str
    authority_host: str

    def outputs(self, token_file: Path, job: JobContext) -> CloudOutputs:
        exports = {
            "ARM_USE_OIDC": "true",
            "ARM_OIDC_TOKEN_FILE_PATH": str(token_file),
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


def _guid(env: Mapping[str, str], name: str) -> str:
    return values.guid(name, values.required(env, name, "a GUID"))


def _optional_guid(env: Mapping[str, str], name: str) -> str | None:
    value = values.optional(env, name)
    return None if value is None else values.guid(name, value)


def from_env(env: Mapping[str, str]) -> AzureConfig | None:
    """The Azure configuration, or None when ENABLE_DYNAMIC_CREDENTIALS_AZURE is unset or false.

    Raises ConfigError if it is enabled and the client or tenant id is missing or not a GUID, a
    value is malformed, or a client secret or certificate would win over the federated token.
    """
    if not values.boolean(env, ENABLE):
        return None
    problems = Problems()
    problems.check(
        lambda: refuse_static_credentials(
            env, STATIC_CREDENTIALS, ENABLE, "azure-identity and azurerm"
        ),
        None,
    )
    config = AzureConfig(
        client_id=problems.check(lambda: _guid(env, CLIENT_ID), ""),
        tenant_id=problems.check(lambda: _guid(env, TENANT_ID), ""),
        subscription_id=problems.check(lambda: _optional_guid(env, SUBSCRIPTION_ID), None),
        audience=problems.check(
            lambda: values.text(
                AUDIENCE,
                values.optional(env, AUDIENCE) or DEFAULT_AUDIENCE,
                "the audience of the federated identity credential",
            ),
            "",
        ),
        authority_host=problems.check(
            lambda: values.https_url(
                AUTHORITY_HOST,
                values.optional(env, AUTHORITY_HOST) or DEFAULT_AUTHORITY_HOST,
                "an https:// URL such as https://login.microsoftonline.com/",
            ),
            "",
        ),
    )
    problems.raise_if_any()
    return config
