"""Google's Security Token Service (Workload Identity Federation token exchange), IAM Service
Account Credentials (`generateAccessToken`) and one Cloud Storage call, over HTTPS.

Token exchange: https://cloud.google.com/iam/docs/reference/sts/rest/v1/TopLevel/token
OIDC token requirements: https://cloud.google.com/iam/docs/workload-identity-federation-with-other-providers#oidc
Attribute mapping and conditions: https://cloud.google.com/iam/docs/workload-identity-federation#mapping
Impersonation: https://cloud.google.com/iam/docs/reference/credentials/rest/v1/projects.serviceAccounts/generateAccessToken
"""

from __future__ import annotations

import secrets
import ssl
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import unquote

from tests.standins import oidc
from tests.standins.server import Request, Response, StandInServer

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
SUBJECT_TOKEN_TYPES = (
    "urn:ietf:params:oauth:token-type:jwt",
    "urn:ietf:params:oauth:token-type:id_token",
)
# "Workload Identity Federation supports ... RS256 and ES256" (OIDC token requirements).
ALGORITHMS = ("RS256", "ES256")
MAX_TOKEN_LIFETIME_SECONDS = 24 * 3600
MAX_SUBJECT_BYTES = 127  # google.subject
FEDERATED_TOKEN_SECONDS = 3600
MAX_ACCESS_TOKEN_SECONDS = 3600  # generateAccessToken's default maximum lifetime
CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"
STORAGE_SCOPES = (
    CLOUD_PLATFORM,
    "https://www.googleapis.com/auth/devstorage.read_only",
    "https://www.googleapis.com/auth/devstorage.full_control",
)
IMPERSONATION_PREFIX = "/v1/projects/-/serviceAccounts/"
IMPERSONATION_SUFFIX = ":generateAccessToken"


@dataclass(frozen=True)
class Provider:
    """A workload identity pool provider of type OIDC."""

    # //iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/<pool>/
    # providers/<id>
    resource: str
    issuer: str
    # Empty: the default, the provider's resource name as an https URL.
    allowed_audiences: tuple[str, ...] = ()
    # The attribute condition `assertion.sub in [...]`; empty: no condition.
    allowed_subjects: tuple[str, ...] = ()

    @property
    def audiences(self) -> tuple[str, ...]:
        return self.allowed_audiences or ("https:" + self.resource,)

    def principal(self, subject: str) -> str:
        """The federated principal that IAM bindings name for `google.subject`."""
        pool = self.resource.removeprefix("//iam.googleapis.com/").split("/providers/")[0]
        return f"principal://iam.googleapis.com/{pool}/subject/{subject}"


@dataclass(frozen=True)
class ServiceAccount:
    email: str
    # Principals granted roles/iam.workloadIdentityUser on the service account.
    workload_identity_users: tuple[str, ...]


@dataclass(frozen=True)
class _Grant:
    principal: str  # a federated principal or a service account email
    scopes: tuple[str, ...]
    expires: float
    federated: bool


class OAuthError(Exception):
    """An STS error, in OAuth 2.0's form (RFC 6749 §5.2, RFC 8693 §2.2.2)."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error, self.description, self.status = error, description, status

    def response(self) -> Response:
        return Response.json(
            self.status, {"error": self.error, "error_description": self.description}
        )


class ApiError(Exception):
    """A Google API error (https://cloud.google.com/apis/design/errors#http_mapping)."""

    def __init__(self, code: int, status: str, message: str) -> None:
        super().__init__(f"{code} {status}: {message}")
        self.code, self.status, self.message = code, status, message

    def response(self) -> Response:
        return Response.json(
            self.code,
            {"error": {"code": self.code, "message": self.message, "status": self.status}},
        )


def invalid_grant(description: str) -> OAuthError:
    return OAuthError("invalid_grant", description)


class GoogleStandIn:
    """Serves `/v1/token` (WORKLOAD_IDENTITY_STS_URL_GCP), `/v1/projects/-/serviceAccounts/...`
    (under WORKLOAD_IDENTITY_IAM_URL_GCP) and `GET /storage/v1/b?project=...`."""

    def __init__(
        self,
        providers: tuple[Provider, ...],
        service_accounts: tuple[ServiceAccount, ...],
        project: str,
        tls: ssl.SSLContext,
        issuer_trust: ssl.SSLContext,
        access_token_seconds: int = MAX_ACCESS_TOKEN_SECONDS,
    ) -> None:
        """`access_token_seconds` caps the life of every access token issued (federated or
        impersonated): a few seconds makes a client come back for a new one, as it must in a
        long job."""
        self._access_token_seconds = access_token_seconds
        self._providers = {provider.resource: provider for provider in providers}
        self._service_accounts = {account.email: account for account in service_accounts}
        self._project = project
        self.issuer_keys = oidc.IssuerKeys(issuer_trust)
        self._grants: dict[str, _Grant] = {}
        self._server = StandInServer(self._handle, tls)
        self.url = self._server.url
        self.seen = self._server.seen

    @property
    def sts_url(self) -> str:
        return self.url + "/v1/token"

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self._server.stop()

    def _handle(self, request: Request) -> Response:
        try:
            if request.method == "POST" and request.path == "/v1/token":
                return self._exchange(request.form())
            if (
                request.method == "POST"
                and request.path.startswith(IMPERSONATION_PREFIX)
                and request.path.endswith(IMPERSONATION_SUFFIX)
            ):
                email = unquote(
                    request.path.removeprefix(IMPERSONATION_PREFIX).removesuffix(
                        IMPERSONATION_SUFFIX
                    )
                )
                return self._generate_access_token(request, email)
            if request.method == "GET" and request.path == "/storage/v1/b":
                return self._list_buckets(request)
        except (OAuthError, ApiError) as error:
            return error.response()
        return ApiError(
            404, "NOT_FOUND", f"{request.method} {request.path} is not served"
        ).response()

    def _exchange(self, form: dict[str, str]) -> Response:
        if form.get("grant_type") != TOKEN_EXCHANGE:
            raise OAuthError("unsupported_grant_type", f"expected grant_type {TOKEN_EXCHANGE}")
        if form.get("requested_token_type") != ACCESS_TOKEN_TYPE:
            raise OAuthError(
                "invalid_request", f"expected requested_token_type {ACCESS_TOKEN_TYPE}"
            )
        if form.get("subject_token_type") not in SUBJECT_TOKEN_TYPES:
            raise OAuthError("invalid_request", "subject_token_type is not a JWT type")
        provider = self._providers.get(form.get("audience", ""))
        if provider is None:
            raise OAuthError(
                "invalid_target",
                'The target service indicated by the "audience" parameters is invalid. This '
                "might either be because the pool or provider is disabled or deleted or because "
                "it doesn't exist.",
            )
        scopes = tuple(form.get("scope", "").split())
        if not scopes:
            raise OAuthError("invalid_scope", "scope is required to obtain a Google access token")
        token = self._check_subject_token(form.get("subject_token", ""), provider)
        subject = token.claims["sub"]
        now = time.time()
        expires_in = min(
            FEDERATED_TOKEN_SECONDS, self._access_token_seconds, int(token.claims["exp"] - now)
        )
        access_token = secrets.token_urlsafe(32)
        self._grants[access_token] = _Grant(
            provider.principal(subject), scopes, now + expires_in, federated=True
        )
        return Response.json(
            200,
            {
                "access_token": access_token,
                "issued_token_type": ACCESS_TOKEN_TYPE,
                "token_type": "Bearer",
                "expires_in": expires_in,
            },
        )

    def _check_subject_token(self, subject_token: str, provider: Provider) -> oidc.Unverified:
        """The subject token, once it meets the provider's rules; raises OAuthError otherwise."""
        try:
            token = oidc.read(subject_token)
        except oidc.Rejected as error:
            raise invalid_grant(f"Unable to parse the ID Token: {error.reason}") from None
        if token.issuer != provider.issuer:
            raise invalid_grant(
                f"The issuer in ID Token {token.issuer} does not match the expected ISSUER "
                f"{provider.issuer}."
            )
        try:
            oidc.verify_signature(token, self.issuer_keys, ALGORITHMS, require_kid=True)
        except oidc.IssuerUnreachable as error:
            raise invalid_grant(
                f"Unable to retrieve the public keys of the issuer {token.issuer}: {error.reason}"
            ) from None
        except oidc.Rejected as error:
            raise invalid_grant(f"Invalid ID Token signature: {error.reason}") from None
        audience = token.claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if not set(audiences) & set(provider.audiences):
            raise invalid_grant(
                f"The audience in ID Token {audiences} does not match the expected audience "
                f"{', '.join(provider.audiences)}."
            )
        self._check_times(token)
        subject = token.claims.get("sub")
        if not isinstance(subject, str) or not 0 < len(subject.encode()) <= MAX_SUBJECT_BYTES:
            raise invalid_grant(f"google.subject must be 1 to {MAX_SUBJECT_BYTES} bytes")
        if provider.allowed_subjects and subject not in provider.allowed_subjects:
            raise invalid_grant("The given credential is rejected by the attribute condition.")
        return token

    @staticmethod
    def _check_times(token: oidc.Unverified) -> None:
        now = time.time()
        issued, expires = oidc.integer_claim(token, "iat"), oidc.integer_claim(token, "exp")
        if issued is None or expires is None:
            raise invalid_grant("The ID Token must carry iat and exp as integers.")
        if issued > now:
            raise invalid_grant(f"The ID Token was issued in the future (iat {issued}).")
        if expires <= now:
            raise invalid_grant(f"The ID Token expired at {expires} (now {int(now)}).")
        if expires - issued > MAX_TOKEN_LIFETIME_SECONDS:
            raise invalid_grant("The ID Token lifetime (exp - iat) exceeds 24 hours.")

    def authorize(self, request: Request, scopes: tuple[str, ...]) -> str:
        """The principal whose unexpired access token `request` bears, if it was granted one
        of `scopes`: how another Google API (tests/standins/gcs.py) checks its caller. Raises
        ApiError (401 or 403) otherwise."""
        grant = self._grant_for(request)
        if not set(grant.scopes) & set(scopes):
            raise ApiError(
                403, "PERMISSION_DENIED", "Request had insufficient authentication scopes."
            )
        return grant.principal

    def _grant_for(self, request: Request) -> _Grant:
        grant = self._grants.get(request.bearer() or "")
        if grant is None or grant.expires < time.time():
            raise ApiError(
                401,
                "UNAUTHENTICATED",
                "Request had invalid authentication credentials. Expected OAuth 2 access token, "
                "login cookie or other valid authentication credential.",
            )
        return grant

    def _generate_access_token(self, request: Request, email: str) -> Response:
        grant = self._grant_for(request)
        account = self._service_accounts.get(email)
        if (
            not grant.federated
            or account is None
            or grant.principal not in account.workload_identity_users
        ):
            raise ApiError(
                403,
                "PERMISSION_DENIED",
                "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may "
                "not exist).",
            )
        try:
            body = request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ApiError(400, "INVALID_ARGUMENT", "The request body is not a JSON object.")
        scopes = body.get("scope")
        if not isinstance(scopes, list) or not scopes:
            raise ApiError(400, "INVALID_ARGUMENT", "Scope required.")
        lifetime = str(body.get("lifetime", f"{MAX_ACCESS_TOKEN_SECONDS}s"))
        seconds = int(lifetime.removesuffix("s")) if lifetime.removesuffix("s").isdigit() else -1
        if not 0 < seconds <= MAX_ACCESS_TOKEN_SECONDS:
            raise ApiError(400, "INVALID_ARGUMENT", f"Invalid lifetime {lifetime!r}.")
        expires = time.time() + min(seconds, self._access_token_seconds)
        access_token = secrets.token_urlsafe(32)
        self._grants[access_token] = _Grant(email, tuple(scopes), expires, federated=False)
        expire_time = datetime.fromtimestamp(expires, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return Response.json(200, {"accessToken": access_token, "expireTime": expire_time})

    def _list_buckets(self, request: Request) -> Response:
        # Cloud Storage JSON API, buckets.list:
        # https://cloud.google.com/storage/docs/json_api/v1/buckets/list
        grant = self._grant_for(request)
        if not set(grant.scopes) & set(STORAGE_SCOPES):
            raise ApiError(
                403, "PERMISSION_DENIED", "Request had insufficient authentication scopes."
            )
        if request.query.get("project") != self._project:
            raise ApiError(
                403,
                "PERMISSION_DENIED",
                f"{grant.principal} does not have storage.buckets.list access.",
            )
        return Response.json(
            200,
            {
                "kind": "storage#buckets",
                "items": [{"kind": "storage#bucket", "name": f"{self._project}-tfstate"}],
            },
        )
