"""`injector verify` names the rule a cloud would refuse a token on, with the cloud's own error
code: each misconfiguration is produced on purpose against the real `injector serve` issuer (over
TLS, with the test CA) or against an issuer whose documents a test spoils.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from injector import claims
from injector.config import issuer_settings, job_context, signing_keys, subject
from injector.issuer import discovery, keyset
from injector.issuer.keyset import PublishedKey
from injector.job import pipeline
from injector.job.example import EXAMPLE_ENV
from tests.conftest import ROOT, free_port, run_injector
from tests.standins.accounts import AWS_AUDIENCE, AZURE_AUDIENCE, GCP_PROVIDER, SUBJECT
from tests.standins.server import Request, Response, StandInServer
from tests.support.pinned import normalized

if TYPE_CHECKING:
    from tests.standins.fixtures import TestTls

pytest_plugins = ["tests.standins.fixtures"]

GCP_AUDIENCE = "https:" + GCP_PROVIDER
AUDIENCES = {"aws": AWS_AUDIENCE, "azure": AZURE_AUDIENCE, "gcp": GCP_AUDIENCE}


@dataclass(frozen=True)
class Checked:
    """What `injector verify` printed, line by line: rule -> (status, detail with code)."""

    returncode: int
    lines: dict[str, tuple[str, str]]
    stdout: str
    stderr: str

    def status(self, rule: str) -> str:
        return self.lines[rule][0]

    def failed(self) -> dict[str, str]:
        return {rule: detail for rule, (status, detail) in self.lines.items() if status == "FAIL"}


def parse(stdout: str) -> dict[str, tuple[str, str]]:
    lines = {}
    for line in stdout.splitlines():
        status, rule, detail = line.split(maxsplit=2)
        assert status in ("ok", "FAIL", "warn"), line
        assert rule not in lines, f"rule {rule} printed twice"
        lines[rule] = (status, detail)
    return lines


def verify(token: str, *args: str, tmp_path: Path, env: Mapping[str, str] | None = None) -> Checked:
    """`injector verify --file <token> ARGS`; the token must not appear in any output."""
    path = tmp_path / f"token-{time.monotonic_ns()}.jwt"
    path.write_text(token)
    result = run_injector("verify", "--file", str(path), *args, env=dict(env or {}))
    assert token not in result.stdout and token not in result.stderr
    assert result.returncode in (0, 1), result.stderr
    return Checked(result.returncode, parse(result.stdout), result.stdout, result.stderr)


def assert_fails(checked: Checked, rule: str, code: str, fragment: str = "") -> None:
    """`rule` and no other failed, naming `code` (and `fragment`)."""
    assert checked.returncode == 1, checked.stdout
    failed = checked.failed()
    assert rule in failed, checked.stdout
    assert failed[rule].endswith(f"[{code}]"), checked.stdout
    assert fragment in failed[rule], checked.stdout
    # A failure that stops the checks downstream shows on the signature line only as a
    # consequence, never as a cause of its own.
    others = {name for name in failed if name != rule} - {"signature"}
    assert others == set(), checked.stdout


# --- tokens ---------------------------------------------------------------------------------------


def mint(env: Mapping[str, str], cloud: str, now: int | None = None) -> str:
    """The token `injector env` would write for `cloud`, minted with injector's own library."""
    prepared = pipeline.prepare(env)
    assert prepared is not None
    plan = pipeline.mint(prepared, Path("/nonexistent"), now)
    [token] = [item.token.compact for item in plan.clouds if item.config.name == cloud]
    return token


def sign(
    key: signing_keys.SigningKey,
    issuer: str,
    audience: str,
    *,
    issued_ago: int = 0,
    ttl_minutes: int = 30,
    changes: Mapping[str, object] | None = None,
) -> str:
    """A token with the claims injector mints, signed by `key`, with `changes` to its claims."""
    job = job_context.from_env(EXAMPLE_ENV)
    built = claims.claim_set(
        job,
        subject.DEFAULT_TEMPLATE.render(job, None),
        issuer,
        audience,
        int(time.time()) - issued_ago,
        ttl_minutes,
    )
    return claims.mint(key, {**built, **(changes or {})}).compact


def signing_key(env: Mapping[str, str]) -> signing_keys.SigningKey:
    return signing_keys.load(issuer_settings.from_env(env))


# --- an issuer whose documents a test can spoil --------------------------------------------------


class SpoiledIssuer:
    """An HTTPS server of the test CA that serves whatever documents a test gives it."""

    def __init__(self, tls: TestTls) -> None:
        self.documents: dict[str, bytes] = {}
        self.redirects: dict[str, str] = {}  # path -> where a 302 sends the client
        self.content_types: dict[str, str] = {}  # path -> another type than JSON's
        self._server = StandInServer(self._handle, tls.server_context())
        self.url = self._server.url

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self._server.stop()

    def _handle(self, request: Request) -> Response:
        if request.path in self.redirects:
            return Response(302, b"", "text/plain", {"Location": self.redirects[request.path]})
        body = self.documents.get(request.path)
        if body is None:
            return Response(404, b"not found", "text/plain")
        return Response(200, body, self.content_types.get(request.path, "application/json"))

    def publish(
        self,
        published: tuple[PublishedKey, ...],
        spoil: Callable[[dict[str, object]], None] = lambda document: None,
    ) -> None:
        """Serve injector's own documents for these keys, the discovery document `spoil`t."""
        built = discovery.build(self.url, published)
        document = json.loads(built.bodies[discovery.DISCOVERY_PATH])
        spoil(document)
        self.documents = {
            discovery.DISCOVERY_PATH: json.dumps(document).encode(),
            discovery.JWKS_PATH: built.bodies[discovery.JWKS_PATH],
        }


@pytest.fixture
def spoiled(test_tls: TestTls) -> Iterator[SpoiledIssuer]:
    issuer = SpoiledIssuer(test_tls)
    issuer.start()
    try:
        yield issuer
    finally:
        issuer.stop()


@pytest.fixture
def trusted(test_tls: TestTls) -> tuple[str, ...]:
    return ("--ca-bundle", str(test_tls.ca_file))


# --- a good token passes --------------------------------------------------------------------------


@pytest.mark.parametrize("cloud", ["aws", "azure", "gcp"])
def test_a_good_token_passes_every_rule(
    cloud: str,
    strict_workspace: dict[str, str],
    trusted: tuple[str, ...],
    tmp_path: Path,
) -> None:
    token = mint(strict_workspace, cloud)
    checked = verify(
        token,
        *trusted,
        "--cloud",
        cloud,
        "--expect-sub",
        SUBJECT,
        "--expect-aud",
        GCP_PROVIDER if cloud == "gcp" else AUDIENCES[cloud],  # the // form is accepted too
        tmp_path=tmp_path,
    )
    assert checked.returncode == 0, checked.stdout
    assert {status for status, _ in checked.lines.values()} == {"ok"}, checked.stdout
    assert list(checked.lines) == [
        "token",
        "cloud",
        "iss",
        "discovery",
        "discovery.issuer",
        "jwks_uri",
        "jwks",
        *(["size"] if cloud == "aws" else []),  # the clouds that publish a size limit
        "alg",
        "alg.advertised",
        "kid",
        "signature",
        "exp",
        "iat",
        "lifetime",
        "aud",
        "sub",
    ]
    assert "as expected" in checked.lines["sub"][1]


def test_the_cloud_is_told_by_aud_and_the_token_may_come_on_stdin(
    strict_workspace: dict[str, str], test_tls: TestTls
) -> None:
    token = mint(strict_workspace, "gcp")
    result = subprocess.run(
        [sys.executable, "-m", "injector", "verify", "--ca-bundle", str(test_tls.ca_file)],
        input=token + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "LANG": "C.UTF-8"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = parse(result.stdout)
    assert lines["cloud"] == ("ok", "gcp (Google STS, from aud)")
    assert token not in result.stdout + result.stderr


# --- each misconfiguration, named -----------------------------------------------------------------


def test_issuer_unreachable(
    strict_workspace: dict[str, str], trusted: tuple[str, ...], tmp_path: Path
) -> None:
    env = {**strict_workspace, "DynamicCredentialHostname": f"https://127.0.0.1:{free_port()}"}
    checked = verify(mint(env, "aws"), *trusted, tmp_path=tmp_path)
    assert_fails(checked, "discovery", "IDPCommunicationError", "connection refused")
    assert checked.failed()["signature"].endswith("[IDPCommunicationError]")


def test_tls_chain_not_trusted(strict_workspace: dict[str, str], tmp_path: Path) -> None:
    # No --ca-bundle: the public CAs do not know the test CA, as no cloud would.
    checked = verify(mint(strict_workspace, "azure"), tmp_path=tmp_path)
    assert_fails(checked, "tls", "AADSTS90061", "certificate chain does not verify")
    assert "discovery" not in checked.lines


def test_private_ca_through_ssl_cert_file(
    strict_workspace: dict[str, str], test_tls: TestTls, tmp_path: Path
) -> None:
    checked = verify(
        mint(strict_workspace, "azure"),
        tmp_path=tmp_path,
        env={"SSL_CERT_FILE": str(test_tls.ca_file)},
    )
    assert checked.returncode == 0, checked.stdout


def test_discovery_names_another_issuer(
    strict_workspace: dict[str, str],
    spoiled: SpoiledIssuer,
    trusted: tuple[str, ...],
    tmp_path: Path,
) -> None:
    env = {**strict_workspace, "DynamicCredentialHostname": spoiled.url}
    # The classic slip: the issuer published with a trailing slash.
    spoiled.publish(
        keyset.load(issuer_settings.from_env(env)),
        lambda document: document.update(issuer=spoiled.url + "/"),
    )
    checked = verify(mint(env, "gcp"), *trusted, tmp_path=tmp_path)
    assert_fails(checked, "discovery.issuer", "invalid_grant", f"{spoiled.url}/")


def test_jwks_uri_not_https(
    strict_workspace: dict[str, str],
    spoiled: SpoiledIssuer,
    trusted: tuple[str, ...],
    tmp_path: Path,
) -> None:
    env = {**strict_workspace, "DynamicCredentialHostname": spoiled.url}
    plain = spoiled.url.replace("https://", "http://") + discovery.JWKS_PATH
    spoiled.publish(
        keyset.load(issuer_settings.from_env(env)),
        lambda document: document.update(jwks_uri=plain),
    )
    checked = verify(mint(env, "aws"), *trusted, tmp_path=tmp_path)
    assert_fails(checked, "jwks_uri", "IDPCommunicationError", "is not https")


def test_alg_not_advertised_is_a_warning(
    strict_workspace: dict[str, str],
    spoiled: SpoiledIssuer,
    trusted: tuple[str, ...],
    tmp_path: Path,
) -> None:
    env = {**strict_workspace, "DynamicCredentialHostname": spoiled.url}
    spoiled.publish(
        keyset.load(issuer_settings.from_env(env)),
        lambda document: document.update(id_token_signing_alg_values_supported=["ES256"]),
    )
    checked = verify(mint(env, "aws"), *trusted, tmp_path=tmp_path)
    assert checked.returncode == 0, checked.stdout
    assert checked.lines["alg.advertised"] == (
        "warn",
        "discovery advertises ES256, not RS256",
    )


def test_redirect_and_content_type_are_warnings(
    strict_workspace: dict[str, str],
    spoiled: SpoiledIssuer,
    trusted: tuple[str, ...],
    tmp_path: Path,
) -> None:
    env = {**strict_workspace, "DynamicCredentialHostname": spoiled.url}
    spoiled.publish(keyset.load(issuer_settings.from_env(env)))
    moved = discovery.DISCOVERY_PATH + ".json"
    spoiled.documents[moved] = spoiled.documents[discovery.DISCOVERY_PATH]
    spoiled.redirects[discovery.DISCOVERY_PATH] = spoiled.url + moved
    spoiled.content_types[discovery.JWKS_PATH] = "text/plain"
    checked = verify(mint(env, "aws"), *trusted, tmp_path=tmp_path)
    assert checked.returncode == 0, checked.stdout
    status, detail = checked.lines["discovery"]
    assert status == "warn"
    assert f"redirected to {spoiled.url}{moved}" in detail
    status, detail = checked.lines["jwks"]
    assert status == "warn"
    assert detail.endswith("served as text/plain, not application/json")
    assert checked.status("signature") == "ok"


def test_kid_missing_from_the_jwks(
    strict_workspace: dict[str, str], trusted: tuple[str, ...], tmp_path: Path
) -> None:
    env = {**strict_workspace, "DynamicCredentialId": "rotated-key-2"}
    checked = verify(mint(env, "azure"), *trusted, tmp_path=tmp_path)
    assert_fails(checked, "kid", "AADSTS700027", "kid 'rotated-key-2' is not in")


def test_published_key_is_another_key(
    strict_workspace: dict[str, str],
    trusted: tuple[str, ...],
    tmp_path: Path,
) -> None:
    # Same kid, but the private key is not the published public key's pair.
    env = dict(strict_workspace)
    env["DynamicCredentialPrivateKeyPath"] = str(tmp_path / "other.pem")
    env.pop("DynamicCredentialPublicKeyPath")
    (tmp_path / "other.pem").write_bytes(_other_private_key())
    checked = verify(mint(env, "aws"), *trusted, tmp_path=tmp_path)
    assert_fails(checked, "signature", "InvalidIdentityToken", "signed with another key")
    assert checked.status("kid") == "ok"


def _other_private_key() -> bytes:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def test_es256_is_refused_for_azure_and_accepted_for_google(
    spoiled: SpoiledIssuer, trusted: tuple[str, ...], tmp_path: Path
) -> None:
    key = signing_keys.throwaway("ec-key", "ES256")
    spoiled.publish((PublishedKey("ec-key", "ES256", key.private_key.public_key()),))
    azure = verify(sign(key, spoiled.url, AZURE_AUDIENCE), *trusted, tmp_path=tmp_path)
    assert_fails(azure, "alg", "AADSTS700027", "Entra ID accepts RS256 only")
    # The signature itself is sound: only the algorithm is what Entra refuses.
    assert azure.status("signature") == "ok"

    google = verify(sign(key, spoiled.url, GCP_AUDIENCE), *trusted, tmp_path=tmp_path)
    assert google.returncode == 0, google.stdout


@pytest.mark.parametrize(
    ("cloud", "code"),
    [("aws", "ExpiredTokenException"), ("azure", "AADSTS700024"), ("gcp", "invalid_grant")],
)
def test_expired_token(
    cloud: str,
    code: str,
    strict_workspace: dict[str, str],
    trusted: tuple[str, ...],
    tmp_path: Path,
) -> None:
    token = mint(strict_workspace, cloud, now=int(time.time()) - 2 * 3600)
    checked = verify(token, *trusted, tmp_path=tmp_path)
    assert_fails(checked, "exp", code, "expired 90 min ago")


def test_issued_in_the_future(
    strict_workspace: dict[str, str], trusted: tuple[str, ...], tmp_path: Path
) -> None:
    token = mint(strict_workspace, "gcp", now=int(time.time()) + 3600)
    checked = verify(token, *trusted, tmp_path=tmp_path)
    assert_fails(checked, "iat", "invalid_grant", "the issuer's clock is ahead")


def test_gcp_audience_of_another_form(
    strict_workspace: dict[str, str], trusted: tuple[str, ...], tmp_path: Path
) -> None:
    key = signing_key(strict_workspace)
    issuer = strict_workspace["DynamicCredentialHostname"]
    # An audience made for another cloud, sent to Google.
    checked = verify(
        sign(key, issuer, AZURE_AUDIENCE), *trusted, "--cloud", "gcp", tmp_path=tmp_path
    )
    assert_fails(checked, "aud", "invalid_grant", "is not a provider resource name")


def test_gcp_audience_with_or_without_https(
    strict_workspace: dict[str, str], trusted: tuple[str, ...], tmp_path: Path
) -> None:
    # A provider with no allowed audiences configured accepts its resource name in either form.
    key = signing_key(strict_workspace)
    issuer = strict_workspace["DynamicCredentialHostname"]
    for audience in (GCP_PROVIDER, GCP_AUDIENCE):
        for expected in (GCP_PROVIDER, GCP_AUDIENCE):
            checked = verify(
                sign(key, issuer, audience), *trusted, "--expect-aud", expected, tmp_path=tmp_path
            )
            assert checked.lines["aud"] == ("ok", f"{audience} (as expected)"), checked.stdout


def test_gcp_audience_of_another_provider(
    strict_workspace: dict[str, str], trusted: tuple[str, ...], tmp_path: Path
) -> None:
    key = signing_key(strict_workspace)
    issuer = strict_workspace["DynamicCredentialHostname"]
    other = GCP_AUDIENCE.replace("/providers/terrakube", "/providers/another")
    checked = verify(
        sign(key, issuer, other), *trusted, "--expect-aud", GCP_PROVIDER, tmp_path=tmp_path
    )
    assert_fails(checked, "aud", "invalid_grant", f"expected '{GCP_PROVIDER}'")


def test_audience_other_than_expected(
    strict_workspace: dict[str, str], trusted: tuple[str, ...], tmp_path: Path
) -> None:
    env = {**strict_workspace, "WORKLOAD_IDENTITY_AUDIENCE_AWS": "sts.amazonaws.com"}
    checked = verify(mint(env, "aws"), *trusted, "--expect-aud", AWS_AUDIENCE, tmp_path=tmp_path)
    assert_fails(checked, "aud", "InvalidIdentityToken", "expected 'aws.workload.identity'")


@pytest.mark.parametrize(
    ("cloud", "code"),
    [("aws", "AccessDenied"), ("azure", "AADSTS70021"), ("gcp", "invalid_grant")],
)
def test_subject_other_than_expected(
    cloud: str,
    code: str,
    strict_workspace: dict[str, str],
    trusted: tuple[str, ...],
    tmp_path: Path,
) -> None:
    env = {**strict_workspace, "workspaceName": "other-workspace"}
    checked = verify(mint(env, cloud), *trusted, "--expect-sub", SUBJECT, tmp_path=tmp_path)
    assert_fails(checked, "sub", code, "'organization:simple:workspace:other-workspace'")


def test_lifetime_over_a_day_for_google(
    strict_workspace: dict[str, str], trusted: tuple[str, ...], tmp_path: Path
) -> None:
    key = signing_key(strict_workspace)
    issuer = strict_workspace["DynamicCredentialHostname"]
    checked = verify(
        sign(key, issuer, GCP_AUDIENCE, ttl_minutes=25 * 60), *trusted, tmp_path=tmp_path
    )
    assert_fails(checked, "lifetime", "invalid_grant", "refuses tokens that live over 24.0 h")


def test_lifetimes_that_only_warn(
    strict_workspace: dict[str, str], trusted: tuple[str, ...], tmp_path: Path
) -> None:
    short = verify(
        mint({**strict_workspace, "DynamicCredentialTtl": "5"}, "azure"),
        *trusted,
        tmp_path=tmp_path,
    )
    assert short.returncode == 0, short.stdout
    status, detail = short.lines["lifetime"]
    assert status == "warn"
    assert "azure-identity" in detail and detail.endswith("[AADSTS700024]")

    long = verify(
        mint({**strict_workspace, "DynamicCredentialTtl": "420"}, "gcp"),
        *trusted,
        tmp_path=tmp_path,
    )
    assert long.returncode == 0, long.stdout
    assert long.lines["lifetime"] == ("warn", "7.0 h: Google recommends at most 6.0 h")


def test_not_a_token(trusted: tuple[str, ...], tmp_path: Path) -> None:
    checked = verify("not-a-jwt", *trusted, "--cloud", "azure", tmp_path=tmp_path)
    assert checked.returncode == 1
    assert list(checked.lines) == ["token"]
    assert checked.lines["token"][1].endswith("[AADSTS50027]")


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    (tmp_path / "t.jwt").write_text("a.b.c")
    both = run_injector("verify", "a.b.c", "--file", str(tmp_path / "t.jwt"), env={})
    assert both.returncode == 2
    assert "not both" in both.stderr
    missing = run_injector("verify", "--file", str(tmp_path / "absent.jwt"), env={})
    assert missing.returncode == 2
    assert "--file: cannot read" in missing.stderr
    cloud = run_injector("verify", "a.b.c", "--cloud", "oracle", env={})
    assert cloud.returncode == 2
    (tmp_path / "empty.jwt").write_bytes(b"")
    empty = run_injector("verify", "--file", str(tmp_path / "empty.jwt"), env={})
    assert empty.returncode == 2
    assert "no token" in empty.stderr
    device = run_injector("verify", "--file", "/dev/null", env={})  # not a regular file
    assert device.returncode == 2
    assert "--file: cannot read the token file" in device.stderr


# --- the whole output, pinned ---------------------------------------------------------------------


def _made_up(env: Mapping[str, str], tls: TestTls) -> dict[str, str]:
    """What a run of the stand-ins makes up, by the name the pinned text shows it under."""
    issuer = env["DynamicCredentialHostname"]
    return {
        "issuer": issuer,
        "host": issuer.removeprefix("https://"),
        "kid": signing_key(env).key_id,
        "ca": str(tls.ca_file),
    }


VERIFIED_FOR_AWS = """\
ok    token                 decoded: alg=RS256, kid=<kid>, typ=JWT
ok    cloud                 aws (AWS STS, from aud)
ok    iss                   <issuer>
ok    discovery             GET <issuer>/.well-known/openid-configuration: 200, JSON
ok    discovery.issuer      equals iss
ok    jwks_uri              <issuer>/.well-known/jwks
ok    jwks                  GET <issuer>/.well-known/jwks: 1 key(s), kid: <kid>
ok    size                  1006 bytes (at most 20000)
ok    alg                   RS256 (accepted by AWS STS)
ok    alg.advertised        in id_token_signing_alg_values_supported
ok    kid                   <kid> is in the JWKS
ok    signature             verifies with the published key <kid>
ok    exp                   expires in <n> min
ok    iat                   issued <n> s ago
ok    lifetime              30 min
ok    aud                   aws.workload.identity (not compared: no --expect-aud)
ok    sub                   organization:simple:workspace:simple-cli (as expected)
"""

VERIFIED_FOR_ANY = """\
ok    token                 decoded: alg=RS256, kid=<kid>, typ=JWT
warn  cloud                 not told by aud: checked against the rules of all 6 clouds \
(Vault-backed AWS's are Vault's); pass --cloud aws|azure|gcp|vault|kubernetes|vault_backed_aws
ok    iss                   <issuer>
ok    discovery             GET <issuer>/.well-known/openid-configuration: 200, JSON
ok    discovery.issuer      equals iss
ok    jwks_uri              <issuer>/.well-known/jwks
ok    jwks                  GET <issuer>/.well-known/jwks: 1 key(s), kid: <kid>
ok    alg                   RS256 (accepted by AWS STS and Entra ID and Google STS and Vault and \
Kubernetes API server)
ok    alg.advertised        in id_token_signing_alg_values_supported
ok    kid                   <kid> is in the JWKS
ok    signature             verifies with the published key <kid>
FAIL  exp                   expired <n> min ago: mint a fresh token (or the clock of this machine \
or the issuer's is off)  [ExpiredTokenException/AADSTS700024/invalid_grant/error validating \
claims: token is expired/401 Unauthorized]
ok    iat                   issued <n> h ago
ok    lifetime              60 min
ok    aud                   urn:example:other (not compared: no --expect-aud)
ok    sub                   organization:simple:workspace:simple-cli (not compared: no --expect-sub)
"""


def test_the_whole_output_for_one_cloud_told_by_aud(
    strict_workspace: dict[str, str], test_tls: TestTls, tmp_path: Path
) -> None:
    token = mint(strict_workspace, "aws")
    checked = verify(
        token, "--ca-bundle", str(test_tls.ca_file), "--expect-sub", SUBJECT, tmp_path=tmp_path
    )
    assert normalized(checked.stdout, _made_up(strict_workspace, test_tls)) == VERIFIED_FOR_AWS


def test_the_whole_output_for_a_token_of_no_known_cloud(
    strict_workspace: dict[str, str], test_tls: TestTls, tmp_path: Path
) -> None:
    """Every cloud's rules at once: the algorithms any of them takes, the codes of all."""
    issuer = strict_workspace["DynamicCredentialHostname"]
    token = sign(
        signing_key(strict_workspace), issuer, "urn:example:other", issued_ago=7200, ttl_minutes=60
    )
    checked = verify(token, "--ca-bundle", str(test_tls.ca_file), tmp_path=tmp_path)
    assert normalized(checked.stdout, _made_up(strict_workspace, test_tls)) == VERIFIED_FOR_ANY
