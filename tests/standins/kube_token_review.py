"""The TokenReview API of a Kubernetes API server (`authentication.k8s.io/v1`), over HTTPS with a
certificate of the test CA, answering from a table of live tokens as the real server answers
from its objects.

- The caller must present the reviewer's own bearer credential (the signer's service account
  token): else 401 with an `Unauthorized` Status, as the API server answers.
- `POST /apis/authentication.k8s.io/v1/tokenreviews` with a TokenReview: 201 and the review
  with its status. A token `issue`d and whose pod is not deleted is authenticated as
  `system:serviceaccount:<namespace>:<name>`, its pod in `user.extra`, `status.audiences` the
  audiences asked for that the token carries (none asked: the API server's own, which the
  tokens here never carry). A token of a deleted pod, or never issued, is not authenticated,
  with the error the server gives for an invalidated token.

`mode` turns it hostile or broken, one way at a time, for the signer's refusals. Kept in
`reviews`: the audiences each review asked for (never a token or a credential).
"""

from __future__ import annotations

import ssl
import threading
from dataclasses import dataclass
from typing import Any, Literal

import jwt

from tests.standins.kube_apiserver import status_response
from tests.standins.server import Request, Response, StandInServer

PATH = "/apis/authentication.k8s.io/v1/tokenreviews"
# The signer's service account token: what the `reviewer` fixture asks of callers.
CREDENTIAL = "the-signers-service-account-token"
API_VERSION = "authentication.k8s.io/v1"
INVALIDATED = "[invalid bearer token, token has been invalidated]"
HUGE_BYTES = 1 << 20
Mode = Literal[
    "ok",
    "failing",  # 500 with a Status
    "forbidden",  # 403: the signer's account lacks system:auth-delegator
    "stall",  # no answer until the test releases it
    "redirect",  # 307 to the same path
    "huge",  # a TokenReview padded past any answer's size
    "html",  # 201 with a page, as a proxy in front answers
    "garbage",  # 201, application/json, not JSON
    "status",  # 201 with a Status object, not a TokenReview
    "deaf",  # authenticated, status.audiences empty: a server that ignores audiences
    "other_user",  # authenticated as another service account
    "other_pod",  # authenticated, bound to another pod
    "checked_with_error",  # authenticated, with status.error set
    "echo",  # not authenticated, quoting the token and the caller's credential back
    "echo_status",  # 403, quoting them back in the Status message
]


@dataclass(frozen=True)
class Bound:
    """What the API server knows of one token: its service account, pod and audiences."""

    namespace: str
    account: str
    account_uid: str
    pod_name: str
    pod_uid: str
    audiences: tuple[str, ...]


class TokenReviewer:
    def __init__(self, tls: ssl.SSLContext, credential: str) -> None:
        self.credential = credential  # the bearer token the signer must present
        self.mode: Mode = "ok"
        self.released = threading.Event()  # what the "stall" mode waits for
        self.reviews: list[list[str]] = []
        self.refused_callers = 0
        self._live: dict[str, Bound] = {}
        self._deleted: set[str] = set()  # pod uids
        self._server = StandInServer(self._handle, tls)
        self._server.start()

    @property
    def url(self) -> str:
        return self._server.url

    def stop(self) -> None:
        self.released.set()
        self._server.stop()

    def issue(self, token: str) -> Bound:
        """Record `token`, a projected token the cluster minted, as bound to its claims' pod."""
        claims = jwt.decode(token, options={"verify_signature": False})
        bound = claims["kubernetes.io"]
        audience = claims["aud"]
        self._live[token] = Bound(
            bound["namespace"],
            bound["serviceaccount"]["name"],
            bound["serviceaccount"]["uid"],
            bound["pod"]["name"],
            bound["pod"]["uid"],
            tuple(audience if isinstance(audience, list) else [audience]),
        )
        return self._live[token]

    def delete_pod(self, uid: str) -> None:
        """The pod is gone: every token bound to it is refused from now on."""
        self._deleted.add(uid)

    def _handle(self, request: Request) -> Response:
        if request.bearer() != self.credential:
            self.refused_callers += 1
            return status_response(401, "Unauthorized", "Unauthorized")
        if (request.method, request.path) != ("POST", PATH):
            return status_response(
                404, "NotFound", "the server could not find the requested resource"
            )
        try:
            review = request.json()
        except ValueError:
            return status_response(400, "BadRequest", "the body is not JSON")
        if not isinstance(review, dict) or review.get("kind") != "TokenReview":
            return status_response(400, "BadRequest", "the body is not a TokenReview")
        spec = review.get("spec") or {}
        token, asked = spec.get("token", ""), list(spec.get("audiences") or [])
        self.reviews.append(asked)
        hostile = self._hostile(request, token)
        if hostile is not None:
            return hostile
        return Response.json(201, {**review, "status": self._review(token, asked)})

    def _review(self, token: str, asked: list[str]) -> dict[str, Any]:
        bound = self._live.get(token)
        if bound is None or bound.pod_uid in self._deleted:
            return {"authenticated": False, "error": INVALIDATED, "user": {}}
        audiences = [audience for audience in asked if audience in bound.audiences]
        if not audiences:
            return {"authenticated": False, "error": "token audiences are invalid", "user": {}}
        namespace, account = bound.namespace, bound.account
        if self.mode == "other_user":
            account = "someone-else"
        pod_uid = "another-pod" if self.mode == "other_pod" else bound.pod_uid
        unchecked = self.mode == "checked_with_error"
        return {
            "authenticated": True,
            "audiences": [] if self.mode == "deaf" else audiences,
            "user": {
                "username": f"system:serviceaccount:{namespace}:{account}",
                "uid": bound.account_uid,
                "groups": ["system:serviceaccounts", f"system:serviceaccounts:{namespace}"],
                "extra": {
                    "authentication.kubernetes.io/pod-name": [bound.pod_name],
                    "authentication.kubernetes.io/pod-uid": [pod_uid],
                },
            },
            **({"error": "the token could not be checked"} if unchecked else {}),
        }

    def _hostile(self, request: Request, token: str) -> Response | None:
        """The answer of a hostile or broken `mode`; None for the modes `_review` plays."""
        if self.mode == "stall":
            self.released.wait(timeout=30)
            return status_response(504, "Timeout", "too late")
        if self.mode == "failing":
            return status_response(500, "InternalError", "etcdserver: request timed out")
        if self.mode == "forbidden":
            who = "system:serviceaccount:injector:signer"
            return status_response(
                403,
                "Forbidden",
                f'tokenreviews.authentication.k8s.io is forbidden: User "{who}" cannot create '
                'resource "tokenreviews" in API group "authentication.k8s.io" at the cluster scope',
            )
        if self.mode == "redirect":
            return Response(307, b"", "text/plain", {"Location": self.url + PATH})
        if self.mode == "huge":
            padding = {"padding": "x" * HUGE_BYTES}
            return Response.json(201, {"apiVersion": API_VERSION, "kind": "TokenReview", **padding})
        if self.mode == "html":
            return Response(201, b"<html>signed in</html>", "text/html")
        if self.mode == "garbage":
            return Response(201, b"{not json", "application/json")
        if self.mode == "status":
            return Response.json(201, {"kind": "Status", "apiVersion": "v1", "status": "Success"})
        said = f"token {token} presented by {request.bearer()} is not valid"
        if self.mode == "echo":
            status = {"authenticated": False, "error": said}
            return Response.json(
                201, {"apiVersion": API_VERSION, "kind": "TokenReview", "status": status}
            )
        if self.mode == "echo_status":
            return status_response(403, "Forbidden", said)
        return None
