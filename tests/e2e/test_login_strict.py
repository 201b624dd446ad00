"""The real SDKs log in through strict stand-ins of AWS STS, Entra ID and Google STS/IAM, with
nothing but what `injector env` exported; and each refuses what the real cloud would refuse.

Each SDK runs in a child process whose environment is only the exports, the stand-in endpoint
and CA overrides, PATH and a HOME of its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from injector import files
from injector.config.issuer_settings import KEY_ID, PRIVATE_KEY_PATH, PUBLIC_KEY_PATH
from injector.job import pipeline
from tests.conftest import run_injector
from tests.standins.accounts import GCP_PROJECT, ROLE_NAME

if TYPE_CHECKING:
    from tests.standins.fixtures import StandIns

pytest_plugins = ["tests.standins.fixtures"]

CLOUDS = ("aws", "azure", "gcp")
ENABLE = {
    "aws": "ENABLE_DYNAMIC_CREDENTIALS_AWS",
    "azure": "ENABLE_DYNAMIC_CREDENTIALS_AZURE",
    "gcp": "ENABLE_DYNAMIC_CREDENTIALS_GCP",
}

# The children print one JSON line: what they obtained, or the SDK's exception. Never a token.
AWS_LOGIN = """
import json
import boto3
from botocore.exceptions import ClientError
session = boto3.Session()
try:
    identity = session.client("sts").get_caller_identity()
except ClientError as error:
    print(json.dumps({"ok": False, "type": type(error).__name__,
                      "code": error.response["Error"]["Code"], "message": str(error)}))
else:
    print(json.dumps({"ok": True, "arn": identity["Arn"],
                      "method": session.get_credentials().method}))
"""

AZURE_LOGIN = """
import json, os, sys
import requests
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import DefaultAzureCredential
try:
    token = DefaultAzureCredential().get_token("https://management.azure.com/.default")
except ClientAuthenticationError as error:
    print(json.dumps({"ok": False, "type": type(error).__name__, "message": error.message}))
else:
    subscription = os.environ["ARM_SUBSCRIPTION_ID"]
    answer = requests.get(f"{sys.argv[1]}/subscriptions/{subscription}",
                          params={"api-version": "2022-12-01"},
                          headers={"Authorization": f"Bearer {token.token}"}, timeout=10)
    print(json.dumps({"ok": True, "status": answer.status_code, "body": answer.json()}))
"""

GCP_LOGIN = """
import json, sys
import google.auth
from google.auth.exceptions import GoogleAuthError
from google.auth.transport.requests import AuthorizedSession
try:
    credentials, project = google.auth.default(
        scopes=["https://www.googleapis.com/auth/cloud-platform"])
    answer = AuthorizedSession(credentials).get(
        sys.argv[1], params={"project": project}, timeout=10)
except GoogleAuthError as error:
    print(json.dumps({"ok": False, "type": type(error).__name__, "message": str(error)}))
else:
    print(json.dumps({"ok": True, "status": answer.status_code, "body": answer.json(),
                      "project": project, "credentials": type(credentials).__module__}))
"""


def _exports(env: Mapping[str, str], folder: Path) -> dict[str, str]:
    result = run_injector("env", "--dir", str(folder), "--format", "json", env=env)
    assert result.returncode == 0, result.stderr
    exports: dict[str, str] = json.loads(result.stdout)
    return exports


class Outcome(TypedDict, total=False):
    """A login child's JSON line (the scripts above): `ok`, then what it saw or the error."""

    ok: bool
    type: str
    code: str
    message: str
    arn: str
    method: str
    status: int
    body: Any  # the cloud API's own JSON answer
    project: str
    credentials: str


def _login(cloud: str, exports: Mapping[str, str], standins: StandIns, home: Path) -> Outcome:
    """Run the cloud's SDK in a child with only the exports (plus overrides); its JSON line."""
    base = {"PATH": os.environ["PATH"], "HOME": str(home)}
    ca = str(standins.tls.ca_file)
    if cloud == "aws":
        # One attempt: botocore retries IDPCommunicationError with back-off, which only slows
        # the test down; the answer is the same.
        overrides = {"AWS_ENDPOINT_URL_STS": standins.aws.url, "AWS_MAX_ATTEMPTS": "1"}
        script, args = AWS_LOGIN, []
    elif cloud == "azure":
        overrides = {"REQUESTS_CA_BUNDLE": ca, "SSL_CERT_FILE": ca}
        script, args = AZURE_LOGIN, [standins.entra.url]
    else:
        overrides = {"REQUESTS_CA_BUNDLE": ca, "SSL_CERT_FILE": ca}
        script, args = GCP_LOGIN, [standins.google.url + "/storage/v1/b"]
    home.mkdir(exist_ok=True)
    child = subprocess.run(
        [sys.executable, "-c", script, *args],
        env={**exports, **overrides, **base},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert child.returncode == 0, child.stderr
    outcome: Outcome = json.loads(child.stdout)
    return outcome


def _only(cloud: str, env: Mapping[str, str]) -> dict[str, str]:
    return {**env, **{name: str(other == cloud).lower() for other, name in ENABLE.items()}}


@pytest.mark.parametrize("cloud", CLOUDS)
def test_the_sdk_logs_in_through_the_strict_standin(
    cloud: str, strict_workspace: dict[str, str], standins: StandIns, tmp_path: Path
) -> None:
    standin = standins.of(cloud)
    fetched, served = len(standin.issuer_keys.fetched), len(standin.seen)
    exports = _exports(_only(cloud, strict_workspace), tmp_path / "creds")
    outcome = _login(cloud, exports, standins, tmp_path / "home")

    assert outcome["ok"] is True, outcome
    if cloud == "aws":
        assert outcome["method"] == "assume-role-with-web-identity"
        # AssumeRoleWithWebIdentity (checked, then moto's), then GetCallerIdentity (moto's).
        assert standin.seen[served:] == ["POST /", "POST /"]
        assert outcome["arn"] == (
            f"arn:aws:sts::123456789012:assumed-role/{ROLE_NAME}/terrakube-simple-simple-cli-1"
        )
    elif cloud == "azure":
        assert outcome["status"] == 200
        assert outcome["body"]["subscriptionId"] == strict_workspace["ARM_SUBSCRIPTION_ID"]
        # azure-identity posts the assertion straight to the token endpoint: no discovery.
        tenant = strict_workspace["ARM_TENANT_ID"]
        subscription = strict_workspace["ARM_SUBSCRIPTION_ID"]
        assert standin.seen[served:] == [
            f"POST /{tenant}/oauth2/v2.0/token",
            f"GET /subscriptions/{subscription}",
        ]
    else:
        assert outcome["status"] == 200
        assert outcome["project"] == GCP_PROJECT
        assert outcome["body"]["items"][0]["name"] == f"{GCP_PROJECT}-tfstate"
        assert outcome["credentials"] == "google.auth.identity_pool"
        account = strict_workspace["WORKLOAD_IDENTITY_SERVICE_ACCOUNT_EMAIL"]
        assert standin.seen[served:] == [
            "POST /v1/token",
            f"POST /v1/projects/-/serviceAccounts/{account}:generateAccessToken",
            "GET /storage/v1/b",
        ]
    # The stand-in verified the token with the key the issuer publishes.
    assert standin.issuer_keys.fetched[fetched:] == [
        f"{standins.issuer.url}/.well-known/openid-configuration",
        f"{standins.issuer.url}/.well-known/jwks",
    ]


# --- The negative table ------------------------------------------------------------------------

AUDIENCE_VARIABLES = {
    "aws": ("WORKLOAD_IDENTITY_AUDIENCE_AWS", "sts.amazonaws.com"),
    "azure": ("WORKLOAD_IDENTITY_AUDIENCE_AZURE", "api://AzureADTokenExchangeOther"),
    "gcp": (
        "WORKLOAD_IDENTITY_AUDIENCE_GCP",
        "//iam.googleapis.com/projects/123456789012/locations/global/"
        "workloadIdentityPools/terrakube/providers/another",
    ),
}


@dataclass(frozen=True)
class Spoil:
    """How a row spoils an otherwise good login."""

    # Changes to the workspace before `injector env` (None removes the variable).
    env: Callable[[str], Mapping[str, str | None]] = lambda cloud: {}
    # Mint the cloud's token again with these changes and write it over the token file.
    remint: Callable[[str], Mapping[str, str]] | None = None
    issued_ago_seconds: int = 0
    other_key: bool = False  # sign with a key pair the issuer does not publish
    issuer_down: bool = False
    # cloud -> (the SDK's exception class, the cloud's error code, a fragment of the message).
    # botocore raises the operation's modelled ClientError subclass where there is one.
    expected: Mapping[str, tuple[str, str, str]] = field(default_factory=dict)


ROWS: dict[str, Spoil] = {
    "wrong-audience": Spoil(
        remint=lambda cloud: dict([AUDIENCE_VARIABLES[cloud]]),
        expected={
            "aws": (
                "InvalidIdentityTokenException",
                "InvalidIdentityToken",
                "Incorrect token audience",
            ),
            "azure": (
                "ClientAuthenticationError",
                "AADSTS70021",
                "Assertion Audience: 'api://AzureADTokenExchangeOther'",
            ),
            "gcp": ("OAuthError", "invalid_grant", "does not match the expected audience"),
        },
    ),
    "wrong-workspace-in-sub": Spoil(
        env=lambda cloud: {"workspaceName": "other-workspace"},
        expected={
            "aws": ("ClientError", "AccessDenied", "Not authorized to perform"),
            "azure": (
                "ClientAuthenticationError",
                "AADSTS70021",
                "Assertion Subject: 'organization:simple:workspace:other-workspace'",
            ),
            "gcp": ("OAuthError", "invalid_grant", "rejected by the attribute condition"),
        },
    ),
    "expired": Spoil(
        remint=lambda cloud: {},
        issued_ago_seconds=2 * 3600,  # the token lived 30 minutes, 90 minutes ago
        expected={
            "aws": ("ExpiredTokenException", "ExpiredTokenException", "Token expired"),
            "azure": ("ClientAuthenticationError", "AADSTS700024", "not within its valid time"),
            "gcp": ("OAuthError", "invalid_grant", "The ID Token expired"),
        },
    ),
    "other-key-same-kid": Spoil(
        other_key=True,
        expected={
            "aws": (
                "InvalidIdentityTokenException",
                "InvalidIdentityToken",
                "signature does not verify",
            ),
            "azure": ("ClientAuthenticationError", "AADSTS700027", "Key was found, but"),
            "gcp": ("OAuthError", "invalid_grant", "signature does not verify"),
        },
    ),
    "other-key-other-kid": Spoil(
        other_key=True,
        env=lambda cloud: {KEY_ID: "rotated-key-2"},
        expected={
            "aws": (
                "InvalidIdentityTokenException",
                "InvalidIdentityToken",
                "no signing key with kid",
            ),
            "azure": ("ClientAuthenticationError", "AADSTS700027", "The key was not found"),
            "gcp": ("OAuthError", "invalid_grant", "no signing key with kid"),
        },
    ),
    "issuer-unreachable": Spoil(
        issuer_down=True,
        expected={
            "aws": (
                "IDPCommunicationErrorException",
                "IDPCommunicationError",
                "Couldn't retrieve verification key",
            ),
            "azure": ("ClientAuthenticationError", "AADSTS90061", "External OIDC endpoint"),
            "gcp": ("OAuthError", "invalid_grant", "Unable to retrieve the public keys"),
        },
    ),
}


@pytest.fixture(scope="module")
def other_key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A PEM private key of a pair the issuer does not publish."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path_factory.mktemp("other-key") / "other.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


def _changed(env: Mapping[str, str], changes: Mapping[str, str | None]) -> dict[str, str]:
    result = dict(env)
    for name, value in changes.items():
        if value is None:
            result.pop(name, None)
        else:
            result[name] = value
    return result


def _remint(env: dict[str, str], cloud: str, folder: Path, now: int) -> None:
    """Mint the cloud's token with injector's own library and write it where the SDK reads."""
    prepared = pipeline.prepare(env)
    assert prepared is not None
    [minted] = [
        plan
        for plan in pipeline.mint(prepared, folder, now=now).clouds
        if plan.config.name == cloud
    ]
    files.write_atomically(minted.token_file, minted.token.compact.encode("ascii"))


@pytest.mark.parametrize("cloud", CLOUDS)
@pytest.mark.parametrize("row", list(ROWS))
def test_the_strict_standin_refuses(
    row: str,
    cloud: str,
    strict_workspace: dict[str, str],
    standins: StandIns,
    other_key_file: Path,
    tmp_path: Path,
) -> None:
    spoil = ROWS[row]
    env = _only(cloud, strict_workspace)
    if spoil.other_key:
        env = _changed(env, {PRIVATE_KEY_PATH: str(other_key_file), PUBLIC_KEY_PATH: None})
    env = _changed(env, spoil.env(cloud))
    folder = tmp_path / "creds"
    exports = _exports(env, folder)
    if spoil.remint is not None:
        _remint(
            _changed(env, spoil.remint(cloud)),
            cloud,
            folder,
            int(time.time()) - spoil.issued_ago_seconds,
        )

    if spoil.issuer_down:
        with standins.issuer_down():
            outcome = _login(cloud, exports, standins, tmp_path / "home")
    else:
        outcome = _login(cloud, exports, standins, tmp_path / "home")

    error_type, code, fragment = spoil.expected[cloud]
    assert outcome["ok"] is False, outcome
    assert outcome["type"] == error_type, outcome
    if cloud == "aws":
        assert outcome["code"] == code, outcome
    assert code in str(outcome["message"]), outcome
    assert fragment in str(outcome["message"]), outcome
