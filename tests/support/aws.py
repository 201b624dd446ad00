"""AWS helpers for the tests: a role in moto's IAM that trusts the example workspace, and a
boto3 login in a child process that has nothing but the exports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3

ROLE_NAME = "terrakube-role"
ROLE_ARN = f"arn:aws:iam::123456789012:role/{ROLE_NAME}"

# Runs in the child: only the exports and the endpoint override are in its environment.
BOTO3_LOGIN = """
import json, boto3
session = boto3.Session()
credentials = session.get_credentials()
identity = session.client("sts").get_caller_identity()
s3 = session.client("s3")
s3.create_bucket(Bucket="injector-login-test")
s3.put_object(Bucket="injector-login-test", Key="hello", Body=b"from web identity")
body = s3.get_object(Bucket="injector-login-test", Key="hello")["Body"].read().decode()
print(json.dumps({
    "method": credentials.method,
    "arn": identity["Arn"],
    "account": identity["Account"],
    "region": session.region_name,
    "body": body,
}))
"""


def boto3_login(exports: dict[str, str], endpoint: str, home: Path) -> dict[str, str]:
    """Run BOTO3_LOGIN in a process whose environment is `exports` plus the endpoint override."""
    result = subprocess.run(
        [sys.executable, "-c", BOTO3_LOGIN],
        env={
            **exports,
            "AWS_ENDPOINT_URL": endpoint,
            "HOME": str(home),  # no ~/.aws of the machine's user
            "PATH": os.environ["PATH"],
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    login: dict[str, str] = json.loads(result.stdout)
    return login


def create_role(endpoint: str) -> None:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {
                    "Federated": "arn:aws:iam::123456789012:oidc-provider/terrakube-api.example.com"
                },
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        "terrakube-api.example.com:aud": "aws.workload.identity",
                        "terrakube-api.example.com:sub": "organization:simple:workspace:simple-cli",
                    }
                },
            }
        ],
    }
    iam = boto3.client(
        "iam",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    existing = [role["RoleName"] for role in iam.list_roles()["Roles"]]
    if ROLE_NAME not in existing:
        iam.create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument=json.dumps(trust))
