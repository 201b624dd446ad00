"""The AWS secrets engine's answer as the job turns it into a file and a log line: values that
would add lines to the shared credentials file are refused, the lease id is shown on one line.
(The whole exchange, with OpenBao and boto3: tests/e2e/test_vault_backed_aws.py.)"""

from __future__ import annotations

from typing import cast

import pytest

from injector.clouds import vault_aws_engine, vault_backed_aws
from injector.clouds.vault_http import Auth, Secret, VaultClient, VaultError
from tests.clouds.test_vault_backed_aws import ENABLED

KEYS = {"access_key": "AKIAEXAMPLE", "secret_key": "c2VjcmV0+/=", "security_token": "dG9rZW4="}


def _secret(**data: str) -> Secret:
    return Secret(
        data={**KEYS, **data}, lease_id="aws/creds/deploy/abc", ttl_seconds=900, renewable=True
    )


def test_the_credentials_file_holds_the_engines_keys_under_default() -> None:
    text = vault_aws_engine._credentials_file(_secret()).decode()
    assert text.splitlines() == [
        "[default]",
        "aws_access_key_id = AKIAEXAMPLE",
        "aws_secret_access_key = c2VjcmV0+/=",
        "aws_session_token = dG9rZW4=",
        "",
    ]


@pytest.mark.parametrize("field", ["access_key", "secret_key", "security_token", "session_token"])
@pytest.mark.parametrize("bad", ["\r", "\n", " ", "\x00", "\x0b", "\u2028", "é"])
def test_a_value_that_is_not_one_word_of_visible_ascii_is_refused(field: str, bad: str) -> None:
    secret = _secret(**{field: f"x{bad}credential_process = evil"})
    if field == "session_token":
        secret = Secret({**secret.data, "security_token": ""}, "l", 900, True)
    with pytest.raises(VaultError) as error:
        vault_aws_engine._credentials_file(secret)
    assert f"the AWS secrets engine's {field} is not one word" in str(error.value)
    assert "evil" not in str(error.value)


def test_a_lease_id_with_line_breaks_is_described_on_one_line() -> None:
    config = vault_backed_aws.CLOUD.configure(ENABLED)
    assert config is not None
    auth = Auth("hvs.x", "accessor-1", 900, True, ("default",))
    secret = Secret(dict(KEYS), "aws/creds/deploy/1\ninjector: all is well\r", 900, True)
    lease = vault_aws_engine.AwsLease(config, cast(VaultClient, None), auth, secret)
    described = lease.describe()
    assert "\n" not in described and "\r" not in described
    assert "lease aws/creds/deploy/1 injector: all is well," in described
