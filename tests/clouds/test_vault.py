"""Vault: the workspace variables (Terrakube's names), their forms, and what is exported before
the login (the login itself runs against a real OpenBao in tests/e2e/test_vault_login.py)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import trustme

from injector import clouds
from injector.clouds import vault
from injector.clouds.base import CloudOutputs
from injector.config import job_context
from injector.errors import ConfigError

ENABLED = {vault.ENABLE: "true", vault.ADDRESS: "https://vault.example.com", vault.ROLE: "r1"}
JOB = job_context.JobContext("simple", "simple-cli", "o", "w", "1")


def _config(**overrides: str) -> vault.VaultConfig:
    config = vault.CLOUD.configure({**ENABLED, **overrides})
    assert isinstance(config, vault.VaultConfig)
    return config


def _problems(env: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as error:
        vault.CLOUD.configure(env)
    return [p.variable for p in error.value.problems]


def test_registered_once_with_its_rules() -> None:
    assert clouds.named("vault") is vault.CLOUD
    assert clouds.guess("vault.workload.identity") is vault.CLOUD


def test_defaults_are_terrakubes() -> None:
    config = _config()
    assert (config.audience, config.auth_path) == ("vault.workload.identity", "jwt")
    assert (config.namespace, config.ca_cert) == (None, None)


@pytest.mark.parametrize("switch", [None, "false", "0"])
def test_off_unless_switched_on(switch: str | None) -> None:
    env = {vault.ADDRESS: "not a url"}
    if switch is not None:
        env[vault.ENABLE] = switch
    assert vault.CLOUD.configure(env) is None


def test_the_switch_is_strict() -> None:
    assert _problems({**ENABLED, vault.ENABLE: "present"}) == [vault.ENABLE]


def test_every_problem_at_once() -> None:
    env = {
        vault.ENABLE: "true",
        vault.ADDRESS: "http://vault.example.com",  # plain http off loopback
        vault.AUTH_PATH: "/jwt/",
        vault.NAMESPACE: "bad namespace",
        vault.CA_CERT: "/no/such/ca.pem",
    }
    assert _problems(env) == [
        vault.ADDRESS,
        vault.ROLE,
        vault.AUTH_PATH,
        vault.NAMESPACE,
        vault.CA_CERT,
    ]


@pytest.mark.parametrize(
    "address", ["http://127.0.0.1:8200", "http://localhost:8200", "https://vault:8200/"]
)
def test_https_or_loopback_http(address: str) -> None:
    assert _config(**{vault.ADDRESS: address}).address == address.rstrip("/")


def test_a_vault_token_already_set_is_refused() -> None:
    assert _problems({**ENABLED, "VAULT_TOKEN": "s.something"}) == ["VAULT_TOKEN"]


def test_exports_before_the_login(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("PEM")
    config = _config(**{vault.NAMESPACE: "admin/team", vault.CA_CERT: str(ca)})
    outputs = config.outputs(tmp_path / "vault.jwt", JOB)
    assert outputs.exports == {
        "VAULT_ADDR": "https://vault.example.com",
        "VAULT_NAMESPACE": "admin/team",
        "VAULT_CACERT": str(ca),
    }
    assert outputs.extra_files == {}


def test_phases_pick_the_role() -> None:
    from injector.job import phases

    resolved = phases.resolve({**ENABLED, f"{vault.ROLE}_APPLY": "writer"}, "apply")
    assert resolved[vault.ROLE] == "writer"


def test_rules_require_the_user_claim() -> None:
    assert vault.USER_CLAIM in vault.RULES.checks.required_claims
    assert vault.RULES.checks.clock_skew_seconds == 60


def _encoded(pem: bytes) -> str:
    return base64.b64encode(pem).decode()


def test_an_encoded_ca_goes_into_the_jobs_folder_and_vault_cacert_names_it(
    tmp_path: Path,
) -> None:
    pem = trustme.CA().cert_pem.bytes()
    config = _config(**{vault.ENCODED_CA_CERT: _encoded(pem)})
    outputs = config.outputs(tmp_path / "vault.jwt", JOB)
    written = tmp_path / "vault-ca.pem"

    assert outputs.extra_files == {written: pem}
    assert outputs.exports[vault.CA_CERT] == str(written)
    value = config.terraform_value(tmp_path / "vault.jwt", JOB).value
    assert value["ca_cert_file"] == str(written)


def test_a_tagged_encoded_ca_is_a_file_of_its_own_named_by_hcps_variable_only(
    tmp_path: Path,
) -> None:
    pem = trustme.CA().cert_pem.bytes()
    config = _config(**{vault.ENCODED_CA_CERT: _encoded(pem)}).tagged("PROD")
    outputs = config.outputs(tmp_path / "vault_PROD.jwt", JOB)
    written = tmp_path / "vault_PROD-ca.pem"

    assert outputs == CloudOutputs(exports={}, extra_files={written: pem})
    value = config.terraform_value(tmp_path / "vault_PROD.jwt", JOB).value
    assert value["ca_cert_file"] == str(written)


def test_the_ca_as_a_path_and_as_a_value_is_refused(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    pem = trustme.CA().cert_pem.bytes()
    ca.write_bytes(pem)
    env = {**ENABLED, vault.CA_CERT: str(ca), vault.ENCODED_CA_CERT: _encoded(pem)}
    with pytest.raises(ConfigError) as error:
        vault.CLOUD.configure(env)
    [problem] = error.value.problems
    assert problem.variable == vault.ENCODED_CA_CERT
    assert f"is set and so is {vault.CA_CERT}: give Vault's CA once" in problem.message
