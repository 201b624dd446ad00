"""Microsoft Entra ID's token endpoint for a federated client assertion, over HTTPS (azure-identity
refuses a plain http authority), and one Azure Resource Manager call to spend the token.

Flow: https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow#third-case-access-token-request-with-a-federated-credential
Federated identity credentials: https://learn.microsoft.com/en-us/entra/workload-id/workload-identity-federation
Error format and codes: https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes
"""

from __future__ import annotations

import secrets
import ssl
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

from tests.standins import oidc
from tests.standins.server import Request, Response, StandInServer

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MANAGEMENT = "https://management.azure.com"
# What injector signs with; Entra's issuers (Kubernetes, GitHub, ...) sign with RSA keys too.
ALGORITHMS = ("RS256",)
# Entra allows a few minutes of clock skew on assertion times.
CLOCK_SKEW_SECONDS = 300
ACCESS_TOKEN_SECONDS = 3599


@dataclass(frozen=True)
class FederatedCredential:
    """A federated identity credential on an app registration: issuer, subject and audiences,
    each matched exactly and case-sensitively against the assertion
    (https://learn.microsoft.com/en-us/entra/workload-id/workload-identity-federation-create-trust).
    """

    issuer: str
    subject: str
    audiences: tuple[str, ...] = ("api://AzureADTokenExchange",)


@dataclass
class Tenant:
    tenant_id: str
    apps: dict[str, list[FederatedCredential]] = field(default_factory=dict)
    subscriptions: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Granted:
    tenant_id: str
    client_id: str
    resource: str
    expires: float


class EntraError(Exception):
    def __init__(self, status: int, error: str, code: int, description: str) -> None:
        super().__init__(f"AADSTS{code}: {description}")
        self.status, self.error, self.code, self.description = status, error, code, description

    def response(self) -> Response:
        timestamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
        trace_id, correlation_id = str(uuid.uuid4()), str(uuid.uuid4())
        return Response.json(
            self.status,
            {
                "error": self.error,
                "error_description": (
                    f"AADSTS{self.code}: {self.description}\r\nTrace ID: {trace_id}\r\n"
                    f"Correlation ID: {correlation_id}\r\nTimestamp: {timestamp}"
                ),
                "error_codes": [self.code],
                "timestamp": timestamp,
                "trace_id": trace_id,
                "correlation_id": correlation_id,
                "error_uri": f"https://login.microsoftonline.com/error?code={self.code}",
            },
        )


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


class EntraStandIn:
    """Serves `https://127.0.0.1:<port>/<tenant>/...` for AZURE_AUTHORITY_HOST, plus
    `GET /subscriptions/<id>` standing in for management.azure.com."""

    def __init__(
        self,
        tenant: Tenant,
        tls: ssl.SSLContext,
        issuer_trust: ssl.SSLContext,
        *,
        resources: tuple[str, ...] = (MANAGEMENT,),
        clock_skew_seconds: int = CLOCK_SKEW_SECONDS,
        access_token_seconds: int = ACCESS_TOKEN_SECONDS,
    ) -> None:
        """`resources`: the resources an app may ask a token for (`<resource>/.default`).
        `clock_skew_seconds`: how long past its `exp` an assertion is still taken; Entra's own
        five minutes by default, 0 for a proof that must see the expiry when it happens.
        `access_token_seconds`: the life of the access tokens issued; a few seconds makes a
        client come back for a new one during a long job, presenting its assertion again."""
        self.tenant = tenant
        self.resources = resources
        self.clock_skew_seconds = clock_skew_seconds
        self.access_token_seconds = access_token_seconds
        self.issuer_keys = oidc.IssuerKeys(issuer_trust)
        self._granted: dict[str, _Granted] = {}
        self._server = StandInServer(self._handle, tls)
        self.url = self._server.url
        self.seen = self._server.seen

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self._server.stop()

    def _handle(self, request: Request) -> Response:
        parts = request.path.strip("/").split("/")
        if request.method == "GET" and parts[:1] == ["subscriptions"] and len(parts) == 2:
            return self._subscription(request, parts[1])
        tenant = parts[0] if parts else ""
        rest = "/".join(parts[1:])
        try:
            if tenant != self.tenant.tenant_id:
                raise EntraError(400, "invalid_request", 90002, f"Tenant '{tenant}' not found.")
            if request.method == "GET" and rest == "v2.0/.well-known/openid-configuration":
                return Response.json(200, self._tenant_discovery())
            if request.method == "POST" and rest == "oauth2/v2.0/token":
                return self._token(request.form())
        except EntraError as error:
            return error.response()
        return Response.json(404, {"error": "not_found"})

    def _tenant_discovery(self) -> dict[str, object]:
        base = f"{self.url}/{self.tenant.tenant_id}"
        return {
            "issuer": f"{base}/v2.0",
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }

    def _token(self, form: dict[str, str]) -> Response:
        if form.get("grant_type") != "client_credentials":
            raise EntraError(
                400,
                "unsupported_grant_type",
                70003,
                f"The app requested an unsupported grant type '{form.get('grant_type', '')}'.",
            )
        client_id = form.get("client_id", "")
        credentials = self.tenant.apps.get(client_id)
        if credentials is None:
            raise EntraError(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory "
                f"'{self.tenant.tenant_id}'.",
            )
        if form.get("client_assertion_type") != JWT_BEARER or not form.get("client_assertion"):
            raise EntraError(
                400,
                "invalid_request",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' "
                "or 'client_secret'.",
            )
        resource = self._resource(form.get("scope", ""))
        self._check_assertion(form["client_assertion"], credentials)
        access_token = secrets.token_urlsafe(32)
        self._granted[access_token] = _Granted(
            self.tenant.tenant_id, client_id, resource, time.time() + self.access_token_seconds
        )
        return Response.json(
            200,
            {
                "token_type": "Bearer",
                "expires_in": self.access_token_seconds,
                "ext_expires_in": self.access_token_seconds,
                "access_token": access_token,
            },
        )

    def _resource(self, scope: str) -> str:
        # Client credentials take one `<resource>/.default` scope.
        resource = scope.removesuffix("/.default").rstrip("/")
        if scope.endswith("/.default") and resource in self.resources:
            return resource
        raise EntraError(
            400,
            "invalid_resource",
            500011,
            f"The resource principal named {resource} was not found in the tenant named "
            f"{self.tenant.tenant_id}.",
        )

    def _check_assertion(self, assertion: str, credentials: list[FederatedCredential]) -> None:
        """Raise EntraError unless the assertion matches one of the app's federated identity
        credentials, verifies with the issuer's published key and is within its time range."""
        try:
            token = oidc.read(assertion)
        except oidc.Rejected:
            raise EntraError(
                400, "invalid_request", 50027, "JWT token is invalid or malformed."
            ) from None
        subject, audience = token.claims.get("sub"), token.claims.get("aud")
        if not any(
            token.issuer == credential.issuer
            and subject == credential.subject
            and audience in credential.audiences
            for credential in credentials
        ):
            raise EntraError(
                401,
                "invalid_client",
                70021,
                "No matching federated identity record found for presented assertion. "
                f"Assertion Issuer: '{token.issuer}'. Assertion Subject: '{subject}'. "
                f"Assertion Audience: '{audience}'. "
                "https://learn.microsoft.com/entra/workload-id/workload-identity-federation",
            )
        try:
            oidc.verify_signature(token, self.issuer_keys, ALGORITHMS)
        except oidc.IssuerUnreachable:
            # Entra fetches `<issuer>/.well-known/openid-configuration` and its jwks_uri.
            raise EntraError(
                400, "invalid_request", 90061, "Request to External OIDC endpoint failed."
            ) from None
        except oidc.KeyNotFound:
            raise EntraError(
                401,
                "invalid_client",
                700027,
                "Client assertion contains an invalid signature. [Reason - The key was not "
                f"found., Key id used by client: '{token.header.get('kid')}']",
            ) from None
        except oidc.Rejected as error:
            raise EntraError(
                401,
                "invalid_client",
                700027,
                "Client assertion contains an invalid signature. [Reason - Key was found, but "
                f"use of the key to verify the signature failed: {error.reason}]",
            ) from None
        self._check_times(token)

    def _check_times(self, token: oidc.Unverified) -> None:
        now = time.time()
        skew = self.clock_skew_seconds
        expires = oidc.integer_claim(token, "exp")
        starts = oidc.integer_claim(token, "nbf") or oidc.integer_claim(token, "iat")
        if expires is None or starts is None or expires <= now - skew or starts > now + skew:
            raise EntraError(
                401,
                "invalid_client",
                700024,
                f"Client assertion is not within its valid time range. Current time: "
                f"{_iso(now)}, assertion valid from {_iso(starts or 0)}, expiry time of "
                f"assertion {_iso(expires or 0)}.",
            )

    def authorize(self, request: Request, resource: str) -> _Granted | None:
        """The grant behind the bearer token of `request`, if Entra issued it for `resource`
        and it has not expired: how another Azure API (tests/standins/azure_storage.py)
        checks its caller."""
        granted = self._granted.get(request.bearer() or "")
        if granted is None or granted.resource != resource or granted.expires < time.time():
            return None
        return granted

    def _subscription(self, request: Request, subscription_id: str) -> Response:
        # Azure Resource Manager, Subscriptions - Get:
        # https://learn.microsoft.com/en-us/rest/api/resources/subscriptions/get
        granted = self._granted.get(request.bearer() or "")
        if granted is None or granted.resource != MANAGEMENT or granted.expires < time.time():
            return Response.json(
                401,
                {
                    "error": {
                        "code": "InvalidAuthenticationToken",
                        "message": "The access token is invalid.",
                    }
                },
            )
        if subscription_id not in self.tenant.subscriptions:
            return Response.json(
                404,
                {
                    "error": {
                        "code": "SubscriptionNotFound",
                        "message": f"The subscription '{subscription_id}' could not be found.",
                    }
                },
            )
        return Response.json(
            200,
            {
                "id": f"/subscriptions/{subscription_id}",
                "subscriptionId": subscription_id,
                "tenantId": granted.tenant_id,
                "displayName": "stand-in subscription",
                "state": "Enabled",
            },
        )
