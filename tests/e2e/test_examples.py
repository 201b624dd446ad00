"""The worked examples in examples/: Terraform that trusts exactly the tokens the injector mints,
a Terrakube template whose scripts run the hook for their own phase, and the executor image.

The Terraform is parsed with python-hcl2 (no provider can be downloaded here), its `${var.*}`
references are filled in with sample values, and the result is compared with the claims of
tokens that `injector env` really mints for the same organization, workspace and host.
"""

from __future__ import annotations

import base64
import functools
import importlib.metadata
import json
import os
import re
import shlex
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import hcl2
import pytest
import yaml
from hcl2 import SerializationOptions

from injector import DISTRIBUTION
from injector.clouds import aws, azure, gcp
from injector.job import phases
from tests.conftest import ROOT, run_injector
from tests.support import terraform

EXAMPLES = ROOT / "examples"
TF_FILES = sorted(EXAMPLES.rglob("*.tf"))
MODULES = sorted({path.parent for path in TF_FILES})

# Every resource and data source type the examples use, each looked up in its provider's
# documentation for the versions pinned below (see the "Versions" part of each README).
RESOURCE_TYPES = {
    "aws_eks_identity_provider_config",
    "aws_iam_openid_connect_provider",
    "aws_iam_policy",
    "aws_iam_role",
    "aws_iam_role_policy_attachment",
    "aws_s3_bucket",
    "azuread_application",
    "azuread_application_federated_identity_credential",
    "azuread_service_principal",
    "azurerm_resource_group",
    "azurerm_role_assignment",
    "google_iam_workload_identity_pool",
    "google_iam_workload_identity_pool_provider",
    "google_project_iam_member",
    "google_service_account",
    "google_service_account_iam_member",
    "google_storage_bucket",
    "vault_aws_secret_backend",
    "vault_aws_secret_backend_role",
    "vault_jwt_auth_backend",
    "vault_jwt_auth_backend_role",
    "vault_policy",
}
DATA_SOURCE_TYPES = {
    "aws_iam_policy_document",
    "aws_partition",
    "azuread_client_config",
    "azurerm_subscription",
    "tls_certificate",
    "vault_kv_secret_v2",
}
# The constraints those lookups were made for. azuread 3.0 renamed the arguments the Azure
# example uses (client_id, application_id), so 2.x must stay out.
PROVIDERS = {
    "aws": ("hashicorp/aws", ">= 5.0, < 7.0"),
    "tls": ("hashicorp/tls", ">= 4.0, < 5.0"),
    "azuread": ("hashicorp/azuread", ">= 3.0, < 4.0"),
    "azurerm": ("hashicorp/azurerm", ">= 4.0, < 5.0"),
    "google": ("hashicorp/google", ">= 6.0, < 8.0"),
    "vault": ("hashicorp/vault", ">= 4.0, < 6.0"),
}

# Sample inputs, matching the job context of injector.job.example (the Terrakube docs'
# walk-through).
HOST = "terrakube-api.example.com"
ORGANIZATION = "simple"
WORKSPACE = "simple-cli"
SUBJECT = f"organization:{ORGANIZATION}:workspace:{WORKSPACE}"
PROJECT_NUMBER = "123456789012"

_HCL = SerializationOptions(with_comments=False, explicit_blocks=False, strip_string_quotes=True)
_VAR = re.compile(r"\$\{var\.([a-z_]+)\}")


@functools.cache
def parse(path: Path) -> dict[str, Any]:
    """One .tf file (parsed once per test session: the tests only read the result)."""
    parsed: dict[str, Any] = hcl2.loads(path.read_text(), serialization_options=_HCL)
    return parsed


def module(folder: Path) -> dict[str, list[dict[str, Any]]]:
    """All top-level blocks of a Terraform module (every .tf in one folder), by block kind."""
    merged: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(folder.glob("*.tf")):
        for kind, blocks in parse(path).items():
            merged.setdefault(kind, []).extend(blocks)
    return merged


def blocks(folder: Path, kind: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(type, name, body) of every `resource` or `data` block of a module."""
    for entry in module(folder).get(kind, []):
        for type_, named in entry.items():
            for name, body in named.items():
                yield type_, name, body


def one(folder: Path, kind: str, type_: str) -> dict[str, Any]:
    found = [body for t, _, body in blocks(folder, kind) if t == type_]
    assert len(found) == 1, f"{folder}: expected one {kind} {type_}, found {len(found)}"
    return found[0]


def variables(folder: Path, **given: str) -> dict[str, str]:
    """The module's variables: `given` values for those without a default, else the default."""
    values: dict[str, str] = {}
    for entry in module(folder)["variable"]:
        for name, body in entry.items():
            if name in given:
                values[name] = given[name]
            else:
                assert "default" in body, f"{folder}: no sample value for variable {name}"
                values[name] = body["default"]
    return values


def fill(text: str, values: Mapping[str, str]) -> str:
    """`text` with every `${var.NAME}` replaced; any other interpolation is left as it was."""
    return _VAR.sub(lambda match: values[match.group(1)], text)


def rendered_subjects(
    folder: Path, values: Mapping[str, str], template: str | None = None
) -> dict[str, str]:
    """`local.subjects` of a trust example's subject.tf as the real `terraform console` evaluates
    it (no provider needed): the sub each phase's identity trusts."""
    return terraform.trust_subjects(folder, values["organization"], values["workspace"], template)


def claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return decoded


@pytest.fixture
def minted(workspace: dict[str, str], tmp_path: Path) -> dict[str, dict[str, Any]]:
    """The claims of the three tokens `injector env` mints for the sample workspace."""
    env = {
        **workspace,
        "DynamicCredentialHostname": HOST,
        "organizationName": ORGANIZATION,
        "workspaceName": WORKSPACE,
        # As the GCP trust example's output would give it, for the sample project number.
        "WORKLOAD_IDENTITY_AUDIENCE_GCP": (
            f"//iam.googleapis.com/projects/{PROJECT_NUMBER}/locations/global/"
            "workloadIdentityPools/terrakube/providers/terrakube"
        ),
    }
    result = run_injector("env", "--dir", str(tmp_path / "tokens"), "--format", "json", env=env)
    assert result.returncode == 0, result.stderr
    exports = json.loads(result.stdout)
    return {
        "aws": claims(Path(exports["AWS_WEB_IDENTITY_TOKEN_FILE"]).read_text()),
        "azure": claims(Path(exports["ARM_OIDC_TOKEN_FILE_PATH"]).read_text()),
        "gcp": claims((tmp_path / "tokens" / "gcp.jwt").read_text()),
    }


# -- every file ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", TF_FILES, ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_every_terraform_file_parses(path: Path) -> None:
    assert parse(path), f"{path} is empty"


def test_the_examples_hold_the_expected_modules() -> None:
    names = {str(folder.relative_to(EXAMPLES)) for folder in MODULES}
    assert names == {
        f"{cloud}/{part}"
        for cloud in ("aws", "azure", "gcp", "vault")
        for part in ("trust", "workspace")
    } | {
        "aws/many-workspaces",
        "aws/many-workspaces/account",
        "gcp/many-workspaces",
        "gcp/many-workspaces/pool",
        "kubernetes-trust/eks",
        "vault-backed-aws/trust",
    }
    for folder in MODULES:
        assert (folder / "README.md").is_file(), f"{folder} has no README.md"


@pytest.mark.parametrize("folder", MODULES, ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_only_verified_types_and_pinned_providers(folder: Path) -> None:
    used = {t for t, _, _ in blocks(folder, "resource")}
    read = {t for t, _, _ in blocks(folder, "data")}
    assert used <= RESOURCE_TYPES, f"unverified resource types: {used - RESOURCE_TYPES}"
    assert read <= DATA_SOURCE_TYPES, f"unverified data sources: {read - DATA_SOURCE_TYPES}"

    (terraform,) = module(folder)["terraform"]
    required: dict[str, dict[str, str]] = {}
    for entry in terraform["required_providers"]:
        required.update(entry)
    for name, spec in required.items():
        assert (spec["source"], spec["version"]) == PROVIDERS[name], f"{folder}: provider {name}"
    # Every type belongs to a provider the module pins, named by the type's prefix.
    for type_ in used | read:
        assert type_.split("_", 1)[0] in required, f"{folder}: {type_} from an unpinned provider"
    # Each README says which versions it was written against.
    readme = (folder / "README.md").read_text()
    for name in required:
        assert PROVIDERS[name][1] in readme, f"{folder}/README.md does not name {name}'s versions"


# -- AWS ---------------------------------------------------------------------------------------


def test_aws_trust_accepts_exactly_the_injectors_aws_token(minted: dict[str, Any]) -> None:
    folder = EXAMPLES / "aws" / "trust"
    values = variables(
        folder, terrakube_hostname=HOST, organization=ORGANIZATION, workspace=WORKSPACE
    )
    token = minted["aws"]
    assert (token["iss"], token["sub"]) == (f"https://{HOST}", SUBJECT)
    issuer_host = token["iss"].removeprefix("https://")

    provider = one(folder, "resource", "aws_iam_openid_connect_provider")
    assert fill(provider["url"], values) == token["iss"]
    assert [fill(v, values) for v in provider["client_id_list"]] == [token["aud"]]
    assert provider["thumbprint_list"] == [
        "${data.tls_certificate.issuer.certificates[0].sha1_fingerprint}"
    ]
    assert fill(one(folder, "data", "tls_certificate")["url"], values) == token["iss"]

    trust = {
        name: body for t, name, body in blocks(folder, "data") if t == "aws_iam_policy_document"
    }
    assert trust["trust"]["for_each"] == "${local.subjects}"
    (statement,) = trust["trust"]["statement"]
    assert statement["actions"] == ["sts:AssumeRoleWithWebIdentity", "sts:TagSession"]
    (principal,) = statement["principals"]
    assert principal == {
        "type": "Federated",
        "identifiers": ["${aws_iam_openid_connect_provider.terrakube.arn}"],
    }
    subjects = rendered_subjects(folder, values)
    conditions = {
        fill(c["variable"], values): [
            fill(v, values).replace("${each.value}", subjects["plan"]) for v in c["values"]
        ]
        for c in statement["condition"]
    }
    assert all(c["test"] == "StringEquals" for c in statement["condition"])
    assert statement["condition"][1]["values"] == ["${each.value}"]
    assert conditions == {
        f"{issuer_host}:aud": [token["aud"]],
        f"{issuer_host}:sub": [token["sub"]],
    }


def _iam_policy(document: dict[str, Any], values: Mapping[str, str], arn: str) -> dict[str, Any]:
    """An aws_iam_policy_document's statements as the IAM JSON policy Terraform renders."""
    statements = []
    for statement in document["statement"]:
        conditions: dict[str, dict[str, list[str]]] = {}
        for condition in statement.get("condition", []):
            tests = conditions.setdefault(condition["test"], {})
            tests[fill(condition["variable"], values)] = [
                fill(v, values) for v in condition["values"]
            ]
        statements.append(
            {
                "Effect": statement["effect"],
                "Action": statement["actions"],
                "Principal": {"Federated": [arn]},
                "Condition": conditions,
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


@pytest.mark.parametrize(
    ("organization", "tags", "assumes", "tags_session"),
    [
        ("simple", {"terrakube:org": "simple", "terrakube:workspace": "any"}, True, True),
        ("simple", {}, False, False),  # without ENABLE_AWS_SESSION_TAGS
        ("other", {"terrakube:org": "other", "terrakube:workspace": "any"}, False, False),
    ],
)
def test_aws_organization_role_serves_any_workspace_by_its_session_tags(
    organization: str, tags: dict[str, str], assumes: bool, tags_session: bool
) -> None:
    from tests.standins.aws_sts import trusts

    folder = EXAMPLES / "aws" / "trust"
    values = variables(folder, terrakube_hostname=HOST, organization="simple", workspace=WORKSPACE)
    documents = {
        name: body for t, name, body in blocks(folder, "data") if t == "aws_iam_policy_document"
    }
    arn = "arn:aws:iam::123456789012:oidc-provider/" + HOST
    policy = _iam_policy(documents["organization_trust"], values, arn)
    token = {"aud": "aws.workload.identity", "sub": f"organization:{organization}:workspace:w1"}
    assert trusts(policy, arn, HOST, token, tags) is assumes
    assert trusts(policy, arn, HOST, token, tags, "sts:TagSession") is tags_session
    # Permissions reach the session's own workspace only, through its principal tag.
    (access,) = documents["organization_access"]["statement"]
    assert all("$${aws:PrincipalTag/terrakube:workspace}" in r for r in access["resources"])


def test_aws_trust_has_a_read_only_plan_role_and_a_write_apply_role() -> None:
    folder = EXAMPLES / "aws" / "trust"
    roles = {name: body for t, name, body in blocks(folder, "resource") if t == "aws_iam_role"}
    assert set(roles) == {"plan", "apply", "organization"}
    for name in ("plan", "apply"):
        assert roles[name]["assume_role_policy"] == (
            f'${{data.aws_iam_policy_document.trust["{name}"].json}}'
        )

    documents = {
        name: body for t, name, body in blocks(folder, "data") if t == "aws_iam_policy_document"
    }
    read_actions = {a for s in documents["read"]["statement"] for a in s["actions"]}
    assert read_actions == {"s3:Get*", "s3:List*"}
    policies = {name: body for t, name, body in blocks(folder, "resource") if t == "aws_iam_policy"}
    attached = {
        body["role"]: body["policy_arn"]
        for t, _, body in blocks(folder, "resource")
        if t == "aws_iam_role_policy_attachment"
    }
    assert attached == {
        "${aws_iam_role.plan.name}": "${aws_iam_policy.read.arn}",
        "${aws_iam_role.apply.name}": "${aws_iam_policy.write.arn}",
        "${aws_iam_role.organization.name}": "${aws_iam_policy.organization.arn}",
    }
    assert policies["read"]["policy"] == "${data.aws_iam_policy_document.read.json}"

    outputs = {name for entry in module(folder)["output"] for name in entry}
    assert {"plan_role_arn", "apply_role_arn"} <= outputs


@pytest.mark.parametrize("cloud", ["aws", "azure", "gcp"])
def test_trust_subjects_follow_the_issuers_template(cloud: str) -> None:
    """Without {phase} both identities trust one sub; with it, each trusts only its phase's."""
    folder = EXAMPLES / cloud / "trust"
    values = {"organization": ORGANIZATION, "workspace": WORKSPACE}
    plain = f"organization:{ORGANIZATION}:workspace:{WORKSPACE}"
    assert rendered_subjects(folder, values) == {"plan": plain, "apply": plain}
    assert rendered_subjects(folder, values, terraform.PHASED_TEMPLATE) == {
        "plan": f"{plain}:run_phase:plan",
        "apply": f"{plain}:run_phase:apply",
    }
    hcp = "organization:{organization}:project:{project}:workspace:{workspace}"
    with pytest.raises(
        ValueError, match=re.escape("fills {organization}, {workspace} and {phase} only")
    ):
        rendered_subjects(folder, values, hcp)
    assert (folder / "subject.tf").read_text() == (EXAMPLES / "aws/trust/subject.tf").read_text()


# -- Azure -------------------------------------------------------------------------------------


def test_azure_federated_credential_matches_the_injectors_azure_token(
    minted: dict[str, Any],
) -> None:
    folder = EXAMPLES / "azure" / "trust"
    values = variables(
        folder, terrakube_hostname=HOST, organization=ORGANIZATION, workspace=WORKSPACE
    )
    token = minted["azure"]
    credential = one(folder, "resource", "azuread_application_federated_identity_credential")
    assert credential["audiences"] == ["api://AzureADTokenExchange"] == [token["aud"]]
    assert credential["subject"] == "${local.subjects[each.key]}"
    assert rendered_subjects(folder, values) == {"plan": token["sub"], "apply": token["sub"]}
    assert fill(credential["issuer"], values) == token["iss"]
    # azuread 3.x: the application's resource ID, not application_object_id (removed in 3.0).
    assert credential["application_id"] == "${azuread_application.terrakube[each.key].id}"
    assert "application_object_id" not in credential


def test_azure_app_per_phase_with_a_service_principal_and_a_role() -> None:
    folder = EXAMPLES / "azure" / "trust"
    (local,) = [block for block in module(folder)["locals"] if "phases" in block]
    assert set(local["phases"]) == {"plan", "apply"}
    principal = one(folder, "resource", "azuread_service_principal")
    # azuread 3.x: client_id (application_id was removed in 3.0).
    assert principal["client_id"] == "${azuread_application.terrakube[each.key].client_id}"
    assignment = one(folder, "resource", "azurerm_role_assignment")
    assert (
        assignment["principal_id"] == "${azuread_service_principal.terrakube[each.key].object_id}"
    )
    assert assignment["role_definition_name"] == "${each.value}"
    for body in (principal, assignment, one(folder, "resource", "azuread_application")):
        assert body["for_each"] == "${local.phases}"
    outputs = {name for entry in module(folder)["output"] for name in entry}
    assert {"plan_client_id", "apply_client_id", "tenant_id"} <= outputs


def test_azure_workspace_leaves_the_login_to_the_environment() -> None:
    folder = EXAMPLES / "azure" / "workspace"
    (provider,) = [entry["azurerm"] for entry in module(folder)["provider"]]
    assert provider == {"features": [{}]}
    assert one(folder, "resource", "azurerm_resource_group")


# -- Google Cloud ------------------------------------------------------------------------------


def test_gcp_provider_maps_and_pins_the_injectors_gcp_token(minted: dict[str, Any]) -> None:
    folder = EXAMPLES / "gcp" / "trust"
    values = variables(
        folder,
        project_id="my-project",
        terrakube_hostname=HOST,
        organization=ORGANIZATION,
        workspace=WORKSPACE,
    )
    token = minted["gcp"]
    provider = one(folder, "resource", "google_iam_workload_identity_pool_provider")
    mapping = provider["attribute_mapping"]
    assert mapping["google.subject"] == "assertion.sub"
    assert mapping["attribute.terrakube_workspace_id"] == "assertion.terrakube_workspace_id"
    assert mapping["attribute.terrakube_organization_id"] == "assertion.terrakube_organization_id"
    for claim in ("sub", "terrakube_workspace_id", "terrakube_organization_id"):
        assert claim in token
    assert len(token["sub"]) <= 127  # google.subject's limit

    (oidc,) = provider["oidc"]
    assert fill(oidc["issuer_uri"], values) == token["iss"]
    # No allowed_audiences: Google then wants the provider's own name, which is what the token has.
    assert "allowed_audiences" not in oidc
    provider_name = (
        f"projects/{PROJECT_NUMBER}/locations/global/workloadIdentityPools/"
        f"{values['pool_id']}/providers/{values['provider_id']}"
    )
    assert token["aud"] == f"https://iam.googleapis.com/{provider_name}"

    # The condition pins the organization: the sub's prefix, as CEL's startsWith tests it.
    condition = fill(provider["attribute_condition"], values)
    prefix = re.fullmatch(r'assertion\.sub\.startsWith\("([^"]*)"\)', condition)
    assert prefix is not None, condition
    assert prefix.group(1) == f"organization:{ORGANIZATION}:workspace:"
    assert token["sub"].startswith(prefix.group(1))
    assert not f"organization:other-{ORGANIZATION}:workspace:x".startswith(prefix.group(1))


def test_gcp_service_accounts_trust_the_workspaces_principal(minted: dict[str, Any]) -> None:
    folder = EXAMPLES / "gcp" / "trust"
    values = variables(
        folder,
        project_id="my-project",
        terrakube_hostname=HOST,
        organization=ORGANIZATION,
        workspace=WORKSPACE,
    )
    binding = one(folder, "resource", "google_service_account_iam_member")
    assert binding["role"] == "roles/iam.workloadIdentityUser"
    assert binding["service_account_id"] == "${google_service_account.terrakube[each.key].name}"
    pool_name = f"projects/{PROJECT_NUMBER}/locations/global/workloadIdentityPools/terrakube"
    member = (
        fill(binding["member"], values)
        .replace("${google_iam_workload_identity_pool.terrakube.name}", pool_name)
        .replace("${local.subjects[each.key]}", rendered_subjects(folder, values)["plan"])
    )
    assert member == f"principal://iam.googleapis.com/{pool_name}/subject/{minted['gcp']['sub']}"

    outputs = {name: body for entry in module(folder)["output"] for name, body in entry.items()}
    assert outputs["workload_identity_audience"]["value"] == (
        "//iam.googleapis.com/${google_iam_workload_identity_pool_provider.terrakube.name}"
    )
    assert {"provider_name", "plan_service_account_email", "apply_service_account_email"} <= set(
        outputs
    )


# -- READMEs name the variables the injector reads ----------------------------------------------


@pytest.mark.parametrize(
    ("cloud", "enable", "phased"),
    [
        ("aws", aws.ENABLE, aws.ROLE),
        ("azure", azure.ENABLE, azure.CLIENT_ID),
        ("gcp", gcp.ENABLE, gcp.SERVICE_ACCOUNT),
    ],
)
def test_workspace_readme_lists_the_variables_the_injector_reads(
    cloud: str, enable: str, phased: str
) -> None:
    readme = (EXAMPLES / cloud / "workspace" / "README.md").read_text()
    assert phased in phases.phased({enable: "true"})
    for name in (enable, f"INJECTOR_ENABLE_{cloud.upper()}", f"{phased}_PLAN", f"{phased}_APPLY"):
        assert f"`{name}`" in readme, f"{cloud}/workspace/README.md does not list {name}"
    assert "injector run --phase plan -- terraform plan" in readme


# -- the Terrakube template ----------------------------------------------------------------------

TEMPLATE = EXAMPLES / "terrakube" / "template.yaml"
DESTROY_TEMPLATE = EXAMPLES / "terrakube" / "destroy-template.yaml"
# Terrakube's flow types that run terraform (FlowType in its executor), and the phase whose
# identity each needs: a destroy plan only reads, a destroy writes.
PHASE_OF_STEP = {
    "terraformPlan": "plan",
    "terraformApply": "apply",
    "terraformPlanDestroy": "plan",
    "terraformDestroy": "apply",
}


def template_steps(*templates: Path) -> list[dict[str, Any]]:
    """The steps of the given templates (default: both), in order."""
    flow: list[dict[str, Any]] = []
    for template in templates or (TEMPLATE, DESTROY_TEMPLATE):
        flow.extend(yaml.safe_load(template.read_text())["flow"])
    return flow


def test_template_plans_waits_for_approval_then_applies() -> None:
    assert [(s["type"], s["step"]) for s in template_steps(TEMPLATE)] == [
        ("terraformPlan", 100),
        ("approval", 150),
        ("terraformApply", 200),
    ]
    assert [(s["type"], s["step"]) for s in template_steps(DESTROY_TEMPLATE)] == [
        ("terraformPlanDestroy", 100),
        ("approval", 150),
        ("terraformDestroy", 200),
    ]
    steps = template_steps()
    # Terrakube's Command bean: runtime, script, priority, before, after, verbose, beforeInit.
    allowed = {"runtime", "script", "priority", "before", "after", "verbose", "beforeInit"}
    for step in steps:
        for command in step.get("commands", []):
            assert set(command) <= allowed


@pytest.mark.parametrize("step_type", sorted(PHASE_OF_STEP))
def test_each_terraform_step_runs_the_hook_for_its_phase_before_init(step_type: str) -> None:
    (step,) = [s for s in template_steps() if s["type"] == step_type]
    (command,) = step["commands"]
    assert command["runtime"] == "BASH"
    assert command["beforeInit"] is True
    assert isinstance(command["priority"], int)
    hooks = [
        shlex.split(line)
        for line in command["script"].splitlines()
        if line.strip().startswith("injector ")
    ]
    assert len(hooks) == 1
    assert hooks[0][:4] == ["injector", "hook", "--phase", PHASE_OF_STEP[step_type]]
    assert command["script"].startswith("set -euo pipefail\n")


def run_step(
    step_type: str, job: Mapping[str, str], working: Path
) -> subprocess.CompletedProcess[str]:
    """The step's script as Terrakube's executor runs it: written to userScript.sh in the working
    directory and started as `bash userScript.sh` there, with the job's variables."""
    (step,) = [s for s in template_steps() if s["type"] == step_type]
    (working / "userScript.sh").write_text(step["commands"][0]["script"])
    # The injector console script sits next to this interpreter, as /usr/local/bin/injector does
    # in the executor image.
    path = os.pathsep.join([str(Path(sys.executable).parent), "/usr/bin", "/bin"])
    env = {
        "PATH": path,
        "LANG": "C.UTF-8",
        **job,
        "workingDirectory": str(working),
        "terrakubeEnv": str(working / ".terrakube_temp_env"),
    }
    return subprocess.run(
        ["bash", "userScript.sh"],
        cwd=working,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def executor_env_file(text: str) -> dict[str, str]:
    """The env file as Terrakube's executor reads it: `line.split("=")`, parts 0 and 1. A line
    that would not give exactly two parts would be cut or would throw: none may appear."""
    loaded = {}
    for line in text.splitlines():
        parts = line.split("=")
        assert len(parts) == 2 and parts[1], f"Terrakube would misread {parts[0]}"
        loaded[parts[0]] = parts[1]
    return loaded


@pytest.fixture
def terrakube_job(workspace: dict[str, str]) -> dict[str, str]:
    """A workspace as examples/terrakube/README.md says to set it up: INJECTOR_ENABLE_* switches
    and one identity per phase."""
    job = {
        key: value
        for key, value in workspace.items()
        if not key.startswith("ENABLE_DYNAMIC_CREDENTIALS_") and key not in phases.phased(workspace)
    }
    job.update(
        {
            "INJECTOR_ENABLE_AWS": "true",
            "INJECTOR_ENABLE_AZURE": "true",
            "INJECTOR_ENABLE_GCP": "true",
            "WORKLOAD_IDENTITY_ROLE_AWS_PLAN": "arn:aws:iam::123456789012:role/terrakube-plan",
            "WORKLOAD_IDENTITY_ROLE_AWS_APPLY": "arn:aws:iam::123456789012:role/terrakube-apply",
            "ARM_CLIENT_ID_PLAN": "11111111-0000-0000-0000-00000000a001",
            "ARM_CLIENT_ID_APPLY": "11111111-0000-0000-0000-00000000a002",
            "WORKLOAD_IDENTITY_SERVICE_ACCOUNT_EMAIL_PLAN": (
                "terrakube-plan@my-project.iam.gserviceaccount.com"
            ),
            "WORKLOAD_IDENTITY_SERVICE_ACCOUNT_EMAIL_APPLY": (
                "terrakube-apply@my-project.iam.gserviceaccount.com"
            ),
        }
    )
    return job


@pytest.mark.parametrize("step_type", sorted(PHASE_OF_STEP))
def test_template_script_gives_terraform_the_phases_identities(
    step_type: str, terrakube_job: dict[str, str], tmp_path: Path
) -> None:
    phase = PHASE_OF_STEP[step_type]
    working = tmp_path / "job"
    working.mkdir()
    (working / ".terrakube_temp_env").write_text("TF_IN_AUTOMATION=1\n")

    result = run_step(step_type, terrakube_job, working)
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr

    loaded = executor_env_file((working / ".terrakube_temp_env").read_text())
    assert loaded["TF_IN_AUTOMATION"] == "1"
    assert loaded["AWS_ROLE_ARN"] == terrakube_job[f"WORKLOAD_IDENTITY_ROLE_AWS_{phase.upper()}"]
    assert loaded["ARM_CLIENT_ID"] == terrakube_job[f"ARM_CLIENT_ID_{phase.upper()}"]
    assert loaded["ARM_USE_OIDC"] == "true"
    folder = working / ".terraform" / "injector"
    assert loaded["AWS_WEB_IDENTITY_TOKEN_FILE"] == str(folder / "aws.jwt")
    assert loaded["ARM_OIDC_TOKEN_FILE_PATH"] == str(folder / "azure.jwt")
    credentials = json.loads(Path(loaded["GOOGLE_APPLICATION_CREDENTIALS"]).read_text())
    email = terrakube_job[f"WORKLOAD_IDENTITY_SERVICE_ACCOUNT_EMAIL_{phase.upper()}"]
    assert credentials["service_account_impersonation_url"].endswith(
        f"/serviceAccounts/{email}:generateAccessToken"
    )
    # Terrakube's executor switches its own credentials on when it sees these names in the
    # environment it builds from this file: they must never be written there.
    assert not any(name.startswith("ENABLE_DYNAMIC_CREDENTIALS_") for name in loaded)
    token = claims((folder / "aws.jwt").read_text())
    assert (
        token["sub"]
        == f"organization:{terrakube_job['organizationName']}:workspace:"
        + (terrakube_job["workspaceName"])
    )


def test_template_script_warns_about_terrakubes_own_switch(
    terrakube_job: dict[str, str], tmp_path: Path
) -> None:
    working = tmp_path / "job"
    working.mkdir()
    del terrakube_job["INJECTOR_ENABLE_AWS"]
    terrakube_job["ENABLE_DYNAMIC_CREDENTIALS_AWS"] = "true"
    terrakube_job["INJECTOR_ENABLE_GCP"] = "false"

    result = run_step("terraformPlan", terrakube_job, working)
    assert result.returncode == 0, result.stderr
    assert (
        "warning: ENABLE_DYNAMIC_CREDENTIALS_AWS also turns on Terrakube's own credentials"
        in result.stderr
    )
    loaded = executor_env_file((working / ".terrakube_temp_env").read_text())
    # The Terrakube name still switches the injector on; INJECTOR_ENABLE_GCP=false switches off.
    assert "AWS_ROLE_ARN" in loaded
    assert "GOOGLE_APPLICATION_CREDENTIALS" not in loaded


def test_template_script_fails_the_step_on_a_configuration_error(
    terrakube_job: dict[str, str], tmp_path: Path
) -> None:
    working = tmp_path / "job"
    working.mkdir()
    del terrakube_job["WORKLOAD_IDENTITY_ROLE_AWS_APPLY"]

    result = run_step("terraformApply", terrakube_job, working)
    assert result.returncode == 2
    assert "WORKLOAD_IDENTITY_ROLE_AWS" in result.stderr
    assert not (working / ".terrakube_temp_env").exists()


# -- the executor image --------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = (EXAMPLES / "terrakube" / "Dockerfile").read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    instructions = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, arguments = line.strip().partition(" ")
            instructions.append((keyword.upper(), arguments.strip()))
    return instructions


def test_dockerfile_installs_into_opt_injector_and_links_the_console_script() -> None:
    instructions = dockerfile_instructions()
    keywords = [keyword for keyword, _ in instructions]
    assert keywords[:2] == ["ARG", "FROM"]
    assert instructions[1][1] == "azbuilder/executor:${TERRAKUBE_VERSION}"
    assert instructions[0][1].startswith("TERRAKUBE_VERSION=")

    runs = " && ".join(arguments for keyword, arguments in instructions if keyword == "RUN")
    assert "apt-get install -y --no-install-recommends python3 python3-venv" in runs
    assert "python3 -m venv /opt/injector" in runs
    assert "/opt/injector/bin/pip install" in runs
    assert "ln -s /opt/injector/bin/injector /usr/local/bin/injector" in runs
    assert "injector --version" in runs

    # The wheel the COPY line picks up is the one `pip wheel .` builds from this project, and
    # it brings the console script the link points at.
    distribution = importlib.metadata.distribution(DISTRIBUTION)
    copy = next(arguments for keyword, arguments in instructions if keyword == "COPY")
    # A wheel's file name has the distribution's name with `-` written `_` (PEP 427).
    wheel_name = distribution.metadata["Name"].replace("-", "_")
    assert copy.split()[0] == f"dist/{wheel_name}-*.whl"
    scripts = {e.name: e.value for e in distribution.entry_points if e.group == "console_scripts"}
    assert scripts == {"injector": "injector.cli:main"}

    # Root only for the installation; the executor runs as its own user again.
    users = [arguments for keyword, arguments in instructions if keyword == "USER"]
    assert users == ["root", "${RUN_USER}"]
    assert keywords[-1] == "USER"


# -- Vault ---------------------------------------------------------------------------------------


def minted_for(env: Mapping[str, str], name: str, folder: Path) -> tuple[Any, dict[str, Any]]:
    """The configuration of cloud `name` in a job of the example's host, organization and
    workspace, and the claims of the token minted for it."""
    from injector.job import pipeline

    job = {
        **env,
        "DynamicCredentialHostname": HOST,
        "organizationName": ORGANIZATION,
        "workspaceName": WORKSPACE,
    }
    prepared = pipeline.prepare(job)
    assert prepared is not None
    plan = pipeline.mint(prepared, folder)
    (cloud,) = [c for c in plan.clouds if c.config.name == name]
    return cloud.config, cloud.token.claims


def test_vault_trust_role_binds_exactly_the_injectors_vault_token(
    workspace: dict[str, str], tmp_path: Path
) -> None:
    env = {**workspace, "ENABLE_DYNAMIC_CREDENTIALS_VAULT": "true"}
    _, token = minted_for(env, "vault", tmp_path)

    folder = EXAMPLES / "vault" / "trust"
    values = variables(
        folder, terrakube_hostname=HOST, organization=ORGANIZATION, workspace=WORKSPACE
    )
    backend = one(folder, "resource", "vault_jwt_auth_backend")
    assert fill(backend["bound_issuer"], values) == token["iss"]
    assert fill(backend["jwks_url"], values) == f"{token['iss']}/.well-known/jwks"
    assert fill(backend["path"], values) == env.get("WORKLOAD_IDENTITY_VAULT_AUTH_PATH", "jwt")
    role = one(folder, "resource", "vault_jwt_auth_backend_role")
    assert [fill(v, values) for v in role["bound_audiences"]] == [token["aud"]]
    assert fill(role["bound_subject"], values) == token["sub"]
    assert role["user_claim"] in token
    assert role["token_max_ttl"] > role["token_ttl"]
    policy = one(folder, "resource", "vault_policy")["policy"]
    for path in ("auth/token/renew-self", "auth/token/revoke-self"):
        assert path in policy
    (provider,) = module(EXAMPLES / "vault" / "workspace")["provider"]
    assert provider["vault"]["skip_child_token"] is True


def readme_workspace_variables(folder: Path) -> dict[str, str]:
    """The `NAME=value` lines of the README's last sh block (the workspace's variables)."""
    text = (folder / "README.md").read_text()
    block = text[text.rindex("```sh\n") + len("```sh\n") :]
    lines = block[: block.index("```")].splitlines()
    entries = (line.split("#", 1)[0].strip() for line in lines)
    return {name: value for name, _, value in (e.partition("=") for e in entries if e)}


def test_vault_backed_aws_example_grants_what_the_workspace_asks_for(
    workspace: dict[str, str], tmp_path: Path
) -> None:
    """The workspace variables the README shows are accepted, log in with a token the example's
    JWT role binds, and ask the engine role and mount the example creates, which its policy
    grants along with the lease and token calls `injector run` makes."""
    folder = EXAMPLES / "vault-backed-aws" / "trust"
    shown = readme_workspace_variables(folder)
    env = {**workspace, **shown, "ENABLE_DYNAMIC_CREDENTIALS_AWS": "false"}
    config, token = minted_for(env, "vault_backed_aws", tmp_path)

    values = variables(
        folder,
        organization=ORGANIZATION,
        workspace=WORKSPACE,
        role_arn=shown["WORKLOAD_IDENTITY_VAULT_BACKED_AWS_ROLE_ARN"],
        engine_access_key="unused",
        engine_secret_key="unused",
    )
    login = one(folder, "resource", "vault_jwt_auth_backend_role")
    assert fill(login["role_name"], values) == config.vault.role
    assert fill(login["backend"], values) == config.vault.auth_path
    assert [fill(v, values) for v in login["bound_audiences"]] == [token["aud"]]
    assert fill(login["bound_subject"], values) == token["sub"]
    assert login["user_claim"] in token

    engine = one(folder, "resource", "vault_aws_secret_backend")
    role = one(folder, "resource", "vault_aws_secret_backend_role")
    assert fill(engine["path"], values) == config.mount_path
    assert fill(role["name"], values) == config.vault_role
    assert role["credential_type"] == config.auth_type
    assert [fill(v, values) for v in role["role_arns"]] == [config.role_arn]

    policy = fill(one(folder, "resource", "vault_policy")["policy"], values)
    granted = dict(re.findall(r'path "([^"]+)" \{\s*capabilities = \[([^\]]*)\]', policy))
    wanted = [f"{config.mount_path}/sts/{config.vault_role}", "sys/leases/renew"]
    wanted += ["sys/leases/revoke", "auth/token/renew-self", "auth/token/revoke-self"]
    for path in wanted:
        assert granted.get(path) == '"update"', f"the policy does not grant update on {path}"


@pytest.mark.parametrize("page", ["README.md", "docs/guides/terrakube.md"])
def test_the_terrakube_steps_shown_are_the_templates(page: str) -> None:
    """The Terrakube snippet of the README and of the guide is what the template runs (and the
    template's scripts run in the tests above), step for step."""
    text = (ROOT / page).read_text()
    section = text[text.index("# Use with Terrakube") :]
    snippet = section[section.index("```yaml\n") + len("```yaml\n") :]
    snippet = textwrap.dedent(snippet[: snippet.index("```")])
    shown = yaml.safe_load(snippet)["flow"]
    terraform_steps = [step for step in template_steps(TEMPLATE) if step["type"] in PHASE_OF_STEP]
    assert [(s["type"], s["step"]) for s in shown] == [
        (s["type"], s["step"]) for s in terraform_steps
    ]
    for shown_step, step in zip(shown, terraform_steps, strict=True):
        keys = ("runtime", "priority", "beforeInit", "script")
        assert [{k: c[k] for k in keys} for c in shown_step["commands"]] == [
            {k: c[k] for k in keys} for c in step["commands"]
        ]
