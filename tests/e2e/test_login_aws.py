"""boto3, in a process that has nothing but what `injector env` exported, logs in with web
identity against a real moto server. (moto accepts any token: this proves the wiring.)"""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_injector
from tests.support.aws import ROLE_ARN, ROLE_NAME, boto3_login, create_role


def test_boto3_assumes_the_role_with_only_the_exports(
    workspace: dict[str, str], moto_endpoint: str, tmp_path: Path
) -> None:
    create_role(moto_endpoint)
    workspace["WORKLOAD_IDENTITY_ROLE_AWS"] = ROLE_ARN
    workspace["ENABLE_DYNAMIC_CREDENTIALS_AZURE"] = "false"
    workspace["ENABLE_DYNAMIC_CREDENTIALS_GCP"] = "false"
    exported = run_injector(
        "env", "--dir", str(tmp_path / "creds"), "--format", "json", env=workspace
    )
    assert exported.returncode == 0, exported.stderr
    exports = json.loads(exported.stdout)

    login = boto3_login(exports, moto_endpoint, tmp_path)
    assert login["method"] == "assume-role-with-web-identity"
    assert login["arn"] == (
        f"arn:aws:sts::123456789012:assumed-role/{ROLE_NAME}/terrakube-simple-simple-cli-1"
    )
    assert login["account"] == "123456789012"
    assert login["region"] == "us-east-1"
    assert login["body"] == "from web identity"
