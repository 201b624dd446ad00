"""`injector run` through the signer: the signer killed and restarted while the command runs
costs no expired token; the refresh is retried, the old token stays until a new one comes."""

from __future__ import annotations

import json
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from tests.signer.conftest import Custody, job_env
from tests.support import reachable
from tests.support import signer as support

# The command: read the AWS token file every 50 ms for 10 s; print what it saw.
READER = """
import base64, json, os, sys, time
seen, end = [], time.time() + 10
while time.time() < end:
    token = open(os.environ["AWS_WEB_IDENTITY_TOKEN_FILE"]).read()
    body = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    seen.append([time.time(), claims["jti"], claims["exp"]])
    time.sleep(0.05)
print(json.dumps(seen))
"""


def test_a_signer_restart_during_run_costs_no_expired_token(custody: Custody) -> None:
    scratch = Path(tempfile.mkdtemp(dir=custody.folder))
    scratch.chmod(0o755)
    socket_path = scratch / "signer.sock"
    policy = scratch / "policy.toml"
    policy.write_text(
        f'[[allow]]\nuid = {support.NOBODY}\nsubjects = ["*"]\ncaller_names_context = true\n'
    )
    env = {**custody.env, "DynamicCredentialTtl": "1"}
    first = support.start_signer(env, socket_path, "--policy", str(policy), "--socket-mode", "0666")
    job = job_env(
        socket_path,
        ENABLE_DYNAMIC_CREDENTIALS_AZURE="false",
        ENABLE_DYNAMIC_CREDENTIALS_GCP="false",
    )
    run = subprocess.Popen(
        [
            support.SYSTEM_PYTHON,
            "-m",
            "injector",
            "run",
            "--refresh-interval",
            "1",
            "--",
            support.SYSTEM_PYTHON,
            "-c",
            READER,
        ],
        env={
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": reachable.python_path(),
            **job,
            "INJECTOR_LOG_LEVEL": "info",
        },
        preexec_fn=lambda: support.as_user(support.NOBODY),
        cwd="/",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(3)
    first.process.send_signal(signal.SIGKILL)  # no clean shutdown: the socket file stays
    first.process.wait()
    killed_at = time.time()
    time.sleep(3)
    second = support.start_signer(
        env,
        socket_path,
        "--policy",
        str(policy),
        "--socket-mode",
        "0666",
        stderr_path=scratch / "second.stderr",
    )
    restarted_at = time.time()
    try:
        stdout, stderr = run.communicate(timeout=60)
    finally:
        second.stop()
    assert run.returncode == 0, stderr
    seen = json.loads(stdout)
    assert len(seen) > 50
    assert all(exp > read_at for read_at, _, exp in seen)  # never an expired token
    assert "token refresh failed" in stderr
    assert "cannot reach the signer" in stderr
    # While the signer was down the token did not change; after the restart, new ones came.
    down = {jti for read_at, jti, _ in seen if killed_at + 1.1 < read_at < restarted_at - 0.1}
    assert len(down) == 1
    second_jtis = {line["jti"][0] for line in second.audit()}
    assert second_jtis & {jti for read_at, jti, _ in seen if read_at > restarted_at}
    assert {line["jti"][0] for line in first.audit()} & {j for _, j, _ in seen}
    support.remove(scratch)
