"""Class 4 of the hostile-input issue: values that look like others, overflow a cloud's limits,
or leak through messages. Each case runs the real CLI and expects exit 2 naming the variable,
with nothing on stdout (nothing exported) and no internal error."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from injector.clouds import aws, aws_roles, aws_rules
from injector.config import issuer_settings, job_context
from tests.conftest import run_injector
from tests.support.issuers import fetch_json, injector_serve, issuer_environment, make_issuer_keys


def _refused(result: subprocess.CompletedProcess[str], variable: str) -> str:
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert "internal error" not in result.stderr
    assert f"injector: error: {variable}: " in result.stderr
    return result.stderr


@pytest.mark.parametrize(
    "character",
    [
        "\u202e",  # right-to-left override: `kroy` reads as `york`
        "\u200b",  # zero width space
        "\u2028",  # line separator
        "\u2029",  # paragraph separator
        "\u00a0",  # no-break space
        "\u3000",  # ideographic space
        "\ufeff",  # byte order mark
        "\ue000",  # private use
        "\u0378",  # unassigned
        "\uff1a",  # fullwidth colon, which reads as ':'
    ],
)
@pytest.mark.parametrize(
    "variable",
    [
        job_context.ORGANIZATION_NAME,
        job_context.WORKSPACE_NAME,
        job_context.ORGANIZATION_ID,
        job_context.JOB_ID,
        aws.AUDIENCE,
    ],
)
def test_invisible_and_look_alike_characters_refused(
    workspace: dict[str, str], tmp_path: Path, variable: str, character: str
) -> None:
    env = {**workspace, variable: f"acme{character}workspace"}
    result = run_injector("env", "--dir", str(tmp_path / "out"), env=env)
    message = _refused(result, variable)
    assert f"U+{ord(character):04X}" in message
    assert not (tmp_path / "out").exists()


def test_fullwidth_colon_cannot_fake_a_subject(workspace: dict[str, str], tmp_path: Path) -> None:
    """With U+FF1A for the colons, `sub` would show in a trust policy as `a:workspace:b`."""
    env = {**workspace, job_context.ORGANIZATION_NAME: "a\uff1aworkspace\uff1ab"}
    message = _refused(run_injector("env", env=env), job_context.ORGANIZATION_NAME)
    assert "reads as ':'" in message


def test_plain_unicode_names_still_accepted(workspace: dict[str, str], tmp_path: Path) -> None:
    env = {**workspace, job_context.WORKSPACE_NAME: "Zürich Büro"}
    result = run_injector("env", "--format", "json", "--dir", str(tmp_path / "o"), env=env)
    assert result.returncode == 0, result.stderr


def test_name_over_the_length_limit(workspace: dict[str, str]) -> None:
    long = "w" * (job_context.MAX_LENGTH + 1)
    message = _refused(
        run_injector("env", env={**workspace, job_context.WORKSPACE_NAME: long}),
        job_context.WORKSPACE_NAME,
    )
    assert f"at most {job_context.MAX_LENGTH}" in message
    assert long not in message


def test_subject_over_googles_limit_refused_only_when_gcp_is_on(
    workspace: dict[str, str], tmp_path: Path
) -> None:
    names = {job_context.ORGANIZATION_NAME: "o" * 60, job_context.WORKSPACE_NAME: "w" * 60}
    message = _refused(run_injector("env", env={**workspace, **names}), job_context.WORKSPACE_NAME)
    assert "google.subject" in message
    assert "127" in message
    without_gcp = {**workspace, **names, "ENABLE_DYNAMIC_CREDENTIALS_GCP": "false"}
    result = run_injector("env", "--dir", str(tmp_path / "o"), env=without_gcp)
    assert result.returncode == 0, result.stderr


def test_longest_values_make_a_token_aws_takes(key_files: object, tmp_path: Path) -> None:
    """Every value at its limit (ASCII names, ids, audience, a 2048-character issuer): the
    token stays within AWS's 20,000 characters."""
    from tests.conftest import KeyFiles

    assert isinstance(key_files, KeyFiles)
    host = ".".join(["h" * 63] * 3) + ".example"
    path = "/p" * ((issuer_settings.MAX_ISSUER_LENGTH - len("https://" + host)) // 2)
    env = {
        "ENABLE_DYNAMIC_CREDENTIALS_AWS": "true",
        aws.ROLE: "arn:aws:iam::123456789012:role/" + "r" * aws_roles.MAX_ROLE_NAME,
        aws.AUDIENCE: "a" * aws.MAX_AUDIENCE,
        **dict.fromkeys(job_context.OPTIONS, "x" * job_context.MAX_LENGTH),
        issuer_settings.HOSTNAME: f"https://{host}{path}",
        issuer_settings.PRIVATE_KEY_PATH: str(key_files.private_pkcs8),
    }
    folder = tmp_path / "out"
    result = run_injector("env", "--format", "json", "--dir", str(folder), env=env)
    assert result.returncode == 0, result.stderr
    token = (folder / "aws.jwt").read_bytes()
    assert len(token) > 4 * job_context.MAX_LENGTH + issuer_settings.MAX_ISSUER_LENGTH
    assert len(token) <= aws_rules.MAX_TOKEN_BYTES


def test_five_thousand_digit_ttl(workspace: dict[str, str]) -> None:
    env = {**workspace, issuer_settings.TTL: "9" * 5000}
    message = _refused(run_injector("env", env=env), issuer_settings.TTL)
    assert "5000 digits" in message
    assert len(message) < 500


@pytest.mark.parametrize("partition", aws_roles.PARTITIONS)
def test_every_real_partition_accepted(workspace: dict[str, str], partition: str) -> None:
    env = {**workspace, aws.ROLE: f"arn:{partition}:iam::123456789012:role/deploy"}
    assert run_injector("--log-level", "error", env=env).returncode == 0


@pytest.mark.parametrize(
    "role",
    [
        "arn:aws-evil:iam::123456789012:role/deploy",
        "arn:aws-iso-z:iam::123456789012:role/deploy",
        "arn:aws-:iam::123456789012:role/deploy",
        "arn:aws:iam::123456789012:role/" + "n" * 65,
        "arn:aws:iam::123456789012:role/" + "p/" * 256 + "deploy",
    ],
)
def test_role_arn_outside_iam(workspace: dict[str, str], role: str) -> None:
    _refused(run_injector("env", env={**workspace, aws.ROLE: role}), aws.ROLE)


@pytest.mark.parametrize(
    "host",
    [
        "http://terrakube.example.com",  # plain http off loopback
        "http://10.0.0.1:8080",
        "terrakube..example.com",  # empty label
        ".terrakube.example.com",
        "example.com/a/../b",  # dot-segments
        "example.com/./b",
        "example.com/a//b",
        "example.com/%2e%2e/jwks",  # %-escapes: serve would decode them before routing
        "example.com/a%41",
        "h" * 64 + ".example.com",  # a label over 63
        ".".join(["h" * 63] * 4) + ".com",  # a name over 253
        "https://terrakube\u2024example.com",  # one dot leader, not a '.'
    ],
)
def test_issuer_host_refused(workspace: dict[str, str], host: str) -> None:
    env = {**workspace, issuer_settings.HOSTNAME: host}
    _refused(run_injector("env", env=env), issuer_settings.HOSTNAME)


def test_plain_http_issuer_on_loopback_accepted(workspace: dict[str, str]) -> None:
    env = {**workspace, issuer_settings.HOSTNAME: "http://127.0.0.1:8080"}
    assert run_injector(env=env).returncode == 0


def test_serve_answers_where_discovery_says(tmp_path: Path) -> None:
    """An issuer path of every character the host setting takes: `serve` answers at exactly
    the URL the discovery document names, not at a decoded or normalised one."""
    keys = make_issuer_keys(tmp_path / "keys")
    env = {
        **issuer_environment(keys),
        issuer_settings.HOSTNAME: "terrakube-api.example.com/t.e~n_a-n.t/x",
    }
    with injector_serve(env) as server:
        discovery = fetch_json(f"{server.base}/t.e~n_a-n.t/x/.well-known/openid-configuration")
        assert discovery["issuer"] == "https://terrakube-api.example.com/t.e~n_a-n.t/x"
        jwks = discovery["jwks_uri"].removeprefix("https://terrakube-api.example.com")
        assert fetch_json(server.base + jwks)["keys"]


def test_url_password_never_shown(workspace: dict[str, str]) -> None:
    env = {**workspace, issuer_settings.HOSTNAME: "https://deploy:hunter2@example.com"}
    message = _refused(run_injector("env", env=env), issuer_settings.HOSTNAME)
    assert "hunter2" not in message
    assert "deploy" not in message


def test_a_120_kb_path_is_not_echoed_whole(workspace: dict[str, str]) -> None:
    path = "/nonexistent/" + "a" * 120_000
    result = run_injector("env", env={**workspace, issuer_settings.PRIVATE_KEY_PATH: path})
    assert result.returncode == 2, result.stderr
    assert issuer_settings.PRIVATE_KEY_PATH in result.stderr
    assert max(len(line) for line in result.stderr.splitlines()) < 1100


@pytest.mark.parametrize("level", ["verbose", "WARN", "5"])
def test_unknown_log_level_variable(workspace: dict[str, str], level: str) -> None:
    result = run_injector("--example", env={"INJECTOR_LOG_LEVEL": level})
    message = _refused(result, "INJECTOR_LOG_LEVEL")
    assert repr(level) in message


def test_log_level_variable_in_any_case_still_works() -> None:
    result = run_injector("--example", env={"INJECTOR_LOG_LEVEL": "DEBUG"})
    assert result.returncode == 0, result.stderr
