"""The overflow ids: what an unmapped caller arrives as, and whether the signer's user namespace
can have one at all."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from injector.signer import userns
from injector.signer.userns import Overflow
from tests.signer.conftest import Custody, aws_request, send_as, start

_ROOT_ONLY = ("unshare", "--user", "--map-root-user", "--fork", "--kill-child")


def _proc(folder: Path, uid_map: str, gid_map: str) -> Path:
    (folder / "self").mkdir(parents=True)
    (folder / "self" / "uid_map").write_text(uid_map)
    (folder / "self" / "gid_map").write_text(gid_map)
    (folder / "sys" / "kernel").mkdir(parents=True)
    (folder / "sys" / "kernel" / "overflowuid").write_text("60001\n")
    (folder / "sys" / "kernel" / "overflowgid").write_text("60002\n")
    return folder


def test_a_map_of_every_id_has_no_overflow_and_a_partial_one_has_the_kernels(
    tmp_path: Path,
) -> None:
    full = "         0          0 4294967295\n"
    partial = "         0     100000      65536\n     65536          0          1\n"
    assert userns.of_this_process(_proc(tmp_path / "a", full, full)) == Overflow(None, None)
    assert userns.of_this_process(_proc(tmp_path / "b", partial, full)) == Overflow(60001, None)
    assert userns.of_this_process(_proc(tmp_path / "c", full, partial)) == Overflow(None, 60002)
    # Nothing to read: the overflow id may be an unmapped one, and is the kernel's default.
    assert userns.of_this_process(tmp_path / "none") == Overflow(65534, 65534)


def test_the_real_namespaces() -> None:
    """The tests' initial user namespace maps every id; one mapping root only does not."""
    assert userns.of_this_process() == Overflow(None, None)
    script = "from injector.signer import userns; print(userns.of_this_process())"
    inside = subprocess.run(
        [*_ROOT_ONLY, sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert inside.stdout.strip() == "Overflow(uid=65534, gid=65534)"


def test_only_the_overflow_ids_are_refused_and_stripped() -> None:
    overflow = Overflow(65534, 65534)
    assert overflow.reason(1000, 1000) is None
    assert "uid 65534 is the overflow uid" in str(overflow.reason(65534, 1000))
    assert "gid 65534 is the overflow gid" in str(overflow.reason(1000, 65534))
    assert overflow.known_groups(frozenset({27, 65534})) == {27}
    assert Overflow(None, None).reason(65534, 65534) is None
    assert Overflow(None, None).known_groups(frozenset({65534})) == {65534}
    assert Overflow(None, None).refused() == ""


def test_an_unmapped_supplementary_group_grants_nothing(custody: Custody, scratch: Path) -> None:
    """A signer in a user namespace mapping root only, a policy allowing gid 65534: a root
    caller with group 27, which that namespace does not map, arrives with group 65534, and is
    refused all the same."""
    policy = """
[[allow]]
gid = 65534
subjects = ["organization:simple:workspace:*"]
caller_names_context = true
"""
    signer = start(custody, scratch, policy, prefix=_ROOT_ONLY)
    try:
        (answer,) = send_as(0, signer.socket, [aws_request()], groups=[27])
    finally:
        assert signer.stop() == 0
    assert answer is not None and answer["ok"] is False, answer
    (line,) = signer.audit()
    assert line["decision"] == "refuse" and line["groups"] == [65534], line
    assert json.dumps(line).count("eyJ") == 0
    said = signer.stderr_path.read_text()
    assert "[[allow]] #1: gid 65534 is the overflow id" in said
    assert "; uid 65534 and gid 65534 refused (ids this user namespace does not map)" in said
