"""Stand-in platform issuers: GitHub Actions, GitLab CI, Kubernetes and Jenkins (the OpenID
Connect Provider plugin) as the signer sees them.
Each publishes a discovery document and a JWKS over HTTPS (a certificate of the test CA) on
127.0.0.1, and mints tokens shaped as its platform mints them, signed with a key of its own.

The `platforms` fixture is in tests.standins.platform_fixtures. `mode` turns the server hostile
for the JWKS fetch: slow, huge, redirecting to plain http, down (connections refused), stalled
until the test releases it, or answering JSON nested deeper than any parser's recursion.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Literal

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from injector.signer.attestation import settings
from injector.signer.attestation.verify import Attestation
from tests.standins.server import Request, Response, StandInServer

Mode = Literal["ok", "slow", "huge", "redirect", "down", "stall", "deep"]
DISCOVERY_PATH = "/.well-known/openid-configuration"
HUGE_BYTES = 3 << 20
AUDIENCE = "https://signer.example.com"  # what the signer's attestations expect


def github_table(url: str, ca_file: object, *extra: str) -> str:
    """The policy's `[[attestation]]` table named "github" for the stand-in at `url` (its CA in
    `ca_file`, audience AUDIENCE), with `extra` TOML lines, and an empty line after."""
    lines = [
        "[[attestation]]",
        'name = "github"',
        'kind = "github"',
        f'issuer = "{url}"',
        f'ca_bundle = "{ca_file}"',
        f'audience = "{AUDIENCE}"',
        *extra,
    ]
    return "\n".join(lines) + "\n\n"


class PlatformIssuer:
    """One platform: its URL is its issuer, its key signs with `kid` (EC keys for Kubernetes
    clusters that use one). `path`: where under the server the issuer lives (Jenkins's plugin
    issues as `<JENKINS_URL>oidc`, its documents under that path)."""

    def __init__(self, tls: ssl.SSLContext, *, curve: bool = False, path: str = "") -> None:
        self.algorithm = "ES256" if curve else "RS256"
        self.path = path
        self.rotate()
        self.mode: Mode = "ok"
        self.delay = 0.0  # seconds the "slow" mode waits before answering
        self.released = threading.Event()  # what the "stall" mode waits for
        self.also: list[dict[str, Any]] = []  # JWKS entries published after the platform's key
        self.server = StandInServer(self._handle, tls)
        self.server.start()

    def rotate(self) -> None:
        """A new key under a new kid; the JWKS publishes only the new one."""
        self.key: Any = _new_key(self.algorithm)
        self.kid = uuid.uuid4().hex[:16]

    @property
    def url(self) -> str:
        return self.server.url + self.path

    @property
    def jwks_fetches(self) -> int:
        return self.server.seen.count("GET /jwks")

    def jwk(self) -> dict[str, Any]:
        return _public_jwk(self.algorithm, self.key, self.kid)

    def stranger(self, kid: str, **fields: Any) -> tuple[Any, dict[str, Any]]:
        """A new key of this platform's algorithm and its JWK under `kid` (with `fields`), for
        `also`: a second key the JWKS publishes."""
        key = _new_key(self.algorithm)
        return key, {**_public_jwk(self.algorithm, key, kid), **fields}

    def _handle(self, request: Request) -> Response:
        if self.mode == "slow":
            time.sleep(self.delay)
        if self.mode == "stall":
            self.released.wait(timeout=60)
        if self.mode == "deep":
            return Response(200, b"[" * 200_000 + b"]" * 200_000, "application/json")
        if self.mode == "huge":
            return Response(200, b'{"keys": [' + b" " * HUGE_BYTES + b"]}", "application/json")
        if self.mode == "redirect":
            plain = self.server.url.replace("https://", "http://")
            return Response(302, b"", "text/plain", {"Location": plain + request.path})
        if request.path == self.path + DISCOVERY_PATH:
            return Response.json(200, {"issuer": self.url, "jwks_uri": self.url + "/jwks"})
        if request.path == self.path + "/jwks":
            return Response.json(200, {"keys": [self.jwk(), *self.also]})
        return Response.json(404, {"error": "not found"})

    def set_mode(self, mode: Mode) -> None:
        if mode == "down":
            self.server.stop()
        elif self.mode == "down":
            self.server.start()
        self.mode = mode

    def stop(self) -> None:
        self.server.stop()

    def sign(
        self, claims: dict[str, Any], *, header: dict[str, Any] | None = None, key: Any = None
    ) -> str:
        """`claims` signed with this platform's key and kid (or `key`, `header` over them)."""
        headers = {"kid": self.kid, **(header or {})}
        algorithm = headers.pop("alg", self.algorithm)
        return jwt.encode(claims, key if key is not None else self.key, algorithm, headers)

    def _times(self, lifetime: int = 300, age: int = 5) -> dict[str, int]:
        now = int(time.time())
        return {"iat": now - age, "nbf": now - age, "exp": now - age + lifetime}

    def github(self, audience: str, **overrides: Any) -> str:
        """A token as GitHub Actions mints it for `acme/infra`, run 4242."""
        claims: dict[str, Any] = {
            "iss": self.url,
            "aud": audience,
            "sub": "repo:acme/infra:environment:production",
            "repository": "acme/infra",
            "repository_owner": "acme",
            "repository_owner_id": "1001",
            "repository_id": "2002",
            "run_id": "4242",
            "ref": "refs/heads/main",
            "environment": "production",
            "jti": uuid.uuid4().hex,
            **self._times(),
        }
        return self.sign(_merged(claims, overrides))

    def gitlab(self, audience: str, **overrides: Any) -> str:
        """A token as GitLab mints it under `id_tokens:` for `acme/infra`, job 77."""
        claims: dict[str, Any] = {
            "iss": self.url,
            "aud": audience,
            "sub": "project_path:acme/infra:ref_type:branch:ref:main",
            "namespace_path": "acme",
            "namespace_id": "11",
            "project_path": "acme/infra",
            "project_id": "22",
            "job_id": "77",
            "ref": "main",
            "ref_type": "branch",
            "ref_protected": "true",
            "environment": "staging",
            "environment_protected": "false",
            "jti": uuid.uuid4().hex,
            **self._times(),
        }
        return self.sign(_merged(claims, overrides))

    def kubernetes(
        self, audience: str, service_account: str = "terraform/runner", /, **overrides: Any
    ) -> str:
        """A projected token of the service account `<namespace>/<name>`, bound to a pod."""
        namespace, account = service_account.split("/")
        claims: dict[str, Any] = {
            "iss": self.url,
            "aud": [audience],
            "sub": f"system:serviceaccount:{namespace}:{account}",
            "kubernetes.io": {
                "namespace": namespace,
                "serviceaccount": {"name": account, "uid": "sa-uid-1"},
                "pod": {"name": "job-abc", "uid": "pod-uid-9"},
            },
            **self._times(),
        }
        return self.sign(_merged(claims, overrides))

    def jenkins(self, audience: str, job_name: str, build_number: int, **overrides: Any) -> str:
        """A build's token as the OpenID Connect Provider plugin mints it: its default build
        claims (`sub` the job's URL, `build_number` an integer) plus the template `job_name`
        the keyless policy maps; no `nbf` and no `jti`, which the plugin does not set."""
        job_url = self.server.url + "/" + "".join(f"job/{part}/" for part in job_name.split("/"))
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.url,
            "aud": audience,
            "exp": now + 3600,  # the plugin's tokens last an hour
            "iat": now,
            "sub": job_url,
            "build_number": build_number,
            "job_name": job_name,
        }
        return self.sign(_merged(claims, overrides))


def _new_key(algorithm: str) -> Any:
    if algorithm == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _public_jwk(algorithm: str, key: Any, kid: str) -> dict[str, Any]:
    family = jwt.algorithms.ECAlgorithm if algorithm == "ES256" else jwt.algorithms.RSAAlgorithm
    public = json.loads(family.to_jwk(key.public_key()))
    return {**public, "kid": kid, "alg": algorithm, "use": "sig"}


def _merged(claims: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """`claims` with `overrides`; an override of None removes the claim."""
    merged = {**claims, **overrides}
    return {name: value for name, value in merged.items() if value is not None}


@dataclass(frozen=True)
class Platforms:
    github: PlatformIssuer
    gitlab: PlatformIssuer
    kubernetes: PlatformIssuer
    jenkins: PlatformIssuer
    ca_file: str

    def attestation(self, kind: str, **table: Any) -> Attestation:
        """An attestation as the policy's `[[attestation]]` table would make it."""
        issuer = getattr(self, kind if kind != "oidc" else "github")
        (made,) = settings.load(
            "policy.toml",
            [
                {
                    "name": kind,
                    "kind": kind,
                    "issuer": issuer.url,
                    "audience": AUDIENCE,
                    "ca_bundle": self.ca_file,
                    **table,
                }
            ],
        )
        return made
