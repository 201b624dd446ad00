"""The platform's keys come through the hardened fetch: a JWKS server that is slow, huge,
redirects to plain http or is down makes the signer answer "unavailable" (503), never hang or
read without bound; keys are fetched again for a new `kid` at most once a minute."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from injector.signer.attestation import keys, pending, settings
from injector.signer.attestation import verify as attest
from injector.signer.attestation.keys import KeySet, Unavailable
from injector.signer.attestation.verify import InvalidToken
from tests.signer.conftest import Custody, attested_endpoint
from tests.standins.platforms import AUDIENCE, Mode, PlatformIssuer

if TYPE_CHECKING:
    from tests.standins.fixtures import TestTls

pytest_plugins = ["tests.standins.fixtures", "tests.standins.platform_fixtures"]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def platform(test_tls: TestTls) -> Iterator[PlatformIssuer]:
    from injector.diagnostics import fetch
    from injector.signer.attestation import fetching

    fetching.use(fetch)  # what `injector signer` does at start
    started = PlatformIssuer(test_tls.server_context())
    try:
        yield started
    finally:
        started.stop()


def _attestation(
    platform: PlatformIssuer, test_tls: TestTls, clock: Clock, timeout: float = 1.0
) -> attest.Attestation:
    (made,) = settings.load(
        "policy.toml",
        [{"name": "gh", "kind": "github", "issuer": platform.url, "audience": AUDIENCE}],
    )
    trusted = keys.trust(test_tls.ca_file)
    # The same attestation, with a key set on a clock the test moves and a short fetch deadline.
    made_keys = KeySet(platform.url, None, trusted, clock=clock, timeout=timeout)
    return attest.Attestation(**{**made.__dict__, "keys": made_keys})


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("slow", "no complete answer within 1 s"),
        ("huge", "over 1048576 bytes"),
        ("redirect", "which is not https"),
        ("down", "connection refused"),
        ("deep", "the body is not JSON"),
    ],
)
def test_a_hostile_or_absent_jwks_server_is_unavailable(
    platform: PlatformIssuer, test_tls: TestTls, mode: Mode, reason: str
) -> None:
    attestation = _attestation(platform, test_tls, Clock())
    token = platform.github(AUDIENCE)
    platform.delay = 3.0
    platform.set_mode(mode)
    with pytest.raises(Unavailable) as unavailable:
        attest.verify(attestation, token)
    assert reason in str(unavailable.value)
    assert token not in str(unavailable.value)


def test_a_private_ca_not_given_is_a_tls_failure(platform: PlatformIssuer) -> None:
    (made,) = settings.load(
        "policy.toml",
        [{"name": "gh", "kind": "github", "issuer": platform.url, "audience": AUDIENCE}],
    )
    with pytest.raises(Unavailable, match="certificate chain does not verify"):
        attest.verify(made, platform.github(AUDIENCE))


def test_a_rotated_key_is_fetched_after_a_minute_not_before(
    platform: PlatformIssuer, test_tls: TestTls
) -> None:
    clock = Clock()
    attestation = _attestation(platform, test_tls, clock)
    retired = platform.github(AUDIENCE)
    attest.verify(attestation, retired)
    assert platform.jwks_fetches == 1
    platform.rotate()
    token = platform.github(AUDIENCE)
    clock.now += 30
    with pytest.raises(InvalidToken, match="publishes no RS256 key"):
        attest.verify(attestation, token)
    assert platform.jwks_fetches == 1
    clock.now += 31
    assert attest.verify(attestation, token).job.workspace == "infra"
    assert platform.jwks_fetches == 2
    # The key the platform stopped publishing is gone with the set it came in.
    with pytest.raises(InvalidToken, match="publishes no RS256 key"):
        attest.verify(attestation, retired)
    # Cached for the hour: the next tokens fetch nothing.
    for _ in range(3):
        attest.verify(attestation, platform.github(AUDIENCE))
    assert platform.jwks_fetches == 2
    clock.now += keys.KEEP_SECONDS
    attest.verify(attestation, platform.github(AUDIENCE))
    assert platform.jwks_fetches == 3


def _made_up_kid(platform: PlatformIssuer, number: int) -> str:
    """A token of the platform's shape, signed by a stranger under a kid nobody publishes."""
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    claims = jwt.decode(platform.github(AUDIENCE), options={"verify_signature": False})
    return platform.sign(claims, header={"kid": f"made-up-{number}"}, key=stranger)


def _fetched_once(
    platform: PlatformIssuer, test_tls: TestTls, timeout: float = 1.0
) -> tuple[Clock, attest.Attestation, str]:
    """A clock, an attestation whose keys were fetched once, and a token they verify."""
    clock = Clock()
    attestation = _attestation(platform, test_tls, clock, timeout)
    known = platform.github(AUDIENCE)
    attest.verify(attestation, known)
    assert attestation.keys.fetches == 1
    return clock, attestation, known


def test_a_failing_jwks_is_not_fetched_again_for_every_made_up_kid(
    platform: PlatformIssuer, test_tls: TestTls
) -> None:
    # The kid is read before any signature is checked, so anyone may send made-up ones: while
    # the platform is down, each would otherwise cost a fetch (and hold the others up).
    clock, attestation, known = _fetched_once(platform, test_tls)
    platform.set_mode("down")
    clock.now += keys.REFRESH_SECONDS + 1
    for number in range(5):
        with pytest.raises(Unavailable, match="connection refused"):
            attest.verify(attestation, _made_up_kid(platform, number))
    assert attestation.keys.fetches == 2
    # The keys had within the hour still verify their tokens, fetching nothing.
    assert attest.verify(attestation, known).job.workspace == "infra"
    assert attestation.keys.fetches == 2
    clock.now += keys.RETRY_SECONDS
    with pytest.raises(Unavailable):
        attest.verify(attestation, _made_up_kid(platform, 9))
    assert attestation.keys.fetches == 3
    # Back up: the next attempt fetches, and a made-up kid is then the token's fault.
    platform.set_mode("ok")
    clock.now += keys.RETRY_SECONDS
    with pytest.raises(InvalidToken, match="publishes no RS256 key 'made-up-10'"):
        attest.verify(attestation, _made_up_kid(platform, 10))
    assert attestation.keys.fetches == 4


def test_stale_keys_are_never_used_and_a_failed_refresh_is_retried_not_stormed(
    platform: PlatformIssuer, test_tls: TestTls
) -> None:
    clock, attestation, known = _fetched_once(platform, test_tls)
    platform.set_mode("down")
    clock.now += keys.KEEP_SECONDS
    for _ in range(3):
        with pytest.raises(Unavailable, match="connection refused"):
            attest.verify(attestation, known)
    assert attestation.keys.fetches == 2
    platform.set_mode("ok")
    clock.now += keys.RETRY_SECONDS
    assert attest.verify(attestation, known).job.workspace == "infra"
    assert attestation.keys.fetches == 3


def _while_a_fetch_stalls(
    platform: PlatformIssuer, attestation: attest.Attestation, fetching: str, other: str
) -> tuple[list[str], dict[str, Exception]]:
    """Verify `fetching` (its fetch stalls at the platform), then `other`; release the stall
    once `other` ends (or after 30 s). The order they ended in, and what each raised."""
    order: list[str] = []
    raised: dict[str, Exception] = {}

    def attempt(token: str, name: str) -> None:
        try:
            attest.verify(attestation, token)
        except (InvalidToken, Unavailable) as error:
            raised[name] = error
        order.append(name)

    platform.released.clear()
    platform.set_mode("stall")
    seen = len(platform.server.seen)
    first = threading.Thread(target=attempt, args=(fetching, "fetching"))
    first.start()
    try:
        while len(platform.server.seen) == seen and first.is_alive():
            first.join(timeout=0.01)  # until the stalled fetch reaches the platform
        second = threading.Thread(target=attempt, args=(other, "other"))
        second.start()
        second.join(timeout=30)
        order.append("released")
    finally:
        platform.released.set()
        first.join(timeout=60)
        platform.set_mode("ok")
    return order, raised


def test_a_known_kid_does_not_wait_for_a_stalled_fetch(
    platform: PlatformIssuer, test_tls: TestTls
) -> None:
    # A fetch deadline longer than the test: only the release ends the stalled fetch.
    clock, attestation, known = _fetched_once(platform, test_tls, timeout=60)
    clock.now += keys.REFRESH_SECONDS + 1
    order, raised = _while_a_fetch_stalls(platform, attestation, _made_up_kid(platform, 1), known)
    assert order[:2] == ["other", "released"]
    assert "other" not in raised and isinstance(raised["fetching"], InvalidToken)


def test_while_a_failing_platform_is_retried_nobody_else_waits_for_it(
    platform: PlatformIssuer, test_tls: TestTls
) -> None:
    # Made-up kids from many callers at once: one retries, the others are told at once.
    clock, attestation, _ = _fetched_once(platform, test_tls, timeout=60)
    platform.set_mode("down")
    clock.now += keys.REFRESH_SECONDS + 1
    with pytest.raises(Unavailable):
        attest.verify(attestation, _made_up_kid(platform, 1))
    clock.now += keys.RETRY_SECONDS
    order, raised = _while_a_fetch_stalls(
        platform, attestation, _made_up_kid(platform, 2), _made_up_kid(platform, 3)
    )
    assert order[:2] == ["other", "released"]
    assert isinstance(raised["other"], Unavailable)
    assert "connection refused" in str(raised["other"])


def test_a_request_needing_keys_another_is_fetching_gives_its_thread_back(
    platform: PlatformIssuer, test_tls: TestTls
) -> None:
    # A worker of the Unix socket's pool must not sit waiting on another request's fetch: the
    # request is Pending at once, and runs again (`waited`, or the pool) once the fetch ends.
    attestation = _attestation(platform, test_tls, Clock(), timeout=60)
    token = platform.github(AUDIENCE)
    platform.released.clear()
    platform.set_mode("stall")
    fetcher = threading.Thread(target=attest.verify, args=(attestation, token))
    fetcher.start()
    try:
        while not platform.server.seen and fetcher.is_alive():
            fetcher.join(timeout=0.01)  # until the fetch reaches the platform, where it stalls
        with pytest.raises(pending.Pending) as raised:
            attest.verify(attestation, token)
        resumed = threading.Event()
        raised.value.then(resumed.set)
        assert not resumed.is_set()  # the fetch is still stalled
        platform.released.set()
        assert resumed.wait(timeout=60)
        assert pending.waited(lambda: attest.verify(attestation, token)).job.workspace == "infra"
        assert attestation.keys.fetches == 1
    finally:
        platform.released.set()
        fetcher.join(timeout=60)
        platform.set_mode("ok")


# A second entry under the platform's kid: another key of its algorithm, the same key marked
# for encryption, one for another algorithm, a symmetric one. A verifier that picks by kid
# could take any of them, so each makes the kid ambiguous.
SAME_KID = [{}, {"use": "enc"}, {"alg": "RS512"}, {"kty": "oct", "k": "c2VjcmV0LWJ5dGVz"}]


@pytest.mark.parametrize("fields", SAME_KID, ids=["another-key", "enc", "other-alg", "oct"])
def test_a_kid_published_twice_is_refused_and_the_others_still_serve(
    platform: PlatformIssuer, test_tls: TestTls, fields: dict[str, str]
) -> None:
    _, twin = platform.stranger(platform.kid, **fields)
    other_key, other = platform.stranger("other-kid")
    platform.also = [twin, other]
    attestation = _attestation(platform, test_tls, Clock())
    with pytest.raises(Unavailable) as refused:
        attest.verify(attestation, platform.github(AUDIENCE))
    assert str(refused.value) == (
        f"the issuer {platform.url} publishes 2 keys under kid {platform.kid!r}: ambiguous"
    )
    claims = jwt.decode(platform.github(AUDIENCE), options={"verify_signature": False})
    signed_by_other = platform.sign(claims, header={"kid": "other-kid"}, key=other_key)
    assert attest.verify(attestation, signed_by_other).job.workspace == "infra"
    assert attestation.keys.fetches == 1


def test_a_rotation_that_reuses_the_kid_is_refused_until_the_platform_fixes_it(
    platform: PlatformIssuer, test_tls: TestTls, caplog: pytest.LogCaptureFixture
) -> None:
    clock, attestation, old_token = _fetched_once(platform, test_tls)
    # The platform rotates but keeps the kid, publishing the old and the new key under it.
    new_key, new_jwk = platform.stranger(platform.kid)
    platform.also = [new_jwk]
    claims = jwt.decode(old_token, options={"verify_signature": False})
    new_token = platform.sign(claims, key=new_key)
    # Within the hour the set held is still the good one: the new key is not trusted.
    with pytest.raises(InvalidToken, match="signature does not verify"):
        attest.verify(attestation, new_token)
    clock.now += keys.KEEP_SECONDS
    for token in (old_token, new_token):
        with pytest.raises(Unavailable, match=f"2 keys under kid {platform.kid!r}: ambiguous"):
            attest.verify(attestation, token)
    assert attestation.keys.fetches == 2  # one refresh, not one per token
    (warning,) = [record for record in caplog.records if "ambiguous" in record.getMessage()]
    assert platform.url in warning.getMessage() and platform.kid in warning.getMessage()
    assert new_jwk["n"] not in caplog.text and platform.jwk()["n"] not in caplog.text
    # Fixed (only the new key under the kid): used again at the next refresh, within a minute.
    platform.key, platform.also = new_key, []
    clock.now += keys.REFRESH_SECONDS
    assert attest.verify(attestation, new_token).job.workspace == "infra"
    with pytest.raises(InvalidToken, match="signature does not verify"):
        attest.verify(attestation, old_token)
    assert attestation.keys.fetches == 3


def test_a_signer_refuses_an_ambiguous_kid_and_says_so_in_its_audit_and_log(
    platform: PlatformIssuer, test_tls: TestTls, custody: Custody
) -> None:
    _, twin = platform.stranger(platform.kid)
    other_key, other = platform.stranger("other-kid")
    platform.also = [twin, other]
    ambiguous = platform.github(AUDIENCE)
    claims = jwt.decode(ambiguous, options={"verify_signature": False})
    unambiguous = platform.sign(claims, header={"kid": "other-kid"}, key=other_key)
    allow = '[[allow]]\nattestation = "github"\nsubjects = ["organization:acme:workspace:*"]\n'
    form = {
        "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
        "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
        "audience": "aws.workload.identity",
    }
    with (
        attested_endpoint(custody, platform.url, test_tls, allow) as (signer, url),
        httpx.Client(verify=test_tls.client_context()) as client,
    ):
        refused = client.post(url + "/token", data={**form, "subject_token": ambiguous})
        served = client.post(url + "/token", data={**form, "subject_token": unambiguous})
    assert (refused.status_code, refused.json()["error"]) == (503, "temporarily_unavailable")
    said = f"publishes 2 keys under kid {platform.kid!r}: ambiguous"
    assert said in refused.json()["error_description"]
    assert served.status_code == 200, served.text
    audit = signer.audit()
    assert [line["decision"] for line in audit] == ["unavailable", "allow"]
    assert said in audit[0]["reason"] and platform.url in audit[0]["reason"]
    log = signer.stderr_path.read_text()
    assert f"{platform.url} {said}; its tokens are refused" in log
    for published in (twin, other, platform.jwk()):
        assert published["n"] not in log
