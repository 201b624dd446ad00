"""The policy's decision: default deny, the first matching entry decides and caps the TTL;
without a policy file, the signer's own uid only. Reading the file: test_policy_file.py."""

from __future__ import annotations

import os
from pathlib import Path

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


def test_without_a_policy_only_the_signers_own_uid_may_mint() -> None:
    default = policy.own_user()
    assert default.decide(os.getuid(), 12345, SUB, "x") is not None
    assert default.decide(os.getuid() + 1, os.getgid(), SUB, "x") is None
