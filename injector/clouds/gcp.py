"""GCP: a Workload Identity Federation `external_account` credentials file, read by google-auth,
gcloud and the Terraform google provider (through GOOGLE_APPLICATION_CREDENTIALS)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from injector.clouds import gcp_credentials, gcp_login
from injector.clouds.base import CloudConfig, CloudOf, CloudOutputs
from injector.clouds.facets import Hcp, HcpName, Rivals, SdkLogin, TerraformShape
from injector.clouds.gcp_rules import PROVIDER, RULES, resource
from injector.clouds.hcp import boolean_form
from injector.config import urls, values
from injector.config.job_context import JobContext
from injector.errors import ConfigError, Problems

NAME = RULES.name
ENABLE = "ENABLE_DYNAMIC_CREDENTIALS_GCP"
AUDIENCE = "WORKLOAD_IDENTITY_AUDIENCE_GCP"
SERVICE_ACCOUNT = "WORKLOAD_IDENTITY_SERVICE_ACCOUNT_EMAIL"
PROJECT = "GOOGLE_PROJECT"
CLOUD_PROJECT = "GOOGLE_CLOUD_PROJECT"
STS_URL = "WORKLOAD_IDENTITY_STS_URL_GCP"
IAM_URL = "WORKLOAD_IDENTITY_IAM_URL_GCP"
PRINCIPAL_TYPE = "WORKLOAD_IDENTITY_PRINCIPAL_TYPE_GCP"
# HCP's two principal types: impersonate a service account, or act as the pool principal
# itself (resources granted to `principal://` / `principalSet://` members directly).
SERVICE_ACCOUNT_TYPE = "service_account"
WORKLOAD_POOL_TYPE = "workload_pool"

DEFAULT_STS_URL = "https://sts.googleapis.com/v1/token"
DEFAULT_IAM_URL = "https://iamcredentials.googleapis.com"
# The Terraform google provider prefers these over GOOGLE_APPLICATION_CREDENTIALS.
STATIC_CREDENTIALS: tuple[str, ...] = (
    "GOOGLE_CREDENTIALS",
    "GOOGLE_CLOUD_KEYFILE_JSON",
    "GCLOUD_KEYFILE_JSON",
    "GOOGLE_OAUTH_ACCESS_TOKEN",
    "CLOUDSDK_AUTH_ACCESS_TOKEN_FILE",
)

_PROVIDER_FORM = (
    "//iam.googleapis.com/projects/<project number>/locations/global/"
    "workloadIdentityPools/<pool>/providers/<provider>"
)
_SERVICE_ACCOUNT = re.compile(
    r"[a-z0-9][a-z0-9._-]{0,62}@[a-z0-9][a-z0-9.-]*\.gserviceaccount\.com"
)
_PROJECT = re.compile(r"([a-z0-9.-]+:)?[a-z][a-z0-9-]{4,28}[a-z0-9]")
_PROJECT_FORM = "a project id such as my-project-123"
_EMAIL_FORM = "a service account email such as terraform@my-project.iam.gserviceaccount.com"
_URL_FORM = "an https:// URL (http:// only to a loopback address)"

EXAMPLE = {
    ENABLE: "true",
    AUDIENCE: (
        "//iam.googleapis.com/projects/123456789012/locations/global/"
        "workloadIdentityPools/terrakube/providers/terrakube"
    ),
    SERVICE_ACCOUNT: "terraform@my-project.iam.gserviceaccount.com",
    PROJECT: "my-project",
}


@dataclass(frozen=True)
class GcpConfig(CloudConfig):
    provider: str  # the `//iam.googleapis.com/...` resource name
    service_account: str | None
    project: str | None
    sts_url: str
    iam_url: str

    @property
    def identity(self) -> str:
        # Without a service account the federated principal itself is granted the roles.
        if self.service_account:
            return f"service account {self.service_account} through {self.provider}"
        return f"principal of {self.provider}"

    @property
    def audience(self) -> str:
        # Google's default allowed audience for a provider is its resource name as an https URL.
        return "https:" + self.provider

    def credentials(self, token_file: Path) -> dict[str, object]:
        """This configuration's `external_account` document, the token read from `token_file`."""
        return gcp_credentials.document(
            self.provider, self.service_account, self.sts_url, self.iam_url, token_file
        )

    def outputs(self, token_file: Path, job: JobContext) -> CloudOutputs:
        credentials_file = gcp_credentials.file_for(token_file)
        content = gcp_credentials.rendered(self.credentials(token_file))
        if self.tag is not None:
            # Reached through its file only (TF_VAR_tfc_gcp_dynamic_credentials names it):
            # the environment is the untagged configuration's.
            return CloudOutputs(exports={}, extra_files={credentials_file: content})
        exports = {
            "GOOGLE_APPLICATION_CREDENTIALS": str(credentials_file),
            "CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE": str(credentials_file),
        }
        if self.project:
            exports["GOOGLE_PROJECT"] = self.project
            exports["GOOGLE_CLOUD_PROJECT"] = self.project
        return CloudOutputs(exports=exports, extra_files={credentials_file: content})

    def terraform_value(self, token_file: Path, job: JobContext) -> TerraformShape:
        # The credentials file is written anyway, tagged or not.
        return TerraformShape(value={"credentials": str(gcp_credentials.file_for(token_file))})

    def served_outputs(
        self, outputs: CloudOutputs, token_file: Path, url: str, bearer: str
    ) -> CloudOutputs:
        document = gcp_credentials.from_url(self.credentials(token_file), url, bearer)
        return CloudOutputs(
            exports=dict(outputs.exports),
            extra_files={gcp_credentials.file_for(token_file): gcp_credentials.rendered(document)},
        )


def _hcp_provider(name: str) -> str:
    return name if name.startswith("//") else f"//iam.googleapis.com/{name}"


def _hcp_provider_of(parts: list[str]) -> str:
    number, pool, provider = parts
    return _hcp_provider(
        f"projects/{number}/locations/global/workloadIdentityPools/{pool}/providers/{provider}"
    )


def _provider(env: Mapping[str, str]) -> str:
    value = values.required(env, AUDIENCE, _PROVIDER_FORM)
    match = PROVIDER.fullmatch(value)
    if match is None:
        raise ConfigError.of(AUDIENCE, f"expected {_PROVIDER_FORM}, got {values.shown(value)}")
    return match.group(1)


def _url(env: Mapping[str, str], name: str, default: str) -> str:
    value = values.optional(env, name) or default
    return urls.endpoint_url(name, value, _URL_FORM).rstrip("/")


def _service_account(env: Mapping[str, str]) -> str | None:
    """The service account to impersonate, as the principal type (when set) agrees: none for
    `workload_pool`, one required for `service_account`."""
    account = values.optional_matching(env, SERVICE_ACCOUNT, _SERVICE_ACCOUNT, _EMAIL_FORM)
    kind = values.optional(env, PRINCIPAL_TYPE)
    if kind is None:
        return account
    if kind not in (SERVICE_ACCOUNT_TYPE, WORKLOAD_POOL_TYPE):
        raise ConfigError.of(
            PRINCIPAL_TYPE,
            f"expected {SERVICE_ACCOUNT_TYPE} or {WORKLOAD_POOL_TYPE}, got {values.shown(kind)}",
        )
    if kind == WORKLOAD_POOL_TYPE and account is not None:
        # Impersonating would give the service account's access, not the pool principal's
        # that was asked for: refuse rather than pick one.
        raise ConfigError.of(
            PRINCIPAL_TYPE,
            f"is {WORKLOAD_POOL_TYPE} (no impersonation) but {SERVICE_ACCOUNT} is set: "
            "remove one of them",
        )
    if kind == SERVICE_ACCOUNT_TYPE and account is None:
        raise ConfigError.of(
            PRINCIPAL_TYPE,
            f"is {SERVICE_ACCOUNT_TYPE} but {SERVICE_ACCOUNT} is not set: expected {_EMAIL_FORM}",
        )
    return account


def read(env: Mapping[str, str]) -> GcpConfig:
    """The GCP configuration of a workspace that switched GCP on. Raises ConfigError if the
    provider audience is missing or malformed, or a value is malformed."""
    problems = Problems()
    config = GcpConfig(
        provider=problems.get("", _provider, env),
        service_account=problems.get(None, _service_account, env),
        project=problems.get(
            None, values.either, env, PROJECT, CLOUD_PROJECT, _PROJECT, _PROJECT_FORM
        ),
        sts_url=problems.get("", _url, env, STS_URL, DEFAULT_STS_URL),
        iam_url=problems.get("", _url, env, IAM_URL, DEFAULT_IAM_URL),
    )
    problems.raise_if_any()
    return config


CLOUD = CloudOf(
    name=NAME,
    label="GCP",
    switch=ENABLE,
    read=read,
    rules=RULES,
    rivals=Rivals(
        "Terraform's google provider",
        STATIC_CREDENTIALS,
        identity=("GOOGLE_APPLICATION_CREDENTIALS", "CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE"),
    ),
    phased=(SERVICE_ACCOUNT,),
    tagged=(AUDIENCE, PROJECT, CLOUD_PROJECT, PRINCIPAL_TYPE),
    hcp=Hcp(
        names=(
            HcpName(ENABLE, "PROVIDER_AUTH", canonical=boolean_form),
            HcpName(SERVICE_ACCOUNT, "RUN_SERVICE_ACCOUNT_EMAIL", canonical=str.lower),
            HcpName(PRINCIPAL_TYPE, "PRINCIPAL_TYPE", canonical=str.lower),
            # HCP's `projects/<number>/locations/global/workloadIdentityPools/<pool>/
            # providers/<id>`.
            HcpName(AUDIENCE, "WORKLOAD_PROVIDER_NAME", convert=_hcp_provider, canonical=resource),
            HcpName(
                AUDIENCE,
                "WORKLOAD_PROVIDER_NAME",
                canonical=resource,
                parts=("PROJECT_NUMBER", "WORKLOAD_POOL_ID", "WORKLOAD_PROVIDER_ID"),
                join=_hcp_provider_of,
            ),
            # injector's token audience is the provider's resource (Google's default); HCP's
            # separate audience is accepted when it is that.
            HcpName(AUDIENCE, "WORKLOAD_IDENTITY_AUDIENCE", canonical=resource),
        )
    ),
    example=EXAMPLE,
    login=SdkLogin("google-auth", gcp_login.login),
    variables=(
        AUDIENCE,
        PROJECT,
        CLOUD_PROJECT,
        STS_URL,
        IAM_URL,
        PRINCIPAL_TYPE,
        *STATIC_CREDENTIALS,
    ),
    served_token=gcp_credentials.SERVED_TOKEN,
)
GcpConfig.cloud = CLOUD
