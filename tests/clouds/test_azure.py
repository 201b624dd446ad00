"""Azure: GUIDs, the authority host, the refusal of secrets, and the AZURE_*/ARM_* exports."""

from __future__ import annotations

from pathlib import Path

import pytest

from injector.clouds import azure
from injector.errors import ConfigError
from tests.support.jobs import EXAMPLE_JOB

CLIENT = "11111111-2222-3333-4444-555555555555"
TENANT = "66666666-7777-8888-9999-000000000000"
SUBSCRIPTION = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
ENABLED = {azure.ENABLE: "yes", azure.CLIENT_ID: CLIENT, azure.TENANT_ID: TENANT}
TOKEN_FILE = Path("/run/injector/azure.jwt")
JOB = EXAMPLE_JOB


def _config(**overrides: str) -> azure.AzureConfig:
    config = azure.CLOUD.configure({**ENABLED, **overrides})
    assert config is not None
    return config


def _problems(env: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as error:
        azure.CLOUD.configure(env)
    return [p.variable for p in error.value.problems]


@pytest.mark.parametrize("switch", [None, "false", "0", "NO", "off"])
def test_disabled_is_none_whatever_else_is_set(switch: str | None) -> None:
    env = {azure.CLIENT_ID: "nope", "ARM_CLIENT_SECRET": "s3cret"}
    if switch is not None:
        env[azure.ENABLE] = switch
    assert azure.CLOUD.configure(env) is None


@pytest.mark.parametrize("switch", ["", "y", "2"])
def test_bad_switch(switch: str) -> None:
    assert _problems({**ENABLED, azure.ENABLE: switch}) == [azure.ENABLE]


def test_defaults() -> None:
    config = _config()
    assert config.client_id == CLIENT
    assert config.tenant_id == TENANT
    assert config.subscription_id is None
    assert config.audience == "api://AzureADTokenExchange"
    assert config.authority_host == "https://login.microsoftonline.com/"
    assert config.name == "azure"


@pytest.mark.parametrize("variable", [azure.CLIENT_ID, azure.TENANT_ID])
@pytest.mark.parametrize("missing", ["unset", "empty"])
def test_ids_required(variable: str, missing: str) -> None:
    env = dict(ENABLED)
    if missing == "unset":
        del env[variable]
    else:
        env[variable] = ""
    assert _problems(env) == [variable]


@pytest.mark.parametrize("variable", [azure.CLIENT_ID, azure.TENANT_ID, azure.SUBSCRIPTION_ID])
@pytest.mark.parametrize(
    "value",
    [
        "11111111-2222-3333-4444-55555555555",
        "11111111222233334444555555555555",
        "{11111111-2222-3333-4444-555555555555}",
        "11111111-2222-3333-4444-555555555555 ",
        "g1111111-2222-3333-4444-555555555555",
        "contoso.onmicrosoft.com",
    ],
)
def test_ids_must_be_guids(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as error:
        azure.CLOUD.configure({**ENABLED, variable: value})
    assert [p.variable for p in error.value.problems] == [variable]
    assert "GUID" in str(error.value)
    assert repr(value) in str(error.value)


def test_uppercase_guids_accepted() -> None:
    assert _config(**{azure.CLIENT_ID: CLIENT.upper()}).client_id == CLIENT.upper()


def test_subscription_optional() -> None:
    assert _config(**{azure.SUBSCRIPTION_ID: ""}).subscription_id is None
    assert _config(**{azure.SUBSCRIPTION_ID: SUBSCRIPTION}).subscription_id == SUBSCRIPTION


def test_audience() -> None:
    assert _config(**{azure.AUDIENCE: "api://custom"}).audience == "api://custom"
    assert _problems({**ENABLED, azure.AUDIENCE: "api://custom "}) == [azure.AUDIENCE]


@pytest.mark.parametrize(
    "host",
    [
        "https://login.microsoftonline.us",
        "https://login.chinacloudapi.cn/",
        "https://127.0.0.1:8443/",
        "https://localhost:9443",
    ],
)
def test_authority_host_kept_as_given(host: str) -> None:
    config = _config(**{azure.AUTHORITY_HOST: host})
    assert config.authority_host == host
    assert config.outputs(TOKEN_FILE, JOB).exports["AZURE_AUTHORITY_HOST"] == host


@pytest.mark.parametrize(
    "host",
    [
        "http://login.microsoftonline.com/",
        "http://127.0.0.1:8080/",
        "login.microsoftonline.com",
        "https://login.microsoftonline.com/?x=1",
        " https://login.microsoftonline.com/",
    ],
)
def test_authority_host_must_be_https(host: str) -> None:
    with pytest.raises(ConfigError) as error:
        azure.CLOUD.configure({**ENABLED, azure.AUTHORITY_HOST: host})
    assert [p.variable for p in error.value.problems] == [azure.AUTHORITY_HOST]
    assert "https://" in str(error.value)


@pytest.mark.parametrize("variable", azure.STATIC_CREDENTIALS)
def test_secrets_and_certificates_refused_without_showing_them(variable: str) -> None:
    secret = "Xq8~Zy.S3cr3tValue_NeverShown"
    with pytest.raises(ConfigError) as error:
        azure.CLOUD.configure({**ENABLED, variable: secret})
    assert [p.variable for p in error.value.problems] == [variable]
    assert secret not in str(error.value)
    assert azure.ENABLE in str(error.value)


def test_all_static_credentials_are_listed_in_one_problem() -> None:
    with pytest.raises(ConfigError) as error:
        azure.CLOUD.configure({**ENABLED, "ARM_CLIENT_SECRET": "a", "AZURE_CLIENT_SECRET": "b"})
    assert [p.variable for p in error.value.problems] == ["ARM_CLIENT_SECRET"]
    assert "AZURE_CLIENT_SECRET" in str(error.value)


def test_all_problems_at_once() -> None:
    env = {
        azure.ENABLE: "TRUE",
        "AZURE_CLIENT_CERTIFICATE_PATH": "/cert.pem",
        azure.TENANT_ID: "tenant",
        azure.SUBSCRIPTION_ID: "sub",
        azure.AUDIENCE: "\t",
        azure.AUTHORITY_HOST: "http://x",
    }
    assert _problems(env) == [
        "AZURE_CLIENT_CERTIFICATE_PATH",
        azure.CLIENT_ID,
        azure.TENANT_ID,
        azure.SUBSCRIPTION_ID,
        azure.AUDIENCE,
        azure.AUTHORITY_HOST,
    ]


def test_outputs_without_subscription() -> None:
    outputs = _config().outputs(TOKEN_FILE, JOB)
    assert outputs.exports == {
        "ARM_USE_OIDC": "true",
        "ARM_OIDC_TOKEN_FILE_PATH": str(TOKEN_FILE),
        "ARM_CLIENT_ID": CLIENT,
        "ARM_TENANT_ID": TENANT,
        "AZURE_CLIENT_ID": CLIENT,
        "AZURE_TENANT_ID": TENANT,
        "AZURE_FEDERATED_TOKEN_FILE": str(TOKEN_FILE),
        "AZURE_AUTHORITY_HOST": "https://login.microsoftonline.com/",
    }
    assert outputs.extra_files == {}


def test_outputs_with_subscription() -> None:
    exports = _config(**{azure.SUBSCRIPTION_ID: SUBSCRIPTION}).outputs(TOKEN_FILE, JOB).exports
    assert exports == {
        "ARM_USE_OIDC": "true",
        "ARM_OIDC_TOKEN_FILE_PATH": str(TOKEN_FILE),
        "ARM_CLIENT_ID": CLIENT,
        "ARM_TENANT_ID": TENANT,
        "ARM_SUBSCRIPTION_ID": SUBSCRIPTION,
        "AZURE_CLIENT_ID": CLIENT,
        "AZURE_TENANT_ID": TENANT,
        "AZURE_FEDERATED_TOKEN_FILE": str(TOKEN_FILE),
        "AZURE_AUTHORITY_HOST": "https://login.microsoftonline.com/",
    }
