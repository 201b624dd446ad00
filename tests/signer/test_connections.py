"""A uid allowed to connect tries to take the signer down or crowd the others out: deeply
nested JSON, a flood of idle connections. The signer answers or closes that connection only,
keeps its descriptor soft limit at the hard one, and still serves a well-behaved job."""

from __future__ import annotations

import os
import signal
import subprocess
import textwrap
from pathlib import Path

from injector.signer import fairness, protocol
from tests.signer.conftest import NOBODY, STRANGER, Custody, aws_request, job_env, send_as, start
from tests.support import signer as support


def test_nested_json_and_other_garbage_are_that_connections_problem(
    custody: Custody, scratch: Path
) -> None:
    signer = start(custody, scratch)
    nested = [
        b"[" * 60_000 + b"\n",  # json's parser would recurse 60,000 times
        b'{"a":' * 12_000 + b"1" + b"}" * 12_000 + b"\n",
        b"[" * 65_000,  # no newline: ended by the caller's shutdown
        b'{"version":1,"context":' + b"[" * 20 + b"]" * 20 + b"}\n",
        b"\xff\xfe{}\n",
        b'{"version":1,"audiences":["' + b"\\u0000" * 100 + b'"]}\n',
    ]
    try:
        answers = send_as(NOBODY, signer.socket, [*nested, aws_request()])
        assert signer.process.poll() is None  # still serving
    finally:
        assert signer.stop() == 0
    *refused, good = answers
    for answer in refused:
        assert answer is not None and answer["ok"] is False, answer
        assert answer["error"] == protocol.INVALID
    assert good is not None and good["ok"] is True
    assert [line["decision"] for line in signer.audit()] == ["invalid"] * 6 + ["allow"]


FLOODER = textwrap.dedent(
    """
    import resource, socket, sys, time
    path, count = sys.argv[1], int(sys.argv[2])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    held = []
    for _ in range(count):  # each held open, sending nothing
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.connect(path)
        held.append(connection)
    print("flooding", flush=True)
    time.sleep(600)
    """
)


def _limits(pid: int) -> tuple[str, str]:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            soft, hard = line.split()[3:5]
            return soft, hard
    raise AssertionError("no Max open files line")


def test_a_flood_from_one_uid_leaves_another_uids_job_served(
    custody: Custody, scratch: Path
) -> None:
    """A uid no entry names opens 2,000 connections and holds them; a job of another uid,
    meanwhile, gets its tokens. The flood is audited once per second per uid with a count, not
    once per connection."""
    signer = start(custody, scratch)
    soft, hard = _limits(signer.process.pid)
    assert soft == hard
    flooder = subprocess.Popen(
        [support.SYSTEM_PYTHON, "-c", FLOODER, str(signer.socket), "2000"],
        preexec_fn=lambda: support.as_user(STRANGER),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert flooder.stdout is not None
        assert flooder.stdout.readline() == "flooding\n"
        creds = scratch / "job" / "creds"
        served = support.job_as(NOBODY, ["env", "--dir", str(creds)], job_env(signer.socket))
        assert flooder.poll() is None  # still flooding while the job was served
    finally:
        flooder.send_signal(signal.SIGKILL)
        flooder.wait()
        assert signer.stop() == 0
    assert served.returncode == 0, served.stderr
    assert (creds / "aws.jwt").stat().st_uid == NOBODY
    audit = signer.audit()
    assert [line["uid"] for line in audit if line["decision"] == "allow"] == [NOBODY]
    floods = [line for line in audit if "refused" in line]
    refused = sum(int(str(line["refused"])) for line in floods)
    idle = [line for line in audit if line.get("reason") == "reading the request: timed out"]
    assert {line["uid"] for line in idle} <= {STRANGER}
    # Each flood connection was refused at once, or served (under the cap) until its deadline,
    # or was still under the cap when the flooder was killed (then closed unaudited, as a probe).
    assert refused + len(idle) >= 2000 - fairness.MAX_CONNECTIONS_PER_UID
    assert len(floods) < refused / 10  # counted, not one line per connection
    for line in floods:
        assert line["uid"] == STRANGER and line["decision"] == "refuse"
        assert f"already has {fairness.MAX_CONNECTIONS_PER_UID} connections open" in str(
            line["reason"]
        )


def test_the_signers_own_uid_is_not_capped(custody: Custody, scratch: Path) -> None:
    """The cap is for other uids: the signer's own (which can read the key anyway) is not
    counted, so an operator's tools and the tests' many-thread clients are not refused."""
    held = fairness.Fairness(lambda *_: None, cap=2, exempt_uid=os.getuid())
    assert all(held.admit(os.getuid()) for _ in range(5))
    assert held.admit(NOBODY) and held.admit(NOBODY) and not held.admit(NOBODY)
    held.release(NOBODY)
    assert held.admit(NOBODY)
