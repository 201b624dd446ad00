"""Keyless jobs: `DynamicCredentialSigner=https://signer.example.com`. The job holds no key and
names no workspace: it presents its platform's token to the signer's RFC 8693 endpoint
(`<url>/token`, signer.token_exchange) and receives tokens for the job and phase the platform
attests. Imported only when that variable is an https:// URL, so key-file jobs never load it;
standard library only (`urllib`, `ssl`).

The platform token comes from, in order: INJECTOR_SUBJECT_TOKEN_FILE (re-read at each refresh:
a projected Kubernetes token rotates), GitHub Actions' request endpoint
(ACTIONS_ID_TOKEN_REQUEST_URL with ACTIONS_ID_TOKEN_REQUEST_TOKEN, for the audience
DynamicCredentialSignerAudience, default the signer URL), or GitLab's `id_tokens:` variable
(INJECTOR_ID_TOKEN). Every token received is checked against what was asked and what the
first answer attested (`aud`, `sub`, `terrakube_*`) before anything is written.
"""

from __future__ import annotations

import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from injector import claims, files
from injector.claims import Token
from injector.config import issuer_settings, job_context, values
from injector.config.job_context import JobContext
from injector.errors import ConfigError, InjectorError
from injector.job import keyless_call

SIGNER = issuer_settings.SIGNER
SIGNER_CA = "DynamicCredentialSignerCA"
SIGNER_AUDIENCE = issuer_settings.SIGNER_AUDIENCE
TOKEN_FILE = issuer_settings.SUBJECT_TOKEN_FILE
GITLAB_TOKEN = issuer_settings.ID_TOKEN
GITHUB_URL = "ACTIONS_ID_TOKEN_REQUEST_URL"
GITHUB_BEARER = "ACTIONS_ID_TOKEN_REQUEST_TOKEN"
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:token-exchange"
JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt"
MAX_TOKEN_FILE_BYTES = 64 * 1024  # a platform's JWT is a few KiB
# Where each job context variable stands in the signer's tokens (injector.claims).
CLAIMS = {
    job_context.ORGANIZATION_NAME: "terrakube_organization_name",
    job_context.WORKSPACE_NAME: "terrakube_workspace_name",
    job_context.ORGANIZATION_ID: "terrakube_organization_id",
    job_context.WORKSPACE_ID: "terrakube_workspace_id",
    job_context.JOB_ID: "terrakube_job_id",
}
PHASE_CLAIM = claims.PHASE_CLAIM_NAME


def over_socket(env: Mapping[str, str]) -> bool:
    return (values.optional(env, SIGNER) or "").startswith("unix:")


@dataclass(frozen=True)
class Endpoint:
    url: str  # the token endpoint: <DynamicCredentialSigner>/token
    context: ssl.SSLContext | None
    env: Mapping[str, str]  # where the subject token is read from, at each request

    def subject_token(self) -> str:
        return subject_token(self.env)


def endpoint(env: Mapping[str, str]) -> Endpoint:
    """The signer's endpoint; ConfigError naming the variable at fault."""
    base = values.text(SIGNER, env[SIGNER], "https://host[:port] of the signer")
    parts = urllib.parse.urlsplit(base)
    loopback = parts.hostname in ("127.0.0.1", "::1", "localhost")
    if parts.scheme != "https" and not loopback:
        raise ConfigError.of(
            SIGNER, "expected an https:// URL (http:// only to a loopback address)"
        )
    if not parts.hostname or parts.query or parts.fragment:
        raise ConfigError.of(
            SIGNER, f"expected https://host[:port][/path], got {values.shown(base)}"
        )
    if values.optional(env, issuer_settings.PRIVATE_KEY_PATH) is not None:
        raise ConfigError.of(
            SIGNER,
            f"and {issuer_settings.PRIVATE_KEY_PATH} are both set: a keyless job holds no key",
        )
    context = None
    if parts.scheme == "https":
        ca = values.optional(env, SIGNER_CA)
        try:
            context = ssl.create_default_context(cafile=ca)
        except (OSError, ssl.SSLError) as error:
            raise ConfigError.of(
                SIGNER_CA, f"cannot load CA certificates from {ca}: {error}"
            ) from None
    return Endpoint(base.rstrip("/") + "/token", context, env)


def subject_token(env: Mapping[str, str]) -> str:
    """The platform's token for this job. ConfigError naming what to set when there is none."""
    path = values.optional(env, TOKEN_FILE)
    if path is not None:
        # A regular file of sane size: a FIFO would hold the job, /dev/zero fill its memory.
        data = files.read_file(Path(path), TOKEN_FILE, "a JWT file", limit=MAX_TOKEN_FILE_BYTES)
        try:
            text = data.decode("ascii").strip()
        except UnicodeDecodeError:
            raise ConfigError.of(TOKEN_FILE, f"{path} is not ASCII: expected a JWT") from None
        return _shaped(TOKEN_FILE, text)
    if values.optional(env, GITHUB_URL) is not None and values.optional(env, GITHUB_BEARER):
        return _github(env)
    if values.optional(env, GITLAB_TOKEN) is not None:
        return _shaped(GITLAB_TOKEN, env[GITLAB_TOKEN].strip())
    raise ConfigError.of(
        SIGNER,
        f"names a keyless signer but the job has no platform token: set {TOKEN_FILE} (a file, such "
        f"as a projected Kubernetes token), run in GitHub Actions with `permissions: id-token: "
        f"write`, or expose GitLab's id_tokens as {GITLAB_TOKEN}",
    )


def _shaped(name: str, token: str) -> str:
    if token.count(".") != 2 or not token.isascii() or any(c.isspace() for c in token):
        raise ConfigError.of(name, "expected a JWT (three base64url parts separated by dots)")
    return token


def _github(env: Mapping[str, str]) -> str:
    """GitHub's ID token for the signer's audience, from the runner's request endpoint (trusted
    through the system's CAs and SSL_CERT_FILE: DynamicCredentialSignerCA is the signer's)."""
    audience = values.optional(env, SIGNER_AUDIENCE)
    if audience is None and over_socket(env):
        raise ConfigError.of(
            SIGNER_AUDIENCE,
            "is needed to ask GitHub for a token for a unix: signer: expected the audience "
            "of the signer's [[attestation]]",
        )
    audience = audience or env[SIGNER].rstrip("/")
    separator = "&" if "?" in env[GITHUB_URL] else "?"
    url = f"{env[GITHUB_URL]}{separator}audience={urllib.parse.quote(audience, safe='')}"
    request = urllib.request.Request(  # noqa: S310 (the runner's own https endpoint)
        url, headers={"Authorization": f"bearer {env[GITHUB_BEARER]}", "Accept": "application/json"}
    )
    document = keyless_call.json_answer(request, None, GITHUB_URL, (env[GITHUB_BEARER],))
    value = document.get("value")
    if not isinstance(value, str):
        raise InjectorError(f"{GITHUB_URL}: the answer holds no token")
    return _shaped(GITHUB_URL, value)


def exchange(where: Endpoint, audience: str) -> Token:
    """One token for `audience`, checked for its `aud`. ConfigError (refused), InjectorError."""
    subject = where.subject_token()
    form = urllib.parse.urlencode(
        {
            "grant_type": GRANT_TYPE,
            "subject_token": subject,
            "subject_token_type": JWT_TYPE,
            "audience": audience,
        }
    ).encode()
    request = urllib.request.Request(  # noqa: S310 (https, or http to loopback: endpoint())
        where.url, data=form, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    document = keyless_call.json_answer(request, where.context, SIGNER, (subject,))
    compact = document.get("access_token")
    if not isinstance(compact, str) or compact.count(".") != 2:
        raise InjectorError(f"{SIGNER}: the signer at {where.url} answered without a token")
    token = claims.decoded(compact)
    if token.claims.get("aud") != audience:
        raise InjectorError(f"{SIGNER}: the signer at {where.url} answered a token for another aud")
    return token


def attested(token: Token) -> tuple[JobContext, str | None]:
    """The job context and phase the signer's token carries (the platform's, by the signer)."""
    fields = {name: token.claims.get(claim) for name, claim in CLAIMS.items()}
    if not all(isinstance(value, str) and value for value in fields.values()):
        raise InjectorError(f"{SIGNER}: the signer's token lacks the terrakube_* claims")
    job = job_context.from_env({name: str(value) for name, value in fields.items()})
    phase = token.claims.get(PHASE_CLAIM)
    return job, phase if isinstance(phase, str) else None


def resolve(
    env: Mapping[str, str], first: Token, phase: str | None
) -> tuple[dict[str, str], JobContext]:
    """`env` with the job context the platform attests (in `first`, the signer's first token,
    over HTTPS or the socket). A job variable set to another value, or a `--phase` the
    platform does not attest, is exit 2 naming both values; nothing is written."""
    job, attested_phase = attested(first)
    resolved = dict(env)
    for name, claim in CLAIMS.items():
        value = str(first.claims[claim])
        given = values.optional(env, name)
        if given is not None and given != value:
            raise ConfigError.of(
                name, f"is {values.shown(given)}, but the platform attests {values.shown(value)}"
            )
        resolved[name] = value
    if phase is not None and phase != attested_phase:
        raise ConfigError.of(
            "--phase", f"is {phase}, but the platform attests {attested_phase or 'no phase'}"
        )
    return resolved, job


@dataclass(frozen=True)
class KeylessMinter:
    endpoint: Endpoint
    attested: JobContext

    @property
    def description(self) -> str:
        return f"the signer at {self.endpoint.url} (DynamicCredentialSigner), for the attested job"

    def mint(
        self,
        job: JobContext,
        audiences: Sequence[str],
        extra_claims: Mapping[str, object],
        now: int,
        own_claims: Sequence[Mapping[str, object]] = (),
        phase: str | None = None,
    ) -> list[Token]:
        if any(own_claims):
            names = sorted({name for own in own_claims for name in own})
            raise ConfigError.of(
                SIGNER, f"the signer does not mint the claims {', '.join(names)}: switch them off"
            )
        minted = [exchange(self.endpoint, audience) for audience in audiences]
        subjects = {token.claims.get("sub") for token in minted}
        for token in minted:
            if attested(token)[0] != self.attested or len(subjects) != 1:
                raise InjectorError(
                    f"{SIGNER}: the signer at {self.endpoint.url} answered a token for another job"
                )
        return minted
