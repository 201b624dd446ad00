"""HCP Terraform's names (`TFC_*`) read as alternatives to injector's, with HCP's meanings: a
workspace written for HCP Terraform gets the same identities as one written for injector."""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path

import pytest
import trustme

from injector import clouds
from injector.claims import Token
from injector.clouds import hcp
from injector.clouds.aws import AwsConfig
from injector.clouds.vault import VaultConfig
from injector.errors import ConfigError
from injector.job import pipeline, settings, spelling
from injector.job.plan import Plan
from tests.conftest import KeyFiles, run_injector
from tests.support.jobs import config_as

ROLE = "arn:aws:iam::123456789012:role/run"
APPLY_ROLE = "arn:aws:iam::123456789012:role/apply"
PROD_ROLE = "arn:aws:iam::210987654321:role/prod"
SHARED_ROLE = "arn:aws:iam::210987654321:role/shared"
CLIENT = "00000000-0000-0000-0000-0000000000c1"
TENANT = "00000000-0000-0000-0000-0000000000d2"
PROVIDER = (
    "//iam.googleapis.com/projects/42/locations/global/"
    "workloadIdentityPools/pool-a/providers/prov-a"
)
ACCOUNT = "terraform@my-project-123.iam.gserviceaccount.com"


def _job(workspace: dict[str, str]) -> dict[str, str]:
    """The workspace's job context, issuer and key, and no cloud."""
    return {
        name: value
        for name, value in workspace.items()
        if not name.startswith(("ENABLE_", "WORKLOAD_", "ARM_", "AZURE_", "GOOGLE_", "AWS_"))
    }


def _plan(env: dict[str, str], folder: Path, phase: str | None = None) -> Plan:
    prepared = pipeline.prepare(env, phase=phase)
    assert prepared is not None
    return pipeline.mint(prepared, folder)


def _problems(env: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        settings.load(env)
    return [str(problem) for problem in caught.value.problems]


def _identity(token: Token) -> dict[str, object]:
    """What a cloud matches on and logs: everything but the per-mint claims."""
    return {k: v for k, v in token.claims.items() if k not in ("jti", "iat", "exp")}


INJECTOR_NAMED = {
    "ENABLE_DYNAMIC_CREDENTIALS_AWS": "true",
    "WORKLOAD_IDENTITY_ROLE_AWS": ROLE,
    "WORKLOAD_IDENTITY_ROLE_AWS_APPLY": APPLY_ROLE,
    "AWS_REGION": "us-east-1",
    "ENABLE_DYNAMIC_CREDENTIALS_AWS_PROD": "true",
    "WORKLOAD_IDENTITY_ROLE_AWS_PROD": PROD_ROLE,
    "WORKLOAD_IDENTITY_AUDIENCE_AWS_PROD": "prod.aws.workload.identity",
    "ENABLE_DYNAMIC_CREDENTIALS_AZURE": "true",
    "ARM_CLIENT_ID": CLIENT,
    "ARM_TENANT_ID": TENANT,
    "ENABLE_DYNAMIC_CREDENTIALS_GCP": "true",
    "WORKLOAD_IDENTITY_AUDIENCE_GCP": PROVIDER,
    "WORKLOAD_IDENTITY_SERVICE_ACCOUNT_EMAIL": ACCOUNT,
    "GOOGLE_PROJECT": "my-project-123",
    "INJECTOR_TERRAFORM_VARIABLES": "true",
}
HCP_NAMED = {
    "TFC_AWS_PROVIDER_AUTH": "true",
    "TFC_AWS_RUN_ROLE_ARN": ROLE,
    "TFC_AWS_APPLY_ROLE_ARN": APPLY_ROLE,
    "AWS_REGION": "us-east-1",
    "TFC_AWS_PROVIDER_AUTH_PROD": "true",
    "TFC_AWS_RUN_ROLE_ARN_PROD": PROD_ROLE,
    "TFC_AWS_WORKLOAD_IDENTITY_AUDIENCE_PROD": "prod.aws.workload.identity",
    "TFC_AZURE_PROVIDER_AUTH": "true",
    "TFC_AZURE_RUN_CLIENT_ID": CLIENT,
    "ARM_TENANT_ID": TENANT,
    "TFC_GCP_PROVIDER_AUTH": "true",
    "TFC_GCP_PROJECT_NUMBER": "42",
    "TFC_GCP_WORKLOAD_POOL_ID": "pool-a",
    "TFC_GCP_WORKLOAD_PROVIDER_ID": "prov-a",
    "TFC_GCP_RUN_SERVICE_ACCOUNT_EMAIL": ACCOUNT,
    "GOOGLE_PROJECT": "my-project-123",
}


@pytest.mark.parametrize("phase", [None, "plan", "apply"])
def test_a_workspace_written_for_hcp_gets_the_same_identities(
    workspace: dict[str, str], tmp_path: Path, phase: str | None
) -> None:
    ours = _plan({**_job(workspace), **INJECTOR_NAMED}, tmp_path, phase)
    theirs = _plan({**_job(workspace), **HCP_NAMED}, tmp_path, phase)

    assert theirs.exports == ours.exports
    assert theirs.files.keys() == ours.files.keys()
    for path in ours.files:
        if not path.name.endswith(".jwt"):
            assert theirs.files[path] == ours.files[path], path
    assert [_identity(c.token) for c in theirs.clouds] == [_identity(c.token) for c in ours.clouds]
    assert [c.config for c in theirs.clouds] == [c.config for c in ours.clouds]


def test_hcp_names_switch_hcps_variables_on(workspace: dict[str, str], tmp_path: Path) -> None:
    env = {**_job(workspace), "TFC_AWS_PROVIDER_AUTH": "true", "TFC_AWS_RUN_ROLE_ARN": ROLE}
    plan = _plan(env, tmp_path)

    assert plan.exports["AWS_ROLE_ARN"] == ROLE
    value = json.loads(plan.exports["TF_VAR_tfc_aws_dynamic_credentials"])
    assert value == {"default": {"shared_config_file": str(tmp_path / "aws.config")}, "aliases": {}}


def test_the_default_forms_apply_to_every_configuration_without_its_own(
    workspace: dict[str, str], tmp_path: Path
) -> None:
    env = {
        **_job(workspace),
        "TFC_AWS_PROVIDER_AUTH": "true",
        "TFC_AWS_PROVIDER_AUTH_PROD": "true",
        "TFC_AWS_PROVIDER_AUTH_DEV": "true",
        "TFC_DEFAULT_AWS_RUN_ROLE_ARN": SHARED_ROLE,
        "TFC_AWS_RUN_ROLE_ARN_PROD": PROD_ROLE,
        "TFC_DEFAULT_AWS_PLAN_ROLE_ARN": ROLE,
        "TFC_AWS_PLAN_ROLE_ARN_PROD": APPLY_ROLE,
    }
    roles = {
        phase: {
            c.config.tag: config_as(AwsConfig, c.config).role_arn
            for c in _plan(env, tmp_path, phase).clouds
        }
        for phase in ("plan", "apply")
    }

    assert roles["apply"] == {None: SHARED_ROLE, "DEV": SHARED_ROLE, "PROD": PROD_ROLE}
    assert roles["plan"] == {None: ROLE, "DEV": ROLE, "PROD": APPLY_ROLE}


def test_injectors_own_name_beats_a_default_form(workspace: dict[str, str], tmp_path: Path) -> None:
    env = {
        **_job(workspace),
        "ENABLE_DYNAMIC_CREDENTIALS_AWS": "true",
        "WORKLOAD_IDENTITY_ROLE_AWS": ROLE,
        "TFC_DEFAULT_AWS_RUN_ROLE_ARN": SHARED_ROLE,
    }
    assert _plan(env, tmp_path).exports["AWS_ROLE_ARN"] == ROLE


def test_one_setting_under_two_names_is_refused_naming_both(workspace: dict[str, str]) -> None:
    env = {
        **_job(workspace),
        "ENABLE_DYNAMIC_CREDENTIALS_AWS": "false",
        "TFC_AWS_PROVIDER_AUTH": "true",
        "WORKLOAD_IDENTITY_ROLE_AWS_PROD_PLAN": ROLE,
        "TFC_AWS_PLAN_ROLE_ARN_PROD": PROD_ROLE,
        "TFC_AWS_PROVIDER_AUTH_PROD": "true",
        "TFC_AWS_RUN_ROLE_ARN_PROD": "not-an-arn",
    }
    problems = _problems(env)

    assert problems[0].startswith(
        "ENABLE_DYNAMIC_CREDENTIALS_AWS: is 'false' but TFC_AWS_PROVIDER_AUTH is 'true': "
        "one setting under two names"
    )
    assert problems[1].startswith(
        f"WORKLOAD_IDENTITY_ROLE_AWS_PROD_PLAN: is {ROLE!r} but TFC_AWS_PLAN_ROLE_ARN_PROD is"
    )
    # A bad HCP value is named by its HCP name, with the other problems.
    assert any(p.startswith("TFC_AWS_RUN_ROLE_ARN_PROD: expected arn:") for p in problems)


def test_two_spellings_of_one_value_are_one_setting(
    workspace: dict[str, str], tmp_path: Path
) -> None:
    env = {
        **_job(workspace),
        "ENABLE_DYNAMIC_CREDENTIALS_GCP": "1",
        "TFC_GCP_PROVIDER_AUTH": "true",
        "WORKLOAD_IDENTITY_AUDIENCE_GCP": "https:" + PROVIDER,
        "TFC_GCP_WORKLOAD_PROVIDER_NAME": PROVIDER.removeprefix("//iam.googleapis.com/"),
        "TFC_GCP_WORKLOAD_IDENTITY_AUDIENCE": PROVIDER,
    }
    [gcp] = _plan(env, tmp_path).clouds

    assert gcp.token.claims["aud"] == "https:" + PROVIDER


def test_gcps_provider_from_its_parts_needs_all_of_them(workspace: dict[str, str]) -> None:
    env = {
        **_job(workspace),
        "TFC_GCP_PROVIDER_AUTH": "true",
        "TFC_GCP_PROJECT_NUMBER": "42",
        "TFC_GCP_WORKLOAD_PROVIDER_ID": "prov-a",
    }
    problems = _problems(env)

    assert problems[0] == (
        "TFC_GCP_PROJECT_NUMBER: needs TFC_GCP_WORKLOAD_POOL_ID too: HCP Terraform makes the "
        "provider's name of all of them"
    )


def test_vaults_hcp_names(workspace: dict[str, str]) -> None:
    env = {
        **_job(workspace),
        "TFC_VAULT_PROVIDER_AUTH": "true",
        "TFC_VAULT_ADDR": "https://vault.example.com:8200",
        "TFC_VAULT_RUN_ROLE": "terraform",
        "TFC_VAULT_NAMESPACE": "admin",
        "TFC_VAULT_AUTH_PATH": "terrakube-jwt",
    }
    loaded = settings.load(env)
    assert loaded is not None
    [config] = loaded.clouds
    vault = config_as(VaultConfig, config)

    assert (vault.address, vault.role, vault.namespace, vault.auth_path) == (
        "https://vault.example.com:8200",
        "terraform",
        "admin",
        "terrakube-jwt",
    )
    assert vault.audience == "vault.workload.identity"


@pytest.mark.parametrize(
    "name",
    [
        "TFC_AWS_PROVIDER_AUTH",
        "TFC_AWS_RUN_ROLE_ARN_PROD",
        "TFC_AWS_APPLY_ROLE_ARN",
        "TFC_DEFAULT_AWS_PLAN_ROLE_ARN",
        "TFC_AZURE_RUN_CLIENT_ID_EU",
        "TFC_GCP_WORKLOAD_POOL_ID",
        "TFC_VAULT_ADDR",
    ],
)
def test_hcp_names_are_not_typos(name: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="injector"):
        spelling.warn({name: "x", "TFC_AWS_RUN_ROLE_ARNN": "x"})
    assert name not in caplog.text.replace("TFC_AWS_RUN_ROLE_ARNN", "")
    assert "TFC_AWS_RUN_ROLE_ARNN is not a variable injector reads: did you mean" in caplog.text


def test_gcps_principal_type_workload_pool(workspace: dict[str, str], tmp_path: Path) -> None:
    env = {
        **_job(workspace),
        "TFC_GCP_PROVIDER_AUTH": "true",
        "TFC_GCP_WORKLOAD_PROVIDER_NAME": PROVIDER.removeprefix("//iam.googleapis.com/"),
        "TFC_GCP_PRINCIPAL_TYPE": "workload_pool",
    }
    plan = _plan(env, tmp_path)
    [credentials] = [path for path in plan.files if path.name == "gcp-credentials.json"]
    document = json.loads(plan.files[credentials])

    assert "service_account_impersonation_url" not in document
    assert document["audience"] == PROVIDER


def test_gcps_principal_type_disagreeing_with_a_service_account_names_hcps_names(
    workspace: dict[str, str],
) -> None:
    env = {
        **_job(workspace),
        "TFC_GCP_PROVIDER_AUTH": "true",
        "TFC_GCP_WORKLOAD_PROVIDER_NAME": PROVIDER.removeprefix("//iam.googleapis.com/"),
        "TFC_GCP_PRINCIPAL_TYPE": "workload_pool",
        "TFC_GCP_RUN_SERVICE_ACCOUNT_EMAIL": ACCOUNT,
    }
    [problem] = _problems(env)
    assert problem.startswith("TFC_GCP_PRINCIPAL_TYPE: is workload_pool")


# Vault under HCP's names, untagged and tagged PROD.
VAULT_WITH_PROD = {
    "TFC_VAULT_PROVIDER_AUTH": "true",
    "TFC_VAULT_ADDR": "https://vault.example.com:8200",
    "TFC_VAULT_RUN_ROLE": "terraform",
    "TFC_VAULT_PROVIDER_AUTH_PROD": "true",
    "TFC_VAULT_RUN_ROLE_PROD": "prod",
}


def test_vaults_encoded_ca_under_hcps_names_tagged_and_default(
    workspace: dict[str, str], tmp_path: Path
) -> None:
    """TFC_VAULT_ENCODED_CACERT is injector's WORKLOAD_IDENTITY_VAULT_ENCODED_CACERT; its
    `_<TAG>` form a tag's own, its TFC_DEFAULT_ form every configuration's without one."""
    own, shared = trustme.CA().cert_pem.bytes(), trustme.CA().cert_pem.bytes()
    env = {
        **_job(workspace),
        **VAULT_WITH_PROD,
        "TFC_VAULT_ENCODED_CACERT_PROD": base64.encodebytes(own).decode(),  # wrapped
        "TFC_DEFAULT_VAULT_ENCODED_CACERT": base64.b64encode(shared).decode(),
    }
    plan = _plan(env, tmp_path)

    assert plan.files[tmp_path / "vault-ca.pem"] == shared
    assert plan.files[tmp_path / "vault_PROD-ca.pem"] == own
    assert plan.exports["VAULT_CACERT"] == str(tmp_path / "vault-ca.pem")
    aliases = json.loads(plan.exports["TF_VAR_tfc_vault_dynamic_credentials"])["aliases"]
    assert aliases["PROD"]["ca_cert_file"] == str(tmp_path / "vault_PROD-ca.pem")


@pytest.mark.parametrize(
    ("hcp_name", "value", "message"),
    [
        ("TFC_VAULT_ENCODED_CACERT", "not base64!", "is not base64: expected"),
        ("TFC_VAULT_ENCODED_CACERT", "aGVsbG8=", "no certificate could be read"),
        ("TFC_VAULT_ENCODED_CACERT_PROD", "aGVsbG8=", "no certificate could be read"),
        ("TFC_DEFAULT_VAULT_ENCODED_CACERT", "aGVsbG8=", "no certificate could be read"),
    ],
)
def test_a_bad_encoded_ca_names_hcps_variable(
    workspace: dict[str, str], hcp_name: str, value: str, message: str
) -> None:
    env = {
        **_job(workspace),
        **VAULT_WITH_PROD,
        hcp_name: value,
    }
    [problem] = _problems(env)
    assert problem.startswith(f"{hcp_name}: ")
    assert message in problem


def test_the_encoded_ca_wrapped_or_not_is_one_setting(workspace: dict[str, str]) -> None:
    pem = trustme.CA().cert_pem.bytes()
    env = {
        **_job(workspace),
        "TFC_VAULT_PROVIDER_AUTH": "true",
        "TFC_VAULT_ADDR": "https://vault.example.com:8200",
        "TFC_VAULT_RUN_ROLE": "terraform",
        "TFC_VAULT_ENCODED_CACERT": base64.encodebytes(pem).decode(),
        "WORKLOAD_IDENTITY_VAULT_ENCODED_CACERT": base64.b64encode(pem).decode(),
    }
    loaded = settings.load(env)
    assert loaded is not None
    assert config_as(VaultConfig, loaded.clouds[0]).ca_pem == pem


def test_vaults_encoded_ca_names_are_read_not_warned_about(
    caplog: pytest.LogCaptureFixture,
) -> None:
    env = {
        "TFC_VAULT_PROVIDER_AUTH": "true",
        "TFC_VAULT_ENCODED_CACERT": "x",
        "TFC_VAULT_ENCODED_CACERT_PROD": "x",
        "WORKLOAD_IDENTITY_VAULT_ENCODED_CACERT_DEV": "x",
        "TFC_VAULT_ENCODED_CACERTS": "x",
    }
    with caplog.at_level(logging.WARNING, logger="injector"):
        spelling.warn(env)
    assert caplog.messages == [
        "TFC_VAULT_ENCODED_CACERTS is not a variable injector reads: did you mean "
        "TFC_VAULT_ENCODED_CACERT?"
    ]


def test_the_encoded_ca_under_two_names_is_refused_without_quoting_either(
    workspace: dict[str, str], key_files: KeyFiles
) -> None:
    """A value pasted by mistake may hold a key: the refusal names both, quotes neither."""
    key = base64.b64encode(key_files.private_pkcs8.read_bytes()).decode()
    env = {
        **_job(workspace),
        **VAULT_WITH_PROD,
        "TFC_VAULT_ENCODED_CACERT": key,
        "WORKLOAD_IDENTITY_VAULT_ENCODED_CACERT": base64.b64encode(b"other").decode(),
    }
    problems = _problems(env)
    assert problems[0] == (
        "WORKLOAD_IDENTITY_VAULT_ENCODED_CACERT: differs from TFC_VAULT_ENCODED_CACERT: one "
        "setting under two names; set one, or both to the same value"
    )
    assert not any(key[:12] in p or key[-12:] in p for p in problems)


@pytest.mark.parametrize(
    ("name", "said"),
    [
        # Another cloud's switch pattern on Vault-backed AWS, whose switch is `..._AUTH`.
        (
            "TFC_VAULT_BACKED_AWS_PROVIDER_AUTH",
            "for Vault-backed AWS: did you mean TFC_VAULT_BACKED_AWS_AUTH?",
        ),
        (
            "TFC_GCP_SERVICE_ACCOUNT_EMAIL",
            "for GCP: did you mean TFC_GCP_RUN_SERVICE_ACCOUNT_EMAIL?",
        ),
        # Under AWS's head but like none of its names: said to be ignored, not guessed at.
        ("TFC_AWS_REGION", "for AWS: it is ignored"),
    ],
)
def test_an_hcp_name_injector_does_not_read_is_said(
    name: str, said: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="injector"):
        spelling.warn({name: "true"})
    assert f"{name} is not one of HCP Terraform's names that injector reads {said}" in caplog.text


def test_no_hcp_name_injector_reads_is_said_to_be_ignored(
    caplog: pytest.LogCaptureFixture,
) -> None:
    every = [
        form
        for name in hcp.names(clouds.registered())
        for form in (name, f"{name}_PROD", f"{name}_PROD_EU")
    ]
    with caplog.at_level(logging.WARNING, logger="injector"):
        spelling.warn(dict.fromkeys(every, "x"))
    assert "HCP Terraform's names" not in caplog.text


def test_a_switch_of_the_wrong_shape_is_said_not_silently_dropped(
    workspace: dict[str, str], tmp_path: Path
) -> None:
    """Before, the job said only that no cloud is enabled, and the user had to guess why."""
    job = {k: v for k, v in workspace.items() if not k.startswith(("ENABLE_", "WORKLOAD_"))}
    result = run_injector(
        "env",
        "--dir",
        str(tmp_path / "out"),
        env={**job, "TFC_VAULT_BACKED_AWS_PROVIDER_AUTH": "true"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "did you mean TFC_VAULT_BACKED_AWS_AUTH?" in result.stderr
    assert "no cloud has dynamic credentials enabled" in result.stderr
    assert not (tmp_path / "out").exists()
