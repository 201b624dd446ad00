"""The signer with `[[attestation]]`: a request carrying a platform token is answered for the
job and phase the platform attests, never for what the request names. Real signer processes,
stand-in platforms over TLS, requests over the real socket."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest

from injector.signer import protocol
from injector.signer.protocol import TokenRequest
from tests.signer.conftest import Custody
from tests.standins.platforms import AUDIENCE, Platforms, github_table
from tests.support import signer as support

pytest_plugins = ["tests.standins.fixtures", "tests.standins.platform_fixtures"]

AWS = "aws.workload.identity"
PHASED = "organization:{organization}:workspace:{workspace}:run_phase:{phase}"


def _policy(platforms: Platforms, extra: str = "") -> str:
    table = github_table(
        platforms.github.url,
        platforms.ca_file,
        'phases = { apply = ["production"] }',
        "rate_per_minute = 5",
    )
    return f"""{table}[[allow]]
attestation = "github"
subjects = ["organization:acme:workspace:infra*"]
audiences = ["{AWS}"]
claims = {{ ref = "refs/heads/main" }}
{extra}
"""


@pytest.fixture
def scratch(custody: Custody) -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(dir=custody.folder))
    folder.chmod(0o755)
    yield folder


def _signer(custody: Custody, scratch: Path, policy: str, **env: str) -> support.Signer:
    (scratch / "policy.toml").write_text(policy)
    return support.start_signer(
        support.signer_env(custody.key, **env),
        scratch / "signer.sock",
        "--policy",
        str(scratch / "policy.toml"),
    )


def _ask(signer: support.Signer, request: TokenRequest) -> dict[str, object]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(30)
        connection.connect(str(signer.socket))
        connection.sendall(request.encoded())
        return protocol.read_message(connection, protocol.MAX_ANSWER_BYTES)


def _claims(answer: dict[str, object]) -> dict[str, object]:
    assert answer["ok"] is True, answer
    tokens = answer["tokens"]
    assert isinstance(tokens, list)
    return jwt.decode(tokens[0], options={"verify_signature": False})


def test_the_platform_names_the_job_and_phase(
    custody: Custody, scratch: Path, platforms: Platforms
) -> None:
    signer = _signer(custody, scratch, _policy(platforms), DynamicCredentialSubjectTemplate=PHASED)
    try:
        production = platforms.github.github(AUDIENCE)
        staging = platforms.github.github(AUDIENCE, environment="staging")
        apply = _claims(_ask(signer, TokenRequest(None, (AWS,), subject_token=production)))
        plan = _claims(_ask(signer, TokenRequest(None, (AWS,), subject_token=staging)))
        # A plan-environment token asking for apply: refused, naming both phases.
        upgrade = _ask(signer, TokenRequest(None, (AWS,), "apply", subject_token=staging))
        other = platforms.github.github(AUDIENCE, repository="acme/infra-b")
        other_answer = _ask(signer, TokenRequest(None, (AWS,), subject_token=other))
    finally:
        signer.stop()
    assert apply["sub"] == "organization:acme:workspace:infra:run_phase:apply"
    assert apply["terrakube_run_phase"] == "apply"
    assert (apply["terrakube_organization_id"], apply["terrakube_job_id"]) == ("1001", "4242")
    assert plan["sub"] == "organization:acme:workspace:infra:run_phase:plan"
    assert upgrade["error"] == "refused"
    assert "asks for phase apply; the platform token attests plan" in str(upgrade["message"])
    # Another repository of the same owner is another workspace: its own token, its own sub.
    assert _claims(other_answer)["sub"] == "organization:acme:workspace:infra-b:run_phase:apply"
    audit = signer.audit()
    assert [line["decision"] for line in audit] == ["allow", "allow", "refuse", "allow"]
    assert audit[0]["attestation"] == "github"
    assert audit[0]["platform_iss"] == platforms.github.url
    assert audit[0]["platform_sub"] == "github:repo:acme/infra:environment:production"
    assert "caller_named" not in audit[0]
    text = signer.stderr_path.read_text()
    assert production not in text and staging not in text


_CLUSTER = """[[attestation]]
name = "cluster"
kind = "kubernetes"
issuer = "{issuer}"
ca_bundle = "{ca}"
audience = "{audience}"
{extra}
[[allow]]
attestation = "cluster"
subjects = ["organization:terraform:workspace:*"]
"""


def _cluster(platforms: Platforms, extra: str = "") -> str:
    return _CLUSTER.format(
        issuer=platforms.kubernetes.url, ca=platforms.ca_file, audience=AUDIENCE, extra=extra
    )


def test_one_signer_serves_a_phased_attestation_beside_one_of_no_phase(
    custody: Custody, scratch: Path, platforms: Platforms
) -> None:
    """GitHub's tokens attest a phase and take a `{phase}` template of their own; the pods'
    attest none and take the signer's: one signer, one policy, each its own `sub`."""
    github = github_table(
        platforms.github.url,
        platforms.ca_file,
        'phases = { apply = ["production"] }',
        f'subject_template = "{PHASED}"',
    )
    policy = f"""{github}[[allow]]
attestation = "github"
subjects = ["organization:acme:workspace:*:run_phase:*"]
audiences = ["{AWS}"]

{_cluster(platforms)}"""
    signer = _signer(custody, scratch, policy)
    try:
        pod = _ask(
            signer,
            TokenRequest(None, (AWS,), subject_token=platforms.kubernetes.kubernetes(AUDIENCE)),
        )
        apply = _ask(
            signer, TokenRequest(None, (AWS,), subject_token=platforms.github.github(AUDIENCE))
        )
        # A caller of the socket with no platform token: the signer's template, as before.
        from injector.config.job_context import JobContext

        plain = _ask(signer, TokenRequest(JobContext("acme", "infra", "o", "w", "1"), (AWS,)))
    finally:
        signer.stop()
    assert _claims(pod)["sub"] == "organization:terraform:workspace:runner"
    assert _claims(apply)["sub"] == "organization:acme:workspace:infra:run_phase:apply"
    assert plain["error"] == "refused"  # no entry for uid callers: it was not attested
    assert "may not mint sub 'organization:acme:workspace:infra' for aud" in str(plain["message"])
    audit = signer.audit()
    assert [(line["attestation"], line["sub"]) for line in audit[:2]] == [
        ("cluster", "organization:terraform:workspace:runner"),
        ("github", "organization:acme:workspace:infra:run_phase:apply"),
    ]
    assert not [line for line in signer.stderr_path.read_text().splitlines() if "warning" in line]


def test_an_attestation_of_no_phase_under_the_signers_phase_template_is_refused_at_start(
    custody: Custody, scratch: Path, platforms: Platforms
) -> None:
    """A `{phase}` template cannot render for a platform that attests no phase: the signer does
    not start (exit 2, naming the attestation and both ways out), rather than refuse every
    token of it; on SIGHUP such a policy is not loaded and the one in force stays."""
    (scratch / "policy.toml").write_text(_policy(platforms, _cluster(platforms)))
    command = [sys.executable, "-m", "injector", "signer", "--socket", str(scratch / "x.sock")]
    refused = subprocess.run(
        [*command, "--policy", str(scratch / "policy.toml")],
        env=support.signer_env(custody.key, DynamicCredentialSubjectTemplate=PHASED),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 2, refused.stderr
    assert (
        "[[attestation]] 'cluster': attests no phase (it has no phases), and the signer's "
        "DynamicCredentialSubjectTemplate uses {phase}: every token of it would be refused; "
        "expected phases = { apply = [...] }, or its own subject_template without {phase}"
    ) in refused.stderr
    assert "Traceback" not in refused.stderr
    assert not (scratch / "x.sock").exists()
    signer = _signer(custody, scratch, _policy(platforms), DynamicCredentialSubjectTemplate=PHASED)
    try:
        (scratch / "policy.toml").write_text(_policy(platforms, _cluster(platforms)))
        signer.process.send_signal(signal.SIGHUP)
        said = signer.wait_for_log("SIGHUP: policy not reloaded")
        answer = _ask(
            signer, TokenRequest(None, (AWS,), subject_token=platforms.github.github(AUDIENCE))
        )
    finally:
        signer.stop()
    assert "[[attestation]] 'cluster': attests no phase" in said
    assert answer["ok"] is True  # the policy in force still serves


def test_a_request_naming_another_workspace_is_refused(
    custody: Custody, scratch: Path, platforms: Platforms
) -> None:
    from injector.config.job_context import JobContext

    forged = JobContext("acme", "payments", "1001", "2002", "4242")
    signer = _signer(custody, scratch, _policy(platforms))
    try:
        token = platforms.github.github(AUDIENCE)
        answer = _ask(signer, TokenRequest(forged, (AWS,), subject_token=token))
        with_project = JobContext("acme", "infra", "1001", "2002", "4242", project="payments")
        project = _ask(signer, TokenRequest(with_project, (AWS,), subject_token=token))
        wrong_ref = _ask(
            signer,
            TokenRequest(
                None, (AWS,), subject_token=platforms.github.github(AUDIENCE, ref="refs/heads/x")
            ),
        )
        other_owner = _ask(
            signer,
            TokenRequest(
                None,
                (AWS,),
                subject_token=platforms.github.github(
                    AUDIENCE, repository="evil/infra", repository_owner="evil"
                ),
            ),
        )
        expired = _ask(
            signer,
            TokenRequest(None, (AWS,), subject_token=platforms.github.github(AUDIENCE, exp=1)),
        )
    finally:
        signer.stop()
    assert answer["error"] == "refused"
    assert "workspaceName 'payments' is not the attested 'infra'" in str(answer["message"])
    assert "projectName 'payments' is not the attested None" in str(project["message"])
    assert wrong_ref["error"] == "refused"  # claims = { ref = "refs/heads/main" }
    assert "may not mint sub 'organization:acme:workspace:infra'" in str(wrong_ref["message"])
    assert other_owner["error"] == "refused"
    assert "organization:evil:workspace:infra" in str(other_owner["message"])
    assert expired["error"] == "refused" and "has expired" in str(expired["message"])


def test_a_platform_whose_keys_cannot_be_had_is_unavailable_and_rate_is_capped(
    custody: Custody, scratch: Path, platforms: Platforms
) -> None:
    signer = _signer(custody, scratch, _policy(platforms))
    try:
        answers = [
            _ask(
                signer, TokenRequest(None, (AWS,), subject_token=platforms.github.github(AUDIENCE))
            )
            for _ in range(7)
        ]
        gitlab = platforms.gitlab.gitlab(AUDIENCE)
        untrusted = _ask(signer, TokenRequest(None, (AWS,), subject_token=gitlab))
    finally:
        signer.stop()
    assert [answer["ok"] for answer in answers] == [True] * 5 + [False] * 2
    assert "over 5 requests a minute" in str(answers[5]["message"])
    assert untrusted["error"] == "refused"
    assert "no [[attestation]] of the policy trusts" in str(untrusted["message"])

    down_policy = _policy(platforms).replace(platforms.github.url, "https://127.0.0.1:9")
    signer = _signer(custody, scratch, down_policy)
    try:
        token = platforms.github.github(AUDIENCE, iss="https://127.0.0.1:9")
        down = _ask(signer, TokenRequest(None, (AWS,), subject_token=token))
    finally:
        signer.stop()
    assert down["error"] == "unavailable"
    assert "cannot be fetched" in str(down["message"]) and token not in str(down["message"])


def test_a_workspace_sharing_its_platform_sub_cannot_spend_anothers_rate(
    custody: Custody, scratch: Path, platforms: Platforms
) -> None:
    # GitHub lets an organization shape `sub` from chosen claims: with `repository_owner` alone
    # every repository of the owner has the same one. A budget per `sub` would then be one
    # budget for all of the owner's workspaces, and one job in a loop would starve the rest.
    shared = "repository_owner:acme"
    signer = _signer(custody, scratch, _policy(platforms))
    try:
        hostile = [
            _ask(
                signer,
                TokenRequest(
                    None, (AWS,), subject_token=platforms.github.github(AUDIENCE, sub=shared)
                ),
            )
            for _ in range(6)
        ]
        other = platforms.github.github(
            AUDIENCE, sub=shared, repository="acme/infra-b", repository_id="2003"
        )
        answer = _ask(signer, TokenRequest(None, (AWS,), subject_token=other))
    finally:
        signer.stop()
    assert [reply["ok"] for reply in hostile] == [True] * 5 + [False]
    assert _claims(answer)["sub"] == "organization:acme:workspace:infra-b"


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (
            '[[allow]]\nuid = 65534\nsubjects = ["organization:simple:workspace:*"]\n',
            "'organization:simple:workspace:*' is a glob, and without attestation",
        ),
        (
            '[[allow]]\nattestation = "nowhere"\nsubjects = ["x"]\n',
            "names 'nowhere', but the policy has no [[attestation]] table",
        ),
    ],
    ids=["glob-without-attestation", "unknown-attestation"],
)
def test_a_policy_letting_callers_name_workspaces_is_exit_2(
    custody: Custody, scratch: Path, policy: str, expected: str
) -> None:
    (scratch / "policy.toml").write_text(policy)
    with pytest.raises(RuntimeError) as refused:
        support.start_signer(
            support.signer_env(custody.key),
            scratch / "signer.sock",
            "--policy",
            str(scratch / "policy.toml"),
        )
    assert "signer exited 2" in str(refused.value)
    assert expected in str(refused.value)
    assert not (scratch / "signer.sock").exists()


PLAIN = '[[allow]]\nuid = 0\nsubjects = ["organization:simple:workspace:simple-cli"]\n'


def _order_with_a_slow_platform(signer: support.Signer, platforms: Platforms) -> list[str]:
    """Which of two requests is answered first: an attested one, whose platform takes seconds
    to hand over its keys, or a plain one sent while the signer is fetching them."""
    from injector.config.job_context import JobContext

    finished: list[str] = []
    platforms.github.delay = 1.5  # each of two documents: within the fetch deadline
    platforms.github.set_mode("slow")
    try:
        token = platforms.github.github(AUDIENCE)

        def attested() -> None:
            late = _ask(signer, TokenRequest(None, (AWS,), subject_token=token))
            finished.append("attested" if late["ok"] is True else str(late))

        waiting = threading.Thread(target=attested)
        waiting.start()
        while not platforms.github.server.seen:  # the signer is fetching the platform's keys
            time.sleep(0.01)
        job = JobContext("simple", "simple-cli", "o", "w", "1")
        answer = _ask(signer, TokenRequest(job, (AWS,)))
        assert answer["ok"] is True
        finished.append("plain")
        waiting.join()
    finally:
        platforms.github.set_mode("ok")
    return finished


def test_a_slow_platform_does_not_hold_other_callers(
    custody: Custody, scratch: Path, platforms: Platforms
) -> None:
    signer = _signer(custody, scratch, _policy(platforms, PLAIN))
    try:
        assert _order_with_a_slow_platform(signer, platforms) == ["plain", "attested"]
    finally:
        signer.stop()


def test_a_first_attestation_added_by_sighup_does_not_hold_other_callers_either(
    custody: Custody, scratch: Path, platforms: Platforms
) -> None:
    signer = _signer(custody, scratch, PLAIN)
    try:
        (scratch / "policy.toml").write_text(_policy(platforms, PLAIN))
        signer.process.send_signal(signal.SIGHUP)
        signer.wait_for_log("policy reloaded")
        assert _order_with_a_slow_platform(signer, platforms) == ["plain", "attested"]
    finally:
        signer.stop()
