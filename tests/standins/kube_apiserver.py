"""A Kubernetes API server, as strict as the real one about who is asking, over HTTPS: enough of
the API for Terraform's kubernetes backend (a state Secret, a lock Lease) and kubectl.

Authentication is the kube-apiserver's JWT authenticator (`AuthenticationConfiguration.jwt`,
or the `--oidc-*` flags), from k8s.io/apiserver's plugin/pkg/authenticator/token/oidc:
- the issuer's discovery document and JWKS fetched over HTTPS (tests.standins.oidc);
- `iss` exactly the configured issuer URL; `aud` holding one of `audiences`;
- signature with an algorithm of the configured set (RS256 by default);
- `exp` in the future with no leeway; `nbf` no more than 5 minutes ahead (go-oidc's skew);
- the username is `claimMappings.username`: the `sub` claim after a prefix.
Every refusal answers a bare 401 `Unauthorized` Status (the reason stays in `refusals`, as
the real server keeps it in its log).

Authorization is a per-user RBAC table: (namespace, resource) to the verbs granted, as the
RoleBindings of examples/kubernetes-trust/ give them. A request outside it answers 403
`Forbidden` with the real server's wording. Discovery and SelfSubjectReview are open to every
authenticated user (system:discovery, system:basic-user).

Objects are kept as the JSON they were sent, with `resourceVersion`, `uid` and
`creationTimestamp` set on the server; an update must carry the current `resourceVersion`
(409 Conflict otherwise), a create of an existing name answers 409 AlreadyExists. A protobuf
body (kubectl's typed commands send one) answers 415: the tests create from JSON manifests.
"""

from __future__ import annotations

import itertools
import ssl
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.standins import kube_discovery, oidc
from tests.standins.server import Request, Response, StandInServer

NOT_BEFORE_SKEW_SECONDS = 5 * 60  # go-oidc's leeway for nbf; none for exp

# Where each resource lives: (API prefix, group, version, kind, namespaced list kind).
RESOURCES = {
    "secrets": ("/api/v1", "", "v1", "Secret"),
    "leases": ("/apis/coordination.k8s.io/v1", "coordination.k8s.io", "v1", "Lease"),
}


@dataclass(frozen=True)
class JwtAuthenticator:
    """One `jwt` entry of an AuthenticationConfiguration."""

    issuer: str
    audiences: tuple[str, ...]
    username_prefix: str
    algorithms: tuple[str, ...] = ("RS256",)


# (namespace, resource) -> verbs, per username.
Rbac = Mapping[str, Mapping[tuple[str, str], frozenset[str]]]


def status_response(code: int, reason: str, message: str) -> Response:
    return Response.json(
        code,
        {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": message,
            "reason": reason,
            "code": code,
        },
    )


@dataclass
class KubeApiServer:
    authenticator: JwtAuthenticator
    rbac: Rbac
    tls: ssl.SSLContext
    issuer_trust: ssl.SSLContext
    # (namespace, resource, name) -> object
    objects: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    refusals: list[str] = field(default_factory=list)
    # Per authenticated request: the username and the token's `jti` (never the token).
    authenticated: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._keys = oidc.IssuerKeys(self.issuer_trust)
        self._lock = threading.Lock()
        self._versions = itertools.count(1)
        self._server = StandInServer(self.handle, self.tls)

    @property
    def url(self) -> str:
        return self._server.url

    @property
    def seen(self) -> list[str]:
        return self._server.seen

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self._server.stop()

    # --- authentication and authorization ---------------------------------------------------

    def authenticate(self, token: str | None) -> str:
        """The username of a valid token. Raises oidc.Rejected."""
        if token is None:
            raise oidc.Rejected("no bearer token")
        unverified = oidc.read(token)
        config = self.authenticator
        if unverified.issuer != config.issuer:
            raise oidc.Rejected(f"iss {unverified.issuer!r} is not {config.issuer!r}")
        oidc.verify_signature(unverified, self._keys, config.algorithms, require_kid=False)
        audience = unverified.claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if not any(value in config.audiences for value in audiences):
            raise oidc.Rejected(f"aud {audience!r} is not one of {config.audiences}")
        now = time.time()
        expires = oidc.integer_claim(unverified, "exp")
        if expires is None or expires <= now:
            raise oidc.Rejected("the token has expired (or has no exp)")
        not_before = oidc.integer_claim(unverified, "nbf")
        if not_before is not None and not_before > now + NOT_BEFORE_SKEW_SECONDS:
            raise oidc.Rejected("the token is not valid yet")
        subject = unverified.claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise oidc.Rejected("no sub claim")
        self.authenticated.append(
            (config.username_prefix + subject, str(unverified.claims.get("jti", "")))
        )
        return config.username_prefix + subject

    def allowed(self, user: str, namespace: str, resource: str, verb: str) -> bool:
        return verb in self.rbac.get(user, {}).get((namespace, resource), frozenset())

    # --- the API -----------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        try:
            user = self.authenticate(request.bearer())
        except oidc.Rejected as refusal:
            self.refusals.append(refusal.reason)
            return status_response(401, "Unauthorized", "Unauthorized")
        if request.method == "GET" and request.path in kube_discovery.DOCUMENTS:
            return Response.json(200, kube_discovery.DOCUMENTS[request.path])
        if request.path == "/apis/authentication.k8s.io/v1/selfsubjectreviews":
            return Response.json(
                201,
                {
                    "kind": "SelfSubjectReview",
                    "apiVersion": "authentication.k8s.io/v1",
                    "metadata": {},
                    "status": {"userInfo": {"username": user, "groups": ["system:authenticated"]}},
                },
            )
        return self._object_request(request, user)

    def _object_request(self, request: Request, user: str) -> Response:
        for resource, (prefix, _group, _version, _kind) in RESOURCES.items():
            head = f"{prefix}/namespaces/"
            if not request.path.startswith(head):
                continue
            parts = request.path[len(head) :].split("/")
            if len(parts) not in (2, 3) or parts[1] != resource:
                continue
            namespace, name = parts[0], (parts[2] if len(parts) == 3 else None)
            verb = self._verb(request.method, name, request.query)
            if verb is None:
                return status_response(
                    405, "MethodNotAllowed", "the server does not allow this method"
                )
            if not self.allowed(user, namespace, resource, verb):
                group = RESOURCES[resource][1]
                named = f'{resource} "{name}"' if name else resource
                return status_response(
                    403,
                    "Forbidden",
                    f'{named} is forbidden: User "{user}" cannot {verb} resource "{resource}" '
                    f'in API group "{group}" in the namespace "{namespace}"',
                )
            with self._lock:
                return self._serve(request, verb, namespace, resource, name)
        return status_response(404, "NotFound", "the server could not find the requested resource")

    @staticmethod
    def _verb(method: str, name: str | None, query: Mapping[str, str]) -> str | None:
        if method == "GET":
            if name is None:
                return "watch" if query.get("watch") in ("true", "1") else "list"
            return "get"
        if method == "POST" and name is None:
            return "create"
        return {"PUT": "update", "DELETE": "delete", "PATCH": "patch"}.get(method) if name else None

    def _serve(
        self, request: Request, verb: str, namespace: str, resource: str, name: str | None
    ) -> Response:
        _prefix, group, version, kind = RESOURCES[resource]
        api_version = f"{group}/{version}" if group else version
        key = (namespace, resource, name or "")
        if verb == "get":
            found = self.objects.get(key)
            if found is None:
                return status_response(404, "NotFound", f'{resource} "{name}" not found')
            return Response.json(200, found)
        if verb == "list":
            selector = _selector(request.query.get("labelSelector", ""))
            items = [
                obj
                for (ns, res, _n), obj in sorted(self.objects.items())
                if ns == namespace
                and res == resource
                and all(obj["metadata"].get("labels", {}).get(k) == v for k, v in selector.items())
            ]
            return Response.json(
                200,
                {
                    "kind": f"{kind}List",
                    "apiVersion": api_version,
                    "metadata": {"resourceVersion": str(next(self._versions))},
                    "items": items,
                },
            )
        if verb == "delete":
            if self.objects.pop(key, None) is None:
                return status_response(404, "NotFound", f'{resource} "{name}" not found')
            return Response.json(
                200, {"kind": "Status", "apiVersion": "v1", "status": "Success", "metadata": {}}
            )
        if not request.headers.get("Content-Type", "").startswith("application/json"):
            # Protobuf: JSON is all this stand-in reads (see the module's docstring).
            return status_response(415, "UnsupportedMediaType", "only application/json is served")
        body = request.json()
        if not isinstance(body, dict) or not isinstance(body.get("metadata"), dict):
            return status_response(400, "BadRequest", "the body is not an object with metadata")
        metadata = body["metadata"]
        if verb == "create":
            name = metadata.get("name")
            key = (namespace, resource, str(name))
            if not isinstance(name, str) or not name:
                return status_response(422, "Invalid", "metadata.name is required")
            if key in self.objects:
                return status_response(409, "AlreadyExists", f'{resource} "{name}" already exists')
            metadata["uid"] = str(uuid.uuid4())
            metadata["creationTimestamp"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            status = 201
        elif verb == "update":
            current = self.objects.get(key)
            if current is None:
                return status_response(404, "NotFound", f'{resource} "{name}" not found')
            sent = metadata.get("resourceVersion")
            if sent != current["metadata"]["resourceVersion"]:
                return status_response(
                    409,
                    "Conflict",
                    f'Operation cannot be fulfilled on {resource} "{name}": the object has '
                    "been modified; please apply your changes to the latest version and try "
                    "again",
                )
            metadata["uid"] = current["metadata"]["uid"]
            metadata["creationTimestamp"] = current["metadata"]["creationTimestamp"]
            status = 200
        else:
            return status_response(405, "MethodNotAllowed", f"{verb} is not served here")
        metadata["namespace"] = namespace
        metadata["resourceVersion"] = str(next(self._versions))
        body["kind"], body["apiVersion"] = kind, api_version
        self.objects[key] = body
        return Response.json(status, body)


def _selector(text: str) -> dict[str, str]:
    """An equality-based label selector (`a=b,c==d`)."""
    pairs = {}
    for term in filter(None, text.split(",")):
        name, _, value = term.replace("==", "=").partition("=")
        pairs[name.strip()] = value.strip()
    return pairs
