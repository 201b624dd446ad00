"""Key rotation, walked through as the README tells an operator to do it, with no token
rejected at any step.

The documents are republished with `injector publish` into a folder a real nginx serves, and
fetched from it over HTTP. Time is simulated: tokens are minted through the same pipeline as
`injector env` at chosen instants, and checked with joserfc's clock set to the step's instant.
A verifier (a cloud) may hold any JWKS it fetched within the last MAX_AGE seconds, the
Cache-Control lifetime nginx sends; so at each instant every token still valid must verify
against every JWKS published during that window, not only the newest one.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from joserfc.errors import ExpiredTokenError

from injector.config import issuer_settings
from injector.issuer import discovery, keygen
from injector.job import pipeline
from injector.job.example import EXAMPLE_ENV
from tests.conftest import run_injector
from tests.support import issuers

TTL_MINUTES = 30
TTL = TTL_MINUTES * 60
MAX_AGE = 300
ISSUER = "https://" + EXAMPLE_ENV[issuer_settings.HOSTNAME]
OLD, NEW = "key-2024", "key-2025"


@dataclass(frozen=True)
class Minted:
    token: str
    kid: str
    audience: str
    iat: int  # seconds since the start of the walk-through
    exp: int


@dataclass
class Walkthrough:
    """The operator's side: publish documents, mint tokens; and the clouds' side: caches."""

    site: Path
    nginx: issuers.Server
    credentials: Path
    start: int = field(default_factory=lambda: int(time.time()))
    published: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    minted: list[Minted] = field(default_factory=list)

    def publish(self, env: dict[str, str], at: int) -> dict[str, Any]:
        result = run_injector("publish", str(self.site), env=env)
        assert result.returncode == 0, result.stderr
        status, headers, _ = issuers.fetch(self.nginx.base + discovery.JWKS_PATH)
        assert (status, headers["cache-control"]) == (200, f"public, max-age={MAX_AGE}")
        jwks = issuers.fetch_json(self.nginx.base + discovery.JWKS_PATH)
        self.published.append((at, jwks))
        return jwks

    def mint(self, env: dict[str, str], at: int) -> list[Minted]:
        prepared = pipeline.prepare(env)
        assert prepared is not None
        plan = pipeline.mint(prepared, self.credentials, self.start + at)
        minted = [
            Minted(
                token=cloud.token.compact,
                kid=str(cloud.token.header["kid"]),
                audience=str(cloud.token.claims["aud"]),
                iat=at,
                exp=int(str(cloud.token.claims["exp"])) - self.start,
            )
            for cloud in plan.clouds
        ]
        self.minted += minted
        return minted

    def cached(self, at: int) -> list[dict[str, Any]]:
        """Every JWKS a verifier may hold at `at`: the one current MAX_AGE seconds ago and every
        one published since."""
        oldest = at - MAX_AGE
        current = [jwks for when, jwks in self.published if when <= oldest][-1:]
        return current + [jwks for when, jwks in self.published if oldest < when <= at]

    def verify(self, token: Minted, jwks: dict[str, Any], at: int) -> None:
        issuers.verify(
            token.token, jwks, audience=token.audience, issuer=ISSUER, now=self.start + at
        )

    def check(self, at: int) -> int:
        """Every token valid at `at` verifies against every JWKS a verifier may hold; every
        expired one is refused. Returns how many (token, JWKS) pairs verified."""
        verified = 0
        for token in self.minted:
            if token.iat <= at < token.exp:
                for jwks in self.cached(at):
                    self.verify(token, jwks, at)
                    verified += 1
            elif at >= token.exp:
                # Refused for its age, even where its key is still published.
                holding = [jwks for _, jwks in self.published if token.kid in _kids(jwks)]
                with pytest.raises(ExpiredTokenError):
                    self.verify(token, holding[-1], at)
        return verified


def _kids(jwks: dict[str, Any]) -> list[str]:
    return [key["kid"] for key in jwks["keys"]]


@pytest.fixture
def walkthrough(tmp_path: Path) -> Iterator[Walkthrough]:
    site = tmp_path / "site"
    credentials = tmp_path / "creds"
    credentials.mkdir(mode=0o700)
    with issuers.nginx(site, tmp_path / "nginx", max_age=MAX_AGE) as running:
        yield Walkthrough(site=site, nginx=running, credentials=credentials)


def test_rotation_rejects_no_valid_token(walkthrough: Walkthrough, tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keygen.write(keys / "old", keygen.generate("rsa", None))
    keygen.write(keys / "new", keygen.generate("rsa", None))
    base = {**EXAMPLE_ENV, issuer_settings.TTL: str(TTL_MINUTES)}
    old_signing = {
        **base,
        issuer_settings.KEY_ID: OLD,
        issuer_settings.PRIVATE_KEY_PATH: str(keys / "old/private.pem"),
        issuer_settings.PUBLIC_KEY_PATH: str(keys / "old/public.pem"),
    }
    w = walkthrough
    # Publish before the first token, as on any first set-up (an nginx needs a file to serve).
    w.publish(old_signing, at=0)

    # 1. The old key signs; the JWKS has it alone.
    assert _kids(w.published[-1][1]) == [OLD]
    w.mint(old_signing, at=0)
    assert w.check(at=0) > 0

    # 2. Announce the new key: published beside the old one, not signing yet.
    announced = {**old_signing, issuer_settings.ADDITIONAL_KEYS: f"{NEW}={keys / 'new/public.pem'}"}
    announced_at = 60
    assert _kids(w.publish(announced, at=announced_at)) == [OLD, NEW]
    assert {m.kid for m in w.mint(announced, at=announced_at)} == {OLD}
    assert w.check(at=announced_at) > 0

    # 3. Wait for caches: until MAX_AGE has passed since the announcement, a verifier may
    # still hold the JWKS without the new key, and would refuse a token it signed.
    switched = {
        **base,
        issuer_settings.KEY_ID: NEW,
        issuer_settings.PRIVATE_KEY_PATH: str(keys / "new/private.pem"),
        issuer_settings.PUBLIC_KEY_PATH: str(keys / "new/public.pem"),
        issuer_settings.ADDITIONAL_KEYS: f"{OLD}={keys / 'old/public.pem'}",
    }
    too_early = announced_at + MAX_AGE - 1
    premature = w.mint(switched, at=too_early)
    stale = w.cached(too_early)[0]
    assert _kids(stale) == [OLD]
    with pytest.raises(KeyError, match=NEW):
        w.verify(premature[0], stale, too_early)
    w.minted = [m for m in w.minted if m not in premature]  # that switch never happened
    last_old = w.mint(announced, at=too_early)  # the old key's longest-lived tokens
    assert w.check(at=too_early) > 0

    # 4. Switch signing to the new key; the old one stays published.
    switch_at = announced_at + MAX_AGE
    assert _kids(w.publish(switched, at=switch_at)) == [NEW, OLD]
    assert {m.kid for m in w.mint(switched, at=switch_at)} == {NEW}
    for at in (switch_at, switch_at + MAX_AGE, 1000, TTL):
        assert w.check(at=at) > 0

    # 5. Keep the old key until its longest-lived token has expired: one second earlier,
    # removing it would reject a valid token.
    old_expiry = max(m.exp for m in w.minted if m.kid == OLD)
    assert old_expiry == last_old[0].exp == too_early + TTL
    without_old = {k: v for k, v in switched.items() if k != issuer_settings.ADDITIONAL_KEYS}
    new_only = discovery.from_env(without_old).bodies[discovery.JWKS_PATH]
    with pytest.raises(KeyError, match=OLD):
        w.verify(last_old[0], json.loads(new_only), old_expiry - 1)
    assert w.check(at=old_expiry - 1) > 0

    # 6. Remove it once every old token has expired.
    assert _kids(w.publish(without_old, at=old_expiry)) == [NEW]
    w.mint(without_old, at=old_expiry)
    for at in (old_expiry, old_expiry + MAX_AGE, old_expiry + TTL - 1):
        assert w.check(at=at) > 0
    # The new key's first tokens outlived the old key's last ones, and verified throughout.
    assert all(m.kid == NEW for m in w.minted if m.exp > old_expiry)


def test_discovery_follows_a_change_of_algorithm(tmp_path: Path) -> None:
    """Rotating from RS256 to ES256: while both keys are published both algorithms are
    advertised, each key keeping its own; afterwards only ES256."""
    keygen.write(tmp_path / "old", keygen.generate("rsa", None))
    keygen.write(tmp_path / "new", keygen.generate("ec", None))
    env = {
        issuer_settings.HOSTNAME: "terrakube-api.example.com",
        issuer_settings.KEY_ID: NEW,
        issuer_settings.ALGORITHM: "ES256",
        issuer_settings.PRIVATE_KEY_PATH: str(tmp_path / "new/private.pem"),
        issuer_settings.ADDITIONAL_KEYS: f"{OLD}={tmp_path / 'old/public.pem'}",
    }
    both = discovery.from_env(env)
    config = json.loads(both.bodies[discovery.DISCOVERY_PATH])
    assert config["id_token_signing_alg_values_supported"] == ["ES256", "RS256"]
    jwks = json.loads(both.bodies[discovery.JWKS_PATH])
    assert [(k["kid"], k["alg"]) for k in jwks["keys"]] == [(NEW, "ES256"), (OLD, "RS256")]
    del env[issuer_settings.ADDITIONAL_KEYS]
    after = json.loads(discovery.from_env(env).bodies[discovery.DISCOVERY_PATH])
    assert after["id_token_signing_alg_values_supported"] == ["ES256"]
