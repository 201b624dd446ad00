"""Reading the --policy file (signer/policy_file.py): TOML [[allow]] entries, every problem
named at once under `--policy FILE`, an empty or missing file refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from injector.errors import ConfigError
from injector.signer import policy, policy_file


def _load(tmp_path: Path, text: str) -> policy.Policy:
    path = tmp_path / "policy.toml"
    path.write_text(text)
    return policy_file.load(path)


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
