"""`injector run` as a process: exit status, signals, clean-up on every way out, refresh."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jwt
import pytest

from tests.conftest import KeyFiles, run_injector
from tests.support import issuers

# A child that reports where its files are, then does what its argument says.
CHILD = """
import json, os, signal, sys, time
folder = os.path.dirname(os.environ["AWS_WEB_IDENTITY_TOKEN_FILE"])
report = sys.argv[2]
received = []
def on_signal(signum, frame):
    received.append(signum)
    with open(report + ".signal", "a") as out:
        out.write(str(signum) + "\\n")
for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
    signal.signal(s, on_signal)
with open(report, "w") as out:
    json.dump({"folder": folder, "files": sorted(os.listdir(folder)),
               "env": {k: v for k, v in os.environ.items()}}, out)
action = sys.argv[1]
if action.startswith("exit:"):
    sys.exit(int(action[5:]))
if action == "crash":
    os.kill(os.getpid(), signal.SIGSEGV)
if action == "wait":
    deadline = time.time() + 60
    while not received and time.time() < deadline:
        time.sleep(0.02)
    # Stay a little longer, so that a second copy of the signal would be seen and recorded.
    end = time.time() + 1
    while time.time() < end:
        time.sleep(0.02)
    sys.exit(40 + received[0])
"""


def _start(
    workspace: dict[str, str], tmp_path: Path, action: str, *extra: str
) -> subprocess.Popen[str]:
    report = tmp_path / "report.json"
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "injector",
            "run",
            *extra,
            "--",
            sys.executable,
            "-c",
            CHILD,
            action,
            str(report),
        ],
        env={"PATH": os.environ["PATH"], **workspace},
        stdin=subprocess.DEVNULL,  # no terminal: signals reach the command only through injector
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _report(tmp_path: Path, timeout: float = 30) -> dict[str, object]:
    report = tmp_path / "report.json"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if report.exists() and report.stat().st_size:
            try:
                data: dict[str, object] = json.loads(report.read_text())
                return data
            except json.JSONDecodeError:
                pass
        time.sleep(0.05)
    raise AssertionError("the command never reported")


@pytest.mark.parametrize("status", [0, 1, 3, 77])
def test_exit_status_is_the_commands_and_files_are_removed(
    workspace: dict[str, str], tmp_path: Path, status: int
) -> None:
    process = _start(workspace, tmp_path, f"exit:{status}")
    assert process.wait(timeout=60) == status, process.stderr.read() if process.stderr else ""
    report = _report(tmp_path)
    assert report["files"] == ["aws.jwt", "azure.jwt", "gcp-credentials.json", "gcp.jwt"]
    assert not Path(str(report["folder"])).exists()


def test_a_crashing_command_exits_128_plus_signal_and_files_are_removed(
    workspace: dict[str, str], tmp_path: Path
) -> None:
    process = _start(workspace, tmp_path, "crash")
    assert process.wait(timeout=60) == 128 + signal.SIGSEGV
    assert not Path(str(_report(tmp_path)["folder"])).exists()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_signals_are_passed_on_once_and_files_are_removed(
    workspace: dict[str, str], tmp_path: Path, signum: int
) -> None:
    process = _start(workspace, tmp_path, "wait")
    report = _report(tmp_path)
    process.send_signal(signum)
    assert process.wait(timeout=60) == 40 + signum
    assert (tmp_path / "report.json.signal").read_text() == f"{signum}\n"
    assert not Path(str(report["folder"])).exists()


def test_a_command_killed_by_a_signal_gives_128_plus_n(
    workspace: dict[str, str], tmp_path: Path
) -> None:
    result = run_injector("run", "--", "sh", "-c", "kill -KILL $$", env=workspace)
    assert result.returncode == 128 + signal.SIGKILL


def test_an_existing_dir_is_kept_but_emptied(workspace: dict[str, str], tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir(mode=0o700)
    (folder / "unrelated").write_text("keep me")
    process = _start(workspace, tmp_path, "exit:0", "--dir", str(folder))
    assert process.wait(timeout=60) == 0
    assert sorted(p.name for p in folder.iterdir()) == ["unrelated"]


def test_exports_are_added_and_static_credentials_removed(
    workspace: dict[str, str], tmp_path: Path
) -> None:
    workspace.update({"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "UNRELATED": "kept"})
    process = _start(workspace, tmp_path, "exit:0")
    assert process.wait(timeout=60) == 0
    stderr = process.stderr.read() if process.stderr else ""
    env = _report(tmp_path)["env"]
    assert isinstance(env, dict)
    assert "AWS_ACCESS_KEY_ID" not in env
    assert env["UNRELATED"] == "kept"
    assert env["AWS_ROLE_ARN"] == "arn:aws:iam::123456789012:role/terrakube-role"
    assert env["ARM_USE_OIDC"] == "true"
    assert "not passing AWS_ACCESS_KEY_ID" in stderr
    assert "AKIAEXAMPLE" not in stderr


def test_command_not_found_exits_127_and_removes_the_folder(
    workspace: dict[str, str], tmp_path: Path
) -> None:
    folder = tmp_path / "d"
    result = run_injector("run", "--dir", str(folder), "--", "no-such-command-here", env=workspace)
    assert result.returncode == 127
    assert "command not found: no-such-command-here" in result.stderr
    assert not folder.exists()


def test_bad_configuration_exits_2_before_running_anything(
    workspace: dict[str, str], tmp_path: Path
) -> None:
    workspace["ARM_TENANT_ID"] = "contoso"
    marker = tmp_path / "ran"
    result = run_injector("run", "--", "touch", str(marker), env=workspace)
    assert result.returncode == 2
    assert "ARM_TENANT_ID" in result.stderr
    assert not marker.exists()


def test_without_a_cloud_the_command_just_runs(tmp_path: Path) -> None:
    result = run_injector("run", "--", "sh", "-c", "exit 5", env={})
    assert result.returncode == 5


# Reads the token files as fast as it can for a few seconds: every read must be a whole token
# that verifies and has not expired.
READER = """
import json, os, sys, time
import jwt
from cryptography.hazmat.primitives import serialization
key = serialization.load_pem_public_key(open(sys.argv[1], "rb").read())
files = [os.environ["AWS_WEB_IDENTITY_TOKEN_FILE"], os.environ["AZURE_FEDERATED_TOKEN_FILE"]]
seen, reads = set(), 0
deadline = time.time() + float(sys.argv[2])
while time.time() < deadline:
    for path in files:
        token = open(path).read()
        claims = jwt.decode(token, key, algorithms=["RS256"], options={"verify_aud": False})
        assert claims["exp"] > time.time(), "expired"
        seen.add(claims["jti"])
        reads += 1
print(json.dumps({"distinct": len(seen), "reads": reads}))
"""


def test_refresh_replaces_tokens_and_readers_never_see_a_bad_one(
    workspace: dict[str, str], key_files: KeyFiles
) -> None:
    workspace["DynamicCredentialTtl"] = "1"
    result = run_injector(
        "run",
        "--refresh-interval",
        "1",  # the shortest interval `run` takes
        "--",
        sys.executable,
        "-c",
        READER,
        str(key_files.public),
        "6",
        env=workspace,
    )
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    # Two token files, each replaced every second for 6 s: many distinct tokens, all good.
    assert outcome["distinct"] >= 8
    assert outcome["reads"] > outcome["distinct"]
    # Said once, before the command: the refreshes are not announced.
    assert [line.split(":")[1].strip() for line in _minted_lines(result.stderr)] == [
        "aws",
        "azure",
        "gcp",
    ]


def test_refresh_interval_must_be_positive(workspace: dict[str, str]) -> None:
    result = run_injector("run", "--refresh-interval", "0", "--", "true", env=workspace)
    assert result.returncode == 2
    assert "--refresh-interval" in result.stderr


def test_phase_selects_the_apply_role(workspace: dict[str, str], tmp_path: Path) -> None:
    workspace["WORKLOAD_IDENTITY_ROLE_AWS_APPLY"] = "arn:aws:iam::123456789012:role/apply"
    workspace["WORKLOAD_IDENTITY_ROLE_AWS_PLAN"] = "arn:aws:iam::123456789012:role/plan"
    for phase in ("plan", "apply"):
        process = _start(workspace, tmp_path, "exit:0", "--phase", phase)
        assert process.wait(timeout=60) == 0
        env = _report(tmp_path)["env"]
        assert isinstance(env, dict)
        assert env["AWS_ROLE_ARN"] == f"arn:aws:iam::123456789012:role/{phase}"
        (tmp_path / "report.json").unlink()


def test_token_file_is_verifiable_while_the_command_runs(
    workspace: dict[str, str], key_files: KeyFiles, tmp_path: Path
) -> None:
    result = run_injector(
        "run", "--", "sh", "-c", 'cat "$AWS_WEB_IDENTITY_TOKEN_FILE"', env=workspace
    )
    assert result.returncode == 0
    public_key = issuers.public_key(key_files.public.read_bytes())
    claims = jwt.decode(
        result.stdout, public_key, algorithms=["RS256"], audience="aws.workload.identity"
    )
    assert claims["sub"] == "organization:simple:workspace:simple-cli"


def test_ctrl_c_at_a_terminal_reaches_the_command_once(
    workspace: dict[str, str], tmp_path: Path
) -> None:
    """At a terminal, Ctrl-C goes to the whole foreground group; injector must not send it
    again (Terraform takes a second interrupt as "stop now, skip clean-up")."""
    import fcntl
    import pty
    import termios

    controller, terminal = pty.openpty()

    def take_terminal() -> None:
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    report = tmp_path / "report.json"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "injector",
            "run",
            "--",
            sys.executable,
            "-c",
            CHILD,
            "wait",
            str(report),
        ],
        env={"PATH": os.environ["PATH"], **workspace},
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        start_new_session=True,
        preexec_fn=take_terminal,  # the pty becomes its controlling terminal
    )
    os.close(terminal)
    try:
        _report(tmp_path)
        os.write(controller, b"\x03")  # the terminal's interrupt character
        assert process.wait(timeout=60) == 40 + signal.SIGINT
        assert (tmp_path / "report.json.signal").read_text() == f"{signal.SIGINT}\n"
    finally:
        if process.poll() is None:
            process.kill()
        os.close(controller)


def _minted_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "; sub " in line]


def test_run_says_what_it_minted_on_stderr_and_quiet_silences_it(
    workspace: dict[str, str], tmp_path: Path
) -> None:
    command = ["run", "--", sys.executable, "-c", "pass"]
    result = run_injector(*command, env=workspace)
    assert result.returncode == 0, result.stderr
    lines = _minted_lines(result.stderr)
    assert [line.split(":")[1].strip() for line in lines] == ["aws", "azure", "gcp"]
    aws = lines[0]
    assert f"role {workspace['WORKLOAD_IDENTITY_ROLE_AWS']};" in aws
    assert "; aud aws.workload.identity; expires " in aws
    assert "; sub organization:" in aws
    assert "client " in lines[1] and " in tenant " in lines[1]
    assert "eyJ" not in result.stderr + result.stdout  # no JWT: its header starts so

    for quiet in (["--quiet"], ["-q"]):
        silent = run_injector("run", *quiet, *command[1:], env=workspace)
        assert silent.returncode == 0, silent.stderr
        assert _minted_lines(silent.stderr) == []
    by_variable = run_injector(*command, env={**workspace, "INJECTOR_QUIET": "true"})
    assert by_variable.returncode == 0, by_variable.stderr
    assert _minted_lines(by_variable.stderr) == []


def test_a_bad_injector_quiet_is_refused_before_anything_runs(
    workspace: dict[str, str], tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    result = run_injector(
        "run",
        "--",
        sys.executable,
        "-c",
        f"open({str(marker)!r}, 'w')",
        env={**workspace, "INJECTOR_QUIET": "maybe"},
    )
    assert result.returncode == 2
    assert "INJECTOR_QUIET" in result.stderr
    assert not marker.exists()
    assert _minted_lines(result.stderr) == []
