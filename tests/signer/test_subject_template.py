"""The signer's own DynamicCredentialSubjectTemplate decides `sub`: its policy globs match the
rendered one, so a uid allowed only plan subjects cannot mint an apply token, and the job cannot
choose the template."""

from __future__ import annotations

import json
from pathlib import Path

import jwt

from injector.config import subject
from tests.signer.conftest import Custody, job_env
from tests.support import signer as support

NOBODY = support.NOBODY
PHASED = "organization:{organization}:workspace:{workspace}:run_phase:{phase}"
PLAN_ONLY = f"""
[[allow]]
uid = {NOBODY}
subjects = ["organization:simple:workspace:*:run_phase:plan"]
caller_names_context = true
"""


def _signer(custody: Custody, scratch: Path) -> support.Signer:
    policy = scratch / "policy.toml"
    policy.write_text(PLAN_ONLY)
    return support.start_signer(
        {**custody.env, subject.SETTING: PHASED},
        scratch / "signer.sock",
        "--policy",
        str(policy),
        "--socket-mode",
        "0666",
    )


def test_the_signers_template_shapes_sub_and_its_policy_matches_the_rendered_one(
    custody: Custody, scratch: Path
) -> None:
    signer = _signer(custody, scratch)
    try:
        plan = support.job_as(
            NOBODY,
            ["env", "--phase", "plan", "--format", "json", "--dir", str(scratch / "job" / "p")],
            job_env(signer.socket),
        )
        apply = support.job_as(
            NOBODY,
            ["env", "--phase", "apply", "--dir", str(scratch / "job" / "a")],
            job_env(signer.socket),
        )
        unphased = support.job_as(
            NOBODY, ["env", "--dir", str(scratch / "job" / "n")], job_env(signer.socket)
        )
    finally:
        assert signer.stop() == 0
    assert plan.returncode == 0, plan.stderr
    token = Path(json.loads(plan.stdout)["AWS_WEB_IDENTITY_TOKEN_FILE"]).read_text()
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["sub"] == "organization:simple:workspace:simple-cli:run_phase:plan"
    assert claims["terrakube_run_phase"] == "plan"
    # The apply sub is outside the policy: refused, nothing written.
    assert apply.returncode == 2 and apply.stdout == ""
    assert "'organization:simple:workspace:simple-cli:run_phase:apply'" in apply.stderr
    assert not (scratch / "job" / "a").exists()
    # {phase} with no phase: the signer's answer names the setting and the option.
    assert unphased.returncode == 2 and unphased.stdout == ""
    assert f"{subject.SETTING}: uses {{phase}}" in unphased.stderr
    assert "--phase" in unphased.stderr
    decisions = [(line["decision"], line.get("sub")) for line in signer.audit()]
    assert decisions == [
        ("allow", "organization:simple:workspace:simple-cli:run_phase:plan"),
        ("refuse", "organization:simple:workspace:simple-cli:run_phase:apply"),
        ("invalid", None),
    ]


def test_a_separator_in_a_name_is_invalid_at_the_signer(custody: Custody, scratch: Path) -> None:
    signer = _signer(custody, scratch)
    try:
        result = support.job_as(
            NOBODY,
            ["env", "--phase", "plan", "--dir", str(scratch / "job" / "x")],
            job_env(signer.socket, workspaceName="x:run_phase:plan:workspace:y"),
        )
    finally:
        signer.stop()
    assert result.returncode == 2
    assert "workspaceName: holds ':'" in result.stderr
    assert not (scratch / "job" / "x").exists()


def test_the_job_cannot_choose_the_template_through_the_signer(scratch: Path) -> None:
    env = job_env(scratch / "signer.sock", DynamicCredentialSubjectTemplate=PHASED)
    result = support.job_as(NOBODY, ["env", "--dir", str(scratch / "job" / "t")], env)
    assert result.returncode == 2
    assert "DynamicCredentialSigner: and DynamicCredentialSubjectTemplate are both set" in (
        result.stderr
    )
    assert not (scratch / "job" / "t").exists()
