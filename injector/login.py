"""`injector doctor --login`: log in through each enabled cloud's own SDK (boto3, azure-identity,
google-auth), each in a child process that sees only the exports of `injector env` and the few
variables below, exactly as a Terraform job would.

The SDKs are never imported here: each child imports its own, so a missing one is a line of the
checklist, not a crash, and nothing of them stays in this process.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from injector import checks
from injector.checks import Line

TIMEOUT_SECONDS = 120
MESSAGE_LIMIT = 600

# Variables passed on from doctor's environment to the SDK children, besides the exports: how
# to reach the clouds (proxies, CA bundles, endpoint overrides for tests and private endpoints)
# and what a process needs to start. Nothing else: a profile, a client secret or a key file
# elsewhere in the environment must not make a login pass that the job's own would fail.
PASSED_ON: tuple[str, ...] = (
    "PATH",
    "LANG",
    "LC_ALL",
    "TZ",
    "SYSTEMROOT",
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "NO_PROXY",
    "https_proxy",
    "http_proxy",
    "no_proxy",
    "REQUESTS_CA_BUNDLE",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "CURL_CA_BUNDLE",
    "AWS_CA_BUNDLE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_STS",
    "AWS_STS_REGIONAL_ENDPOINTS",
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_MAX_ATTEMPTS",
    "AWS_RETRY_MODE",
)

_NOT_INSTALLED = """
def missing(error):
    print(json.dumps({"ok": False, "code": "not installed",
                      "message": f"{error.name} is not installed: pip install 'injector[login]'"}))
    raise SystemExit(0)
"""

# Each child prints one JSON line: what it obtained, or the SDK's error. Never a token.
AWS = (
    """
import json, os
"""
    + _NOT_INSTALLED
    + """
try:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError as error:
    missing(error)
session = boto3.Session()
try:
    credentials = session.get_credentials()
    method = credentials.method if credentials is not None else None
    if method != "assume-role-with-web-identity":
        print(json.dumps({"ok": False, "code": "wrong credentials",
                          "message": f"boto3 found credentials of kind {method!r}, "
                                     "not assume-role-with-web-identity"}))
        raise SystemExit(0)
    region = os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    identity = session.client("sts", region_name=region).get_caller_identity()
except ClientError as error:
    details = error.response.get("Error", {})
    print(json.dumps({"ok": False, "code": details.get("Code"),
                      "message": f"{type(error).__name__}: {details.get('Message')}"}))
except BotoCoreError as error:
    print(json.dumps({"ok": False, "code": type(error).__name__, "message": str(error)}))
else:
    print(json.dumps({"ok": True, "detail": "boto3: AssumeRoleWithWebIdentity, then "
                      f"GetCallerIdentity as {identity['Arn']}"}))
"""
)

AZURE = (
    """
import json
"""
    + _NOT_INSTALLED
    + """
try:
    from azure.core.exceptions import AzureError
    from azure.identity import WorkloadIdentityCredential
except ImportError as error:
    missing(error)
try:
    token = WorkloadIdentityCredential().get_token("https://management.azure.com/.default")
except AzureError as error:
    print(json.dumps({"ok": False, "message": f"{type(error).__name__}: {error.message}"}))
except ValueError as error:
    print(json.dumps({"ok": False, "code": "configuration", "message": str(error)}))
else:
    print(json.dumps({"ok": True, "detail": "azure-identity WorkloadIdentityCredential: an "
                      "access token for https://management.azure.com"}))
"""
)

GCP = (
    """
import json
"""
    + _NOT_INSTALLED
    + """
try:
    import google.auth
    import google.auth.transport.requests
    from google.auth.exceptions import GoogleAuthError
except ImportError as error:
    missing(error)
try:
    credentials, project = google.auth.default(
        scopes=["https://www.googleapis.com/auth/cloud-platform"])
    credentials.refresh(google.auth.transport.requests.Request())
except GoogleAuthError as error:
    print(json.dumps({"ok": False, "message": f"{type(error).__name__}: {error}"}))
else:
    account = getattr(credentials, "service_account_email", None)
    how = f"impersonating {account}" if account else "with the federated token"
    print(json.dumps({"ok": True, "detail": f"google-auth {type(credentials).__module__}: "
                      f"an access token {how} (project {project})"}))
"""
)

SCRIPTS = {"aws": AWS, "azure": AZURE, "gcp": GCP}
_CODES = {
    "azure": re.compile(r"AADSTS[0-9]+"),
    "gcp": re.compile(
        r"\b(invalid_grant|invalid_request|invalid_target|invalid_scope|unauthorized_client|"
        r"PERMISSION_DENIED|UNAUTHENTICATED|NOT_FOUND|INVALID_ARGUMENT)\b"
    ),
}


@dataclass(frozen=True)
class Login:
    cloud: str
    exports: Mapping[str, str]


def child_env(env: Mapping[str, str], exports: Mapping[str, str], home: Path) -> dict[str, str]:
    """The environment of a login child: the variables of PASSED_ON that `env` has, the exports,
    and a HOME of its own (no ~/.aws, ~/.azure or gcloud configuration of the caller's)."""
    passed = {name: env[name] for name in PASSED_ON if name in env}
    return {**passed, **exports, "HOME": str(home)}


def run(
    logins: Sequence[Login],
    env: Mapping[str, str],
    home: Path,
    secrets: Sequence[str] = (),
) -> list[Line]:
    """Log in for each of `logins` at once, one child each; one line per cloud. `secrets` (the
    tokens) are blanked out of anything a child says, should an SDK ever echo one."""
    started = []
    for login in logins:
        child = subprocess.Popen(
            [sys.executable, "-c", SCRIPTS[login.cloud]],
            env=child_env(env, login.exports, home),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=home,
        )
        started.append((login.cloud, child))
    lines = []
    for cloud, child in started:
        try:
            out, err = child.communicate(timeout=TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            child.kill()
            child.communicate()
            lines.append(checks.fail(f"{cloud}.login", f"no answer within {TIMEOUT_SECONDS} s"))
            continue
        lines.append(_outcome(cloud, child.returncode, out, err, secrets))
    return lines


def _clean(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "<token>")
    text = " ".join(text.split())
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 3] + "..."


def _outcome(cloud: str, status: int, out: str, err: str, secrets: Sequence[str]) -> Line:
    rule = f"{cloud}.login"
    try:
        said = json.loads(out.strip().splitlines()[-1])
    except (IndexError, ValueError):
        last = err.strip().splitlines()[-1] if err.strip() else f"exit status {status}"
        return checks.fail(rule, f"the SDK child failed: {_clean(last, secrets)}")
    if said.get("ok"):
        return checks.ok(rule, _clean(str(said.get("detail", "")), secrets))
    message = _clean(str(said.get("message", "")), secrets)
    code = said.get("code")
    if code is None and cloud in _CODES:
        found = _CODES[cloud].search(message)
        code = found.group(0) if found else None
    return checks.fail(rule, message, str(code) if code else None)


def private_home(folder: Path) -> Path:
    """A HOME for the children inside doctor's private folder (removed with it)."""
    home = folder / "home"
    home.mkdir(mode=0o700, exist_ok=True)
    home.chmod(0o700)
    return home
