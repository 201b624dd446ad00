"""The platform's keys come through the hardened fetch: a JWKS server that is slow, huge,
redirects to plain http or is down makes the signer answer "unavailable" (503), never hang or
read without bound; keys are fetched again for a new `kid` at most once a minute."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from injector.signer.attestation import keys, settings
from injector.signer.attestation import verify as attest
from injector.signer.attestation.keys import KeySet, Unavailable
from injector.signer.attestation.verify import InvalidToken
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


def _attestation(platform: PlatformIssuer, test_tls: TestTls, clock: Clock) -> attest.Attestation:
    (made,) = settings.load(
        "policy.toml",
        [{"name": "gh", "kind": "github", "issuer": platform.url, "audience": AUDIENCE}],
    )
    trusted = keys.trust(test_tls.ca_file)
    # The same attestation, with a key set on a clock the test moves and a 1 s fetch deadline.
    made_keys = KeySet(platform.url, None, trusted, clock=clock, timeout=1.0)
    return attest.Attestation(**{**made.__dict__, "keys": made_keys})


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("slow", "no complete answer within 1 s"),
        ("huge", "over 1048576 bytes"),
        ("redirect", "which is not https"),
        ("down", "connection refused"),
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
    attest.verify(attestation, platform.github(AUDIENCE))
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
    # Cached for the hour: the next tokens fetch nothing.
    for _ in range(3):
        attest.verify(attestation, platform.github(AUDIENCE))
    assert platform.jwks_fetches == 2
    clock.now += keys.KEEP_SECONDS
    attest.verify(attestation, platform.github(AUDIENCE))
    assert platform.jwks_fetches == 3
