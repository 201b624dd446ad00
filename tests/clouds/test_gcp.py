"""GCP: the provider audience, the external_account credentials file, and the exports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from injector.clouds import gcp
from injector.errors import ConfigError
from tests.support.jobs import EXAMPLE_JOB

PROVIDER = (
    "//iam.googleapis.com/projects/123456789012/locations/global/"
    "workloadIdentityPools/terrakube/providers/terrakube"
)
ACCOUNT = "terraform@my-project.iam.gserviceaccount.com"
ENABLED = {gcp.ENABLE: "on", gcp.AUDIENCE: PROVIDER}
TOKEN_FILE = Path("/run/injector/gcp.jwt")
CREDENTIALS_FILE = Path("/run/injector/gcp-credentials.json")
JOB = EXAMPLE_JOB


def _config(**overrides: str) -> gcp.GcpConfig:
    config = gcp.CLOUD.configure({**ENABLED, **overrides})
    assert config is not None
    return config


def _problems(env: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as error:
        gcp.CLOUD.configure(env)
    return [p.variable for p in error.value.problems]


def _credentials_file(config: gcp.GcpConfig) -> dict[str, object]:
    outputs = config.outputs(TOKEN_FILE, JOB)
    assert list(outputs.extra_files) == [CREDENTIALS_FILE]
    document: dict[str, object] = json.loads(outputs.extra_files[CREDENTIALS_FILE])
    return document


@pytest.mark.parametrize("switch", [None, "false", "0", "no", "OFF"])
def test_disabled_is_none_whatever_else_is_set(switch: str | None) -> None:
    env = {gcp.AUDIENCE: "nope", "GOOGLE_CREDENTIALS": "{}"}
    if switch is not None:
        env[gcp.ENABLE] = switch
    assert gcp.CLOUD.configure(env) is None


@pytest.mark.parametrize("switch", ["", "1.0", "oui"])
def test_bad_switch(switch: str) -> None:
    assert _problems({**ENABLED, gcp.ENABLE: switch}) == [gcp.ENABLE]


def test_defaults() -> None:
    config = _config()
    assert config.provider == PROVIDER
    assert config.audience == "https:" + PROVIDER
    assert config.service_account is None
    assert config.project is None
    assert config.sts_url == "https://sts.googleapis.com/v1/token"
    assert config.iam_url == "https://iamcredentials.googleapis.com"
    assert config.name == "gcp"


# the provider


def test_https_form_accepted_and_normalised() -> None:
    config = _config(**{gcp.AUDIENCE: "https:" + PROVIDER})
    assert config.provider == PROVIDER
    assert config.audience == "https://iam.googleapis.com" + PROVIDER.removeprefix(
        "//iam.googleapis.com"
    )
    assert _credentials_file(config)["audience"] == PROVIDER


@pytest.mark.parametrize("missing", [None, ""])
def test_provider_required(missing: str | None) -> None:
    env = {gcp.ENABLE: "true"}
    if missing is not None:
        env[gcp.AUDIENCE] = missing
    with pytest.raises(ConfigError) as error:
        gcp.CLOUD.configure(env)
    assert [p.variable for p in error.value.problems] == [gcp.AUDIENCE]
    assert "//iam.googleapis.com/projects/" in str(error.value)


@pytest.mark.parametrize(
    "provider",
    [
        "http:" + PROVIDER,
        "https://iam.googleapis.com" + PROVIDER,
        PROVIDER.replace("123456789012", "my-project"),
        PROVIDER.replace("/global/", "/us-east1/"),
        PROVIDER + "/",
        PROVIDER + " ",
        " " + PROVIDER,
        PROVIDER.replace("IdentityPools/terrakube", "IdentityPools/abc"),
        PROVIDER.replace("providers/terrakube", "providers/" + "p" * 33),
        PROVIDER.replace("providers/terrakube", "providers/Terrakube"),
        PROVIDER.replace("providers/terrakube", "providers/terra_kube"),
        PROVIDER.removesuffix("/providers/terrakube"),
        "projects/123456789012/locations/global/workloadIdentityPools/terrakube/providers/terrakube",
        "terrakube",
    ],
)
def test_provider_refused(provider: str) -> None:
    assert _problems({**ENABLED, gcp.AUDIENCE: provider}) == [gcp.AUDIENCE]


# service account, project, endpoints


@pytest.mark.parametrize(
    "account", [ACCOUNT, "sa-1@p-123.iam.gserviceaccount.com", "x@developer.gserviceaccount.com"]
)
def test_service_account_accepted(account: str) -> None:
    assert _config(**{gcp.SERVICE_ACCOUNT: account}).service_account == account


@pytest.mark.parametrize(
    "account",
    [
        "terraform@example.com",
        "terraform",
        "Terraform@my-project.iam.gserviceaccount.com",
        " " + ACCOUNT,
        ACCOUNT + "/",
        "a/b@my-project.iam.gserviceaccount.com",
    ],
)
def test_service_account_refused(account: str) -> None:
    assert _problems({**ENABLED, gcp.SERVICE_ACCOUNT: account}) == [gcp.SERVICE_ACCOUNT]


@pytest.mark.parametrize(
    "env",
    [
        {gcp.PROJECT: "my-project"},
        {gcp.CLOUD_PROJECT: "my-project"},
        {gcp.PROJECT: "my-project", gcp.CLOUD_PROJECT: "my-project"},
    ],
)
def test_project_from_either_name(env: dict[str, str]) -> None:
    assert _config(**env).project == "my-project"


@pytest.mark.parametrize("project", ["abcdef", "a" * 30, "example.com:my-project", "p-12345"])
def test_project_accepted(project: str) -> None:
    assert _config(**{gcp.PROJECT: project}).project == project


@pytest.mark.parametrize(
    "project", ["abcde", "a" * 31, "My-Project", "1project", "project-", "my_project", "my project"]
)
def test_project_refused(project: str) -> None:
    assert _problems({**ENABLED, gcp.PROJECT: project}) == [gcp.PROJECT]
    assert _problems({**ENABLED, gcp.CLOUD_PROJECT: project}) == [gcp.CLOUD_PROJECT]


def test_projects_that_disagree() -> None:
    env = {**ENABLED, gcp.PROJECT: "project-one", gcp.CLOUD_PROJECT: "project-two"}
    assert _problems(env) == [gcp.PROJECT]


@pytest.mark.parametrize("variable", [gcp.STS_URL, gcp.IAM_URL])
@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ("https://sts.example.com/v1/token", "https://sts.example.com/v1/token"),
        ("https://sts.example.com/v1/token/", "https://sts.example.com/v1/token"),
        ("http://127.0.0.1:8080/token", "http://127.0.0.1:8080/token"),
        ("http://localhost:8080", "http://localhost:8080"),
        ("http://[::1]:8080/", "http://[::1]:8080"),
    ],
)
def test_endpoint_overrides(variable: str, raw: str, kept: str) -> None:
    config = _config(**{variable: raw})
    assert (config.sts_url if variable == gcp.STS_URL else config.iam_url) == kept


@pytest.mark.parametrize("variable", [gcp.STS_URL, gcp.IAM_URL])
@pytest.mark.parametrize(
    "raw", ["http://sts.example.com/v1/token", "sts.googleapis.com", "https://x/?a=1", "ftp://x"]
)
def test_endpoint_overrides_refused(variable: str, raw: str) -> None:
    with pytest.raises(ConfigError) as error:
        gcp.CLOUD.configure({**ENABLED, variable: raw})
    assert [p.variable for p in error.value.problems] == [variable]
    assert "loopback" in str(error.value)


# static credentials


@pytest.mark.parametrize("variable", gcp.STATIC_CREDENTIALS)
def test_static_credentials_refused_without_showing_them(variable: str) -> None:
    secret = '{"type": "service_account", "private_key": "NEVER-SHOWN-KEY"}'
    with pytest.raises(ConfigError) as error:
        gcp.CLOUD.configure({**ENABLED, variable: secret})
    assert [p.variable for p in error.value.problems] == [variable]
    assert "NEVER-SHOWN-KEY" not in str(error.value)
    assert gcp.ENABLE in str(error.value)


def test_all_problems_at_once() -> None:
    env = {
        gcp.ENABLE: "1",
        "GOOGLE_OAUTH_ACCESS_TOKEN": "ya29.secret",
        gcp.SERVICE_ACCOUNT: "x",
        gcp.PROJECT: "X",
        gcp.STS_URL: "http://x",
        gcp.IAM_URL: "http://y",
    }
    assert _problems(env) == [
        "GOOGLE_OAUTH_ACCESS_TOKEN",
        gcp.AUDIENCE,
        gcp.SERVICE_ACCOUNT,
        gcp.PROJECT,
        gcp.STS_URL,
        gcp.IAM_URL,
    ]


# outputs


def test_credentials_without_service_account() -> None:
    assert _credentials_file(_config()) == {
        "type": "external_account",
        "audience": PROVIDER,
        "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
        "token_url": "https://sts.googleapis.com/v1/token",
        "credential_source": {"file": str(TOKEN_FILE), "format": {"type": "text"}},
    }


def test_credentials_with_service_account() -> None:
    assert _credentials_file(_config(**{gcp.SERVICE_ACCOUNT: ACCOUNT})) == {
        "type": "external_account",
        "audience": PROVIDER,
        "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
        "token_url": "https://sts.googleapis.com/v1/token",
        "service_account_impersonation_url": (
            "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/"
            f"{ACCOUNT}:generateAccessToken"
        ),
        "credential_source": {"file": str(TOKEN_FILE), "format": {"type": "text"}},
    }


def test_credentials_use_the_overridden_endpoints() -> None:
    config = _config(
        **{
            gcp.SERVICE_ACCOUNT: ACCOUNT,
            gcp.STS_URL: "http://127.0.0.1:4000/v1/token",
            gcp.IAM_URL: "http://127.0.0.1:4001/",
        }
    )
    document = _credentials_file(config)
    assert document["token_url"] == "http://127.0.0.1:4000/v1/token"
    assert document["service_account_impersonation_url"] == (
        f"http://127.0.0.1:4001/v1/projects/-/serviceAccounts/{ACCOUNT}:generateAccessToken"
    )


def test_google_auth_accepts_the_credentials() -> None:
    from google.auth import identity_pool

    document = _credentials_file(_config(**{gcp.SERVICE_ACCOUNT: ACCOUNT, gcp.PROJECT: "my-pj1"}))
    credentials = identity_pool.Credentials.from_info(document)
    assert credentials.service_account_email == ACCOUNT
    assert credentials.info["audience"] == PROVIDER


def test_exports_without_project() -> None:
    exports = _config().outputs(TOKEN_FILE, JOB).exports
    assert exports == {
        "GOOGLE_APPLICATION_CREDENTIALS": str(CREDENTIALS_FILE),
        "CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE": str(CREDENTIALS_FILE),
    }


@pytest.mark.parametrize("variable", [gcp.PROJECT, gcp.CLOUD_PROJECT])
def test_exports_with_project_under_both_names(variable: str) -> None:
    exports = _config(**{variable: "my-project"}).outputs(TOKEN_FILE, JOB).exports
    assert exports == {
        "GOOGLE_APPLICATION_CREDENTIALS": str(CREDENTIALS_FILE),
        "CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE": str(CREDENTIALS_FILE),
        "GOOGLE_PROJECT": "my-project",
        "GOOGLE_CLOUD_PROJECT": "my-project",
    }


def test_credentials_file_sits_beside_the_token(tmp_path: Path) -> None:
    outputs = _config().outputs(tmp_path / "sub" / "gcp.jwt", JOB)
    assert list(outputs.extra_files) == [tmp_path / "sub" / "gcp-credentials.json"]


# principal type (HCP's TFC_GCP_PRINCIPAL_TYPE)


def test_workload_pool_means_no_impersonation() -> None:
    config = _config(**{gcp.PRINCIPAL_TYPE: "workload_pool"})
    assert config.service_account is None
    assert "service_account_impersonation_url" not in _credentials_file(config)


def test_service_account_type_impersonates() -> None:
    config = _config(**{gcp.PRINCIPAL_TYPE: "service_account", gcp.SERVICE_ACCOUNT: ACCOUNT})
    assert str(_credentials_file(config)["service_account_impersonation_url"]).endswith(
        f"/serviceAccounts/{ACCOUNT}:generateAccessToken"
    )


@pytest.mark.parametrize(
    ("kind", "account", "message"),
    [
        ("workload_pool", ACCOUNT, "remove one of them"),
        ("service_account", None, "is not set"),
        ("pool", None, "expected service_account or workload_pool"),
        ("Workload_Pool", None, "expected service_account or workload_pool"),
    ],
)
def test_principal_type_disagreeing_is_refused(
    kind: str, account: str | None, message: str
) -> None:
    env = {**ENABLED, gcp.PRINCIPAL_TYPE: kind}
    if account is not None:
        env[gcp.SERVICE_ACCOUNT] = account
    with pytest.raises(ConfigError) as error:
        gcp.CLOUD.configure(env)
    assert [p.variable for p in error.value.problems] == [gcp.PRINCIPAL_TYPE]
    assert message in str(error.value)
