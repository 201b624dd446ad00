"""What AWS STS accepts in a token (`AssumeRoleWithWebIdentity`): the algorithms, the audiences
it is told by, its size, and the error codes it answers a refused token with."""

from __future__ import annotations

from injector.clouds import rules

DEFAULT_AUDIENCE = "aws.workload.identity"
# What AWS's own examples use as the audience (EKS, GitHub's documentation).
STS_AUDIENCE = "sts.amazonaws.com"
# AssumeRoleWithWebIdentity's WebIdentityToken: 4 to 20,000 characters.
MAX_TOKEN_BYTES = 20_000

# Sources: AssumeRoleWithWebIdentity, its WebIdentityToken parameter and its errors.
RULES = rules.CloudRules(
    name="aws",
    label="AWS STS",
    checks=rules.TokenChecks(
        # WebIdentityToken: "signed using either RSA keys (RS256, RS384, or RS512) or ECDSA keys
        # (ES256, ES384, or ES512)" (AssumeRoleWithWebIdentity API reference).
        algorithms=("RS256", "RS384", "RS512", "ES256", "ES384", "ES512"),
        max_token_bytes=MAX_TOKEN_BYTES,
        default_audience=DEFAULT_AUDIENCE,
        recognizes=lambda audience: audience in (DEFAULT_AUDIENCE, STS_AUDIENCE),
    ),
    codes={
        rules.MALFORMED: "InvalidIdentityToken",
        # STS's parameter validation answers before the token is even read.
        rules.SIZE: "ValidationError",
        rules.ISSUER_FORM: "InvalidIdentityToken",
        rules.ISSUER: "IDPCommunicationError",
        rules.KEY: "InvalidIdentityToken",
        rules.ALGORITHM: "InvalidIdentityToken",
        rules.SIGNATURE: "InvalidIdentityToken",
        rules.EXPIRED: "ExpiredTokenException",
        rules.NOT_YET_VALID: "InvalidIdentityToken",
        rules.AUDIENCE: "InvalidIdentityToken",
        rules.SUBJECT: "AccessDenied",
    },
    advice=rules.OperatorAdvice(
        trusts="a private CA only through the IAM provider's thumbprint",
        issuer_port=(
            "IAM OIDC provider URLs should not contain one (CreateOpenIDConnectProvider); "
            "serve the issuer on 443"
        ),
        thumbprint=(
            "the top intermediate CA, what an IAM OIDC provider's ThumbprintList holds (AWS uses "
            "it only when it does not already trust the root CA)"
        ),
    ),
)
