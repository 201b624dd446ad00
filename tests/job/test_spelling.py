"""The warning about a variable that is almost one injector reads (injector/job/spelling.py)."""

from __future__ import annotations

import logging

import pytest

from injector.job import spelling


@pytest.mark.parametrize(
    ("switch", "typo", "meant"),
    [
        # Settings that only a tag's fallback named, once unknown to the warning: a typo left
        # the session tags off, or the Vault login in another namespace, without a word.
        ("ENABLE_DYNAMIC_CREDENTIALS_AWS", "ENABLE_AWS_SESSION_TAG", "ENABLE_AWS_SESSION_TAGS"),
        ("ENABLE_DYNAMIC_CREDENTIALS_VAULT", "VAULT_NAMESPAC", "VAULT_NAMESPACE"),
        ("ENABLE_DYNAMIC_CREDENTIALS_VAULT", "VAULT_CA_CERT", "VAULT_CACERT"),
        (
            "ENABLE_DYNAMIC_CREDENTIALS_VAULT",
            "WORKLOAD_IDENTITY_VAULT_AUTHPATH",
            "WORKLOAD_IDENTITY_VAULT_AUTH_PATH",
        ),
        ("ENABLE_DYNAMIC_CREDENTIALS_AWS", "AWS_REGIONS", "AWS_REGION"),
    ],
)
def test_a_misspelt_setting_of_a_switched_on_cloud_is_named(
    switch: str, typo: str, meant: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="injector"):
        spelling.warn({switch: "true", typo: "x"})
    assert f"{typo} is not a variable injector reads: did you mean {meant}?" in caplog.text


def test_the_settings_themselves_are_not_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    env = {
        "ENABLE_DYNAMIC_CREDENTIALS_AWS": "true",
        "ENABLE_AWS_SESSION_TAGS": "true",
        "ENABLE_DYNAMIC_CREDENTIALS_VAULT": "true",
        "VAULT_NAMESPACE": "admin",
        "VAULT_CACERT": "/ca.pem",
        "WORKLOAD_IDENTITY_VAULT_AUTH_PATH": "jwt",
    }
    with caplog.at_level(logging.WARNING, logger="injector"):
        spelling.warn(env)
    assert caplog.text == ""
