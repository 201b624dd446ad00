"""Registered claims of the wrong JSON type are refused, naming the claim: a real signer's token
exchange, tokens signed by the stand-in GitHub's own key (so only the claim's type is wrong)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import httpx
import jwt
import pytest

from injector.signer.attestation import claim_types
from tests.signer.conftest import Custody, attested_endpoint
from tests.standins.platforms import AUDIENCE, Platforms

if TYPE_CHECKING:
    from tests.standins.fixtures import TestTls

pytest_plugins = ["tests.standins.fixtures", "tests.standins.platform_fixtures"]

ALLOW = """[[allow]]
attestation = "github"
subjects = ["organization:acme:workspace:*"]
audiences = ["aws.workload.identity"]
"""
FORM = {
    "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
    "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
    "audience": "aws.workload.identity",
}
LATER, EARLIER = 300, -5  # seconds from now: a valid exp, a valid iat or nbf
DATE = "is not a NumericDate (a JSON number of seconds): "


@pytest.fixture(scope="module")
def exchange(custody: Custody, platforms: Platforms, test_tls: TestTls) -> Iterator[httpx.Client]:
    """A client of one real signer's token endpoint (base URL set) trusting the stand-in GitHub."""
    with (
        attested_endpoint(custody, platforms.github.url, test_tls, ALLOW) as (_, url),
        httpx.Client(base_url=url, verify=test_tls.client_context()) as client,
    ):
        yield client


def _answer(client: httpx.Client, platforms: Platforms, claims: dict[str, Any]) -> httpx.Response:
    token = platforms.github.github(AUDIENCE, **claims)
    answer = client.post("/token", data={**FORM, "subject_token": token})
    assert token not in answer.text
    return answer


def _now(offset: int) -> int:
    return int(time.time()) + offset


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        # pyjwt reads these through int(): a string of digits or a boolean passed its checks.
        ({"exp": str(_now(LATER))}, "exp " + DATE + "a string"),
        ({"exp": True}, "exp " + DATE + "a boolean"),
        ({"exp": float("inf")}, "exp " + DATE + "NaN or"),
        ({"exp": float("nan")}, "exp " + DATE + "NaN or"),
        ({"nbf": str(_now(EARLIER))}, "nbf " + DATE + "a string"),
        ({"nbf": False}, "nbf " + DATE + "a boolean"),
        ({"iat": str(_now(EARLIER))}, "iat " + DATE + "a string"),
        ({"iat": [_now(EARLIER)]}, "iat " + DATE + "an array"),
        ({"aud": [AUDIENCE, 7]}, "aud is not a string or a list of strings: an array"),
        ({"aud": {"aud": AUDIENCE}}, "aud is not a string or a list of strings: an object"),
        ({"sub": 4242}, "sub is not a string: a number"),
        ({"sub": {"repo": "acme/infra"}}, "sub is not a string: an object"),
    ],
    ids=[
        "exp-text",
        "exp-bool",
        "exp-infinity",
        "exp-nan",
        "nbf-text",
        "nbf-bool",
        "iat-text",
        "iat-array",
        "aud-mixed",
        "aud-object",
        "sub-number",
        "sub-object",
    ],
)
def test_a_claim_of_the_wrong_json_type_is_refused_naming_it(
    exchange: httpx.Client, platforms: Platforms, claims: dict[str, Any], reason: str
) -> None:
    answer = _answer(exchange, platforms, claims)
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_request"), answer.text
    assert "the subject token's " + reason in answer.json()["error_description"]


def test_an_iss_that_is_no_string_is_named_rather_than_looked_up(
    exchange: httpx.Client, platforms: Platforms
) -> None:
    # pyjwt will not encode such a token: its payload is signed as bytes, as a platform could.
    github = platforms.github
    claims = jwt.decode(github.github(AUDIENCE), options={"verify_signature": False})
    payload = json.dumps({**claims, "iss": [github.url]}).encode()
    token = jwt.PyJWS().encode(payload, github.key, github.algorithm, {"kid": github.kid})
    answer = exchange.post("/token", data={**FORM, "subject_token": token})
    assert answer.json()["error_description"] == "the subject token's iss is not a string: an array"


def test_numbers_of_either_json_kind_are_numeric_dates(
    exchange: httpx.Client, platforms: Platforms
) -> None:
    # A fraction of a second is allowed (RFC 7519 §2), and so is an integer of any size.
    claims = {"exp": _now(LATER) + 0.5, "nbf": _now(EARLIER) - 0.25, "iat": float(_now(EARLIER))}
    assert _answer(exchange, platforms, claims).status_code == 200
    assert claim_types.problem({"exp": 10**400, "aud": [], "iss": "x", "sub": "y"}) is None
