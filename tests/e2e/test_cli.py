"""The command line as users and scripts run it: `python -m injector` in a clean environment."""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path

import jwt
import pytest
from joserfc import jwt as jose_jwt
from joserfc.jwk import RSAKey

from tests.conftest import KeyFiles, run_injector
from tests.support import issuers

ISSUER = "https://terrakube-api.example.com"
SUBJECT = "organization:simple:workspace:simple-cli"
GCP_PROVIDER = (
    "//iam.googleapis.com/projects/123456789012/locations/global/"
    "workloadIdentityPools/terrakube/providers/terrakube"
)
AUDIENCES = {
    "aws": "aws.workload.identity",
    "azure": "api://AzureADTokenExchange",
    "gcp": "https:" + GCP_PROVIDER,
}


def _env_json(workspace: dict[str, str], folder: Path) -> dict[str, str]:
    result = run_injector("env", "--dir", str(folder), "--format", "json", env=workspace)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    exports: dict[str, str] = json.loads(result.stdout)
    return exports


def _verify(token: str, public_pem: Path, audience: str) -> dict[str, object]:
    """Verify with pyjwt and, independently, joserfc; return the claims."""
    public_key = issuers.public_key(public_pem.read_bytes())
    claims: dict[str, object] = jwt.decode(
        token, public_key, algorithms=["RS256"], audience=audience, issuer=ISSUER
    )
    joserfc_token = jose_jwt.decode(token, RSAKey.import_key(public_pem.read_bytes()), ["RS256"])
    assert joserfc_token.claims == claims
    return claims


@pytest.mark.parametrize("key_kind", ["pkcs8", "pkcs1"])
def test_env_json_three_clouds_tokens_files_and_exports(
    workspace: dict[str, str], key_files: KeyFiles, tmp_path: Path, key_kind: str
) -> None:
    if key_kind == "pkcs1":
        workspace["DynamicCredentialPrivateKeyPath"] = str(key_files.private_pkcs1)
    folder = tmp_path / "creds"
    before = int(time.time())
    exports = _env_json(workspace, folder)
    after = int(time.time())

    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert sorted(p.name for p in folder.iterdir()) == [
        "aws.jwt",
        "azure.jwt",
        "gcp-credentials.json",
        "gcp.jwt",
    ]
    for path in folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path

    jtis = set()
    for cloud, audience in AUDIENCES.items():
        raw = (folder / f"{cloud}.jwt").read_bytes()
        assert not raw.endswith(b"\n")
        token = raw.decode()
        header = jwt.get_unverified_header(token)
        assert header == {
            "kid": "03446895-220d-47e1-9564-4eeaa3691b42",
            "alg": "RS256",
            "typ": "JWT",
        }
        claims = _verify(token, key_files.public, audience)
        assert list(claims) == [
            "sub",
            "aud",
            "jti",
            "terrakube_workspace_id",
            "terrakube_organization_id",
            "terrakube_workspace_name",
            "terrakube_organization_name",
            "terrakube_job_id",
            "iat",
            "iss",
            "exp",
        ]
        assert claims["sub"] == SUBJECT
        assert claims["aud"] == audience
        assert claims["iss"] == ISSUER
        assert claims["terrakube_workspace_id"] == "d9b58bd3-f3fc-4056-a026-1163297e80a8"
        assert claims["terrakube_organization_id"] == "8abe206b-29a8-4ed8-8a3b-30237e295659"
        assert claims["terrakube_job_id"] == "1"
        iat = claims["iat"]
        assert isinstance(iat, int) and before <= iat <= after
        assert claims["exp"] == iat + 30 * 60
        jtis.add(claims["jti"])
    assert len(jtis) == 3

    assert exports == {
        "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/terrakube-role",
        "AWS_WEB_IDENTITY_TOKEN_FILE": str(folder / "aws.jwt"),
        "AWS_ROLE_SESSION_NAME": "terrakube-simple-simple-cli-1",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "ARM_USE_OIDC": "true",
        "ARM_OIDC_TOKEN_FILE_PATH": str(folder / "azure.jwt"),
        "ARM_CLIENT_ID": "11111111-2222-3333-4444-555555555555",
        "ARM_TENANT_ID": "66666666-7777-8888-9999-000000000000",
        "ARM_SUBSCRIPTION_ID": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        "AZURE_CLIENT_ID": "11111111-2222-3333-4444-555555555555",
        "AZURE_TENANT_ID": "66666666-7777-8888-9999-000000000000",
        "AZURE_FEDERATED_TOKEN_FILE": str(folder / "azure.jwt"),
        "AZURE_AUTHORITY_HOST": "https://login.microsoftonline.com/",
        "GOOGLE_APPLICATION_CREDENTIALS": str(folder / "gcp-credentials.json"),
        "CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE": str(folder / "gcp-credentials.json"),
        "GOOGLE_PROJECT": "my-project",
        "GOOGLE_CLOUD_PROJECT": "my-project",
    }
    assert json.loads((folder / "gcp-credentials.json").read_text()) == {
        "type": "external_account",
        "audience": GCP_PROVIDER,
        "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
        "token_url": "https://sts.googleapis.com/v1/token",
        "service_account_impersonation_url": (
            "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/"
            "terraform@my-project.iam.gserviceaccount.com:generateAccessToken"
        ),
        "credential_source": {"file": str(folder / "gcp.jwt"), "format": {"type": "text"}},
    }


def test_env_without_dir_makes_a_private_temporary_folder(workspace: dict[str, str]) -> None:
    result = run_injector("env", "--format", "json", env=workspace)
    assert result.returncode == 0, result.stderr
    token_file = Path(json.loads(result.stdout)["AWS_WEB_IDENTITY_TOKEN_FILE"])
    try:
        assert stat.S_IMODE(token_file.parent.stat().st_mode) == 0o700
        assert token_file.parent.name.startswith("injector-")
    finally:
        for path in token_file.parent.iterdir():
            path.unlink()
        token_file.parent.rmdir()


def test_env_never_prints_the_token(workspace: dict[str, str], tmp_path: Path) -> None:
    for form in ("shell", "dotenv", "json", "terrakube", "github"):
        folder = tmp_path / form
        result = run_injector(
            "env", "--dir", str(folder), "--format", form, "--log-level", "debug", env=workspace
        )
        assert result.returncode == 0, result.stderr
        for name in ("aws.jwt", "azure.jwt", "gcp.jwt"):
            token = (folder / name).read_text()
            signature = token.rsplit(".", 1)[1]
            assert signature not in result.stdout + result.stderr


def test_cli_overrides_replace_the_job_context(workspace: dict[str, str], tmp_path: Path) -> None:
    result = run_injector(
        "env",
        "--dir",
        str(tmp_path / "d"),
        "--organization",
        "acme",
        "--workspace",
        "network-prod",
        "--organization-id",
        "org-7",
        "--workspace-id",
        "ws-9",
        "--job-id",
        "42",
        env=workspace,
    )
    assert result.returncode == 0, result.stderr
    claims = jwt.decode(
        (tmp_path / "d" / "aws.jwt").read_text(), options={"verify_signature": False}
    )
    assert claims["sub"] == "organization:acme:workspace:network-prod"
    assert (claims["terrakube_organization_id"], claims["terrakube_workspace_id"]) == (
        "org-7",
        "ws-9",
    )
    assert claims["terrakube_job_id"] == "42"


def test_env_with_no_cloud_enabled_exports_nothing(tmp_path: Path) -> None:
    result = run_injector("env", "--dir", str(tmp_path / "d"), "--format", "json", env={})
    assert result.returncode == 0
    assert json.loads(result.stdout) == {}
    assert "no cloud has dynamic credentials enabled" in result.stderr
    assert not (tmp_path / "d").exists()


def test_only_the_enabled_cloud_is_minted(workspace: dict[str, str], tmp_path: Path) -> None:
    workspace["ENABLE_DYNAMIC_CREDENTIALS_AZURE"] = "false"
    workspace["ENABLE_DYNAMIC_CREDENTIALS_GCP"] = "0"
    exports = _env_json(workspace, tmp_path / "d")
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == ["aws.jwt"]
    assert all(name.startswith("AWS_") for name in exports)


def test_shell_output_is_safe_to_eval_with_a_hostile_folder_name(
    workspace: dict[str, str], tmp_path: Path
) -> None:
    import subprocess

    folder = tmp_path / 'it\'s $(touch pwned) `x` "q" ;& \\ dir'
    result = run_injector("env", "--dir", str(folder), env=workspace)
    assert result.returncode == 0, result.stderr
    shown = subprocess.run(
        ["bash", "-c", 'eval "$1" && printf %s "$AWS_WEB_IDENTITY_TOKEN_FILE"', "_", result.stdout],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert shown.stdout == str(folder / "aws.jwt")
    assert not (tmp_path / "pwned").exists()


def test_dry_run_writes_nothing_and_says_the_key_is_throwaway(tmp_path: Path) -> None:
    result = run_injector("--example", "--dir", str(tmp_path / "d"), env={})
    assert result.returncode == 0, result.stderr
    assert "throw-away" in result.stdout
    for cloud, audience in AUDIENCES.items():
        assert f"== {cloud}: token for audience {audience}" in result.stdout
    assert f'"sub": "{SUBJECT}"' in result.stdout
    assert "AWS_ROLE_ARN=arn:aws:iam::123456789012:role/terrakube-role" in result.stdout
    assert not (tmp_path / "d").exists()


def test_dry_run_on_the_environment_uses_the_configured_key(
    workspace: dict[str, str], tmp_path: Path
) -> None:
    result = run_injector(env=workspace)
    assert result.returncode == 0, result.stderr
    assert "throw-away" not in result.stdout
    assert "RSA-2048 (RS256, kid 03446895-220d-47e1-9564-4eeaa3691b42)" in result.stdout


def test_dry_run_with_nothing_enabled_says_so() -> None:
    result = run_injector(env={})
    assert result.returncode == 0
    assert "no cloud has dynamic credentials enabled" in result.stdout


# Operators' typos: every row must end in exit 2, name the variable, and write nothing.
MALFORMED = [
    ("ENABLE_DYNAMIC_CREDENTIALS_AWS", "ture", "true/false"),
    ("ENABLE_DYNAMIC_CREDENTIALS_AZURE", "", "true/false"),
    ("ENABLE_DYNAMIC_CREDENTIALS_GCP", "enabled", "true/false"),
    ("WORKLOAD_IDENTITY_ROLE_AWS", "terrakube-role", "arn:<partition>"),
    ("WORKLOAD_IDENTITY_ROLE_AWS", "arn:aws:iam::12345678901:role/x", "12-digit"),
    ("WORKLOAD_IDENTITY_ROLE_AWS", "arn:aws:iam::123456789012:user/x", "role/"),
    ("WORKLOAD_IDENTITY_ROLE_AWS", "arn:aws:iam::123456789012:role/x ", "role/"),
    ("WORKLOAD_IDENTITY_ROLE_AWS", "arn:aws:sts::123456789012:role/x", "role/"),
    ("WORKLOAD_IDENTITY_AUDIENCE_AWS", " aws.workload.identity", "blanks"),
    ("AWS_REGION", "us-east", "us-east-1"),
    ("AWS_REGION", "US-EAST-1", "us-east-1"),
    ("AWS_ROLE_SESSION_NAME", "has space", "2 to 64"),
    ("ARM_CLIENT_ID", "not-a-guid", "GUID"),
    ("ARM_CLIENT_ID", "11111111-2222-3333-4444-55555555555", "GUID"),
    ("ARM_TENANT_ID", "contoso.onmicrosoft.com", "GUID"),
    ("ARM_SUBSCRIPTION_ID", "sub-1", "GUID"),
    ("AZURE_AUTHORITY_HOST", "http://login.microsoftonline.com/", "https://"),
    ("WORKLOAD_IDENTITY_AUDIENCE_GCP", "projects/1/pools/x", "//iam.googleapis.com"),
    (
        "WORKLOAD_IDENTITY_AUDIENCE_GCP",
        "//iam.googleapis.com/projects/my-project/locations/global/workloadIdentityPools/pool/providers/prov",
        "project number",
    ),
    ("WORKLOAD_IDENTITY_SERVICE_ACCOUNT_EMAIL", "terraform@gmail.com", "gserviceaccount"),
    ("GOOGLE_PROJECT", "My Project", "project id"),
    ("WORKLOAD_IDENTITY_STS_URL_GCP", "http://sts.example.com/v1/token", "https://"),
    ("DynamicCredentialTtl", "30m", "whole number of minutes"),
    ("DynamicCredentialTtl", "0", "from 1 to 1440"),
    ("DynamicCredentialTtl", "1441", "from 1 to 1440"),
    ("DynamicCredentialTtl", "-5", "whole number"),
    ("DynamicCredentialId", "my key", "without blanks"),
    ("DynamicCredentialHostname", "https://terrakube-api.example.com/", "no trailing '/'"),
    ("DynamicCredentialHostname", "terrakube api", "host name"),
    ("DynamicCredentialHostname", "ftp://terrakube-api.example.com", "host name"),
    ("DynamicCredentialPrivateKeyPath", "/nonexistent/key.pem", "no such file"),
    ("organizationName", "simple:workspace:other", "':'"),
    ("workspaceName", "a:b", "':'"),
    ("workspaceName", "line\nbreak", "control character"),
    ("workspaceName", "", "is required"),
    ("organizationId", "", "is required"),
    ("jobId", "", "--job-id"),
]


@pytest.mark.parametrize(("variable", "value", "expected"), MALFORMED)
def test_malformed_value_exits_2_names_it_and_writes_nothing(
    workspace: dict[str, str], tmp_path: Path, variable: str, value: str, expected: str
) -> None:
    workspace[variable] = value
    folder = tmp_path / "creds"
    result = run_injector("env", "--dir", str(folder), env=workspace)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert f"injector: error: {variable}: " in result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert not folder.exists()


def test_every_problem_is_reported_at_once(workspace: dict[str, str], tmp_path: Path) -> None:
    workspace.update({"ARM_CLIENT_ID": "x", "AWS_REGION": "mars-1", "DynamicCredentialTtl": "soon"})
    del workspace["workspaceName"]
    result = run_injector("env", "--dir", str(tmp_path / "d"), env=workspace)
    assert result.returncode == 2
    for variable in ("ARM_CLIENT_ID", "AWS_REGION", "DynamicCredentialTtl", "workspaceName"):
        assert f"error: {variable}: " in result.stderr


@pytest.mark.parametrize(
    ("variable", "cloud_switch"),
    [
        ("AWS_ACCESS_KEY_ID", "ENABLE_DYNAMIC_CREDENTIALS_AWS"),
        ("AWS_SECRET_ACCESS_KEY", "ENABLE_DYNAMIC_CREDENTIALS_AWS"),
        ("ARM_CLIENT_SECRET", "ENABLE_DYNAMIC_CREDENTIALS_AZURE"),
        ("AZURE_CLIENT_CERTIFICATE_PATH", "ENABLE_DYNAMIC_CREDENTIALS_AZURE"),
        ("GOOGLE_CREDENTIALS", "ENABLE_DYNAMIC_CREDENTIALS_GCP"),
        ("GOOGLE_OAUTH_ACCESS_TOKEN", "ENABLE_DYNAMIC_CREDENTIALS_GCP"),
    ],
)
def test_static_credentials_are_refused_without_showing_them(
    workspace: dict[str, str], tmp_path: Path, variable: str, cloud_switch: str
) -> None:
    workspace[variable] = "s3cr3t-value-never-shown"
    result = run_injector("env", "--dir", str(tmp_path / "d"), env=workspace)
    assert result.returncode == 2
    assert f"error: {variable}: is set" in result.stderr
    assert cloud_switch in result.stderr
    assert "s3cr3t-value-never-shown" not in result.stderr
    assert not (tmp_path / "d").exists()


def test_static_credentials_of_a_disabled_cloud_are_left_alone(
    workspace: dict[str, str], tmp_path: Path
) -> None:
    workspace["ENABLE_DYNAMIC_CREDENTIALS_AWS"] = "false"
    workspace["AWS_ACCESS_KEY_ID"] = "AKIAEXAMPLE"
    assert run_injector("env", "--dir", str(tmp_path / "d"), env=workspace).returncode == 0


@pytest.mark.parametrize(
    ("attribute", "expected"),
    [
        ("public", "holds a public key"),
        ("small_private", "RSA-1024"),
        ("ec_private", "expected an RSA key"),
        ("encrypted_private", "encrypted"),
    ],
)
def test_unusable_private_keys_exit_2(
    workspace: dict[str, str], key_files: KeyFiles, tmp_path: Path, attribute: str, expected: str
) -> None:
    workspace["DynamicCredentialPrivateKeyPath"] = str(getattr(key_files, attribute))
    workspace.pop("DynamicCredentialPublicKeyPath")
    result = run_injector("env", "--dir", str(tmp_path / "d"), env=workspace)
    assert result.returncode == 2
    assert "error: DynamicCredentialPrivateKeyPath: " in result.stderr
    assert expected in result.stderr
    assert not (tmp_path / "d").exists()


def test_public_key_of_another_pair_is_refused(
    workspace: dict[str, str], key_files: KeyFiles, tmp_path: Path
) -> None:
    workspace["DynamicCredentialPublicKeyPath"] = str(key_files.other_public)
    result = run_injector("env", "--dir", str(tmp_path / "d"), env=workspace)
    assert result.returncode == 2
    assert "DynamicCredentialPublicKeyPath: " in result.stderr
    assert "does not match the private key" in result.stderr


def test_missing_private_key_is_required_outside_the_dry_run(
    workspace: dict[str, str], tmp_path: Path
) -> None:
    del workspace["DynamicCredentialPrivateKeyPath"]
    result = run_injector("env", "--dir", str(tmp_path / "d"), env=workspace)
    assert result.returncode == 2
    assert "DynamicCredentialPrivateKeyPath: is required" in result.stderr


def test_terrakube_format_refuses_values_it_would_cut(
    workspace: dict[str, str], tmp_path: Path
) -> None:
    workspace["WORKLOAD_IDENTITY_ROLE_AWS"] = "arn:aws:iam::123456789012:role/a=b"
    result = run_injector(
        "env", "--dir", str(tmp_path / "d"), "--format", "terrakube", env=workspace
    )
    assert result.returncode == 2
    assert "AWS_ROLE_ARN: its value contains '='" in result.stderr
    assert result.stdout == ""
    assert not (tmp_path / "d").exists()


def test_dir_open_to_others_is_refused(workspace: dict[str, str], tmp_path: Path) -> None:
    folder = tmp_path / "shared"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    result = run_injector("env", "--dir", str(folder), env=workspace)
    assert result.returncode == 2
    assert "--dir: " in result.stderr and "0755" in result.stderr
    assert list(folder.iterdir()) == []


def test_dir_that_is_a_file_is_refused(workspace: dict[str, str], tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    result = run_injector("env", "--dir", str(target), env=workspace)
    assert result.returncode == 2
    assert "is not a folder" in result.stderr


def test_unknown_option_and_format_are_usage_errors(workspace: dict[str, str]) -> None:
    for args in (("env", "--format", "yaml"), ("--frobnicate",), ("nosuchcommand",)):
        result = run_injector(*args, env=workspace)
        assert result.returncode == 2, args
        assert "injector: error: usage: " in result.stderr
        assert "Traceback" not in result.stderr


def test_console_script_and_module_are_the_same_program(workspace: dict[str, str]) -> None:
    import subprocess
    import sys

    script = Path(sys.executable).parent / "injector"
    via_script = subprocess.run(
        [str(script), "--version"], capture_output=True, text=True, check=True
    )
    via_module = run_injector("--version", env={})
    assert via_script.stdout == via_module.stdout
    assert via_module.stdout.startswith("injector ")
