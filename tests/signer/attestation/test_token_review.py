"""`token_review`: a Kubernetes token is accepted only while the cluster's API server says it is
live. A real signer process, the stand-in cluster's keys (tests.standins.platforms) and its
TokenReview API (tests.standins.kube_token_review) over TLS of the test CA, requests over the
real socket."""

from __future__ import annotations

import signal
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import jwt
import pytest

from injector.signer import protocol
from injector.signer.attestation import verify
from injector.signer.protocol import TokenRequest
from tests.signer.conftest import Custody
from tests.standins.kube_token_review import CREDENTIAL, TokenReviewer
from tests.standins.platforms import AUDIENCE, Platforms
from tests.support import signer as support

pytest_plugins = ["tests.standins.fixtures", "tests.standins.platform_fixtures"]

AWS = "aws.workload.identity"
RUNNER = "system:serviceaccount:terraform:runner"


def _policy(platforms: Platforms, reviewer_url: str, token_file: Path, review: str = "") -> str:
    review = review or (
        f'token_review = {{ api_server = "{reviewer_url}", ca_file = "{platforms.ca_file}", '
        f'token_file = "{token_file}" }}'
    )
    return f"""[[attestation]]
name = "cluster"
kind = "kubernetes"
issuer = "{platforms.kubernetes.url}"
ca_bundle = "{platforms.ca_file}"
audience = "{AUDIENCE}"
{review}

[[allow]]
attestation = "cluster"
subjects = ["organization:terraform:workspace:*"]
audiences = ["{AWS}"]
"""


@dataclass(frozen=True)
class Cluster:
    signer: support.Signer
    reviewer: TokenReviewer
    platforms: Platforms
    folder: Path  # holds the policy and the signer's credential, `review-token`

    def pod_token(self) -> tuple[str, str]:
        """A projected token of terraform/runner, bound to a new live pod; it and the pod's uid."""
        pod = f"pod-{uuid.uuid4().hex[:12]}"
        bound = {
            "namespace": "terraform",
            "serviceaccount": {"name": "runner", "uid": "sa-uid-1"},
            "pod": {"name": "terraform-plan", "uid": pod},
        }
        token = self.platforms.kubernetes.kubernetes(AUDIENCE, **{"kubernetes.io": bound})
        self.reviewer.issue(token)
        return token, pod

    def ask(self, token: str) -> dict[str, object]:
        return support.ask(self.signer, TokenRequest(None, (AWS,), subject_token=token))

    def said(self) -> str:
        return self.signer.stderr_path.read_text()


@pytest.fixture(scope="module")
def cluster(custody: Custody, platforms: Platforms, reviewer: TokenReviewer) -> Iterator[Cluster]:
    folder = Path(tempfile.mkdtemp(dir=custody.folder))
    token_file = folder / "review-token"
    token_file.write_text(CREDENTIAL + "\n")
    token_file.chmod(0o600)
    (folder / "policy.toml").write_text(_policy(platforms, reviewer.url, token_file))
    signer = support.start_signer(
        support.signer_env(custody.key),
        folder / "signer.sock",
        "--policy",
        str(folder / "policy.toml"),
    )
    try:
        yield Cluster(signer, reviewer, platforms, folder)
    finally:
        signer.stop()


def _sub(answer: dict[str, object]) -> object:
    assert answer["ok"] is True, answer
    tokens = answer["tokens"]
    assert isinstance(tokens, list)
    return jwt.decode(tokens[0], options={"verify_signature": False})["sub"]


def test_a_pod_bound_token_is_accepted_while_its_pod_lives_and_refused_once_it_is_deleted(
    cluster: Cluster,
) -> None:
    token, pod = cluster.pod_token()
    reviews = len(cluster.reviewer.reviews)
    live = cluster.ask(token)
    cluster.reviewer.delete_pod(pod)
    gone = cluster.ask(token)
    assert _sub(live) == "organization:terraform:workspace:runner"
    assert gone["error"] == protocol.REFUSED
    assert gone["message"] == (
        "cluster: the API server does not authenticate the token: "
        "[invalid bearer token, token has been invalidated]"
    )
    # The cluster's keys alone still take the token: the review is what refuses it.
    alone = verify.verify(cluster.platforms.attestation("kubernetes"), token)
    assert alone.job.job_id == pod
    # Each request asked the API server, for the attestation's audience, as the signer.
    assert cluster.reviewer.reviews[reviews:] == [[AUDIENCE], [AUDIENCE]]
    allowed, refused = cluster.signer.audit()[-2:]
    assert allowed["decision"] == "allow" and allowed["platform_sub"] == f"cluster:{RUNNER}"
    assert refused["decision"] == "refuse"
    assert "token has been invalidated" in str(refused["reason"])
    said = cluster.said()
    assert token not in said and CREDENTIAL not in said


# (mode, the error the job gets, what its message says)
BAD_ANSWERS = [
    ("failing", protocol.UNAVAILABLE, "answered HTTP 500: etcdserver: request timed out"),
    ("forbidden", protocol.UNAVAILABLE, "answered HTTP 403: tokenreviews.authentication.k8s.io"),
    ("stall", protocol.UNAVAILABLE, "failed: no complete answer within 2 s"),
    ("redirect", protocol.UNAVAILABLE, "failed: answered a redirect (HTTP 307): not followed"),
    ("huge", protocol.UNAVAILABLE, "failed: the answer is over 65536 bytes"),
    ("html", protocol.UNAVAILABLE, "answered text/html, not application/json"),
    ("garbage", protocol.UNAVAILABLE, "answered something that is not a JSON object"),
    ("status", protocol.UNAVAILABLE, "something other than a TokenReview"),
    ("echo_status", protocol.UNAVAILABLE, "answered HTTP 403: token <redacted> presented by"),
    ("deaf", protocol.REFUSED, "does not hold the audience 'https://signer.example.com'"),
    (
        "other_user",
        protocol.REFUSED,
        "as user 'system:serviceaccount:terraform:someone-else', not "
        "'system:serviceaccount:terraform:runner'",
    ),
    ("other_pod", protocol.REFUSED, "binds the token to another pod than its claims name"),
    ("checked_with_error", protocol.REFUSED, "authenticate the token: the token could not be"),
    ("echo", protocol.REFUSED, "token <redacted> presented by <redacted> is not valid"),
]


@pytest.mark.parametrize(("mode", "error", "reason"), BAD_ANSWERS, ids=[b[0] for b in BAD_ANSWERS])
def test_each_bad_answer_refuses_the_token(
    cluster: Cluster, mode: str, error: str, reason: str
) -> None:
    token, _pod = cluster.pod_token()
    cluster.reviewer.released.clear()
    cluster.reviewer.mode = mode  # type: ignore[assignment]
    try:
        answer = cluster.ask(token)
    finally:
        cluster.reviewer.mode = "ok"
        cluster.reviewer.released.set()
    assert answer["error"] == error, answer
    message = str(answer["message"])
    assert message.startswith(f"cluster: the TokenReview at {cluster.reviewer.url}") or (
        message.startswith("cluster: the API server")
    ), message
    assert reason in message
    assert token not in message and CREDENTIAL not in message
    audited = cluster.signer.audit()[-1]
    assert audited["decision"] == ("unavailable" if error == protocol.UNAVAILABLE else "refuse")
    assert reason in str(audited["reason"])
    said = cluster.said()
    assert token not in said and CREDENTIAL not in said
    # The same token, answered well, is accepted: the signer kept serving.
    assert _sub(cluster.ask(token)) == "organization:terraform:workspace:runner"


def test_the_signers_credential_is_read_at_each_review(cluster: Cluster) -> None:
    """A projected token rotates under the signer: the file is read again for every review,
    and a credential the API server refuses refuses the job (it is never the job's token)."""
    token_file = cluster.folder / "review-token"
    token, _pod = cluster.pod_token()
    refused_before = cluster.reviewer.refused_callers
    token_file.write_text("expired-credential\n")
    try:
        refused = cluster.ask(token)
    finally:
        token_file.write_text(CREDENTIAL + "\n")
    accepted = cluster.ask(token)
    assert refused["error"] == protocol.UNAVAILABLE
    assert str(refused["message"]).endswith("answered HTTP 401: Unauthorized")
    assert cluster.reviewer.refused_callers == refused_before + 1
    assert _sub(accepted) == "organization:terraform:workspace:runner"
    assert "expired-credential" not in cluster.said()


def _bad_settings(platforms: Platforms, folder: Path) -> str:
    return _policy(
        platforms,
        "",
        folder,
        'token_review = { api_server = "http://10.0.0.1", ca_file = "/nonexistent/ca.crt", '
        f'token_file = "{folder}", colour = "red" }}',
    )


BAD_SETTINGS = [
    "policy.toml [[attestation]] #1 token_review: unknown key(s) colour: expected true, or a table",
    "#1 token_review.api_server: expected an https:// URL, got 'http://10.0.0.1'",
    "#1 token_review.ca_file: cannot load CA certificates from /nonexistent/ca.crt",
    "#1 token_review.token_file: cannot read",
]


def test_bad_settings_are_exit_2_at_start_and_kept_out_on_sighup(
    custody: Custody, platforms: Platforms, reviewer: TokenReviewer
) -> None:
    folder = Path(tempfile.mkdtemp(dir=custody.folder))
    policy = folder / "policy.toml"
    policy.write_text(_bad_settings(platforms, folder))
    with pytest.raises(RuntimeError) as refused:
        support.start_signer(
            support.signer_env(custody.key), folder / "signer.sock", "--policy", str(policy)
        )
    assert "signer exited 2" in str(refused.value)
    for expected in BAD_SETTINGS:
        assert expected in str(refused.value)
    assert "Traceback" not in str(refused.value)

    token_file = folder / "review-token"
    token_file.write_text(CREDENTIAL)
    policy.write_text(_policy(platforms, reviewer.url, token_file))
    signer = support.start_signer(
        support.signer_env(custody.key), folder / "signer2.sock", "--policy", str(policy)
    )
    try:
        policy.write_text(_bad_settings(platforms, folder))
        signer.process.send_signal(signal.SIGHUP)
        said = signer.wait_for_log("not reloaded")
        token = platforms.kubernetes.kubernetes(AUDIENCE)
        reviewer.issue(token)
        kept = support.ask(signer, TokenRequest(None, (AWS,), subject_token=token))
    finally:
        signer.stop()
    for expected in BAD_SETTINGS:
        assert expected in said
    assert _sub(kept) == "organization:terraform:workspace:runner"  # the old policy, reviewed
    assert CREDENTIAL not in said
