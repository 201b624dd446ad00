"""AWS STS in front of moto: `AssumeRoleWithWebIdentity` checks the web-identity token as AWS
does, then moto issues the credentials. Every other action goes to moto unchanged.

moto's IAM holds the configuration, as IAM does in an account: the OIDC provider (its URL and
client id list) and the role with its trust policy. The stand-in reads them on every request.
"""

from __future__ import annotations

import http.client
import json
import re
import ssl
import time
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypedDict
from urllib.parse import unquote, urlsplit
from xml.sax.saxutils import escape

import boto3

from tests.standins import oidc
from tests.standins.server import Request, Response, StandInServer

if TYPE_CHECKING:
    from types_boto3_iam.type_defs import GetOpenIDConnectProviderResponseTypeDef

# "Tokens must be signed using either RSA keys (RS256, RS384, or RS512) or ECDSA keys (ES256,
# ES384, or ES512)": WebIdentityToken in
# https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html
ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512")
ACTION = "sts:AssumeRoleWithWebIdentity"
TAG_ACTION = "sts:TagSession"
# Session tags in a web identity token: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_session-tags.html#id_session-tags_adding-assume-role-idp
# (keys 1-128 and values 0-256 characters of letters, digits, blanks and _.:/=+-@; at most 50
# tags; a key may not start with aws:; keys are case-insensitive, so no two may differ in case
# only: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_session-tags.html#id_session-tags_know).
TAGS_CLAIM = "https://aws.amazon.com/tags"
_TAG_CHARACTERS = re.compile(r"[\w .:/=+\-@]*")
MAX_TAGS = 50


class Credentials(TypedDict):
    """boto3.client()'s keyword arguments for a static key."""

    aws_access_key_id: str
    aws_secret_access_key: str


# The moto account: https://docs.getmoto.org/en/latest/docs/multi_account.html
TEST_CREDENTIALS: Credentials = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
_HOP_BY_HOP = {"host", "content-length", "connection", "transfer-encoding", "keep-alive"}


class StsError(Exception):
    """An error as STS answers it: an HTTP status, an error code and a message.

    Codes and statuses of AssumeRoleWithWebIdentity:
    https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html#API_AssumeRoleWithWebIdentity_Errors
    and AccessDenied (403) from https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html
    """

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status, self.code, self.message = status, code, message

    def response(self) -> Response:
        # The query protocol's error document, which botocore turns into ClientError:
        # https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html#api-error-response
        request_id = str(uuid.uuid4())
        body = (
            '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
            f"<Error><Type>Sender</Type><Code>{self.code}</Code>"
            f"<Message>{escape(self.message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        )
        return Response(self.status, body.encode(), "text/xml", {"x-amzn-RequestId": request_id})


def invalid_token(message: str) -> StsError:
    return StsError(400, "InvalidIdentityToken", message)


class AwsStsStandIn:
    """Plain HTTP on 127.0.0.1, for boto3's `AWS_ENDPOINT_URL_STS`."""

    def __init__(
        self,
        moto_endpoint: str,
        issuer_trust: ssl.SSLContext,
        credential_seconds: int | None = None,
    ) -> None:
        """`credential_seconds`: if given, the role's credentials expire that many seconds
        after they are issued (moto's expire after an hour), so that a client must assume
        the role again, presenting its web identity token anew, during a long job."""
        self._credential_seconds = credential_seconds
        self._moto = urlsplit(moto_endpoint)
        self.issuer_keys = oidc.IssuerKeys(issuer_trust)
        self._iam = boto3.client(
            "iam", endpoint_url=moto_endpoint, region_name="us-east-1", **TEST_CREDENTIALS
        )
        self._server = StandInServer(self._handle)
        self.url = self._server.url
        self.seen = self._server.seen
        # The session tags (aws:PrincipalTag) of each session issued, by its access key id.
        self.principal_tags: dict[str, dict[str, str]] = {}

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self._server.stop()

    def _handle(self, request: Request) -> Response:
        if request.method == "POST":
            form = request.form()
            if form.get("Action") == "AssumeRoleWithWebIdentity":
                try:
                    tags = self._check(form)
                except StsError as error:
                    return error.response()
                answer = self._shortened(self._forward(request))
                issued = re.search(rb"<AccessKeyId>([^<]+)</AccessKeyId>", answer.body)
                if issued is not None:
                    self.principal_tags[issued.group(1).decode()] = tags
                return answer
        return self._forward(request)

    def _shortened(self, response: Response) -> Response:
        if self._credential_seconds is None or response.status != 200:
            return response
        expires = time.strftime(
            "%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + self._credential_seconds)
        )
        body = re.sub(
            rb"<Expiration>[^<]*</Expiration>",
            f"<Expiration>{expires}</Expiration>".encode(),
            response.body,
        )
        return Response(response.status, body, response.content_type, response.headers)

    def _check(self, form: dict[str, str]) -> dict[str, str]:
        """Raise StsError unless AWS would accept the token for the role; return the session
        tags the session gets."""
        try:
            token = oidc.read(form.get("WebIdentityToken", ""))
        except oidc.Rejected as error:
            raise invalid_token(error.reason) from None
        provider_arn, provider = self._provider_for(token.issuer)
        try:
            oidc.verify_signature(token, self.issuer_keys, ALGORITHMS, require_kid=False)
        except oidc.IssuerUnreachable:
            # AWS fetches the issuer's keys through its discovery document, over HTTPS:
            # https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_create_oidc.html
            raise StsError(
                400,
                "IDPCommunicationError",
                "Couldn't retrieve verification key from your identity provider, "
                "please reference AssumeRoleWithWebIdentity documentation for requirements",
            ) from None
        except oidc.Rejected as error:
            raise invalid_token(
                f"The web identity token could not be validated: {error.reason}"
            ) from None
        self._check_times(token)
        # The token's aud must be one of the provider's client IDs ("audiences"):
        # https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_create_oidc.html
        if not set(_audiences(token.claims)) & set(provider.get("ClientIDList", [])):
            raise invalid_token("Incorrect token audience")
        tags = session_tags(token.claims)
        self._check_trust(
            form.get("RoleArn", ""), provider_arn, provider["Url"], token.claims, tags
        )
        return tags

    def _provider_for(self, issuer: str) -> tuple[str, GetOpenIDConnectProviderResponseTypeDef]:
        """The IAM OIDC provider registered for `iss`: its URL is the issuer without https://."""
        if issuer.startswith("https://"):
            host = issuer.removeprefix("https://")
            for entry in self._iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]:
                provider = self._iam.get_open_id_connect_provider(
                    OpenIDConnectProviderArn=entry["Arn"]
                )
                if provider["Url"] == host:
                    return entry["Arn"], provider
        raise invalid_token(f"No OpenIDConnect provider found in your account for {issuer}")

    @staticmethod
    def _check_times(token: oidc.Unverified) -> None:
        # "Timestamps in the token must be formatted as either an integer or a long integer"
        # (WebIdentityToken in API_AssumeRoleWithWebIdentity.html); an expired token is
        # ExpiredTokenException.
        expires, issued = oidc.integer_claim(token, "exp"), oidc.integer_claim(token, "iat")
        if expires is None or issued is None:
            raise invalid_token("exp and iat must be present as integers")
        now = int(time.time())
        if expires <= now:
            raise StsError(
                400,
                "ExpiredTokenException",
                f"Token expired: current date/time {now} must be before the expiration "
                f"date/time {expires}",
            )

    def _check_trust(
        self,
        role_arn: str,
        provider_arn: str,
        provider_url: str,
        claims: dict[str, Any],
        tags: dict[str, str],
    ) -> None:
        denied = StsError(403, "AccessDenied", f"Not authorized to perform {ACTION}")
        name = role_arn.rsplit("/", 1)[-1]
        try:
            role = self._iam.get_role(RoleName=name)["Role"]
        except self._iam.exceptions.NoSuchEntityException:
            raise denied from None
        if role["Arn"] != role_arn:
            raise denied
        document = role["AssumeRolePolicyDocument"]
        if isinstance(document, str):
            document = json.loads(unquote(document))
        if not trusts(document, provider_arn, provider_url, claims, tags):
            raise denied
        # A token that carries session tags also needs sts:TagSession in the trust policy:
        # https://docs.aws.amazon.com/IAM/latest/UserGuide/id_session-tags.html#id_session-tags_permissions-required
        if tags and not trusts(document, provider_arn, provider_url, claims, tags, TAG_ACTION):
            raise StsError(403, "AccessDenied", f"Not authorized to perform {TAG_ACTION}")

    def _forward(self, request: Request) -> Response:
        connection = http.client.HTTPConnection(
            self._moto.hostname or "127.0.0.1", self._moto.port, timeout=30
        )
        try:
            headers = {
                name: value
                for name, value in request.headers.items()
                if name.lower() not in _HOP_BY_HOP
            }
            connection.request(request.method, request.target, body=request.body, headers=headers)
            answer = connection.getresponse()
            body = answer.read()
            content_type = answer.getheader("Content-Type", "text/xml")
            return Response(answer.status, body, content_type)
        finally:
            connection.close()


def session_tags(claims: dict[str, Any]) -> dict[str, str]:
    """The session tags of a token: its `https://aws.amazon.com/tags` claim in the nested form
    (principal_tags: {key: [value]}, transitive_tag_keys: [key, ...]), checked as STS checks
    it. Raises StsError for a claim of another shape."""
    if TAGS_CLAIM not in claims:
        return {}
    claim = claims[TAGS_CLAIM]
    malformed = invalid_token("Session tags passed in claim are not in correct format.")
    if not isinstance(claim, dict) or not isinstance(claim.get("principal_tags", {}), dict):
        raise malformed
    principal: dict[str, Any] = claim.get("principal_tags", {})
    tags: dict[str, str] = {}
    for key, values in principal.items():
        if not (isinstance(values, list) and len(values) == 1 and isinstance(values[0], str)):
            raise malformed
        value = values[0]
        if (
            not 1 <= len(key) <= 128
            or len(value) > 256
            or key.lower().startswith("aws:")
            or not _TAG_CHARACTERS.fullmatch(key)
            or not _TAG_CHARACTERS.fullmatch(value)
            or key.lower() in (known.lower() for known in tags)
        ):
            raise invalid_token(f"The session tag {key!r} is not valid.")
        tags[key] = value
    if len(tags) > MAX_TAGS:
        raise invalid_token(f"At most {MAX_TAGS} session tags are allowed.")
    transitive = claim.get("transitive_tag_keys", [])
    if not isinstance(transitive, list) or not {str(key) for key in transitive} <= set(tags):
        raise invalid_token("transitive_tag_keys must name keys of principal_tags.")
    return tags


def _audiences(claims: dict[str, Any]) -> list[str]:
    audience = claims.get("aud")
    if isinstance(audience, str):
        return [audience]
    if isinstance(audience, list):
        return [value for value in audience if isinstance(value, str)]
    return []


def _as_list(value: object) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _like(pattern: str, value: str) -> bool:
    # StringLike: `*` matches any run of characters, `?` any one character.
    regex = "".join(
        ".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern
    )
    return re.fullmatch(regex, value, re.DOTALL) is not None


def _equals(value: str, wanted: str) -> bool:
    return value == wanted


_STRING_OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": _equals,
    "StringLike": lambda value, pattern: _like(pattern, value),
}


def _condition_holds(
    operator: str,
    tests: dict[str, Any],
    provider_url: str,
    claims: dict[str, Any],
    tags: dict[str, str],
) -> bool:
    """One condition block. Keys `<provider url>:aud` and `<provider url>:sub` are the token's
    claims (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html#condition-keys-wif);
    `aws:RequestTag/<key>` is a session tag the token passes, which becomes the session's
    `aws:PrincipalTag/<key>` (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-requesttag);
    operators as in https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_String.
    An operator or key this stand-in does not know never holds: such a statement grants nothing.
    """
    if operator not in _STRING_OPERATORS:
        return False
    compare = _STRING_OPERATORS[operator]
    for key, expected in tests.items():
        # Condition key names are case-insensitive; values are compared case-sensitively.
        if key.lower().startswith("aws:requesttag/"):
            wanted = key.split("/", 1)[1].lower()
            actual = [value for name, value in tags.items() if name.lower() == wanted]
            if not any(
                compare(value, str(want)) for value in actual for want in _as_list(expected)
            ):
                return False
            continue
        prefix, _, claim = key.lower().rpartition(":")
        if prefix != provider_url.lower() or claim not in ("aud", "sub"):
            return False
        actual = _audiences(claims) if claim == "aud" else _as_list(claims.get("sub"))
        values = [value for value in actual if isinstance(value, str)]
        if not any(compare(value, str(want)) for value in values for want in _as_list(expected)):
            return False
    return True


def _statement_applies(
    statement: dict[str, Any],
    provider_arn: str,
    provider_url: str,
    claims: dict[str, Any],
    tags: dict[str, str],
    action: str,
) -> bool:
    actions = [str(action).lower() for action in _as_list(statement.get("Action", []))]
    if not {action.lower(), "sts:*", "*"} & set(actions):
        return False
    principal = statement.get("Principal", {})
    federated = _as_list(principal.get("Federated", [])) if isinstance(principal, dict) else []
    if provider_arn not in federated:
        return False
    conditions = statement.get("Condition", {})
    return all(
        _condition_holds(operator, tests, provider_url, claims, tags)
        for operator, tests in conditions.items()
    )


def trusts(
    policy: Mapping[str, Any],
    provider_arn: str,
    provider_url: str,
    claims: dict[str, Any],
    tags: dict[str, str] | None = None,
    action: str = ACTION,
) -> bool:
    """Whether the role's trust policy lets this token do `action` (assume the role, or tag
    the session): an applicable Allow and no applicable Deny
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html).
    """
    statements = [s for s in _as_list(policy.get("Statement", [])) if isinstance(s, dict)]
    applicable = [
        s
        for s in statements
        if _statement_applies(s, provider_arn, provider_url, claims, tags or {}, action)
    ]
    if any(s.get("Effect") == "Deny" for s in applicable):
        return False
    return any(s.get("Effect") == "Allow" for s in applicable)
