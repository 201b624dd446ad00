"""The issuer's two public documents: OpenID discovery and the JWKS it points to.

Clouds fetch `<iss>/.well-known/openid-configuration`, follow its `jwks_uri`, and look the
token's `kid` up there. Both documents are rendered once, to bytes, by `render`: `injector
jwks`, `publish` and `serve` all emit these same bytes, so a published copy and the server
never differ.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from injector.config import issuer_settings
from injector.errors import Problems
from injector.issuer import keyset
from injector.issuer.keyset import PublishedKey
from injector.jose import jwk
from injector.transit import settings as transit_settings

DISCOVERY_PATH = "/.well-known/openid-configuration"
JWKS_PATH = "/.well-known/jwks"

# The claims every token carries (injector.claims), in the order of Terrakube's document
# (which lists the two names after the job id).
CLAIMS_SUPPORTED = (
    "sub",
    "aud",
    "exp",
    "iat",
    "iss",
    "jti",
    "terrakube_workspace_id",
    "terrakube_organization_id",
    "terrakube_job_id",
    "terrakube_workspace_name",
    "terrakube_organization_name",
)


def algorithms(keys: Sequence[PublishedKey]) -> list[str]:
    """The algorithms of the published keys, each once, the signing key's first."""
    return list(dict.fromkeys(key.algorithm for key in keys))


def openid_configuration(issuer: str, keys: Sequence[PublishedKey]) -> dict[str, object]:
    """Discovery with exactly the fields of Terrakube's document; it advertises the algorithms
    of the published keys and no other."""
    return {
        "issuer": issuer,
        "jwks_uri": issuer + JWKS_PATH,
        "response_types_supported": ["id_token"],
        "claims_supported": list(CLAIMS_SUPPORTED),
        "id_token_signing_alg_values_supported": algorithms(keys),
        "scopes_supported": ["openid"],
        "subject_types_supported": ["public"],
    }


def jwks(keys: Sequence[PublishedKey]) -> dict[str, object]:
    return {"keys": [jwk.public_jwk(key.public_key, key.key_id, key.algorithm) for key in keys]}


def render(document: Mapping[str, object]) -> bytes:
    """The bytes served and published: indented for people, one trailing newline."""
    return (json.dumps(document, indent=2) + "\n").encode("ascii")


@dataclass(frozen=True)
class Documents:
    issuer: str
    keys: tuple[PublishedKey, ...]
    # Path under the issuer URL (DISCOVERY_PATH, JWKS_PATH) -> rendered body.
    bodies: dict[str, bytes]


def build(issuer: str, keys: Sequence[PublishedKey]) -> Documents:
    return Documents(
        issuer=issuer,
        keys=tuple(keys),
        bodies={
            DISCOVERY_PATH: render(openid_configuration(issuer, keys)),
            JWKS_PATH: render(jwks(keys)),
        },
    )


def from_env(env: Mapping[str, str]) -> Documents:
    """The documents for the issuer the environment configures: its host and its keys, not the
    job context nor any cloud. Raises ConfigError naming each bad variable."""
    problems = Problems()
    settings = problems.run(issuer_settings.from_env, env, require_key=False)
    transit = problems.run(transit_settings.from_env, env)
    problems.raise_if_any()
    assert settings is not None  # noqa: S101
    return build(settings.issuer, keyset.load(settings, transit))
