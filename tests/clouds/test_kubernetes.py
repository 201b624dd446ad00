"""Kubernetes: the required audience, the cluster's address and CA, the kubeconfig with
`tokenFile`, the exports (never the token), HCP's names and variable, tags and phases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import trustme

from injector.clouds import kubernetes
from injector.errors import ConfigError
from injector.job import pipeline, settings
from tests.conftest import KeyFiles
from tests.support.jobs import EXAMPLE_JOB

AUDIENCE = "kubernetes.workload.identity"
HOST = "https://k8s.example.com:6443"
ENABLED = {kubernetes.ENABLE: "true", kubernetes.AUDIENCE: AUDIENCE}
TOKEN_FILE = Path("/run/injector/kubernetes.jwt")
KUBECONFIG = Path("/run/injector/kubernetes-kubeconfig")


@pytest.fixture(scope="module")
def ca_pem() -> str:
    return trustme.CA().cert_pem.bytes().decode()


def _config(**overrides: str) -> kubernetes.KubernetesConfig:
    config = kubernetes.CLOUD.configure({**ENABLED, **overrides})
    assert isinstance(config, kubernetes.KubernetesConfig)
    return config


def _problems(env: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as error:
        kubernetes.CLOUD.configure(env)
    return [p.variable for p in error.value.problems]


@pytest.mark.parametrize("audience", [None, ""])
def test_the_audience_is_required(audience: str | None) -> None:
    env = {kubernetes.ENABLE: "true"}
    if audience is not None:
        env[kubernetes.AUDIENCE] = audience
    with pytest.raises(ConfigError) as error:
        kubernetes.CLOUD.configure(env)
    assert [p.variable for p in error.value.problems] == [kubernetes.AUDIENCE]
    assert "is required" in str(error.value)


def test_without_a_host_only_hcps_variable_names_the_token() -> None:
    outputs = _config().outputs(TOKEN_FILE, EXAMPLE_JOB)
    assert outputs.exports == {}
    assert outputs.extra_files == {}


def test_with_a_host_a_kubeconfig_reads_the_token_file(ca_pem: str) -> None:
    config = _config(**{kubernetes.HOST: HOST + "/", kubernetes.CA_DATA: ca_pem})
    outputs = config.outputs(TOKEN_FILE, EXAMPLE_JOB)

    assert outputs.exports == {"KUBE_CONFIG_PATH": str(KUBECONFIG), "KUBECONFIG": str(KUBECONFIG)}
    document = json.loads(outputs.extra_files[KUBECONFIG])
    [cluster] = document["clusters"]
    [user] = document["users"]
    assert cluster["cluster"]["server"] == HOST
    assert cluster["cluster"]["certificate-authority-data"]
    assert user["user"] == {"tokenFile": str(TOKEN_FILE)}
    assert document["current-context"] == document["contexts"][0]["name"]


def test_a_namespace_goes_into_the_context() -> None:
    config = _config(**{kubernetes.HOST: HOST, kubernetes.NAMESPACE: "team-a"})
    document = json.loads(config.outputs(TOKEN_FILE, EXAMPLE_JOB).extra_files[KUBECONFIG])
    assert document["contexts"][0]["context"]["namespace"] == "team-a"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        (kubernetes.HOST, "k8s.example.com"),
        (kubernetes.HOST, "http://k8s.example.com"),
        (kubernetes.CA_DATA, "not a certificate"),
        (kubernetes.CA_DATA, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
        (kubernetes.NAMESPACE, "Team_A"),
    ],
)
def test_malformed_values_are_refused_by_name(name: str, value: str) -> None:
    assert _problems({**ENABLED, name: value}) == [name]


def test_a_private_key_in_the_ca_data_is_refused_never_written(key_files: KeyFiles) -> None:
    """Pasted with the CA by mistake, it would go into the kubeconfig as a CA to trust."""
    bundle = trustme.CA().cert_pem.bytes().decode() + key_files.private_pkcs8.read_text()
    with pytest.raises(ConfigError) as error:
        kubernetes.CLOUD.configure({**ENABLED, kubernetes.CA_DATA: bundle})
    (problem,) = error.value.problems
    assert problem.variable == kubernetes.CA_DATA
    assert "holds a private key" in str(problem) and "PRIVATE" not in str(problem)


@pytest.mark.parametrize("static", kubernetes.STATIC_CREDENTIALS)
def test_credentials_client_go_would_send_instead_are_refused(static: str) -> None:
    assert _problems({**ENABLED, static: "x"}) == [static]


def test_a_stale_kube_token_is_no_conflict() -> None:
    # client-go prefers the kubeconfig's tokenFile over a token given beside it.
    assert _config(KUBE_TOKEN="stale").audience == AUDIENCE


def test_hcps_names_variable_and_no_token_in_the_environment(
    workspace: dict[str, str], tmp_path: Path
) -> None:
    env = {
        **{k: v for k, v in workspace.items() if not k.startswith("ENABLE_")},
        "TFC_KUBERNETES_PROVIDER_AUTH": "true",
        "TFC_KUBERNETES_WORKLOAD_IDENTITY_AUDIENCE": AUDIENCE,
        "TFC_KUBERNETES_PROVIDER_AUTH_PROD": "true",
        "TFC_KUBERNETES_WORKLOAD_IDENTITY_AUDIENCE_PROD": "prod.cluster",
        "KUBE_HOST_PROD": HOST,
        "KUBE_HOST": HOST,
    }
    prepared = pipeline.prepare(env)
    assert prepared is not None
    plan = pipeline.mint(prepared, tmp_path)

    audiences = {p.token_file.name: p.token.claims["aud"] for p in plan.clouds}
    assert audiences == {"kubernetes.jwt": AUDIENCE, "kubernetes_PROD.jwt": "prod.cluster"}
    variable = json.loads(plan.exports["TF_VAR_tfc_kubernetes_dynamic_credentials"])
    assert variable == {
        "default": {"token_path": str(tmp_path / "kubernetes.jwt")},
        "aliases": {"PROD": {"token_path": str(tmp_path / "kubernetes_PROD.jwt")}},
    }
    assert plan.exports["KUBECONFIG"] == str(tmp_path / "kubernetes-kubeconfig")
    assert "KUBE_TOKEN" not in plan.exports
    tokens = [p.token.compact for p in plan.clouds]
    assert not any(token in value for token in tokens for value in plan.exports.values())


def test_the_audience_has_phase_forms(workspace: dict[str, str]) -> None:
    env = {
        **{k: v for k, v in workspace.items() if not k.startswith("ENABLE_")},
        **ENABLED,
        f"{kubernetes.AUDIENCE}_PLAN": "plan.cluster",
    }
    loaded = settings.load(env, phase="plan")
    assert loaded is not None
    [config] = loaded.clouds
    assert config.audience == "plan.cluster"
