"""`injector verify --cloud kubernetes` applies the kube-apiserver's JWT authenticator rules:
RS256 or ES256, `iss`, `aud`, `exp` with no leeway, every refusal its bare 401."""

from __future__ import annotations

import time
from pathlib import Path

from injector.clouds import kubernetes
from injector.config import signing_keys
from injector.issuer.keyset import PublishedKey
from tests.diagnostics.test_verify import (
    SpoiledIssuer,
    assert_fails,
    mint,
    sign,
    spoiled,
    trusted,
    verify,
)
from tests.standins.accounts import SUBJECT

pytest_plugins = ["tests.standins.fixtures"]
__all__ = ["spoiled", "trusted"]  # the fixtures, used by name

AUDIENCE = "kubernetes.workload.identity"
UNAUTHORIZED = "401 Unauthorized"


def _workspace(strict_workspace: dict[str, str]) -> dict[str, str]:
    return {**strict_workspace, kubernetes.ENABLE: "true", kubernetes.AUDIENCE: AUDIENCE}


def test_a_good_token_passes(
    strict_workspace: dict[str, str], trusted: tuple[str, ...], tmp_path: Path
) -> None:
    token = mint(_workspace(strict_workspace), "kubernetes")
    checked = verify(
        token,
        *trusted,
        *("--cloud", "kubernetes", "--expect-aud", AUDIENCE, "--expect-sub", SUBJECT),
        tmp_path=tmp_path,
    )
    assert checked.returncode == 0, checked.stdout
    assert checked.lines["cloud"][1].startswith("kubernetes")


def test_an_expired_token_is_a_401(
    strict_workspace: dict[str, str], trusted: tuple[str, ...], tmp_path: Path
) -> None:
    token = mint(_workspace(strict_workspace), "kubernetes", now=int(time.time()) - 2 * 3600)
    checked = verify(token, *trusted, "--cloud", "kubernetes", tmp_path=tmp_path)
    assert_fails(checked, "exp", UNAUTHORIZED, "expired 90 min ago")


def test_rs384_is_refused_es256_accepted(
    spoiled: SpoiledIssuer, trusted: tuple[str, ...], tmp_path: Path
) -> None:
    rs384 = signing_keys.throwaway("rsa-384", "RS384")
    es256 = signing_keys.throwaway("ec-256", "ES256")
    spoiled.publish(
        (
            PublishedKey("rsa-384", "RS384", rs384.private_key.public_key()),
            PublishedKey("ec-256", "ES256", es256.private_key.public_key()),
        )
    )
    refused = verify(
        sign(rs384, spoiled.url, AUDIENCE), *trusted, "--cloud", "kubernetes", tmp_path=tmp_path
    )
    accepted = verify(
        sign(es256, spoiled.url, AUDIENCE), *trusted, "--cloud", "kubernetes", tmp_path=tmp_path
    )

    assert_fails(refused, "alg", UNAUTHORIZED)
    assert accepted.returncode == 0, accepted.stdout
