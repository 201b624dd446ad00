"""The cluster's own word that a service-account token is live now: a TokenReview
(`authentication.k8s.io/v1`) asked of the API server once the token has verified against the
cluster's JWKS.

The keys say who signed a token, not whether what it is bound to still exists: a pod-bound
token keeps verifying by them until its `exp` after its pod is deleted, while the API server
refuses it from the deletion on. The review carries that refusal to the signer.

Accepted: HTTP 200 or 201 with `application/json`, at most MAX_BYTES, a TokenReview whose
`status.authenticated` is true with no `status.error`, whose `status.audiences` holds the
audience asked for (an API server deaf to audiences answers none, and would vouch for a token
of any audience), and whose `status.user` is the service account of the token's own verified
claims, and its pod when the answer names one. Anything else refuses the token: `NotLive` when
the cluster does not vouch for it, `Unavailable` when no trustworthy answer came.

The token goes in the request's body and the signer's credential in its header; neither is in
any message (injector.net.guarded blanks both, even where the server echoes them). The
credential is read from its file at each review: a projected token rotates under the signer.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from injector.net import guarded, redact
from injector.signer.attestation.keys import Unavailable
from injector.signer.attestation.kinds import claim

# What a pod's in-cluster configuration uses: the service's DNS name, the CA and the token the
# kubelet mounts (client-go's rest.InClusterConfig reads the same two files).
DEFAULT_API_SERVER = "https://kubernetes.default.svc"
IN_CLUSTER = Path("/var/run/secrets/kubernetes.io/serviceaccount")
REVIEW_PATH = "apis/authentication.k8s.io/v1/tokenreviews"
API_VERSION = "authentication.k8s.io/v1"
# The whole review, connection to last byte. An API server answers in milliseconds; this
# leaves a request its 5 s when the cluster's keys are fetched first (keys.FETCH_SECONDS).
REVIEW_SECONDS = 2.0
# A TokenReview answer is a kilobyte or two; far more is not one.
MAX_BYTES = 64 * 1024
# A service-account token is one to two kilobytes.
MAX_CREDENTIAL_BYTES = 16 * 1024
_POD_UID = "authentication.kubernetes.io/pod-uid"
# The policy's `token_review` table (signer.attestation.settings reads it).
KEYS = ("api_server", "ca_file", "token_file")
FORM = (
    'true, or a table { api_server = "https://...", ca_file = "<PEM file>", '
    'token_file = "<file holding the signer\'s bearer token>" } (each optional)'
)


class NotLive(Exception):
    """The API server does not vouch for the token now; the message says why, never holds it."""


@dataclass(frozen=True)
class TokenReview:
    """Where and as whom the signer asks for reviews: `token_review` of an `[[attestation]]`."""

    api_server: str
    context: ssl.SSLContext  # the cluster's CA only: the API server is not a public site
    ca_file: Path
    token_file: Path


def trust(ca_file: Path) -> ssl.SSLContext:
    """A client context trusting the CA(s) in `ca_file` alone. ValueError naming the file."""
    try:
        return ssl.create_default_context(cafile=str(ca_file))
    except (OSError, ssl.SSLError) as error:
        raise ValueError(f"cannot load CA certificates from {ca_file}: {error}") from None


def credential(token_file: Path) -> str:
    """The signer's bearer token for the API server, from `token_file`. ValueError saying what
    is wrong with the file, never what it holds."""
    try:
        with token_file.open("rb") as handle:
            content = handle.read(MAX_CREDENTIAL_BYTES + 1)
    except OSError as error:
        raise ValueError(f"cannot read {token_file}: {error.strerror}") from None
    if len(content) > MAX_CREDENTIAL_BYTES:
        raise ValueError(f"{token_file} is over {MAX_CREDENTIAL_BYTES} bytes: not a token")
    text = content.decode("ascii", errors="replace").strip()
    if not text or not guarded.header_safe(text):
        raise ValueError(f"{token_file} does not hold a bearer token (one line of ASCII)")
    return text


def review(settings: TokenReview, token: str, claims: Mapping[str, Any], audience: str) -> None:
    """Whether the API server vouches, now, for `token` (whose verified `claims` name its
    service account and pod) for `audience`. Raises NotLive or Unavailable."""
    where = f"the TokenReview at {settings.api_server}"
    try:
        bearer = credential(settings.token_file)
    except ValueError as error:
        raise Unavailable(f"{where} cannot be asked: token_file {error}") from None
    body = {"apiVersion": API_VERSION, "kind": "TokenReview"}
    client = guarded.GuardedClient(
        settings.api_server,
        verify=settings.context,
        timeout=REVIEW_SECONDS,
        max_bytes=MAX_BYTES,
        headers={"Accept": "application/json"},
        follow_redirects=False,
    )
    try:
        answer = client.call(
            "POST",
            REVIEW_PATH,
            body={**body, "spec": {"token": token, "audiences": [audience]}},
            headers={"Authorization": f"Bearer {bearer}"},
            secrets=(token, bearer),
        )
    except guarded.HttpError as error:
        raise Unavailable(f"{where} failed: {error}") from None
    finally:
        client.close()
    status = _status(where, answer, (token, bearer))
    _vouches(status, claims, audience, (token, bearer))


def _status(where: str, answer: guarded.Answer, secrets: tuple[str, ...]) -> Mapping[str, Any]:
    """The `status` of a TokenReview answer. Unavailable when the answer is not one."""
    document = _json(answer.body)
    if answer.status not in (200, 201):
        said = document.get("message") if isinstance(document, dict) else None
        detail = f": {redact.clean(said, secrets, 200)}" if isinstance(said, str) else ""
        raise Unavailable(f"{where} answered HTTP {answer.status}{detail}")
    media = answer.content_type.partition(";")[0].strip().lower()
    if media != "application/json":
        raise Unavailable(f"{where} answered {media or 'no content type'}, not application/json")
    if not isinstance(document, dict):
        raise Unavailable(f"{where} answered something that is not a JSON object")
    if (document.get("apiVersion"), document.get("kind")) != (API_VERSION, "TokenReview"):
        raise Unavailable(f"{where} answered something other than a TokenReview of {API_VERSION}")
    status = document.get("status")
    if not isinstance(status, dict):
        raise Unavailable(f"{where} answered a TokenReview without a status")
    return status


def _json(body: bytes) -> object:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
        return None


def _vouches(
    status: Mapping[str, Any], claims: Mapping[str, Any], audience: str, secrets: tuple[str, ...]
) -> None:
    """NotLive unless `status` says the token is live, for `audience`, as its own claims'
    service account (and pod)."""
    error = status.get("error")
    if status.get("authenticated") is not True or error:
        said = redact.clean(error, secrets, 200) if isinstance(error, str) and error else ""
        raise NotLive(
            "the API server does not authenticate the token" + (f": {said}" if said else "")
        )
    audiences = status.get("audiences")
    if not isinstance(audiences, list) or audience not in audiences:
        raise NotLive(
            f"the API server's review does not hold the audience {audience!r} in "
            "status.audiences (an API server that ignores audiences vouches for any)"
        )
    user = status.get("user")
    user = user if isinstance(user, dict) else {}
    expected = "system:serviceaccount:{}:{}".format(
        claim(claims, "kubernetes.io.namespace"), claim(claims, "kubernetes.io.serviceaccount.name")
    )
    username = user.get("username")
    if username != expected:
        shown = redact.clean(username, secrets, 200) if isinstance(username, str) else "none"
        raise NotLive(f"the API server reviews the token as user {shown!r}, not {expected!r}")
    extra = user.get("extra")
    pod = extra.get(_POD_UID) if isinstance(extra, dict) else None
    if pod is not None and pod != [claim(claims, "kubernetes.io.pod.uid")]:
        raise NotLive("the API server binds the token to another pod than its claims name")
