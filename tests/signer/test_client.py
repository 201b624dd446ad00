"""The job side against an impostor on the signer's path: a listener of the job's own uid, of
a uid other than DynamicCredentialSignerUser, or one answering tokens that are not what the job
asked for. Each is exit 1 naming the socket, and nothing is written."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import pytest

from tests.signer.conftest import NOBODY, STRANGER, job_env
from tests.support import signer as support

IMPOSTOR = textwrap.dedent(
    """
    import base64, json, os, socket, sys
    os.umask(0)  # any uid may connect, as to the signer's 0666 socket in these tests
    path, overrides = sys.argv[1], json.loads(sys.argv[2])
    def b64(document):
        text = json.dumps(document).encode()
        return base64.urlsafe_b64encode(text).rstrip(b"=").decode()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(path)
        listener.listen()
        print("listening", flush=True)
        listener.settimeout(30)
        try:
            connection, _ = listener.accept()
        except socket.timeout:
            print(-1, flush=True)  # nobody came
            sys.exit()
        connection.settimeout(20)
        data = b""
        while b"\\n" not in data:
            chunk = connection.recv(65536)
            if not chunk:
                break
            data += chunk
        print(len(data), flush=True)
        if data:
            request = json.loads(data)
            context = request["context"]
            tokens = []
            for audience in request["audiences"]:
                claims = {
                    "sub": "organization:%s:workspace:%s"
                    % (context["organizationName"], context["workspaceName"]),
                    "aud": audience,
                    "jti": "x",
                    "terrakube_workspace_id": context["workspaceId"],
                    "terrakube_organization_id": context["organizationId"],
                    "terrakube_workspace_name": context["workspaceName"],
                    "terrakube_organization_name": context["organizationName"],
                    "terrakube_job_id": context["jobId"],
                    "iat": 1, "iss": "https://impostor.example.com", "exp": 2**31,
                }
                claims.update(overrides)
                tokens.append(b64({"alg": "RS256", "typ": "JWT"}) + "." + b64(claims) + ".c2ln")
            answer = {"ok": True, "tokens": tokens}
            connection.sendall(json.dumps(answer).encode() + b"\\n")
        connection.close()
    """
)


def _impostor(
    folder: Path, uid: int, overrides: dict[str, object] | None = None
) -> subprocess.Popen[str]:
    support.owned_by(folder, uid, 0o755)
    process = subprocess.Popen(
        [
            support.SYSTEM_PYTHON,
            "-c",
            IMPOSTOR,
            str(folder / "signer.sock"),
            json.dumps(overrides or {}),
        ],
        preexec_fn=lambda: support.as_user(uid),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdout.readline() == "listening\n"
    return process


def _received(process: subprocess.Popen[str]) -> int:
    """How many bytes the impostor was sent."""
    try:
        out, _ = process.communicate(timeout=60)
    finally:
        process.kill()
    return int(out.split()[0])


def _job(scratch: Path, socket: Path, **changes: str) -> subprocess.CompletedProcess[str]:
    creds = scratch / "job" / "creds"
    result = support.job_as(NOBODY, ["env", "--dir", str(creds)], job_env(socket, **changes))
    assert not creds.exists()
    assert result.stdout == ""
    return result


def test_a_listener_of_the_jobs_own_uid_is_refused_before_anything_is_sent(
    scratch: Path,
) -> None:
    """Another job (same uid) took the signer's path: the job sends it nothing."""
    impostor = _impostor(scratch / "job" / "run", NOBODY)
    socket = scratch / "job" / "run" / "signer.sock"
    result = _job(scratch, socket)
    assert _received(impostor) == 0
    assert result.returncode == 1
    assert f"the process listening at unix:{socket} runs as uid {NOBODY}, the job's own" in (
        result.stderr
    )
    assert "impostor" in result.stderr and "Traceback" not in result.stderr


def test_a_listener_other_than_the_signer_user_is_refused(scratch: Path) -> None:
    impostor = _impostor(scratch / "run", STRANGER)
    socket = scratch / "run" / "signer.sock"
    result = _job(scratch, socket, DynamicCredentialSignerUser="root")
    assert _received(impostor) == 0
    assert result.returncode == 1
    assert f"runs as uid {STRANGER}, not as the signer's uid 0 (DynamicCredentialSignerUser)" in (
        result.stderr
    )


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"aud": "sts.amazonaws.com"}, "aud 'sts.amazonaws.com' where"),
        ({"terrakube_workspace_name": "victim"}, "other terrakube_workspace_name than"),
        ({"terrakube_job_id": "7"}, "other terrakube_job_id than"),
        ({"terrakube_run_phase": "apply"}, "other terrakube_run_phase than"),
        ({"sub": "organization:other:workspace:victim"}, "does not name both"),
    ],
    ids=["aud", "workspace", "job", "phase", "sub"],
)
def test_tokens_other_than_asked_for_are_refused_and_nothing_written(
    scratch: Path, overrides: dict[str, object], expected: str
) -> None:
    """A listener of the signer user's uid (say the signer was replaced) answering tokens for
    another job, audience or phase."""
    impostor = _impostor(scratch / "run", STRANGER, overrides)
    socket = scratch / "run" / "signer.sock"
    result = _job(scratch, socket, DynamicCredentialSignerUser=str(STRANGER))
    assert _received(impostor) > 0
    assert result.returncode == 1, result.stderr
    assert f"DynamicCredentialSigner: the signer at unix:{socket} answered a token with" in (
        result.stderr
    )
    assert expected in result.stderr


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"DynamicCredentialSignerUser": "no-such-user"},
            "DynamicCredentialSignerUser: expected a uid or a user name known",
        ),
        (
            {"DynamicCredentialSigner": "", "DynamicCredentialSignerUser": "0"},
            "DynamicCredentialSignerUser: is set without DynamicCredentialSigner",
        ),
    ],
    ids=["unknown-user", "without-signer"],
)
def test_a_bad_signer_user_is_exit_2(scratch: Path, changes: dict[str, str], expected: str) -> None:
    env = {**job_env(scratch / "nothing.sock"), **changes}
    if not env["DynamicCredentialSigner"]:
        del env["DynamicCredentialSigner"]
        env["DynamicCredentialPrivateKeyPath"] = "/nonexistent.pem"
    result = support.job_as(NOBODY, ["env", "--dir", str(scratch / "job" / "creds")], env)
    assert result.returncode == 2
    assert expected in result.stderr
    assert not (scratch / "job" / "creds").exists()


# Without DynamicCredentialSignerUser the job cannot tell the signer's uid from a neighbour's by
# the uid alone: it accepts a listener only on a path that nobody but root and the listener's
# own uid could have laid out, so whoever binds it first cannot be a neighbour.


def test_a_neighbour_first_in_a_sticky_folder_is_refused_before_anything_is_sent(
    scratch: Path,
) -> None:
    """The signer's path is under a folder every uid may write (sticky, as /tmp is): another
    uid makes the socket's folder there before the signer does and listens. Before, the job sent
    it its request (a keyless job's platform token included) and wrote the tokens it answered."""
    shared = support.owned_by(scratch / "tmp", 0, 0o1777)
    impostor = _impostor(shared / "injector", STRANGER)
    socket = shared / "injector" / "signer.sock"
    result = _job(scratch, socket)
    assert _received(impostor) == 0
    assert result.returncode == 1, result.stderr
    assert f"{shared} is writable by others" in result.stderr
    assert f"{shared / 'injector'} in it belongs to uid {STRANGER}" in result.stderr
    assert "DynamicCredentialSignerUser" in result.stderr and "Traceback" not in result.stderr


def test_a_neighbour_in_a_folder_open_to_all_is_refused_before_anything_is_sent(
    scratch: Path,
) -> None:
    """The socket's folder is root's but writable by every uid, not sticky: whoever was first
    took the name."""
    open_folder = support.owned_by(scratch / "open", 0, 0o777)
    impostor = _impostor(scratch / "open" / "run", STRANGER)
    socket = scratch / "open" / "run" / "signer.sock"
    result = _job(scratch, socket)
    assert _received(impostor) == 0
    assert result.returncode == 1, result.stderr
    assert f"{open_folder} is writable by others (mode 0777) and not sticky" in result.stderr


def test_a_signer_in_a_folder_of_its_own_uid_is_accepted(scratch: Path) -> None:
    """The usual layout (systemd's RuntimeDirectory): the socket's folder belongs to the
    signer's uid, in folders of root's that nobody else may write. The job needs no
    DynamicCredentialSignerUser to trust what listens there."""
    signer = _impostor(scratch / "run", STRANGER)
    socket = scratch / "run" / "signer.sock"
    creds = scratch / "job" / "creds"
    result = support.job_as(
        NOBODY, ["env", "--format", "json", "--dir", str(creds)], job_env(socket)
    )
    assert _received(signer) > 0
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["AWS_WEB_IDENTITY_TOKEN_FILE"] == str(creds / "aws.jwt")
