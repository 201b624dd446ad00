"""Kubernetes (and Helm): a bearer token the kube-apiserver's JWT authenticator accepts
(`--oidc-*` flags, a structured `AuthenticationConfiguration`, EKS's OIDC identity provider
config), with the user named after `sub` and authorized by RBAC.

The token stays in its file. With `KUBE_HOST` a kubeconfig names the file as its user's
`tokenFile` and is exported as `KUBE_CONFIG_PATH` (Terraform's kubernetes backend and provider,
the helm provider) and `KUBECONFIG` (kubectl, helm); HCP's
`TF_VAR_tfc_kubernetes_dynamic_credentials` gives its `token_path` in every case. HCP exports
the token itself as `KUBE_TOKEN`; injector does not, so that no `env`, CI log or debug log can
print it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from injector.clouds import kubeconfig, kubernetes_login, rules
from injector.clouds.base import CloudConfig, CloudOf, CloudOutputs
from injector.clouds.facets import Hcp, HcpName, Rivals, SdkLogin, TerraformShape, TokenFileCache
from injector.clouds.hcp import boolean_form
from injector.config import certificates, urls, values
from injector.config.job_context import JobContext
from injector.errors import Problems

NAME = "kubernetes"
ENABLE = "ENABLE_DYNAMIC_CREDENTIALS_KUBERNETES"
AUDIENCE = "WORKLOAD_IDENTITY_AUDIENCE_KUBERNETES"
# The kubernetes provider's and backend's own names for the cluster: read, never exported.
HOST = "KUBE_HOST"
CA_DATA = "KUBE_CLUSTER_CA_CERT_DATA"
NAMESPACE = "KUBE_NAMESPACE"
CONFIG_PATH = "KUBE_CONFIG_PATH"
KUBECONFIG = "KUBECONFIG"

# Credentials client-go would send beside (or instead of) the bearer token: a client
# certificate authenticates before the token does, basic auth cannot go with a token at all.
# A `KUBE_TOKEN` beside `tokenFile` loses to the file, so it is no conflict.
STATIC_CREDENTIALS: tuple[str, ...] = (
    "KUBE_CLIENT_CERT_DATA",
    "KUBE_CLIENT_KEY_DATA",
    "KUBE_USER",
    "KUBE_PASSWORD",
)

# client-go's file token source keeps what it read for a minute (a cached token source with
# a one-minute period, re-read 10 s before that ends, or after a 401).
TOKEN_FILE_CACHE = TokenFileCache(reader="client-go (kubectl, terraform, helm)", seconds=60)

_AUDIENCE_FORM = "the audience the cluster's JWT authenticator lists (audiences, --oidc-client-id)"
_HOST_FORM = "https://<API server host>[:port] (http only to a loopback address)"
_CA_FORM = "the cluster's CA certificates in PEM (-----BEGIN CERTIFICATE-----...)"
_NAMESPACE_FORM = "a namespace name (lower-case letters, digits and -)"

# The JWT authenticator (`--oidc-*` or `AuthenticationConfiguration.jwt`): the issuer's
# discovery and JWKS over https, `iss` equal to the configured URL, `aud` one of `audiences`,
# `exp` with no leeway, `nbf` with 5 minutes; the signing algorithms default to RS256
# (`--oidc-signing-algs`), ES256 is the other one every set-up lists. Every refusal is a bare
# 401 Unauthorized: the reason is only in the API server's log.
UNAUTHORIZED = "401 Unauthorized"
RULES = rules.CloudRules(
    name=NAME,
    label="Kubernetes API server",
    checks=rules.TokenChecks(algorithms=("RS256", "ES256")),
    codes=rules.every_failure(UNAUTHORIZED),
    advice=rules.OperatorAdvice(
        trusts="the CA in the authenticator's certificateAuthority (--oidc-ca-file), else the "
        "API server host's CAs",
    ),
)


# The example workspace: an audience its cluster lists, no cluster address (so only HCP's
# variable names the token file).
EXAMPLE = {ENABLE: "true", AUDIENCE: "kubernetes.workload.identity"}


@dataclass(frozen=True, kw_only=True)
class KubernetesConfig(CloudConfig):
    audience: str
    host: str | None
    ca_pem: str | None
    namespace: str | None

    @property
    def identity(self) -> str:
        # The cluster's authenticator maps the token's claims to a user: injector cannot name it.
        where = f" at {self.host}" if self.host else ""
        return f"the user the cluster{where} maps this token to"

    def kubeconfig_for(self, token_file: Path) -> Path:
        """`kubernetes-kubeconfig` next to `kubernetes.jwt`; `kubernetes_PROD-kubeconfig`."""
        return token_file.with_name(f"{token_file.stem}-kubeconfig")

    def outputs(self, token_file: Path, job: JobContext) -> CloudOutputs:
        if self.host is None:
            return CloudOutputs(exports={})  # HCP's variable names the token file
        path = self.kubeconfig_for(token_file)
        files = {path: kubeconfig.render(self.host, token_file, self.ca_pem, self.namespace)}
        if self.tag is not None:
            # Reached through its file only: the environment is the untagged configuration's.
            return CloudOutputs(exports={}, extra_files=files)
        # The backend reads only KUBE_CONFIG_PATH, kubectl only KUBECONFIG.
        return CloudOutputs(
            exports={CONFIG_PATH: str(path), KUBECONFIG: str(path)}, extra_files=files
        )

    def terraform_value(self, token_file: Path, job: JobContext) -> TerraformShape:
        # HCP's shape: the provider reads `token = file(...token_path)`.
        return TerraformShape(value={"token_path": str(token_file)})


def _ca_pem(env: Mapping[str, str]) -> str | None:
    value = values.optional(env, CA_DATA)
    if value is None:
        return None
    certificates.parsed(CA_DATA, value.encode(), _CA_FORM)
    return value


def _host(env: Mapping[str, str]) -> str | None:
    value = values.optional(env, HOST)
    if value is None:
        return None
    return urls.endpoint_url(HOST, value.rstrip("/"), _HOST_FORM)


_NAMESPACE = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


def _namespace(env: Mapping[str, str]) -> str | None:
    return values.optional_matching(env, NAMESPACE, _NAMESPACE, _NAMESPACE_FORM)


def read(env: Mapping[str, str]) -> KubernetesConfig:
    """The Kubernetes configuration of a workspace that switched it on. Raises ConfigError
    listing every problem: the audience is required (a cluster has no standard one)."""
    problems = Problems()
    config = KubernetesConfig(
        audience=problems.get("", _audience, env),
        host=problems.get(None, _host, env),
        ca_pem=problems.get(None, _ca_pem, env),
        namespace=problems.get(None, _namespace, env),
    )
    problems.raise_if_any()
    return config


def _audience(env: Mapping[str, str]) -> str:
    return values.text(AUDIENCE, values.required(env, AUDIENCE, _AUDIENCE_FORM), _AUDIENCE_FORM)


CLOUD = CloudOf(
    name=NAME,
    label="Kubernetes",
    switch=ENABLE,
    read=read,
    rules=RULES,
    rivals=Rivals(
        "client-go (the kubernetes backend and provider, kubectl, helm)", STATIC_CREDENTIALS
    ),
    phased=(AUDIENCE,),
    tagged=(HOST, CA_DATA, NAMESPACE),
    hcp=Hcp(
        names=(
            HcpName(ENABLE, "PROVIDER_AUTH", canonical=boolean_form),
            HcpName(AUDIENCE, "WORKLOAD_IDENTITY_AUDIENCE"),
        )
    ),
    token_file_cache=TOKEN_FILE_CACHE,
    example=EXAMPLE,
    login=SdkLogin("a SelfSubjectReview (kubectl auth whoami)", kubernetes_login.login),
    variables=(AUDIENCE, HOST, CA_DATA, NAMESPACE, *STATIC_CREDENTIALS),
)
KubernetesConfig.cloud = CLOUD
