"""The federated token: Terrakube's claim set, in its order, signed and kept out of reprs."""

from __future__ import annotations

import uuid

import jwt
import pytest

from injector import claims
from injector.config import issuer_settings, job_context, signing_keys, subject
from tests.conftest import KeyFiles

JOB_ENV = {
    "organizationName": "simple",
    "workspaceName": "simple-cli",
    "organizationId": "8abe206b-29a8-4ed8-8a3b-30237e295659",
    "workspaceId": "d9b58bd3-f3fc-4056-a026-1163297e80a8",
    "jobId": "42",
}
ISSUER = "https://terrakube-api.example.com"
NOW = 1_700_000_000


@pytest.fixture(scope="module")
def signing_key(key_files: KeyFiles) -> signing_keys.SigningKey:
    env = {
        issuer_settings.HOSTNAME: "terrakube-api.example.com",
        issuer_settings.PRIVATE_KEY_PATH: str(key_files.private_pkcs8),
        issuer_settings.KEY_ID: "test-kid",
    }
    return signing_keys.load(issuer_settings.from_env(env))


def _claims(audience: str = "aws.workload.identity", ttl: int = 30) -> dict[str, object]:
    job = job_context.from_env(JOB_ENV)
    return claims.claim_set(
        job, subject.DEFAULT_TEMPLATE.render(job, None), ISSUER, audience, NOW, ttl
    )


def test_claim_set_and_order() -> None:
    built = _claims()
    # The order of Terrakube's builder: sub, aud, jti, the two ids, the two names, the job id,
    # iat, iss, exp.
    assert list(built) == [
        "sub",
        "aud",
        "jti",
        "terrakube_workspace_id",
        "terrakube_organization_id",
        "terrakube_workspace_name",
        "terrakube_organization_name",
        "terrakube_job_id",
        "iat",
        "iss",
        "exp",
    ]
    assert built["sub"] == "organization:simple:workspace:simple-cli"
    assert built["aud"] == "aws.workload.identity"
    assert built["terrakube_workspace_id"] == "d9b58bd3-f3fc-4056-a026-1163297e80a8"
    assert built["terrakube_organization_id"] == "8abe206b-29a8-4ed8-8a3b-30237e295659"
    assert built["terrakube_job_id"] == "42"
    assert built["terrakube_workspace_name"] == "simple-cli"
    assert built["terrakube_organization_name"] == "simple"
    assert built["iss"] == ISSUER
    assert built["iat"] == NOW


def test_job_id_is_a_string_and_times_are_integers() -> None:
    built = _claims()
    assert isinstance(built["terrakube_job_id"], str)
    assert type(built["iat"]) is int
    assert type(built["exp"]) is int


@pytest.mark.parametrize("ttl", [1, 30, 60, 1440])
def test_exp_is_iat_plus_ttl_minutes(ttl: int) -> None:
    built = _claims(ttl=ttl)
    assert built["exp"] == NOW + ttl * 60


def test_jti_is_a_fresh_uuid_each_time() -> None:
    jtis = [_claims()["jti"] for _ in range(20)]
    assert len(set(jtis)) == 20
    for jti in jtis:
        assert isinstance(jti, str)
        assert str(uuid.UUID(jti)) == jti
        assert uuid.UUID(jti).version == 4 and uuid.UUID(jti).variant == uuid.RFC_4122


def test_mint_header_and_signature(
    signing_key: signing_keys.SigningKey, key_files: KeyFiles
) -> None:
    built = _claims()
    token = claims.mint(signing_key, built)
    assert list(token.header.items()) == [("kid", "test-kid"), ("alg", "RS256"), ("typ", "JWT")]
    assert token.claims == built
    assert jwt.get_unverified_header(token.compact) == token.header
    public_key = key_files.public.read_bytes()  # pyjwt loads PEM itself
    verified = jwt.decode(
        token.compact,
        public_key,
        algorithms=["RS256"],
        audience="aws.workload.identity",
        issuer=ISSUER,
        options={"verify_exp": False, "verify_iat": False},
    )
    assert verified == built


def test_each_mint_has_its_own_jti(signing_key: signing_keys.SigningKey) -> None:
    first = claims.mint(signing_key, _claims())
    second = claims.mint(signing_key, _claims())
    assert first.claims["jti"] != second.claims["jti"]
    assert first.compact != second.compact
    first_body = jwt.decode(first.compact, options={"verify_signature": False})
    second_body = jwt.decode(second.compact, options={"verify_signature": False})
    assert first_body["jti"] == first.claims["jti"]
    assert second_body["jti"] == second.claims["jti"]


def test_repr_and_str_never_show_the_jwt(signing_key: signing_keys.SigningKey) -> None:
    token = claims.mint(signing_key, _claims())
    signature = token.compact.rsplit(".", 1)[1]
    for shown in (repr(token), str(token), f"{token}", f"{token!r}", repr([token])):
        assert token.compact not in shown
        assert signature not in shown
    assert "simple-cli" in repr(token)
