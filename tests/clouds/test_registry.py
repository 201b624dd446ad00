"""The registry is the only place that knows which clouds exist: an extra cloud, defined here in
the test and registered with one line, goes through the dry run, `env`, `run`, `doctor` and
`verify` with no change anywhere else. And the registry's own helpers."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import jwt
import pytest

from injector import clouds
from injector.cli import main
from injector.clouds import CloudConfig, CloudOutputs, CloudRules, TokenFileCache
from injector.clouds.base import CloudOf
from injector.clouds.facets import Rivals
from injector.clouds.rules import OperatorAdvice, TokenChecks, every_failure, same
from injector.config import values
from injector.config.job_context import JobContext
from injector.diagnostics import doctor, fetch, verify
from injector.errors import ConfigError, Problems
from injector.job.example import JOB_EXAMPLE
from tests.conftest import KeyFiles

if TYPE_CHECKING:
    from tests.standins.fixtures import Issuer, TestTls

pytest_plugins = ["tests.standins.fixtures"]

SWITCH = "ENABLE_DYNAMIC_CREDENTIALS_EXAMPLECLOUD"
BUILT_IN = ["aws", "azure", "gcp", "vault", "kubernetes", "vault_backed_aws"]
IDENTITY = "EXAMPLECLOUD_IDENTITY"
SECRET = "EXAMPLECLOUD_SECRET"
AUDIENCE = "example.workload.identity"


@dataclass(frozen=True)
class ExampleConfig(CloudConfig):
    principal: str
    audience: str = AUDIENCE

    @property
    def identity(self) -> str:
        return f"principal {self.principal}"

    def outputs(self, token_file: Path, job: JobContext) -> CloudOutputs:
        return CloudOutputs(
            exports={"EXAMPLECLOUD_TOKEN_FILE": str(token_file), IDENTITY: self.principal},
            extra_files={token_file.parent / "examplecloud.json": b'{"identity": 1}'},
        )


def _read(env: Mapping[str, str]) -> ExampleConfig:
    problems = Problems()
    identity = problems.get("", values.required, env, IDENTITY, "an identity name")
    problems.raise_if_any()
    return ExampleConfig(principal=identity)


EXAMPLE_CLOUD = CloudOf(
    name="examplecloud",
    label="ExampleCloud",
    switch=SWITCH,
    read=_read,
    rules=CloudRules(
        name="examplecloud",
        label="Example STS",
        checks=TokenChecks(
            algorithms=("RS256",),
            require_kid=True,
            max_lifetime_seconds=3600,
            default_audience=AUDIENCE,
            recognizes=lambda audience: audience == AUDIENCE,
        ),
        codes=every_failure("example_denied"),
        advice=OperatorAdvice(trusts="a public CA"),
    ),
    rivals=Rivals("the example SDK", (SECRET,)),
    phased=(IDENTITY,),
    example={SWITCH: "true", IDENTITY: "reader"},
    token_file_cache=TokenFileCache(reader="the example SDK", seconds=60),
)
ExampleConfig.cloud = EXAMPLE_CLOUD
CLOUD = EXAMPLE_CLOUD  # what the registry line of the fixture `registered` loads


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The registry with the example cloud as its fourth line."""
    line = clouds.Registered(EXAMPLE_CLOUD.name, EXAMPLE_CLOUD.label, SWITCH, __name__)
    monkeypatch.setattr(clouds, "REGISTRY", (*clouds.REGISTRY, line))
    yield


@pytest.fixture
def only_example(
    registered: None, key_files: KeyFiles, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """A workspace that enables only the example cloud, as the process environment."""
    for name in list(os.environ):
        if name.startswith(("ENABLE_DYNAMIC_CREDENTIALS_", "Dynamic", "EXAMPLECLOUD_")):
            monkeypatch.delenv(name)
    env = {
        **JOB_EXAMPLE,
        **EXAMPLE_CLOUD.example,
        "DynamicCredentialPrivateKeyPath": str(key_files.private_pkcs8),
        "DynamicCredentialTtl": "30",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def test_the_dry_run_shows_the_fourth_cloud(
    registered: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--example"]) == 0
    out = capsys.readouterr().out
    for name in ("aws", "azure", "gcp", "examplecloud"):
        assert f"== {name}: token for audience" in out
    assert f"  {IDENTITY}=reader" in out


def test_env_mints_writes_and_exports_for_the_fourth_cloud(
    only_example: dict[str, str],
    key_files: KeyFiles,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = tmp_path / "out"
    assert main(["env", "--dir", str(folder), "--format", "json"]) == 0
    exports = json.loads(capsys.readouterr().out)
    assert exports == {
        "EXAMPLECLOUD_TOKEN_FILE": str(folder / "examplecloud.jwt"),
        IDENTITY: "reader",
    }
    token = (folder / "examplecloud.jwt").read_text()
    public = key_files.public.read_bytes()
    claims = jwt.decode(token, public, algorithms=["RS256"], audience=AUDIENCE)
    assert claims["sub"] == "organization:simple:workspace:simple-cli"
    assert (folder / "examplecloud.json").read_bytes() == b'{"identity": 1}'


def test_env_reports_the_fourth_clouds_problems_with_the_others(
    only_example: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv(IDENTITY)
    monkeypatch.setenv(SECRET, "do-not-show")
    monkeypatch.setenv(f"{IDENTITY}_APPLY", "")
    assert main(["env", "--dir", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"{SECRET}: is set, and the example SDK would use it" in err
    assert f"{IDENTITY}: is required: expected an identity name" in err
    assert "do-not-show" not in err
    assert not (tmp_path / "out").exists()


def test_the_phase_variable_of_the_fourth_cloud_overrides(
    only_example: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(f"{IDENTITY}_APPLY", "writer")
    folder = tmp_path / "out"
    assert main(["env", "--phase", "apply", "--dir", str(folder), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)[IDENTITY] == "writer"


def test_run_gives_the_command_the_fourth_clouds_exports(
    only_example: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(SECRET, "static")
    show = (
        "import os, pathlib; "
        "print(os.environ.get('EXAMPLECLOUD_SECRET')); "
        "print(pathlib.Path(os.environ['EXAMPLECLOUD_TOKEN_FILE']).read_text().count('.'))"
    )
    assert main(["run", "--", sys.executable, "-c", show]) == 0
    out, err = capfd.readouterr()
    assert out.splitlines() == ["None", "2"]
    assert f"not passing {SECRET} to the command" in err


def test_doctor_and_verify_apply_the_fourth_clouds_rules(
    registered: None, key_files: KeyFiles, issuer: Issuer, test_tls: TestTls
) -> None:
    env = {
        **JOB_EXAMPLE,
        **EXAMPLE_CLOUD.example,
        "DynamicCredentialHostname": issuer.url,
        "DynamicCredentialPrivateKeyPath": str(key_files.private_pkcs8),
        "DynamicCredentialPublicKeyPath": str(key_files.public),
        # Over the example cloud's one-hour maximum: its own rule must say so.
        "DynamicCredentialTtl": "90",
    }
    trusted = fetch.trust(test_tls.ca_file, {})
    lines = {line.rule: line for line in doctor.diagnose(env, trusted)}
    assert lines["settings"].status == "ok"
    assert lines["ttl.examplecloud"].status == "FAIL"
    assert "Example STS refuses tokens that live over 60 min" in lines["ttl.examplecloud"].detail
    assert lines["ttl.examplecloud"].code == "example_denied"
    for rule in ("alg", "kid", "signature", "exp", "iat", "aud", "sub"):
        assert lines[f"examplecloud.{rule}"].status == "ok", lines[f"examplecloud.{rule}"]

    from injector.job import pipeline

    # A job is refused the same lifetime before anything is minted (exit 2), naming the TTL.
    with pytest.raises(ConfigError) as refused:
        pipeline.prepare(env)
    [problem] = refused.value.problems
    assert problem.variable == "DynamicCredentialTtl"
    assert "Example STS refuses tokens that live over 60 min" in problem.message

    prepared = pipeline.prepare({**env, "DynamicCredentialTtl": "30"})
    assert prepared is not None
    [minted] = pipeline.mint(prepared, Path("/nonexistent")).clouds
    with fetch.Fetcher(trusted) as fetcher:
        checked = verify.check(minted.token.compact, fetcher)
    by_rule = {line.rule: line for line in checked}
    assert by_rule["cloud"].detail == "examplecloud (Example STS, from aud)"
    assert [line for line in checked if line.status != "ok"] == []


def test_verify_accepts_the_fourth_cloud_by_name(
    registered: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify", "--cloud", "examplecloud", "not-a-token"]) == 1
    out = capsys.readouterr().out
    assert "examplecloud (Example STS, from --cloud)" not in out  # not decoded, so not reached
    assert "[example_denied]" in out


def test_an_unknown_token_is_checked_against_every_registered_cloud(registered: None) -> None:
    rules = clouds.any_rules()
    # Each set of rules once: Vault-backed AWS's are Vault's.
    shared = {"vault_backed_aws"}
    assert [member.name for member in rules.members] == [
        *(name for name in BUILT_IN if name not in shared),
        "examplecloud",
    ]
    assert all(
        any(same(cloud.rules, member) for member in rules.members) for cloud in clouds.registered()
    )
    code = rules.code("expired")
    assert code is not None
    assert code.split("/")[-1] == "example_denied"
    assert "ES256" in rules.checks.algorithms  # any of them accepts it (AWS, Google)
    assert rules.refusing("ES256")[-1] == "Example STS"
    assert "Entra ID" in rules.refusing("ES256")


def test_switches_are_listed_with_their_shared_prefix_once(registered: None) -> None:
    assert clouds.switches() == (
        "ENABLE_DYNAMIC_CREDENTIALS_AWS, _AZURE, _GCP, _VAULT, _KUBERNETES, _VAULT_BACKED_AWS "
        "or _EXAMPLECLOUD"
    )


def test_switches_of_the_built_in_clouds() -> None:
    assert clouds.switches() == (
        "ENABLE_DYNAMIC_CREDENTIALS_AWS, _AZURE, _GCP, _VAULT, _KUBERNETES or _VAULT_BACKED_AWS"
    )


def test_named_and_guess() -> None:
    assert clouds.named("azure").switch == "ENABLE_DYNAMIC_CREDENTIALS_AZURE"
    with pytest.raises(KeyError):
        clouds.named("nowhere")
    assert clouds.guess("api://AzureADTokenExchange") is clouds.named("azure")
    assert clouds.guess("sts.amazonaws.com") is clouds.named("aws")
    assert clouds.guess(["aws.workload.identity"]) is None
    assert clouds.guess("something else") is None


@pytest.mark.parametrize("cloud", clouds.registered(), ids=lambda cloud: cloud.name)
def test_each_clouds_configuration_carries_its_cloud(cloud: clouds.Cloud) -> None:
    config = cloud.configure(cloud.example)
    assert config is not None
    assert isinstance(config, CloudConfig)
    assert config.cloud is cloud and config.name == cloud.name and config.tag is None
    tagged = config.tagged("PROD")
    assert (tagged.tag, tagged.cloud, tagged.alone().tag) == ("PROD", cloud, None)


def test_each_registry_line_names_its_clouds_module() -> None:
    for line in (*clouds.REGISTRY, *clouds.BESIDE):
        cloud = line.load()
        assert (cloud.name, cloud.label, cloud.switch, cloud.alias) == (
            line.name,
            line.label,
            line.switch,
            line.alias,
        )


def test_every_variable_a_cloud_takes_a_tag_for_is_one_it_reads() -> None:
    """The misspelling warning and the reference page list what a cloud reads
    (`known_variables`): a variable that takes a tag but is missing there would be read, yet
    neither documented nor guarded against typos."""
    for cloud in clouds.registered():
        unread = set(cloud.taking_tags()) - set(cloud.known_variables())
        assert unread == set(), (cloud.name, sorted(unread))
