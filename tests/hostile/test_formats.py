"""Files written for another program's parser, read back by that parser: the AWS shared config
file by botocore's own loader (in a child process), `TF_VAR_tfc_*` by `terraform console`.
Arbitrary values either come back exactly or are refused (exit 2 naming the variable the user
set; ConfigError from the renderer itself, its last line of defence)."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from injector.clouds import aws_profiles, hcl
from injector.errors import ConfigError
from tests.conftest import run_injector
from tests.support import terraform

PROPERTY = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
# Text as a hostile value holds it: line breaks of every kind, brackets, `=`, template marks.
HOSTILE_TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from("\n\r\x0b\x0c\x85\u2028[]=;#%${}\"'\\ \t"),
        st.characters(codec="utf-8"),
    ),
    max_size=30,
)

# botocore's loader, as a child serving one file per line of stdin: its profiles, as JSON.
_BOTOCORE = """
import json, sys
from botocore.configloader import load_config
for line in sys.stdin:
    print(json.dumps(load_config(line.strip())["profiles"]), flush=True)
"""


class Botocore:
    def __init__(self) -> None:
        self.child = subprocess.Popen(
            [sys.executable, "-c", _BOTOCORE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={"PATH": "/usr/bin:/bin"},
        )

    def profiles(self, path: Path) -> dict[str, dict[str, str]]:
        assert self.child.stdin is not None and self.child.stdout is not None
        self.child.stdin.write(f"{path}\n")
        self.child.stdin.flush()
        found: dict[str, dict[str, str]] = json.loads(self.child.stdout.readline())
        return found


@pytest.fixture(scope="module")
def botocore() -> Iterator[Botocore]:
    parser = Botocore()
    yield parser
    parser.child.kill()
    parser.child.wait()


@PROPERTY
@given(
    profiles=st.lists(
        st.tuples(
            st.one_of(st.none(), HOSTILE_TEXT),
            st.dictionaries(st.sampled_from(["role_arn", "region", "x"]), HOSTILE_TEXT),
        ),
        max_size=3,
        unique_by=lambda profile: profile[0],
    )
)
@example(profiles=[(None, {"role_arn": "a = [b]; #c %(d)s"}), ("PROD", {"x": "${x} é"})])
def test_aws_config_values_round_trip_through_botocore_or_are_refused(
    botocore: Botocore, tmp_path: Path, profiles: list[tuple[str | None, dict[str, str]]]
) -> None:
    try:
        data = aws_profiles.render(profiles)
    except ConfigError:
        return
    path = tmp_path / "config"
    path.write_bytes(data)
    expected = {"default" if name is None else name: keys for name, keys in profiles}
    assert botocore.profiles(path) == expected


@pytest.mark.parametrize("name", ["default", "DEFAULT", "a b", "x]\n[profile y", "p=1", ""])
def test_a_profile_name_outside_the_alphabet_or_default_is_refused(name: str) -> None:
    with pytest.raises(ConfigError, match="profile name"):
        aws_profiles.render([(name, {"region": "us-east-1"})])


def test_a_line_break_in_dir_cannot_add_a_credential_process(
    workspace: dict[str, str], tmp_path: Path
) -> None:
    """The issue's case: `--dir` with a line break would put sections of its own into
    aws-profiles.config, and boto3's default session would run their credential_process."""
    env = {
        **workspace,
        "ENABLE_DYNAMIC_CREDENTIALS_AZURE": "false",
        "ENABLE_DYNAMIC_CREDENTIALS_GCP": "false",
        "ENABLE_DYNAMIC_CREDENTIALS_AWS_PROD": "true",
        "WORKLOAD_IDENTITY_ROLE_AWS_PROD": "arn:aws:iam::123456789012:role/prod",
    }
    folder = tmp_path / "x\n[default]\ncredential_process = /bin/touch /tmp/owned\n[y"
    result = run_injector("env", "--dir", str(folder), env=env)
    assert result.returncode == 2, result.stderr
    assert "injector: error: --dir: " in result.stderr
    assert "line break" in result.stderr
    assert result.stdout == ""
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("switch", ["ENABLE_DYNAMIC_CREDENTIALS_AWS", "INJECTOR_ENABLE_AWS"])
def test_a_tag_named_default_is_refused_naming_its_switch(
    workspace: dict[str, str], tmp_path: Path, switch: str
) -> None:
    env = {**workspace, f"{switch}_default": "true"}
    result = run_injector("env", "--dir", str(tmp_path / "creds"), env=env)
    assert result.returncode == 2, result.stderr
    assert f"injector: error: {switch}_default: " in result.stderr
    assert "not default" in result.stderr
    assert not (tmp_path / "creds").exists()


@pytest.fixture(scope="module")
def console_module(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("console")
    (folder / "main.tf").write_text('variable "v" {\n  type = list(string)\n}\n')
    return folder


def _terraform_reads(folder: Path, rendered: str) -> object:
    """What Terraform makes of `TF_VAR_v` (JSON, carried through base64 so that the console's
    own quoting plays no part)."""
    result = subprocess.run(
        [terraform.binary(), "console"],
        input="base64encode(jsonencode(var.v))\n",
        cwd=folder,
        env={"PATH": "/usr/bin:/bin", "TF_VAR_v": rendered, "HOME": str(folder)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(base64.b64decode(result.stdout.strip().strip('"')))


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(values=st.lists(HOSTILE_TEXT, min_size=1, max_size=25))
@example(values=["${a}", "%{b}", "$${c}", "\b\f"])
def test_terraform_variables_round_trip_through_terraform(
    console_module: Path, values: list[str]
) -> None:
    assert _terraform_reads(console_module, hcl.render(values)) == values


def test_template_sequences_and_escapes_terraform_would_misread(console_module: Path) -> None:
    values = ["/w/${path.root}/x", "%{ if true }y%{ endif }", "$${a}", "$$${b}", "\b\f\x7f", "\\"]
    assert _terraform_reads(console_module, hcl.render(values)) == values
