"""`injector signer --listen`: RFC 8693 token exchange over HTTPS for attested jobs. A real
signer process, the stand-in GitHub over TLS, requests with httpx as any OAuth client sends
them; every answer and error code of the attested-identity issue."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import httpx
import jwt
import pytest

from injector.signer import token_exchange
from tests.signer.conftest import Custody, attested_endpoint
from tests.standins.platforms import AUDIENCE, Platforms
from tests.support import signer as support

if TYPE_CHECKING:
    from tests.standins.fixtures import TestTls

pytest_plugins = ["tests.standins.fixtures", "tests.standins.platform_fixtures"]

AWS = "aws.workload.identity"
GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt"


@pytest.fixture
def endpoint(custody: Custody, platforms: Platforms, test_tls: TestTls) -> Iterator[str]:
    allow = f"""[[allow]]
attestation = "github"
subjects = ["organization:acme:workspace:*"]
audiences = ["{AWS}"]
max_ttl_minutes = 20
"""
    with attested_endpoint(custody, platforms.github.url, test_tls, allow) as (signer, url):
        yield url
    # Nothing of a token in the audit, whatever the test did.
    assert "eyJ" not in signer.stderr_path.read_text()


def _form(token: str, **changes: str | None) -> dict[str, str]:
    form = {
        "grant_type": GRANT,
        "subject_token": token,
        "subject_token_type": JWT_TYPE,
        "audience": AWS,
        **changes,
    }
    return {name: value for name, value in form.items() if value is not None}


def test_an_attested_job_gets_a_token_over_keep_alive(
    endpoint: str, platforms: Platforms, test_tls: TestTls
) -> None:
    with httpx.Client(verify=test_tls.client_context()) as client:
        answers = [
            client.post(endpoint + "/token", data=_form(platforms.github.github(AUDIENCE)))
            for _ in range(3)
        ]
    for answer in answers:
        assert answer.status_code == 200, answer.text
        assert answer.headers["cache-control"] == "no-store"
        assert answer.headers["pragma"] == "no-cache"
        assert answer.http_version == "HTTP/1.1"
    document = answers[0].json()
    assert set(document) == {"access_token", "issued_token_type", "token_type", "expires_in"}
    assert document["issued_token_type"] == JWT_TYPE
    assert document["token_type"] == "N_A"
    assert document["expires_in"] == 20 * 60
    claims = jwt.decode(document["access_token"], options={"verify_signature": False})
    assert claims["sub"] == "organization:acme:workspace:infra"
    assert claims["aud"] == AWS
    assert claims["terrakube_workspace_id"] == "2002"


@pytest.mark.parametrize(
    ("changes", "status", "error"),
    [
        ({"grant_type": "client_credentials"}, 400, "unsupported_grant_type"),
        ({"grant_type": None}, 400, "invalid_request"),
        ({"subject_token": None}, 400, "invalid_request"),
        ({"subject_token_type": "urn:ietf:params:oauth:token-type:saml2"}, 400, "invalid_request"),
        ({"audience": "api://AzureADTokenExchange"}, 400, "invalid_target"),
        ({"audience": None}, 400, "invalid_request"),
        # RFC 6749 §3.2: a parameter without a value is one not given.
        ({"grant_type": ""}, 400, "invalid_request"),
        ({"subject_token": ""}, 400, "invalid_request"),
    ],
    ids=[
        "grant",
        "no-grant",
        "no-token",
        "token-type",
        "audience",
        "no-audience",
        "blank-grant",
        "blank-token",
    ],
)
def test_malformed_requests_get_rfc_8693_errors(
    endpoint: str,
    platforms: Platforms,
    test_tls: TestTls,
    changes: dict[str, str | None],
    status: int,
    error: str,
) -> None:
    token = platforms.github.github(AUDIENCE)
    answer = httpx.post(
        endpoint + "/token", data=_form(token, **changes), verify=test_tls.client_context()
    )
    assert (answer.status_code, answer.json()["error"]) == (status, error)
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["pragma"] == "no-cache"
    assert token not in answer.text


@pytest.mark.parametrize(
    "changes",
    [
        # RFC 6749 §3.2: unrecognised parameters are ignored (a client library's client_id).
        {"client_id": "terraform", "colour": "blue"},
        # ... and one without a value is not given: no resource, no scope, one audience.
        {"resource": "", "scope": ""},
        # The one token type the signer issues may be asked for by name.
        {"requested_token_type": JWT_TYPE},
    ],
    ids=["unrecognised", "blank", "requested-jwt"],
)
def test_what_rfc_6749_tells_a_server_to_ignore_is_ignored(
    endpoint: str, platforms: Platforms, test_tls: TestTls, changes: dict[str, str]
) -> None:
    form = _form(platforms.github.github(AUDIENCE), **changes)
    answer = httpx.post(endpoint + "/token", data=form, verify=test_tls.client_context())
    assert answer.status_code == 200, answer.text
    assert answer.json()["issued_token_type"] == JWT_TYPE


def test_an_error_description_keeps_to_the_characters_rfc_6749_allows(
    endpoint: str, platforms: Platforms, test_tls: TestTls
) -> None:
    # The refusal quotes the claim: a double quote, a non-ASCII letter and a backslash.
    token = platforms.github.github(AUDIENCE, repository_owner='ac"m\u00e9\\')
    answer = httpx.post(endpoint + "/token", data=_form(token), verify=test_tls.client_context())
    description = answer.json()["error_description"]
    assert "is not in repository_owner 'ac'mU+00E9U+005CU+005C'" in description
    allowed = {chr(code) for code in (0x20, 0x21, *range(0x23, 0x5C), *range(0x5D, 0x7F))}
    assert set(description) <= allowed, description
    assert set(answer.json()["error"]) <= allowed


FORM_TYPE = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.mark.parametrize(
    ("extra", "headers", "status", "error", "reason"),
    [
        # RFC 8693's delegation and token-type choices are not offered: one shape of token out.
        (
            "&actor_token=x&actor_token_type=" + JWT_TYPE,
            FORM_TYPE,
            400,
            "invalid_request",
            "delegation is not offered: actor_token, actor_token_type",
        ),
        (
            "&requested_token_type=urn:ietf:params:oauth:token-type:access_token",
            FORM_TYPE,
            400,
            "invalid_request",
            f"requested_token_type: only {JWT_TYPE} is issued",
        ),
        ("&resource=https://elsewhere", FORM_TYPE, 400, "invalid_target", "give one audience"),
        ("&scope=admin", FORM_TYPE, 400, "invalid_target", "give one audience"),
        # A second audience (or a second subject token) is not picked from: refused whole.
        ("&audience=api://AzureADTokenExchange", FORM_TYPE, 400, "invalid_request", "audience"),
        ("&subject_token=x", FORM_TYPE, 400, "invalid_request", "subject_token"),
        ("&a=1" * 17, FORM_TYPE, 400, "invalid_request", "not an application/x-www-form"),
        # A form is a form: the same bytes under another type are not read as one.
        ("", {"Content-Type": "application/json"}, 415, "invalid_request", "urlencoded"),
        ("", {"Content-Type": "text/plain"}, 415, "invalid_request", "urlencoded"),
        ("&pad=" + "x" * token_exchange.MAX_FORM_BYTES, FORM_TYPE, 413, "invalid_request", "64"),
    ],
    ids=[
        "actor",
        "requested-type",
        "resource",
        "scope",
        "two-audiences",
        "two-tokens",
        "many-fields",
        "json",
        "text",
        "oversized",
    ],
)
def test_what_a_hostile_client_adds_is_refused_whole(
    endpoint: str,
    platforms: Platforms,
    test_tls: TestTls,
    extra: str,
    headers: dict[str, str],
    status: int,
    error: str,
    reason: str,
) -> None:
    token = platforms.github.github(AUDIENCE)
    body = urlencode(_form(token)) + extra
    answer = httpx.post(
        endpoint + "/token", content=body, headers=headers, verify=test_tls.client_context()
    )
    assert (answer.status_code, answer.json()["error"]) == (status, error), answer.text
    assert reason in answer.json()["error_description"]
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["pragma"] == "no-cache"
    assert token not in answer.text


def test_the_query_string_is_not_part_of_the_request(
    endpoint: str, platforms: Platforms, test_tls: TestTls
) -> None:
    form = _form(platforms.github.github(AUDIENCE), audience=None)
    answer = httpx.post(
        endpoint + "/token?audience=" + AWS, data=form, verify=test_tls.client_context()
    )
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_request")
    assert "audience is required" in answer.json()["error_description"]


def test_a_body_without_its_length_is_refused(
    endpoint: str, platforms: Platforms, test_tls: TestTls
) -> None:
    def chunks() -> Iterator[bytes]:
        yield urlencode(_form(platforms.github.github(AUDIENCE))).encode()

    answer = httpx.post(
        endpoint + "/token", content=chunks(), headers=FORM_TYPE, verify=test_tls.client_context()
    )
    assert answer.status_code == 411


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"exp": 1}, "has expired"),
        ({"aud": "https://elsewhere"}, "aud is not"),
        ({"repository": "evil/x", "repository_owner": "evil"}, "may not mint sub"),
    ],
    ids=["expired", "audience", "other-organization"],
)
def test_a_token_the_signer_refuses_is_invalid_request(
    endpoint: str,
    platforms: Platforms,
    test_tls: TestTls,
    claims: dict[str, object],
    reason: str,
) -> None:
    token = platforms.github.github(AUDIENCE, **claims)
    answer = httpx.post(endpoint + "/token", data=_form(token), verify=test_tls.client_context())
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_request")
    assert reason in answer.json()["error_description"]
    assert token not in answer.text


def test_jwks_down_is_503(endpoint: str, platforms: Platforms, test_tls: TestTls) -> None:
    # A kid the signer has not seen: it must fetch, and the platform is down.
    platforms.github.rotate()
    token = platforms.github.github(AUDIENCE)
    platforms.github.set_mode("down")
    try:
        answer = httpx.post(
            endpoint + "/token", data=_form(token), verify=test_tls.client_context()
        )
    finally:
        platforms.github.set_mode("ok")
    assert answer.status_code == 503
    assert answer.json()["error"] == "temporarily_unavailable"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--listen", "0.0.0.0:8443"], "plain HTTP would carry tokens over the network"),
        (["--listen", "nowhere"], "expected HOST:PORT"),
        (["--listen", "127.0.0.1:8443", "--certfile", "/x.pem"], "--keyfile go together"),
        (["--listen", "127.0.0.1:8443"], "the policy has no [[attestation]]"),
    ],
    ids=["plain-off-loopback", "form", "half-tls", "no-attestation"],
)
def test_listen_settings_are_exit_2(custody: Custody, args: list[str], expected: str) -> None:
    folder = Path(tempfile.mkdtemp(dir=custody.folder))
    with pytest.raises(RuntimeError) as refused:
        support.start_signer(support.signer_env(custody.key), folder / "signer.sock", *args)
    assert "signer exited 2" in str(refused.value)
    assert expected in str(refused.value)
