"""Files written for another program's parser, read back by that parser: the AWS shared config
file by botocore's own loader (in a child process), `TF_VAR_tfc_*` by `terraform console`.
Arbitrary values either come back exactly or are refused (exit 2 naming the variable the user
set; ConfigError from the renderer itself, its last line of defence)."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from injector.clouds import aws_profiles, gcp, hcl, kubeconfig
from injector.config.job_context import JobContext
from injector.errors import ConfigError
from tests.conftest import run_injector
from tests.support import terraform

JOB = JobContext("acme", "prod", "o-1", "w-1", "1")
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


class Parser:
    """A parser in a child process: one file path in, its JSON reading out."""

    def __init__(self, program: str = _BOTOCORE) -> None:
        self.child = subprocess.Popen(
            [sys.executable, "-c", program],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={"PATH": "/usr/bin:/bin"},
        )

    def read(self, path: Path) -> dict[str, Any]:
        assert self.child.stdin is not None and self.child.stdout is not None
        self.child.stdin.write(f"{path}\n")
        self.child.stdin.flush()
        found: dict[str, Any] = json.loads(self.child.stdout.readline())
        return found


@pytest.fixture(scope="module")
def botocore() -> Iterator[Parser]:
    parser = Parser()
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
    botocore: Parser, tmp_path: Path, profiles: list[tuple[str | None, dict[str, str]]]
) -> None:
    try:
        data = aws_profiles.render(profiles)
    except ConfigError:
        return
    path = tmp_path / "config"
    path.write_bytes(data)
    expected = {"default" if name is None else name: keys for name, keys in profiles}
    assert botocore.read(path) == expected


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
@example(values=["\uf900"])  # Terraform would read U+8C48, its NFC form
def test_terraform_variables_round_trip_through_terraform(
    console_module: Path, values: list[str]
) -> None:
    if all(unicodedata.is_normalized("NFC", value) for value in values):
        assert _terraform_reads(console_module, hcl.render(values)) == values
    else:
        with pytest.raises(ConfigError, match=r"TF_VAR_v: .*NFC"):
            hcl.render(values, "TF_VAR_v")


def test_template_sequences_and_escapes_terraform_would_misread(console_module: Path) -> None:
    values = ["/w/${path.root}/x", "%{ if true }y%{ endif }", "$${a}", "$$${b}", "\b\f\x7f", "\\"]
    assert _terraform_reads(console_module, hcl.render(values)) == values


# google-auth's loader, as a child serving one credentials file per line of stdin.
_GOOGLE_AUTH = """
import json, sys, google.auth
for line in sys.stdin:
    credentials, _ = google.auth.load_credentials_from_file(line.strip())
    print(json.dumps(credentials.info), flush=True)
"""


@pytest.fixture(scope="module")
def google_auth() -> Iterator[Parser]:
    loader = Parser(_GOOGLE_AUTH)
    yield loader
    loader.child.kill()
    loader.child.wait()


@PROPERTY
@given(provider=HOSTILE_TEXT, folder=HOSTILE_TEXT)
@example(provider='//iam/"x"\\n${y}', folder="a b\u2028c")
def test_gcp_credentials_round_trip_through_google_auth(
    google_auth: Parser, tmp_path: Path, provider: str, folder: str
) -> None:
    """JSON has an escape for every character: whatever a value holds, google-auth reads back
    the audience and the token file injector wrote (`str.encode` refuses lone surrogates,
    which no environment variable or path from the OS hands over as text)."""
    assume("\x00" not in folder and "/" not in folder)
    token_file = tmp_path / (folder or "t") / "gcp.jwt"
    config = gcp.GcpConfig(
        provider=provider,
        service_account=None,
        project=None,
        sts_url="https://sts.googleapis.com/v1/token",
        iam_url="https://iamcredentials.googleapis.com",
    )
    content = next(iter(config.outputs(token_file, JOB).extra_files.values()))
    credentials = tmp_path / "credentials.json"
    credentials.write_bytes(content)
    info = google_auth.read(credentials)
    assert info["audience"] == provider
    assert info["credential_source"] == {"file": str(token_file), "format": {"type": "text"}}


def _kubectl_view(kubeconfig: Path) -> dict[str, Any]:
    """The kubeconfig as client-go loads it (kubectl's own loader), as JSON."""
    result = subprocess.run(
        ["kubectl", "config", "view", "--raw", "-o", "json", "--kubeconfig", str(kubeconfig)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": str(kubeconfig.parent)},
    )
    assert result.returncode == 0, result.stderr
    found: dict[str, Any] = json.loads(result.stdout)
    return found


@PROPERTY
@given(server=HOSTILE_TEXT, folder=HOSTILE_TEXT)
@example(server="https://k8s.example.com", folder="\U0001f600")
@example(server="https://k8s.example.com", folder="a\x85b\u2028c\ufffe\x7f")
def test_kubeconfig_values_round_trip_through_kubectl(
    tmp_path: Path, server: str, folder: str
) -> None:
    """The kubeconfig is read by client-go's YAML loader, which refuses JSON's escapes of a
    character outside the BMP (a surrogate pair) and reads some characters as line breaks: a
    token file under a folder named with an emoji (a repository's folder, under `hook`) made a
    kubeconfig that kubectl refused to load. Whatever a value holds, kubectl reads it back."""
    assume("\x00" not in folder and "/" not in folder and folder not in ("", ".", ".."))
    token_file = tmp_path / folder / "kubernetes.jwt"
    kubeconfig_file = tmp_path / "kubernetes-kubeconfig"
    kubeconfig_file.write_bytes(kubeconfig.render(server, token_file, None, "team-a"))
    found = _kubectl_view(kubeconfig_file)
    assert found["users"][0]["user"]["tokenFile"] == str(token_file)
    assert found["clusters"][0]["cluster"]["server"] == server
    assert found["contexts"][0]["context"]["namespace"] == "team-a"
