"""AWS: the workspace variables, the refusal of static keys, and the exports botocore reads."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from injector.clouds import aws, aws_session_tags
from injector.config import job_context
from injector.errors import ConfigError
from tests.support.jobs import EXAMPLE_JOB

ROLE = "arn:aws:iam::123456789012:role/terrakube-role"
ENABLED = {aws.ENABLE: "true", aws.ROLE: ROLE}
TOKEN_FILE = Path("/run/injector/aws.jwt")
JOB = dataclasses.replace(EXAMPLE_JOB, job_id="17")


def _config(**overrides: str) -> aws.AwsConfig:
    config = aws.CLOUD.configure({**ENABLED, **overrides})
    assert config is not None
    return config


def _problems(env: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as error:
        aws.CLOUD.configure(env)
    return [p.variable for p in error.value.problems]


@pytest.mark.parametrize("switch", [None, "false", "FALSE", "0", "no", "off", "Off"])
def test_disabled_is_none_whatever_else_is_set(switch: str | None) -> None:
    env = {aws.ROLE: "not an arn", aws.REGION: "nowhere", "AWS_ACCESS_KEY_ID": "AKIA..."}
    if switch is not None:
        env[aws.ENABLE] = switch
    assert aws.CLOUD.configure(env) is None


@pytest.mark.parametrize("switch", ["", "enabled", "ture", " true"])
def test_bad_switch(switch: str) -> None:
    assert _problems({**ENABLED, aws.ENABLE: switch}) == [aws.ENABLE]


def test_defaults() -> None:
    config = _config()
    assert config.role_arn == ROLE
    assert config.audience == "aws.workload.identity"
    assert config.region is None
    assert config.session_name is None
    assert config.name == "aws"


# the role


@pytest.mark.parametrize(
    "role",
    [
        ROLE,
        "arn:aws:iam::123456789012:role/path/to/role",
        "arn:aws-cn:iam::123456789012:role/r1",
        "arn:aws-us-gov:iam::123456789012:role/r1",
        "arn:aws:iam::123456789012:role/with+=,.@_-chars",
        "arn:aws:iam::123456789012:role/" + "r" * 64,
    ],
)
def test_role_accepted(role: str) -> None:
    assert _config(**{aws.ROLE: role}).role_arn == role


@pytest.mark.parametrize("role", [None, ""])
def test_role_required(role: str | None) -> None:
    env = {aws.ENABLE: "true"}
    if role is not None:
        env[aws.ROLE] = role
    with pytest.raises(ConfigError) as error:
        aws.CLOUD.configure(env)
    assert [p.variable for p in error.value.problems] == [aws.ROLE]
    assert "required" in str(error.value)
    assert "arn:" in str(error.value)


@pytest.mark.parametrize(
    "role",
    [
        "terrakube-role",
        "arn:aws:iam::123456789012:role/",
        "arn:aws:iam::123456789012:user/terrakube",
        "arn:aws:iam::12345678901:role/r",
        "arn:aws:iam::1234567890123:role/r",
        "arn:aws:iam:us-east-1:123456789012:role/r",
        "arn:aws:sts::123456789012:assumed-role/r/s",
        "arn:azure:iam::123456789012:role/r",
        "ARN:AWS:IAM::123456789012:ROLE/r",
        "arn:aws:iam::123456789012:role/r ",
        " arn:aws:iam::123456789012:role/r",
        "arn:aws:iam::123456789012:role/a b",
        "arn:aws:iam::123456789012:role//r",
        "arn:aws:iam::123456789012:role/rôle",
        "arn:aws:iam::123456789012:role/" + "r" * 65,
    ],
)
def test_role_refused(role: str) -> None:
    with pytest.raises(ConfigError) as error:
        aws.CLOUD.configure({**ENABLED, aws.ROLE: role})
    assert [p.variable for p in error.value.problems] == [aws.ROLE]
    assert "arn:<partition>:iam::" in str(error.value)


# audience, region, session name


def test_audience_custom_and_default() -> None:
    assert _config(**{aws.AUDIENCE: "sts.amazonaws.com"}).audience == "sts.amazonaws.com"
    assert _config(**{aws.AUDIENCE: ""}).audience == "aws.workload.identity"


@pytest.mark.parametrize("audience", [" sts.amazonaws.com", "sts\n", "a\x00"])
def test_audience_refused(audience: str) -> None:
    assert _problems({**ENABLED, aws.AUDIENCE: audience}) == [aws.AUDIENCE]


@pytest.mark.parametrize(
    "env",
    [
        {aws.REGION: "eu-west-3"},
        {aws.DEFAULT_REGION: "eu-west-3"},
        {aws.REGION: "eu-west-3", aws.DEFAULT_REGION: "eu-west-3"},
    ],
)
def test_region_from_either_name(env: dict[str, str]) -> None:
    assert _config(**env).region == "eu-west-3"


@pytest.mark.parametrize("region", ["us-east-1", "us-gov-west-1", "cn-north-1", "ap-southeast-2"])
def test_region_accepted(region: str) -> None:
    assert _config(**{aws.REGION: region}).region == region


@pytest.mark.parametrize("region", ["US-EAST-1", "useast1", "us-east", "us-east-1 ", "us_east_1"])
def test_region_refused(region: str) -> None:
    assert _problems({**ENABLED, aws.REGION: region}) == [aws.REGION]
    assert _problems({**ENABLED, aws.DEFAULT_REGION: region}) == [aws.DEFAULT_REGION]


def test_regions_that_disagree() -> None:
    with pytest.raises(ConfigError) as error:
        aws.CLOUD.configure({**ENABLED, aws.REGION: "us-east-1", aws.DEFAULT_REGION: "eu-west-1"})
    assert [p.variable for p in error.value.problems] == [aws.REGION]
    assert aws.DEFAULT_REGION in str(error.value)


@pytest.mark.parametrize("name", ["ab", "my-session", "a+b=c,d.e@f_g-h", "s" * 64])
def test_session_name_accepted(name: str) -> None:
    assert _config(**{aws.SESSION_NAME: name}).session_name == name


@pytest.mark.parametrize("name", ["a", "s" * 65, "my session", "sess/ion", "séance"])
def test_session_name_refused(name: str) -> None:
    assert _problems({**ENABLED, aws.SESSION_NAME: name}) == [aws.SESSION_NAME]


# static credentials


@pytest.mark.parametrize("variable", aws.STATIC_CREDENTIALS)
def test_static_credentials_refused_without_showing_them(variable: str) -> None:
    secret = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"
    with pytest.raises(ConfigError) as error:
        aws.CLOUD.configure({**ENABLED, variable: secret})
    assert [p.variable for p in error.value.problems] == [variable]
    assert secret not in str(error.value)
    assert aws.ENABLE in str(error.value)


def test_empty_static_credential_is_not_a_credential() -> None:
    assert _config(AWS_ACCESS_KEY_ID="").role_arn == ROLE


def test_all_problems_at_once() -> None:
    env = {
        aws.ENABLE: "on",
        "AWS_SECRET_ACCESS_KEY": "secret",
        aws.AUDIENCE: " x",
        aws.REGION: "bad",
        aws.SESSION_NAME: "a",
    }
    assert _problems(env) == [
        "AWS_SECRET_ACCESS_KEY",
        aws.ROLE,
        aws.AUDIENCE,
        aws.REGION,
        aws.SESSION_NAME,
    ]


# outputs


def test_outputs_without_region() -> None:
    outputs = _config().outputs(TOKEN_FILE, JOB)
    assert outputs.exports == {
        "AWS_ROLE_ARN": ROLE,
        "AWS_WEB_IDENTITY_TOKEN_FILE": str(TOKEN_FILE),
        "AWS_ROLE_SESSION_NAME": "terrakube-simple-simple-cli-17",
    }
    assert outputs.extra_files == {}


@pytest.mark.parametrize("variable", [aws.REGION, aws.DEFAULT_REGION])
def test_outputs_with_region_export_both_names(variable: str) -> None:
    exports = _config(**{variable: "eu-central-1"}).outputs(TOKEN_FILE, JOB).exports
    assert exports == {
        "AWS_ROLE_ARN": ROLE,
        "AWS_WEB_IDENTITY_TOKEN_FILE": str(TOKEN_FILE),
        "AWS_ROLE_SESSION_NAME": "terrakube-simple-simple-cli-17",
        "AWS_REGION": "eu-central-1",
        "AWS_DEFAULT_REGION": "eu-central-1",
    }


def test_outputs_keep_a_configured_session_name() -> None:
    exports = _config(**{aws.SESSION_NAME: "my-session"}).outputs(TOKEN_FILE, JOB).exports
    assert exports["AWS_ROLE_SESSION_NAME"] == "my-session"


_STS_SESSION_NAME = re.compile(r"[\w+=,.@-]{2,64}", re.ASCII)


@pytest.mark.parametrize(
    ("organization", "workspace", "job_id", "expected"),
    [
        ("simple", "simple-cli", "1", "terrakube-simple-simple-cli-1"),
        ("my org", "ws/prod", "7", "terrakube-my-org-ws-prod-7"),
        ("équipe", "wörk", "3", "terrakube--quipe-w-rk-3"),
        ("a+b=c,d.e@f", "x_y", "9", "terrakube-a+b=c,d.e@f-x_y-9"),
        ("o" * 40, "w" * 40, "123", ("terrakube-" + "o" * 40 + "-" + "w" * 40)[:64]),
    ],
)
def test_session_name_derivation(
    organization: str, workspace: str, job_id: str, expected: str
) -> None:
    context = job_context.JobContext(organization, workspace, "org-id", "ws-id", job_id)
    name = aws.session_name_for(context)
    assert name == expected
    assert _STS_SESSION_NAME.fullmatch(name)
    assert _config().outputs(TOKEN_FILE, context).exports["AWS_ROLE_SESSION_NAME"] == expected


# session tags (ENABLE_AWS_SESSION_TAGS), as Terrakube's DynamicCredentialsService writes them


def test_session_tags_are_off_by_default() -> None:
    assert _config().claims(JOB) == {}


@pytest.mark.parametrize("switch", ["yes-please", "", "present"])
def test_session_tags_switch_is_strict(switch: str) -> None:
    assert _problems({**ENABLED, aws.SESSION_TAGS: switch}) == [aws.SESSION_TAGS]


def test_session_tags_claim_in_the_nested_form_sts_reads() -> None:
    claims = _config(**{aws.SESSION_TAGS: "true"}).claims(JOB)
    assert claims == {
        "https://aws.amazon.com/tags": {
            "principal_tags": {
                "terrakube:org": ["simple"],
                "terrakube:workspace": ["simple-cli"],
            },
            "transitive_tag_keys": ["terrakube:org", "terrakube:workspace"],
        }
    }


def test_session_tags_name_the_project_when_the_job_has_one() -> None:
    job = job_context.JobContext(**{**JOB.__dict__, "project": "payments"})
    tags = _config(**{aws.SESSION_TAGS: "on"}).claims(job)["https://aws.amazon.com/tags"]
    assert tags == {
        "principal_tags": {
            "terrakube:org": ["simple"],
            "terrakube:workspace": ["simple-cli"],
            "terrakube:project": ["payments"],
        },
        "transitive_tag_keys": ["terrakube:org", "terrakube:workspace", "terrakube:project"],
    }


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("plain-name_1.2", "plain-name_1.2"),
        ("a b:c/d=e+f@g", "a b:c/d=e+f@g"),  # all of AWS's punctuation is kept
        ("dépôt", "d_p_t"),  # as Terrakube's sanitizer: outside A-Za-z0-9 and the list
        ("a,b;c*d", "a_b_c_d"),
        ("x" * 300, "x" * 256),
    ],
)
def test_tag_values_are_sanitized_and_cut(raw: str, value: str) -> None:
    assert aws_session_tags.tag_value(raw) == value


def test_only_the_aws_token_carries_the_tags(workspace: dict[str, str]) -> None:
    from injector.job import pipeline

    env = {**workspace, aws.SESSION_TAGS: "true"}
    prepared = pipeline.prepare(env)
    assert prepared is not None
    plan = pipeline.mint(prepared, Path("/run/injector"))
    carrying = {
        cloud.config.name
        for cloud in plan.clouds
        if "https://aws.amazon.com/tags" in cloud.token.claims
    }
    assert carrying == {"aws"}
    # The tags come after Terrakube's claims, as its builder adds its extra claims last.
    aws_claims = next(cloud.token.claims for cloud in plan.clouds if cloud.config.name == "aws")
    assert list(aws_claims)[-1] == "https://aws.amazon.com/tags"
