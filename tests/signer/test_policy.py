"""The policy: TOML [[allow]] entries, default deny, first match decides, every problem named."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from injector.errors import ConfigError
from injector.signer import policy, policy_file

SUB = "organization:simple:workspace:simple-cli"


def _load(tmp_path: Path, text: str) -> policy.Policy:
    path = tmp_path / "policy.toml"
    path.write_text(text)
    return policy_file.load(path)


def test_first_matching_entry_decides_and_caps_the_ttl(tmp_path: Path) -> None:
    loaded = _load(
        tmp_path,
        """
[[allow]]
user = "nobody"
subjects = ["organization:simple:workspace:prod-*"]
caller_names_context = true
max_ttl_minutes = 10

[[allow]]
uid = 65534
subjects = ["organization:simple:workspace:*"]
caller_names_context = true
audiences = ["aws.workload.identity"]

[[allow]]
group = "nogroup"
subjects = ["organization:simple:*"]
caller_names_context = true
max_ttl_minutes = 5
""",
    )
    prod = loaded.decide(65534, 65534, "organization:simple:workspace:prod-eu", "anything")
    assert prod is not None and prod.number == 1 and prod.max_ttl_minutes == 10
    aws = loaded.decide(65534, 65534, SUB, "aws.workload.identity")
    assert aws is not None and aws.number == 2
    azure = loaded.decide(65534, 65534, SUB, "api://AzureADTokenExchange")
    assert azure is not None and azure.number == 3 and azure.max_ttl_minutes == 5
    assert loaded.decide(65534, 1000, SUB, "api://AzureADTokenExchange") is None
    assert loaded.decide(1000, 1000, SUB, "aws.workload.identity") is None
    assert loaded.decide(65534, 65534, "organization:other:workspace:x", "aws") is None
    # A group entry matches a supplementary group as well as the effective one.
    assert loaded.names_groups
    grouped = loaded.decide(1000, 1000, SUB, "api://AzureADTokenExchange", frozenset({65534}))
    assert grouped is not None and grouped.number == 3
    assert loaded.decide(1000, 1000, SUB, "api://AzureADTokenExchange", frozenset({27})) is None


def test_every_problem_is_named_at_once(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        _load(
            tmp_path,
            """
deny = 1

[[allow]]
uid = -1
user = "root"
subjects = []
audiences = "aws"
max_ttl_minutes = 100000
colour = "blue"

[[allow]]
subjects = ["*"]
caller_names_context = true

[[allow]]
group = "no-such-group"
""",
        )
    text = "\n".join(str(problem) for problem in raised.value.problems)
    assert "unknown table(s) deny" in text
    assert "#1: uid and user both given" in text
    assert "#1 subjects: expected a non-empty list" in text
    assert "#1 audiences: expected a non-empty list" in text
    assert "#1 max_ttl_minutes: expected a whole number from 1 to 1440" in text
    assert "#1: unknown key(s) colour" in text
    assert "#2: names no caller" in text
    assert "#3 group: expected the name of an existing group, got 'no-such-group'" in text
    assert "#3 subjects: is required" in text
    assert all(p.variable.startswith(f"--policy {tmp_path}") for p in raised.value.problems)


def test_a_policy_with_no_entry_or_no_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="has no \\[\\[allow\\]\\] entry"):
        _load(tmp_path, "# nothing\n")
    with pytest.raises(ConfigError, match="cannot read"):
        policy_file.load(tmp_path / "missing.toml")


def test_without_a_policy_only_the_signers_own_uid_may_mint() -> None:
    default = policy.own_user()
    assert default.decide(os.getuid(), 12345, SUB, "x") is not None
    assert default.decide(os.getuid() + 1, os.getgid(), SUB, "x") is None
