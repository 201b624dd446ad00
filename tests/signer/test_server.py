"""`injector signer` as a real process holding the key (as root), and the job as another uid
(`nobody`, through Debian's stdlib-only Python) that cannot read the key and gets its tokens
over the socket: allowed, refused, unreachable, concurrent, stopped, audited."""

from __future__ import annotations

import grp
import json
import os
import pwd
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jwt
import pytest

from injector.config import job_context
from injector.job.example import EXAMPLE_ENV
from injector.signer import client, protocol
from tests.conftest import run_injector
from tests.signer.conftest import NOBODY, POLICY, Custody, job_env, write_policy
from tests.signer.conftest import start as _start
from tests.support import signer as support
from tests.support.aws import ROLE_ARN, ROLE_NAME, boto3_login, create_role
from tests.support.issuers import verify
from tests.support.jobs import switched_off

SUBJECT = "organization:simple:workspace:simple-cli"

# Vault's login needs a Vault server: tests/e2e/test_vault_login.py has one.
VAULT_OFF = {
    "ENABLE_DYNAMIC_CREDENTIALS_VAULT": "false",
    **switched_off("vault_backed_aws"),
}


def test_the_job_uid_cannot_read_the_key(custody: Custody) -> None:
    probe = subprocess.run(
        [support.SYSTEM_PYTHON, "-c", f"open({str(custody.key)!r}, 'rb')"],
        preexec_fn=lambda: support.as_user(NOBODY),
        capture_output=True,
        text=True,
        check=False,
    )
    assert probe.returncode == 1
    assert "PermissionError" in probe.stderr


def test_an_allowed_caller_gets_tokens_that_verify_like_direct_ones(
    custody: Custody, scratch: Path
) -> None:
    signer = _start(custody, scratch)
    try:
        creds = scratch / "job" / "creds"
        result = support.job_as(
            NOBODY,
            ["env", "--format", "json", "--dir", str(creds)],
            job_env(signer.socket),
        )
        assert result.returncode == 0, result.stderr
    finally:
        assert signer.stop() == 0
    exports = json.loads(result.stdout)
    direct = run_injector(
        "env",
        "--format",
        "json",
        "--dir",
        str(scratch / "direct"),
        env={**EXAMPLE_ENV, **support.signer_env(custody.key), **VAULT_OFF},
    )
    assert direct.returncode == 0, direct.stderr
    direct_exports = json.loads(direct.stdout)
    # Same exports, apart from the folder the files are in.
    assert sorted(exports) == sorted(direct_exports)
    assert creds.stat().st_uid == NOBODY and (creds.stat().st_mode & 0o777) == 0o700
    for name in ("aws", "azure", "gcp"):
        path = creds / f"{name}.jwt"
        assert (path.stat().st_mode & 0o777) == 0o600 and path.stat().st_uid == NOBODY
        token = path.read_text()
        twin = (scratch / "direct" / f"{name}.jwt").read_text()
        audience = jwt.decode(twin, options={"verify_signature": False})["aud"]
        claims = verify(token, custody.jwks, audience=audience, issuer=support.ISSUER)
        direct_claims = verify(twin, custody.jwks, audience=audience, issuer=support.ISSUER)
        assert list(claims) == list(direct_claims)
        for changing in ("jti", "iat", "exp"):
            claims.pop(changing), direct_claims.pop(changing)
        assert claims == direct_claims
        assert jwt.get_unverified_header(token) == jwt.get_unverified_header(twin)
    audit = signer.audit()
    assert [line["decision"] for line in audit] == ["allow"]
    assert audit[0]["uid"] == NOBODY and audit[0]["sub"] == SUBJECT


def test_dry_run_and_hook_through_the_signer(custody: Custody, scratch: Path) -> None:
    signer = _start(custody, scratch)
    working = scratch / "job"
    try:
        dry = support.job_as(NOBODY, [], job_env(signer.socket))
        hooked = support.job_as(
            NOBODY, ["hook"], job_env(signer.socket, workingDirectory=str(working))
        )
    finally:
        signer.stop()
    assert dry.returncode == 0, dry.stderr
    assert f"signed by   the signer at unix:{signer.socket}" in dry.stdout
    assert "issuer      https://terrakube-api.example.com" in dry.stdout
    assert hooked.returncode == 0, hooked.stderr
    env_file = (working / ".terrakube_temp_env").read_text()
    assert "AWS_WEB_IDENTITY_TOKEN_FILE=" in env_file
    token = (working / ".terraform/injector/aws.jwt").read_text()
    verify(token, custody.jwks, audience="aws.workload.identity", issuer=support.ISSUER)
    assert len(signer.audit()) == 2


@pytest.mark.parametrize(
    ("policy", "refused"),
    [
        (
            f'[[allow]]\nuid = {NOBODY}\nsubjects = ["organization:other:workspace:*"]\n'
            "caller_names_context = true\n",
            "sub",
        ),
        ('[[allow]]\nuid = 1000\nsubjects = ["*"]\ncaller_names_context = true\n', "caller"),
        (
            '[[allow]]\nuser = "nobody"\nsubjects = ["*"]\n'
            'caller_names_context = true\naudiences = ["aws.*"]\n',
            "aud",
        ),
    ],
    ids=["sub", "caller", "aud"],
)
def test_a_request_outside_the_policy_is_refused_and_nothing_written(
    custody: Custody, scratch: Path, policy: str, refused: str
) -> None:
    signer = _start(custody, scratch, policy)
    creds = scratch / "job" / "creds"
    try:
        result = support.job_as(NOBODY, ["env", "--dir", str(creds)], job_env(signer.socket))
    finally:
        signer.stop()
    assert result.returncode == 2
    assert result.stdout == ""
    assert f"uid {NOBODY}" in result.stderr
    assert repr(SUBJECT) in result.stderr
    assert "DynamicCredentialSigner: the signer at unix:" in result.stderr
    if refused == "aud":
        assert "'api://AzureADTokenExchange'" in result.stderr
        assert "'aws.workload.identity'" not in result.stderr
    assert not creds.exists()
    assert [line["decision"] for line in signer.audit()] == ["refuse"]


def test_a_signer_that_is_not_there_is_exit_1_naming_the_socket(scratch: Path) -> None:
    creds = scratch / "job" / "creds"
    result = support.job_as(NOBODY, ["env", "--dir", str(creds)], job_env(scratch / "nothing.sock"))
    assert result.returncode == 1
    assert f"cannot reach the signer at unix:{scratch / 'nothing.sock'}" in result.stderr
    assert result.stdout == ""
    assert not creds.exists()


def test_the_signer_and_a_key_in_one_job_is_exit_2_naming_both(
    custody: Custody, scratch: Path
) -> None:
    env = job_env(scratch / "signer.sock", DynamicCredentialPrivateKeyPath=str(custody.key))
    result = support.job_as(NOBODY, ["env", "--dir", str(scratch / "job" / "creds")], env)
    assert result.returncode == 2
    assert "DynamicCredentialSigner" in result.stderr
    assert "DynamicCredentialPrivateKeyPath are both set" in result.stderr
    assert not (scratch / "job" / "creds").exists()


def test_200_concurrent_requests_get_200_distinct_valid_tokens(
    custody: Custody, scratch: Path
) -> None:
    signer = _start(custody, scratch)
    job = job_context.from_env(EXAMPLE_ENV)
    request = protocol.TokenRequest(job=job, audiences=("aws.workload.identity",))
    start = threading.Barrier(200)

    def ask(_: int) -> str:
        start.wait()
        return client.request(signer.socket, request, timeout=60, signer_uid=os.getuid())[0]

    try:
        with ThreadPoolExecutor(max_workers=200) as pool:
            minted = list(pool.map(ask, range(200)))
    finally:
        assert signer.stop() == 0
    claims = [
        verify(token, custody.jwks, audience="aws.workload.identity", issuer=support.ISSUER)
        for token in minted
    ]
    assert len({claim["jti"] for claim in claims}) == 200
    audit = signer.audit()
    assert len(audit) == 200 and {line["decision"] for line in audit} == {"allow"}
    assert {line["jti"][0] for line in audit} == {claim["jti"] for claim in claims}


def test_sigterm_finishes_the_request_in_flight_and_exits_0(
    custody: Custody, scratch: Path
) -> None:
    signer = _start(custody, scratch)
    request = protocol.TokenRequest(
        job=job_context.from_env(EXAMPLE_ENV), audiences=("aws.workload.identity",)
    ).encoded()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.connect(str(signer.socket))
        connection.sendall(request[:20])
        time.sleep(0.3)  # the signer has accepted it and waits for the rest
        signer.process.send_signal(signal.SIGTERM)
        time.sleep(0.6)
        assert signer.process.poll() is None  # still finishing this request
        connection.sendall(request[20:])
        answer = protocol.read_message(connection, protocol.MAX_ANSWER_BYTES)
    assert answer["ok"] is True
    assert signer.process.wait(timeout=20) == 0
    assert not signer.socket.exists()
    assert not support.connects(signer.socket)


@pytest.mark.parametrize(
    ("policy", "env_change", "expected"),
    [
        ('[[allow]]\nsubjects = ["*"]\ncaller_names_context = true\n', {}, "names no caller"),
        ('[[allow]]\nuid = 0\nsubjects = "*"\nmax_ttl_minutes = 0\n', {}, "subjects"),
        ("allow = [", {}, "is not valid TOML"),
        (
            '[[allow]]\nuser = "no-such-user"\nsubjects = ["*"]\ncaller_names_context = true\n',
            {},
            "no-such-user",
        ),
        (POLICY, {"DynamicCredentialTtl": "0"}, "DynamicCredentialTtl"),
        (POLICY, {"DynamicCredentialPrivateKeyPath": "/nonexistent.pem"}, "no such file"),
    ],
    ids=["no-caller", "bad-fields", "toml", "user", "ttl", "key"],
)
def test_bad_policy_or_settings_exit_2_before_listening(
    custody: Custody, scratch: Path, policy: str, env_change: dict[str, str], expected: str
) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "injector",
            "signer",
            "--socket",
            str(scratch / "signer.sock"),
            "--policy",
            str(write_policy(scratch, policy)),
        ],
        env={**custody.env, **env_change},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert not (scratch / "signer.sock").exists()


def test_bad_socket_options_exit_2(custody: Custody, scratch: Path) -> None:
    result = run_injector(
        "signer",
        "--socket",
        str(scratch / "signer.sock"),
        "--socket-mode",
        "999",
        "--socket-group",
        "no-such-group",
        env=custody.env,
    )
    assert result.returncode == 2
    assert "--socket-mode: expected octal permissions" in result.stderr
    assert "--socket-group: expected an existing group" in result.stderr


def test_the_socket_gets_the_mode_and_group_asked(custody: Custody, scratch: Path) -> None:
    with support.running_signer(
        custody.env, scratch / "signer.sock", "--socket-group", "nogroup"
    ) as signer:
        info = signer.socket.stat()
        assert info.st_mode & 0o777 == 0o660
        assert info.st_gid == 65534


def test_audit_lines_are_json_and_never_hold_a_token(custody: Custody, scratch: Path) -> None:
    signer = _start(custody, scratch)
    try:
        good = support.job_as(
            NOBODY, ["env", "--dir", str(scratch / "job/a")], job_env(signer.socket)
        )
        bad = support.job_as(
            NOBODY,
            ["env", "--dir", str(scratch / "job/b")],
            job_env(signer.socket, organizationName="other"),
        )
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.connect(str(signer.socket))
            connection.sendall(b"not json\n")
            garbage = protocol.read_message(connection, protocol.MAX_ANSWER_BYTES)
    finally:
        signer.stop()
    assert good.returncode == 0 and bad.returncode == 2
    assert garbage["error"] == "invalid"
    text = signer.stderr_path.read_text()
    tokens = [(scratch / "job/a" / f"{name}.jwt").read_text() for name in ("aws", "azure", "gcp")]
    for token in tokens:
        assert token not in text
        assert token.split(".")[2] not in text
    assert f"injector: signer ready on unix:{signer.socket} (mode 0666)" in text
    lines = signer.audit()
    assert [line["decision"] for line in lines] == ["allow", "refuse", "invalid"]
    # The policy lets uid nobody name its workspace: said at start, and on the decision.
    assert "caller_names_context = true" in text
    assert lines[0]["caller_named"] is True
    for line in lines:
        assert {"time", "uid", "gid", "pid", "decision"} <= set(line)
    assert {"sub", "aud", "jti", "exp"} <= set(lines[0])
    assert lines[1]["sub"] == "organization:other:workspace:simple-cli"


def test_boto3_logs_in_with_a_signer_minted_token(
    custody: Custody, scratch: Path, moto_endpoint: str
) -> None:
    create_role(moto_endpoint)
    signer = _start(custody, scratch)
    env = job_env(
        signer.socket,
        WORKLOAD_IDENTITY_ROLE_AWS=ROLE_ARN,
        ENABLE_DYNAMIC_CREDENTIALS_AZURE="false",
        ENABLE_DYNAMIC_CREDENTIALS_GCP="false",
    )
    try:
        exported = support.job_as(
            NOBODY, ["env", "--format", "json", "--dir", str(scratch / "job/creds")], env
        )
    finally:
        signer.stop()
    assert exported.returncode == 0, exported.stderr
    exports = json.loads(exported.stdout)
    home = scratch / "home"
    home.mkdir()
    login = boto3_login(exports, moto_endpoint, home)
    assert login["method"] == "assume-role-with-web-identity"
    assert login["arn"].endswith(f"assumed-role/{ROLE_NAME}/terrakube-simple-simple-cli-1")
    assert os.environ.get("AWS_ACCESS_KEY_ID") is None


def test_oversized_trickled_and_probing_connections_on_one_loop(
    custody: Custody, scratch: Path
) -> None:
    """One event loop serves every connection: a caller trickling its request byte by byte
    does not hold up another, an oversized request is answered `invalid`, and a probe (connect,
    close) is no decision."""
    signer = _start(custody, scratch)
    request = protocol.TokenRequest(
        job=job_context.from_env(EXAMPLE_ENV), audiences=("aws.workload.identity",)
    )
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as slow:
            slow.connect(str(signer.socket))
            slow.sendall(request.encoded()[:10])
            assert len(client.request(signer.socket, request, signer_uid=os.getuid())) == 1
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as big:
                big.connect(str(signer.socket))
                big.sendall(b"{" + b" " * protocol.MAX_REQUEST_BYTES + b"}\n")
                oversized = protocol.read_message(big, protocol.MAX_ANSWER_BYTES)
            assert support.connects(signer.socket)  # a probe
            for byte in request.encoded()[10:]:
                slow.send(bytes([byte]))
            trickled = protocol.read_message(slow, protocol.MAX_ANSWER_BYTES)
    finally:
        assert signer.stop() == 0
    assert oversized["ok"] is False and oversized["error"] == "invalid"
    assert trickled["ok"] is True
    tokens = trickled["tokens"]
    assert isinstance(tokens, list)
    verify(tokens[0], custody.jwks, audience="aws.workload.identity", issuer=support.ISSUER)
    assert [line["decision"] for line in signer.audit()] == ["allow", "invalid", "allow"]


def test_a_caller_that_sends_nothing_is_cut_off_and_audited(
    custody: Custody, scratch: Path
) -> None:
    signer = _start(custody, scratch)
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as silent:
            silent.connect(str(signer.socket))
            silent.sendall(b'{"version"')
            silent.settimeout(30)
            assert silent.recv(100) == b""  # closed by the signer, no answer
    finally:
        assert signer.stop() == 0
    (line,) = signer.audit()
    assert line["decision"] == "internal" and line["reason"] == "reading the request: timed out"
    assert line["pid"] == os.getpid()


def test_a_group_entry_allows_a_caller_by_its_supplementary_group(
    custody: Custody, scratch: Path
) -> None:
    """`group = "users"` (gid 100): nobody (primary group nogroup) is allowed only while 100
    is among its supplementary groups, which the kernel's SO_PEERCRED does not carry."""
    users = grp.getgrnam("users").gr_gid
    assert users not in (NOBODY, pwd.getpwuid(NOBODY).pw_gid)
    signer = _start(
        custody,
        scratch,
        '[[allow]]\ngroup = "users"\nsubjects = ["organization:simple:workspace:*"]\n'
        "caller_names_context = true\n",
    )
    try:
        member = support.job_as(
            NOBODY,
            ["env", "--dir", str(scratch / "job/member")],
            job_env(signer.socket),
            groups=[27, users],
        )
        outsider = support.job_as(
            NOBODY,
            ["env", "--dir", str(scratch / "job/outsider")],
            job_env(signer.socket),
            groups=[27],
        )
    finally:
        assert signer.stop() == 0
    assert member.returncode == 0, member.stderr
    token = (scratch / "job/member/aws.jwt").read_text()
    verify(token, custody.jwks, audience="aws.workload.identity", issuer=support.ISSUER)
    assert outsider.returncode == 2
    assert f"uid {NOBODY} (gid {NOBODY}, groups 27) may not mint sub {SUBJECT!r}" in (
        outsider.stderr
    )
    assert not (scratch / "job/outsider").exists()
    allowed, refused = signer.audit()
    assert allowed["decision"] == "allow" and allowed["groups"] == [27, users]
    assert allowed["uid"] == NOBODY and allowed["gid"] == NOBODY
    assert refused["decision"] == "refuse" and refused["groups"] == [27]
