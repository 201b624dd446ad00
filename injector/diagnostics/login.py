"""`injector doctor --login`: log in through each enabled cloud's own SDK, each in a child
process that sees only the exports of `injector env` and the few variables below, exactly as a
Terraform job would.

The SDKs are never imported here: each child (`login_child`) runs its cloud's login check,
which imports the SDK, so a missing one is a line of the checklist, not a crash, and nothing of
them stays in this process.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import injector
from injector import clouds
from injector.diagnostics import checks
from injector.diagnostics.checks import Line

TIMEOUT_SECONDS = 120
MESSAGE_LIMIT = 600

# Variables passed on from doctor's environment to the SDK children, besides the exports and
# each cloud's own (`login.passed_on`: its endpoints): how to reach the clouds (proxies, CA
# bundles) and what a process needs to start. Nothing else: a profile, a client secret or a key
# file elsewhere in the environment must not make a login pass that the job's own would fail.
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
)
# Where the child finds injector itself, installed or not.
PACKAGE_ROOT = str(Path(injector.__file__).resolve().parent.parent)


def passed_on() -> tuple[str, ...]:
    """PASSED_ON and every cloud's own variables for its login."""
    extra = (
        name
        for cloud in clouds.registered()
        for name in (cloud.login.passed_on if cloud.login else ())
    )
    return PASSED_ON + tuple(dict.fromkeys(extra))


@dataclass(frozen=True)
class Login:
    cloud: str
    exports: Mapping[str, str]
    # Which configuration, in the lines (`aws_PROD.login`); the cloud's name when empty.
    shown: str = ""


def child_env(env: Mapping[str, str], exports: Mapping[str, str], home: Path) -> dict[str, str]:
    """The environment of a login child: the variables of PASSED_ON that `env` has, the exports,
    and a HOME of its own (no SDK configuration of the caller's under ~)."""
    passed = {name: env[name] for name in passed_on() if name in env}
    return {**passed, **exports, "HOME": str(home), "PYTHONPATH": PACKAGE_ROOT}


def run(
    logins: Sequence[Login],
    env: Mapping[str, str],
    home: Path,
    secrets: Sequence[str] = (),
    *,
    progress: Callable[[str], None] | None = None,
) -> list[Line]:
    """Log in for each of `logins` at once, one child each; one line per cloud. `secrets` (the
    tokens) are blanked out of anything a child says, should an SDK ever echo one. `progress`
    hears a line as each login starts."""
    started = []
    for login in logins:
        if progress is not None:
            named = clouds.named(login.cloud)
            progress(f"logging in to {named.label} through {named.sdk or 'its SDK'}...")
        child = subprocess.Popen(
            [sys.executable, "-m", "injector.diagnostics.login_child", login.cloud],
            env=child_env(env, login.exports, home),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=home,
        )
        started.append((login.shown or login.cloud, child))
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
    return checks.fail(rule, message, str(code) if code else None)


def private_home(folder: Path) -> Path:
    """A HOME for the children inside doctor's private folder (removed with it)."""
    home = folder / "home"
    home.mkdir(mode=0o700, exist_ok=True)
    home.chmod(0o700)
    return home
