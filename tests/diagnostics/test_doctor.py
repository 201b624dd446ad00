"""`injector doctor` checks a workspace's environment end to end against the real `injector serve`
issuer and the strict stand-ins; `doctor --login` logs in through boto3, azure-identity and
google-auth. Each misconfiguration is produced on purpose and must be named by the right line.
"""

from __future__ import annotations

import os
import shutil
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from injector.config import issuer_settings, signing_keys
from injector.diagnostics import fetch, login, tls_chain
from tests.conftest import KeyFiles, free_port, run_injector
from tests.standins.accounts import ROLE_NAME, SERVICE_ACCOUNT
from tests.standins.server import Response, StandInServer
from tests.support.pinned import normalized

if TYPE_CHECKING:
    from tests.standins.fixtures import StandIns, TestTls

pytest_plugins = ["tests.standins.fixtures"]


@dataclass(frozen=True)
class Diagnosed:
    returncode: int
    lines: list[tuple[str, str, str]]  # (status, rule, detail), in order
    stdout: str
    stderr: str = ""

    def only(self, rule: str) -> tuple[str, str]:
        found = [(status, detail) for status, name, detail in self.lines if name == rule]
        assert len(found) == 1, (rule, self.stdout)
        return found[0]

    def failed(self) -> list[tuple[str, str]]:
        return [(rule, detail) for status, rule, detail in self.lines if status == "FAIL"]

    def rules(self, status: str) -> set[str]:
        return {rule for line_status, rule, _ in self.lines if line_status == status}


def doctor(env: Mapping[str, str], *args: str) -> Diagnosed:
    result = run_injector("doctor", *args, env=env)
    assert result.returncode in (0, 1), result.stdout + result.stderr
    # No token (a JWT's header starts `eyJ`) on either stream.
    assert "eyJ" not in result.stdout + result.stderr
    lines = []
    for line in result.stdout.splitlines():
        status, rule, detail = line.split(maxsplit=2)
        assert status in ("ok", "FAIL", "warn"), line
        lines.append((status, rule, detail))
    return Diagnosed(result.returncode, lines, result.stdout, result.stderr)


@pytest.fixture
def private_key(key_files: KeyFiles, tmp_path: Path) -> Path:
    """The workspace's signing key, copied with the mode an operator should give it."""
    path = tmp_path / "keys" / "private.pem"
    path.parent.mkdir()
    shutil.copyfile(key_files.private_pkcs8, path)
    path.chmod(0o600)
    return path


@pytest.fixture
def healthy(
    strict_workspace: dict[str, str], standins: StandIns, private_key: Path, tmp_path: Path
) -> dict[str, str]:
    """A workspace whose every cloud trusts the issuer, with what reaches the stand-ins: the
    test CA and the AWS STS endpoint (the Entra and Google URLs are in the workspace)."""
    ca = str(standins.tls.ca_file)
    (tmp_path / "tmp").mkdir()
    return {
        **strict_workspace,
        "DynamicCredentialPrivateKeyPath": str(private_key),
        "SSL_CERT_FILE": ca,
        "REQUESTS_CA_BUNDLE": ca,
        "AWS_ENDPOINT_URL_STS": standins.aws.url,
        "AWS_MAX_ATTEMPTS": "1",
        "TMPDIR": str(tmp_path / "tmp"),
    }


def _code(detail: str) -> str:
    assert detail.endswith("]"), detail
    return detail[detail.rindex("[") + 1 : -1]


# --- a healthy workspace ------------------------------------------------------------------------


def test_a_healthy_workspace_passes(healthy: dict[str, str], standins: StandIns) -> None:
    diagnosed = doctor(healthy)
    assert diagnosed.returncode == 0, diagnosed.stdout
    assert diagnosed.failed() == []
    # The issuer has a port (the test's), which IAM provider URLs should not have.
    assert diagnosed.rules("warn") == {"issuer.port"}, diagnosed.stdout
    for rule in (
        "settings",
        "private-key",
        "key-permissions",
        "public-key",
        "ttl.aws",
        "ttl.azure",
        "ttl.gcp",
        "tls",
        "discovery",
        "discovery.issuer",
        "jwks_uri",
        "jwks",
        "jwks.signing-key",
        "alg.advertised",
    ):
        assert diagnosed.only(rule)[0] == "ok", (rule, diagnosed.stdout)
    for cloud in ("aws", "azure", "gcp"):
        for rule in ("alg", "kid", "signature", "exp", "iat", "aud", "sub"):
            assert diagnosed.only(f"{cloud}.{rule}")[0] == "ok", diagnosed.stdout
    # The thumbprint AWS keeps: the test CA's, the one the AWS stand-in's provider was made with.
    ca = x509.load_pem_x509_certificate(standins.tls.ca.cert_pem.bytes())
    expected = ca.fingerprint(hashes.SHA1()).hex()  # noqa: S303
    assert diagnosed.only("thumbprint.aws")[1].startswith(expected)
    assert diagnosed.only("thumbprint.root")[1].startswith(expected)
    assert not diagnosed.only("thumbprint.leaf")[1].startswith(expected)


def test_the_aws_thumbprint_is_the_top_intermediate_ca(test_tls: TestTls) -> None:
    # A server that sends its leaf and the intermediate CA that signed it, as public CAs do.
    intermediate = test_tls.ca.create_child_ca()
    leaf = intermediate.issue_cert("127.0.0.1")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    leaf.configure_cert(context)
    server = StandInServer(lambda request: Response(200, b"{}", "application/json"), context)
    server.start()
    try:
        chain = tls_chain.chain(server.url, fetch.Trust(test_tls.client_context(), "the test CA"))
    finally:
        server.stop()
    assert len(chain.served) == 2
    assert len(chain.verified) == 3
    sent_last = x509.load_pem_x509_certificate(intermediate.cert_pem.bytes())
    sent_thumbprint = sent_last.fingerprint(hashes.SHA1()).hex()  # noqa: S303
    assert tls_chain.thumbprint(chain.top_intermediate) == sent_thumbprint
    assert (
        chain.root.subject == x509.load_pem_x509_certificate(test_tls.ca.cert_pem.bytes()).subject
    )


def test_login_through_all_three_sdks(healthy: dict[str, str], standins: StandIns) -> None:
    served = {cloud: len(standins.of(cloud).seen) for cloud in ("aws", "azure", "gcp")}
    diagnosed = doctor(healthy, "--login")
    assert diagnosed.returncode == 0, diagnosed.stdout
    aws = diagnosed.only("aws.login")
    assert aws[0] == "ok"
    assert f"assumed-role/{ROLE_NAME}/" in aws[1]
    assert diagnosed.only("azure.login") == (
        "ok",
        "azure-identity WorkloadIdentityCredential: an access token for "
        "https://management.azure.com",
    )
    gcp = diagnosed.only("gcp.login")
    assert gcp[0] == "ok"
    assert f"impersonating {SERVICE_ACCOUNT}" in gcp[1]
    # Each SDK really went to its stand-in, which checked the token against the issuer.
    assert standins.aws.seen[served["aws"] :] == ["POST /", "POST /"]
    assert standins.entra.seen[served["azure"] :][0].endswith("/oauth2/v2.0/token")
    assert standins.google.seen[served["gcp"] :][0] == "POST /v1/token"
    # The private folder with the token files is gone.
    assert list(Path(healthy["TMPDIR"]).iterdir()) == []
    # A line as each login starts, on stderr (they take seconds).
    assert diagnosed.stderr.splitlines() == [
        "injector: logging in to AWS through boto3...",
        "injector: logging in to Azure through azure-identity...",
        "injector: logging in to GCP through google-auth...",
    ]


def test_login_names_what_each_cloud_refuses(healthy: dict[str, str]) -> None:
    # The trust policies name workspace simple-cli: the tokens are sound, the subject is not
    # the one trusted, which only a real login can tell.
    diagnosed = doctor({**healthy, "workspaceName": "other-workspace"}, "--login")
    assert diagnosed.returncode == 1
    assert [rule for rule, _ in diagnosed.failed()] == ["aws.login", "azure.login", "gcp.login"]
    assert _code(diagnosed.only("aws.login")[1]) == "AccessDenied"
    assert _code(diagnosed.only("azure.login")[1]) == "AADSTS70021"
    assert (
        "Assertion Subject: 'organization:simple:workspace:other-workspace'"
        in (diagnosed.only("azure.login")[1])
    )
    assert _code(diagnosed.only("gcp.login")[1]) == "invalid_grant"
    assert list(Path(healthy["TMPDIR"]).iterdir()) == []


def test_login_children_see_only_the_exports_and_the_passed_on_variables(tmp_path: Path) -> None:
    env = {
        "PATH": "/bin",
        "SSL_CERT_FILE": "/ca.pem",
        "AWS_ENDPOINT_URL_STS": "http://127.0.0.1:1",
        "AWS_ACCESS_KEY_ID": "AKIA-static",
        "ARM_CLIENT_SECRET": "secret",
        "HOME": "/root",
    }
    child = login.child_env(env, {"AWS_ROLE_ARN": "arn"}, tmp_path)
    assert child == {
        "PATH": "/bin",
        "SSL_CERT_FILE": "/ca.pem",
        "AWS_ENDPOINT_URL_STS": "http://127.0.0.1:1",
        "AWS_ROLE_ARN": "arn",
        "HOME": str(tmp_path),
        "PYTHONPATH": login.PACKAGE_ROOT,
    }


# --- each misconfiguration, named ----------------------------------------------------------------


def test_settings_errors_are_each_a_fail_line(healthy: dict[str, str]) -> None:
    env = {**healthy, "ARM_CLIENT_ID": "not-a-guid"}
    env.pop("WORKLOAD_IDENTITY_ROLE_AWS")
    diagnosed = doctor(env)
    assert diagnosed.returncode == 1
    failed = [detail for rule, detail in diagnosed.failed() if rule == "settings"]
    assert len(failed) == 2, diagnosed.stdout
    assert any(detail.startswith("WORKLOAD_IDENTITY_ROLE_AWS: is required") for detail in failed)
    assert any(detail.startswith("ARM_CLIENT_ID: ") for detail in failed)
    # The issuer is still checked.
    assert diagnosed.only("tls")[0] == "ok"
    assert diagnosed.only("jwks.signing-key")[0] == "ok"


def test_require_is_a_fail_line_from_the_option_or_the_variable(healthy: dict[str, str]) -> None:
    """`doctor --require vault` checks what `env --require vault` would refuse, as does
    INJECTOR_REQUIRE, each line naming what the user set."""
    for args, env, named in (
        (("--require", "vault"), healthy, "--require"),
        ((), {**healthy, "INJECTOR_REQUIRE": "vault"}, "INJECTOR_REQUIRE"),
    ):
        diagnosed = doctor(env, *args)
        assert diagnosed.returncode == 1
        failed = [detail for rule, detail in diagnosed.failed() if rule == "settings"]
        assert len(failed) == 1, diagnosed.stdout
        assert failed[0].startswith(f"{named}: vault is required"), failed[0]
    assert doctor(healthy, "--require", "aws,gcp").rules("FAIL") == set()


def test_no_cloud_enabled(healthy: dict[str, str]) -> None:
    env = {
        **healthy,
        "ENABLE_DYNAMIC_CREDENTIALS_AWS": "false",
        "ENABLE_DYNAMIC_CREDENTIALS_AZURE": "false",
        "ENABLE_DYNAMIC_CREDENTIALS_GCP": "false",
    }
    diagnosed = doctor(env)
    assert diagnosed.returncode == 1
    assert diagnosed.failed()[0][0] == "settings"
    assert "no cloud has dynamic credentials enabled" in diagnosed.failed()[0][1]
    assert "injector doctor --issuer checks the issuer alone" in diagnosed.failed()[0][1]


def _no_workspace(healthy: dict[str, str]) -> dict[str, str]:
    """The issuer's settings of `healthy`, without any cloud or job context."""
    return {
        name: value
        for name, value in healthy.items()
        if not name.startswith("ENABLE_DYNAMIC_CREDENTIALS_")
        and name not in ("organizationName", "workspaceName", "organizationId", "workspaceId")
    }


def test_the_issuer_alone(healthy: dict[str, str]) -> None:
    """An operator checks the issuer before any workspace uses it: no cloud, no job context."""
    diagnosed = doctor(_no_workspace(healthy), "--issuer")
    assert diagnosed.returncode == 0, diagnosed.stdout
    assert diagnosed.only("settings") == (
        "ok",
        f"issuer only (--issuer): {healthy['DynamicCredentialHostname']}",
    )
    for rule in ("private-key", "public-key", "tls", "discovery", "jwks", "jwks.signing-key"):
        assert diagnosed.only(rule)[0] == "ok", (rule, diagnosed.stdout)
    assert not [rule for _, rule, _ in diagnosed.lines if rule.startswith(("aws.", "ttl."))]


def test_private_key_readable_by_others(healthy: dict[str, str], private_key: Path) -> None:
    private_key.chmod(0o644)
    diagnosed = doctor(healthy)
    assert diagnosed.returncode == 0, diagnosed.stdout  # a warning, not a failure
    status, detail = diagnosed.only("key-permissions")
    assert status == "warn"
    assert "mode 0644: its group and every user can read the signing key" in detail


def test_public_key_not_the_private_keys_pair(healthy: dict[str, str], key_files: KeyFiles) -> None:
    diagnosed = doctor({**healthy, "DynamicCredentialPublicKeyPath": str(key_files.other_public)})
    assert diagnosed.returncode == 1
    status, detail = diagnosed.only("public-key")
    assert status == "FAIL"
    assert "does not match the private key" in detail
    assert _code(detail) == "InvalidIdentityToken/AADSTS700027/invalid_grant"


def test_ttl_too_short_for_azure(healthy: dict[str, str]) -> None:
    diagnosed = doctor({**healthy, "DynamicCredentialTtl": "5"})
    assert diagnosed.returncode == 0, diagnosed.stdout
    status, detail = diagnosed.only("ttl.azure")
    assert status == "warn"
    assert "azure-identity keeps the token file's content up to 10 min" in detail
    assert _code(detail) == "AADSTS700024"
    assert diagnosed.only("ttl.aws")[0] == "ok"


def test_ttl_too_long_for_google(healthy: dict[str, str]) -> None:
    diagnosed = doctor({**healthy, "DynamicCredentialTtl": "420"})
    assert diagnosed.returncode == 0, diagnosed.stdout
    assert diagnosed.only("ttl.gcp") == ("warn", "7.0 h: Google recommends at most 6.0 h")


def test_issuer_unreachable(healthy: dict[str, str]) -> None:
    url = f"https://127.0.0.1:{free_port()}"
    diagnosed = doctor({**healthy, "DynamicCredentialHostname": url})
    assert diagnosed.returncode == 1
    status, detail = diagnosed.only("issuer")
    assert status == "FAIL"
    assert "connection refused" in detail
    assert _code(detail) == "IDPCommunicationError/AADSTS90061/invalid_grant"


def test_issuer_certificate_not_trusted(healthy: dict[str, str]) -> None:
    env = dict(healthy)
    env.pop("SSL_CERT_FILE")
    diagnosed = doctor(env)
    assert diagnosed.returncode == 1
    status, detail = diagnosed.only("tls")
    assert status == "FAIL"
    assert "certificate chain does not verify" in detail
    assert "for a private CA pass --ca-bundle" in detail
    assert "thumbprint.aws" not in diagnosed.rules("ok")


def test_signing_key_not_published(healthy: dict[str, str]) -> None:
    diagnosed = doctor({**healthy, "DynamicCredentialId": "rotated-key-2"})
    assert diagnosed.returncode == 1
    status, detail = diagnosed.only("jwks.signing-key")
    assert status == "FAIL"
    assert "kid 'rotated-key-2' (DynamicCredentialId) is not in" in detail
    assert _code(detail) == "InvalidIdentityToken/AADSTS700027/invalid_grant"
    assert diagnosed.only("azure.kid")[0] == "FAIL"


def test_published_key_is_another_key(healthy: dict[str, str], tmp_path: Path) -> None:
    other = tmp_path / "other.pem"
    other.write_bytes(
        rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    other.chmod(0o600)
    env = {**healthy, "DynamicCredentialPrivateKeyPath": str(other)}
    env.pop("DynamicCredentialPublicKeyPath")
    diagnosed = doctor(env)
    assert diagnosed.returncode == 1
    status, detail = diagnosed.only("jwks.signing-key")
    assert status == "FAIL"
    assert "publishes another public key under kid" in detail
    assert diagnosed.only("gcp.signature")[0] == "FAIL"


def test_bad_ca_bundle_is_a_usage_error(healthy: dict[str, str], tmp_path: Path) -> None:
    result = run_injector("doctor", "--ca-bundle", str(tmp_path / "absent.pem"), env=healthy)
    assert result.returncode == 2
    assert "--ca-bundle: cannot load CA certificates" in result.stderr


# --- through the signer ---------------------------------------------------------------------


def test_doctor_through_a_real_signer_and_with_the_signer_down(
    healthy: dict[str, str], tmp_path: Path
) -> None:
    """The job holds no key: doctor asks the signer for the tokens once, then checks the issuer
    they name and each token as `verify` does; with the signer gone, one FAIL naming the socket."""
    from tests.support import signer as support

    issuer = {k: v for k, v in healthy.items() if k.startswith("DynamicCredential")}
    job = {k: v for k, v in healthy.items() if not k.startswith("DynamicCredential")}
    socket_path = tmp_path / "signer.sock"
    job["DynamicCredentialSigner"] = f"unix:{socket_path}"
    job["DynamicCredentialSignerUser"] = str(os.getuid())  # both run as root here
    signer_env = {"PATH": os.environ["PATH"], "LANG": "C.UTF-8", **issuer}  # the issuer's kid
    with support.running_signer(signer_env, socket_path) as signer:
        diagnosed = doctor(job)
    assert diagnosed.returncode == 0, diagnosed.stdout
    assert diagnosed.failed() == []
    status, detail = diagnosed.only("signer")
    assert status == "ok"
    assert detail.startswith(
        f"unix:{socket_path} minted 3 token(s): iss {healthy['DynamicCredentialHostname']}"
    )
    # No key in the job: the key's own checks are not doctor's to make here.
    assert not {"private-key", "key-permissions", "public-key"} & diagnosed.rules("ok")
    for rule in ("settings", "ttl.aws", "ttl.azure", "ttl.gcp", "tls", "discovery", "jwks"):
        assert diagnosed.only(rule)[0] == "ok", (rule, diagnosed.stdout)
    for cloud in ("aws", "azure", "gcp"):
        for rule in ("alg", "kid", "signature", "exp", "iat", "aud", "sub"):
            assert diagnosed.only(f"{cloud}.{rule}")[0] == "ok", diagnosed.stdout
    audit = signer.audit()
    assert [line["decision"] for line in audit] == ["allow"]  # asked once, for the three
    assert len(audit[0]["aud"]) == 3

    # A signer whose kid the issuer does not publish: each token's kid line says so.
    renamed = {**signer_env, "DynamicCredentialId": "unpublished-kid"}
    with support.running_signer(renamed, socket_path):
        unpublished = doctor(job)
    assert unpublished.returncode == 1
    assert {rule for rule, _ in unpublished.failed()} == {"aws.kid", "azure.kid", "gcp.kid"}

    down = doctor(job)
    assert down.returncode == 1
    assert down.failed() == [
        (
            "signer",
            f"DynamicCredentialSigner: cannot reach the signer at unix:{socket_path}: "
            "No such file or directory",
        )
    ]
    assert not any(rule.startswith(("aws.", "tls", "discovery")) for _, rule, _ in down.lines)


# --- the whole output, pinned ---------------------------------------------------------------------


def _made_up(env: Mapping[str, str]) -> dict[str, str]:
    """What a run of the stand-ins makes up, by the name the pinned text shows it under."""
    issuer = env["DynamicCredentialHostname"]
    key = signing_keys.load(issuer_settings.from_env(env))
    return {
        "issuer": issuer,
        "host": issuer.removeprefix("https://"),
        "kid": key.key_id,
        "private-key": env["DynamicCredentialPrivateKeyPath"],
        "public-key": env["DynamicCredentialPublicKeyPath"],
        "ca": env["SSL_CERT_FILE"],
    }


ISSUER_LINES = """\
ok    private-key           <private-key>: RSA-2048 (RS256, kid <kid>)
ok    key-permissions       mode 0600
ok    public-key            <public-key> matches
ok    issuer                <issuer>
{port}\
ok    tls                   <host> verifies (trusting SSL_CERT_FILE <ca>): OU=Testing cert \
#<serial>,O=trustme v1.2.1 <- OU=Testing CA #<serial>,O=trustme v1.2.1
ok    tls.expiry            the certificate is valid for <n> more days
ok    thumbprint.aws        <sha1>  OU=Testing CA #<serial>,O=trustme v1.2.1: the top intermediate \
CA, what an IAM OIDC provider's ThumbprintList holds (AWS uses it only when it does not already \
trust the root CA)
ok    thumbprint.leaf       <sha1>  OU=Testing cert #<serial>,O=trustme v1.2.1: the server's own \
certificate (changes at every renewal: not for ThumbprintList)
ok    thumbprint.root       <sha1>  OU=Testing CA #<serial>,O=trustme v1.2.1: the root CA
ok    discovery             GET <issuer>/.well-known/openid-configuration: 200, JSON
ok    discovery.issuer      equals iss
ok    jwks_uri              <issuer>/.well-known/jwks
ok    jwks                  GET <issuer>/.well-known/jwks: 1 key(s), kid: <kid>
ok    alg.advertised        RS256 is advertised
ok    jwks.signing-key      kid <kid> publishes the signing key (n=<modulus>, e=65537)
"""
PORT = (
    "warn  issuer.port           <issuer> has a port: IAM OIDC provider URLs should not contain "
    "one (CreateOpenIDConnectProvider); serve the issuer on 443\n"
)


def _line(rule: str, detail: str) -> str:
    """One `ok` line as doctor lays it out: the rule in a column of its own."""
    return f"ok    {rule.ljust(22)}{detail}\n"


def _token_lines(cloud: str, audience: str, label: str) -> str:
    """The lines checking the token minted for `cloud`."""
    return "".join(
        _line(f"{cloud}.{rule}", detail)
        for rule, detail in (
            *([("size", "1006 bytes (at most 20000)")] if cloud == "aws" else []),
            ("alg", f"RS256 (accepted by {label})"),
            ("kid", "<kid> is in the JWKS"),
            ("signature", "verifies with the published key <kid>"),
            ("exp", "expires in <n> min"),
            ("iat", "issued <n> s ago"),
            ("aud", f"{audience} (as expected)"),
            ("sub", "organization:simple:workspace:simple-cli (as expected)"),
        )
    )


def test_the_whole_output_of_the_issuer_alone(healthy: dict[str, str]) -> None:
    diagnosed = doctor(_no_workspace(healthy), "--issuer")
    # Every cloud's rules together: none has advice on the port of an issuer it was not told of.
    assert normalized(diagnosed.stdout, _made_up(healthy)) == (
        "ok    settings              issuer only (--issuer): <issuer>\n"
        + ISSUER_LINES.format(port="")
    )


def test_the_whole_output_of_a_healthy_workspace(healthy: dict[str, str]) -> None:
    diagnosed = doctor(healthy)
    settings = (
        "ok    settings              valid: aws, azure, gcp enabled, "
        "sub 'organization:simple:workspace:simple-cli'\n"
    )
    lines = ISSUER_LINES.format(port=PORT).splitlines(keepends=True)
    ttl = "".join(_line(f"ttl.{cloud}", "30 min") for cloud in AUDIENCES)
    tokens = "".join(
        _token_lines(cloud, audience, label) for cloud, (audience, label) in AUDIENCES.items()
    )
    expected = settings + "".join(lines[:3]) + ttl + "".join(lines[3:]) + tokens
    assert normalized(diagnosed.stdout, _made_up(healthy)) == expected


# Each enabled cloud's audience in the example workspace, and the label of its token service.
AUDIENCES = {
    "aws": ("aws.workload.identity", "AWS STS"),
    "azure": ("api://AzureADTokenExchange", "Entra ID"),
    "gcp": (
        "https://iam.googleapis.com/projects/123456789012/locations/global/"
        "workloadIdentityPools/terrakube/providers/terrakube",
        "Google STS",
    ),
}
