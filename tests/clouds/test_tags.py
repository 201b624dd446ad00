"""Tagged configurations: `_<TAG>` after a cloud's variables is another configuration of it, with
its own token, files and identity; the untagged one is what it always was."""

from __future__ import annotations

import base64
import configparser
import json
import logging
from pathlib import Path

import pytest
import trustme

from injector import clouds
from injector.clouds import tags
from injector.clouds.aws import AwsConfig
from injector.errors import ConfigError
from injector.job import pipeline, settings, spelling
from injector.job.plan import Plan
from tests.support.jobs import config_as

ROLE = "arn:aws:iam::123456789012:role/default-role"
PROD_ROLE = "arn:aws:iam::210987654321:role/prod-role"
PROD_APPLY_ROLE = "arn:aws:iam::210987654321:role/prod-apply"
CLIENT = "00000000-0000-0000-0000-0000000000c1"


def _aws_only(workspace: dict[str, str], **more: str) -> dict[str, str]:
    env = {
        **workspace,
        "ENABLE_DYNAMIC_CREDENTIALS_AZURE": "false",
        "ENABLE_DYNAMIC_CREDENTIALS_GCP": "false",
        "WORKLOAD_IDENTITY_ROLE_AWS": ROLE,
    }
    env.update(more)
    return env


def _plan(env: dict[str, str], folder: Path, phase: str | None = None) -> Plan:
    prepared = pipeline.prepare(env, phase=phase)
    assert prepared is not None
    return pipeline.mint(prepared, folder)


def _problems(env: dict[str, str], phase: str | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        settings.load(env, phase=phase)
    return [str(problem) for problem in caught.value.problems]


def test_without_tags_nothing_changes(workspace: dict[str, str], tmp_path: Path) -> None:
    plan = _plan(_aws_only(workspace), tmp_path)

    assert [path.name for path in plan.files] == ["aws.jwt"]
    assert plan.exports["AWS_ROLE_ARN"] == ROLE
    assert not any(name.startswith("TF_VAR_") for name in plan.exports)
    assert "AWS_CONFIG_FILE" not in plan.exports


def test_a_tag_is_a_configuration_with_its_own_token_and_identity(
    workspace: dict[str, str], tmp_path: Path
) -> None:
    env = _aws_only(
        workspace,
        ENABLE_DYNAMIC_CREDENTIALS_AWS_PROD="true",
        WORKLOAD_IDENTITY_ROLE_AWS_PROD=PROD_ROLE,
        WORKLOAD_IDENTITY_AUDIENCE_AWS_PROD="prod.aws.workload.identity",
        AWS_REGION_PROD="eu-west-1",
    )
    plan = _plan(env, tmp_path)

    by_id = {tags.configuration_id(c.config): c for c in plan.clouds}
    assert set(by_id) == {"aws", "aws_PROD"}
    assert by_id["aws"].token.claims["aud"] == "aws.workload.identity"
    assert by_id["aws_PROD"].token.claims["aud"] == "prod.aws.workload.identity"
    assert by_id["aws"].token.claims["jti"] != by_id["aws_PROD"].token.claims["jti"]
    assert by_id["aws_PROD"].token_file == tmp_path / "aws_PROD.jwt"

    # The identities move into profiles: boto3 would prefer AWS_ROLE_ARN & co. to a profile's.
    assert "AWS_ROLE_ARN" not in plan.exports
    assert "AWS_WEB_IDENTITY_TOKEN_FILE" not in plan.exports
    shared = configparser.ConfigParser()
    shared.read_string(plan.files[Path(plan.exports["AWS_CONFIG_FILE"])].decode())
    assert shared["default"]["role_arn"] == ROLE
    assert shared["default"]["web_identity_token_file"] == str(tmp_path / "aws.jwt")
    assert shared["default"]["region"] == "us-east-1"
    assert shared["profile PROD"]["role_arn"] == PROD_ROLE
    assert shared["profile PROD"]["web_identity_token_file"] == str(tmp_path / "aws_PROD.jwt")
    assert shared["profile PROD"]["region"] == "eu-west-1"


def test_the_phase_comes_after_the_tag(workspace: dict[str, str], tmp_path: Path) -> None:
    env = _aws_only(
        workspace,
        ENABLE_DYNAMIC_CREDENTIALS_AWS_PROD="true",
        WORKLOAD_IDENTITY_ROLE_AWS_PROD=PROD_ROLE,
        WORKLOAD_IDENTITY_ROLE_AWS_PROD_APPLY=PROD_APPLY_ROLE,
        # The untagged apply role is the untagged configuration's only.
        WORKLOAD_IDENTITY_ROLE_AWS_APPLY="arn:aws:iam::123456789012:role/default-apply",
    )
    roles = {
        phase: {
            tags.configuration_id(c.config): config_as(AwsConfig, c.config).role_arn
            for c in _plan(env, tmp_path / phase, phase).clouds
        }
        for phase in ("plan", "apply")
    }

    assert roles["plan"] == {"aws": ROLE, "aws_PROD": PROD_ROLE}
    assert roles["apply"] == {
        "aws": "arn:aws:iam::123456789012:role/default-apply",
        "aws_PROD": PROD_APPLY_ROLE,
    }


def test_a_tagged_configuration_alone(workspace: dict[str, str], tmp_path: Path) -> None:
    env = _aws_only(
        workspace,
        ENABLE_DYNAMIC_CREDENTIALS_AWS="false",
        INJECTOR_ENABLE_AWS_PROD="true",
        WORKLOAD_IDENTITY_ROLE_AWS_PROD=PROD_ROLE,
    )
    plan = _plan(env, tmp_path)

    shared = configparser.ConfigParser()
    shared.read_string(plan.files[Path(plan.exports["AWS_CONFIG_FILE"])].decode())
    assert shared.sections() == ["profile PROD"]
    value = json.loads(plan.exports["TF_VAR_tfc_aws_dynamic_credentials"])
    assert value["default"] is None
    assert value["aliases"] == {"PROD": {"shared_config_file": str(tmp_path / "aws_PROD.config")}}


def test_every_problem_names_the_tagged_variable(workspace: dict[str, str]) -> None:
    env = _aws_only(
        workspace,
        ENABLE_DYNAMIC_CREDENTIALS_AWS_PROD="true",
        WORKLOAD_IDENTITY_ROLE_AWS_PROD_APPLY="not-an-arn",
        ENABLE_DYNAMIC_CREDENTIALS_AWS_PLAN="true",
        ENABLE_DYNAMIC_CREDENTIALS_AWS_DEV="maybe",
        INJECTOR_ENABLE_AZURE_X="on",
        ENABLE_DYNAMIC_CREDENTIALS_VAULT_X="on",
    )
    problems = _problems(env, phase="apply")

    assert any(
        p.startswith("WORKLOAD_IDENTITY_ROLE_AWS_PROD_APPLY: expected arn:") for p in problems
    )
    assert any(p.startswith("ENABLE_DYNAMIC_CREDENTIALS_AWS_PLAN: expected") for p in problems)
    assert any(
        p.startswith("ENABLE_DYNAMIC_CREDENTIALS_AWS_DEV: expected one of") for p in problems
    )
    assert any(p.startswith("ARM_CLIENT_ID_X: is required") for p in problems)
    assert any(p.startswith("WORKLOAD_IDENTITY_VAULT_ROLE_X: is required") for p in problems)
    assert len(problems) == 5, problems


def test_the_identity_is_never_borrowed_from_the_untagged_configuration(
    workspace: dict[str, str],
) -> None:
    """The role is the tag's own (no fallback to WORKLOAD_IDENTITY_ROLE_AWS); other settings
    (audience, region) fall back to the untagged value."""
    env = _aws_only(workspace, ENABLE_DYNAMIC_CREDENTIALS_AWS_PROD="true")
    [problem] = _problems(env, phase="plan")
    assert problem.startswith("WORKLOAD_IDENTITY_ROLE_AWS_PROD: is required")


def test_static_credentials_are_refused_once(workspace: dict[str, str]) -> None:
    env = _aws_only(
        workspace,
        ENABLE_DYNAMIC_CREDENTIALS_AWS_PROD="true",
        WORKLOAD_IDENTITY_ROLE_AWS_PROD=PROD_ROLE,
        AWS_ACCESS_KEY_ID="AKIA-not-shown",
    )
    problems = _problems(env)

    assert len(problems) == 1
    assert problems[0].startswith("AWS_ACCESS_KEY_ID: is set")
    assert "AKIA-not-shown" not in problems[0]


def test_azure_and_gcp_tags_are_reached_through_files_only(
    workspace: dict[str, str], tmp_path: Path
) -> None:
    env = {
        **workspace,
        "ENABLE_DYNAMIC_CREDENTIALS_AWS": "false",
        "ENABLE_DYNAMIC_CREDENTIALS_AZURE_PROD": "true",
        "ARM_CLIENT_ID_PROD": CLIENT,
        "ENABLE_DYNAMIC_CREDENTIALS_GCP_PROD": "true",
        "WORKLOAD_IDENTITY_AUDIENCE_GCP_PROD": (
            "//iam.googleapis.com/projects/42/locations/global/workloadIdentityPools/pool-prod/providers/prov-prod"
        ),
    }
    untagged = _plan({k: v for k, v in env.items() if not k.endswith("_PROD")}, tmp_path / "a")
    plan = _plan(env, tmp_path / "b")
    folder = tmp_path / "b"

    # The tagged configurations export nothing of their own: the environment stays the
    # untagged one's (plus HCP's variables).
    own = {k: v for k, v in plan.exports.items() if not k.startswith("TF_VAR_")}
    assert own == {
        k: v.replace(str(tmp_path / "a"), str(folder)) for k, v in untagged.exports.items()
    }
    azure = json.loads(plan.exports["TF_VAR_tfc_azure_dynamic_credentials"])
    assert azure["aliases"]["PROD"] == {
        "client_id_file_path": str(folder / "azure_PROD.client-id"),
        "oidc_token_file_path": str(folder / "azure_PROD.jwt"),
    }
    assert azure["default"]["oidc_token_file_path"] == str(folder / "azure.jwt")
    assert plan.files[folder / "azure_PROD.client-id"] == CLIENT.encode()
    gcp = json.loads(plan.exports["TF_VAR_tfc_gcp_dynamic_credentials"])
    prod_credentials = folder / "gcp_PROD-credentials.json"
    assert gcp["aliases"]["PROD"] == {"credentials": str(prod_credentials)}
    document = json.loads(plan.files[prod_credentials])
    assert document["audience"] == env["WORKLOAD_IDENTITY_AUDIENCE_GCP_PROD"]
    assert document["credential_source"]["file"] == str(folder / "gcp_PROD.jwt")
    assert gcp["default"] == {"credentials": str(folder / "gcp-credentials.json")}


def test_hcp_variables_for_every_cloud_on_request(
    workspace: dict[str, str], tmp_path: Path
) -> None:
    plan = _plan(_aws_only(workspace, INJECTOR_TERRAFORM_VARIABLES="true"), tmp_path)

    value = json.loads(plan.exports["TF_VAR_tfc_aws_dynamic_credentials"])
    assert value == {"default": {"shared_config_file": str(tmp_path / "aws.config")}, "aliases": {}}
    own = configparser.ConfigParser()
    own.read_string(plan.files[tmp_path / "aws.config"].decode())
    assert own["default"]["role_arn"] == ROLE
    # The untagged identity stays in the environment: no profile is shared.
    assert plan.exports["AWS_ROLE_ARN"] == ROLE


# The spelling check knows the variables of the clouds the environment switches on.


@pytest.mark.parametrize(
    ("name", "plain"),
    [
        ("ENABLE_DYNAMIC_CREDENTIALS_AWS_PROD", "ENABLE_DYNAMIC_CREDENTIALS_AWS"),
        ("INJECTOR_ENABLE_AZURE_EU_WEST", "INJECTOR_ENABLE_AZURE"),
        ("WORKLOAD_IDENTITY_ROLE_AWS_PROD_APPLY", "WORKLOAD_IDENTITY_ROLE_AWS"),
        ("ARM_TENANT_ID_PROD", "ARM_TENANT_ID"),
        ("WORKLOAD_IDENTITY_AUDIENCE_GCP_X1", "WORKLOAD_IDENTITY_AUDIENCE_GCP"),
    ],
)
def test_tagged_names_are_known(name: str, plain: str) -> None:
    assert [tags.untagged(cloud, name) for cloud in clouds.registered()].count(plain) == 1
    assert spelling.tagged(name, clouds.registered())


@pytest.mark.parametrize(
    "name", ["ENABLE_DYNAMIC_CREDENTIALS_AWS_", "WORKLOAD_IDENTITY_ROLE_AWS_PLAN", "ARM_TENANT_IDX"]
)
def test_not_tagged_names(name: str) -> None:
    assert not spelling.tagged(name, clouds.registered())


def test_no_misspelling_warning_for_a_tagged_switch(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="injector"):
        spelling.warn(
            {"ENABLE_DYNAMIC_CREDENTIALS_AWS_PROD": "true", "ENABLE_DYNAMIC_CREDENTIALS_AWZ": "1"}
        )
    assert "ENABLE_DYNAMIC_CREDENTIALS_AWS_PROD" not in caplog.text
    assert "ENABLE_DYNAMIC_CREDENTIALS_AWZ" in caplog.text


def test_injectors_own_profiles_are_not_a_conflict(
    workspace: dict[str, str], tmp_path: Path
) -> None:
    """A job run inside one that already has injector's AWS_CONFIG_FILE (a nested run, the
    hook's next step) is not refused for the profiles injector wrote."""
    env = _aws_only(
        workspace,
        ENABLE_DYNAMIC_CREDENTIALS_AWS_PROD="true",
        WORKLOAD_IDENTITY_ROLE_AWS_PROD=PROD_ROLE,
    )
    first = _plan(env, tmp_path / "first")
    for path, data in first.files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    again = _plan({**env, **first.exports}, tmp_path / "second")

    assert len(again.clouds) == 2


def test_the_token_endpoint_serves_the_untagged_configuration(
    workspace: dict[str, str], tmp_path: Path
) -> None:
    """`run --token-endpoint` points the environment's SDKs (the untagged configuration) at
    the endpoint; a tagged configuration keeps its files, and never lends its token."""
    import base64
    import urllib.request

    from injector.job import token_endpoint
    from injector.job.session import JobSession

    env = {
        **workspace,
        "ENABLE_DYNAMIC_CREDENTIALS_AWS": "false",
        "ENABLE_DYNAMIC_CREDENTIALS_GCP": "false",
        "ENABLE_DYNAMIC_CREDENTIALS_AZURE_PROD": "true",
        "ARM_CLIENT_ID_PROD": CLIENT,
        "WORKLOAD_IDENTITY_AUDIENCE_AZURE_PROD": "api://prod",
    }
    prepared = pipeline.prepare(env)
    assert prepared is not None
    with JobSession(prepared, tmp_path / "creds") as session:
        endpoint = token_endpoint.serve(prepared, session.plan, session.folder)
        try:
            request = urllib.request.Request(
                endpoint.exports["ARM_OIDC_REQUEST_URL"],
                headers={"Authorization": f"Bearer {endpoint.exports['ARM_OIDC_REQUEST_TOKEN']}"},
            )
            with urllib.request.urlopen(request, timeout=10) as answer:
                token = json.loads(answer.read())["value"]
        finally:
            endpoint.stop()
        assert (tmp_path / "creds" / "azure_PROD.jwt").is_file()
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))

    assert claims["aud"] == "api://AzureADTokenExchange"
    assert endpoint.requests == ["azure"]


def test_a_clouds_rules_refuse_once_for_all_its_configurations(
    workspace: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    env = _aws_only(
        workspace,
        ENABLE_DYNAMIC_CREDENTIALS_AWS="false",
        ENABLE_DYNAMIC_CREDENTIALS_GCP="true",
        ENABLE_DYNAMIC_CREDENTIALS_GCP_PROD="true",
        DynamicCredentialTtl="2000",
    )
    with pytest.raises(ConfigError) as caught:
        pipeline.prepare(env)

    assert [p.variable for p in caught.value.problems] == ["DynamicCredentialTtl"]


def test_advice_names_the_configuration(
    workspace: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    env = _aws_only(
        workspace,
        ENABLE_DYNAMIC_CREDENTIALS_AWS="false",
        ENABLE_DYNAMIC_CREDENTIALS_AWS_PROD="true",
        WORKLOAD_IDENTITY_ROLE_AWS_PROD=PROD_ROLE,
    )
    del env["AWS_REGION"]
    with caplog.at_level(logging.WARNING, logger="injector"):
        pipeline.prepare(env)

    assert "aws_PROD: neither AWS_REGION nor AWS_DEFAULT_REGION is set" in caplog.text


def test_another_clouds_longer_switch_is_not_a_tag() -> None:
    # Vault-backed AWS's switch extends Vault's: its switch and tagged forms are its own, while
    # a true Vault tag beside them is still read as one.
    vault = next(line for line in clouds.REGISTRY if line.name == "vault").load()
    env = {
        "ENABLE_DYNAMIC_CREDENTIALS_VAULT_BACKED_AWS": "true",
        "ENABLE_DYNAMIC_CREDENTIALS_VAULT_BACKED_AWS_PROD": "true",
        "INJECTOR_ENABLE_VAULT_BACKED_AWS": "true",
        "ENABLE_DYNAMIC_CREDENTIALS_VAULT_BACKEDUP": "true",
    }
    assert tags.found(vault, env) == (("BACKEDUP",), [])


VAULT_TAGGED = {
    "ENABLE_DYNAMIC_CREDENTIALS_AZURE": "false",
    "ENABLE_DYNAMIC_CREDENTIALS_GCP": "false",
    "ENABLE_DYNAMIC_CREDENTIALS_AWS": "false",
    "ENABLE_DYNAMIC_CREDENTIALS_VAULT": "true",
    "VAULT_ADDR": "https://vault.example.com",
    "WORKLOAD_IDENTITY_VAULT_ROLE": "default-role",
    "ENABLE_DYNAMIC_CREDENTIALS_VAULT_PROD": "true",
    "WORKLOAD_IDENTITY_VAULT_ROLE_PROD": "prod-role",
}


def test_an_inherited_values_problem_names_the_variable_the_user_set(
    workspace: dict[str, str],
) -> None:
    """A bad untagged value that a tag inherits is one problem, under its own name."""
    env = {**workspace, **VAULT_TAGGED, "VAULT_NAMESPACE": "bad namespace"}
    [problem] = _problems(env)
    assert problem.startswith("VAULT_NAMESPACE: expected a namespace path")


def test_a_setting_given_one_way_by_the_tag_inherits_no_other_way(
    workspace: dict[str, str], tmp_path: Path
) -> None:
    """The untagged configuration's CA as a path, the tag's as a value: each its own."""
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(trustme.CA().cert_pem.bytes())
    pem = trustme.CA().cert_pem.bytes()
    env = {
        **workspace,
        **VAULT_TAGGED,
        "VAULT_CACERT": str(ca_file),
        "WORKLOAD_IDENTITY_VAULT_ENCODED_CACERT_PROD": base64.b64encode(pem).decode(),
    }
    plan = _plan(env, tmp_path / "job")

    assert plan.exports["VAULT_CACERT"] == str(ca_file)
    assert plan.files[tmp_path / "job" / "vault_PROD-ca.pem"] == pem
    assert tmp_path / "job" / "vault-ca.pem" not in plan.files
