"""`doctor --login` for AWS: assume the role through boto3 in a child process that has only
the exports (injector.diagnostics.login_child runs it)."""

from __future__ import annotations

from injector.clouds.facets import LoginOutcome


def login() -> LoginOutcome:
    """Assume the role through boto3, as Terraform's AWS provider would, and ask STS who we
    are. Runs in a child process that has only the exports."""
    import os

    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from injector.clouds.aws import DEFAULT_REGION

    session = boto3.Session()
    try:
        credentials = session.get_credentials()
        method = credentials.method if credentials is not None else None
        if method != "assume-role-with-web-identity":
            return {
                "ok": False,
                "code": "wrong credentials",
                "message": f"boto3 found credentials of kind {method!r}, "
                "not assume-role-with-web-identity",
            }
        region = os.environ.get(DEFAULT_REGION) or "us-east-1"
        identity = session.client("sts", region_name=region).get_caller_identity()
    except ClientError as error:
        details = error.response.get("Error", {})
        return {
            "ok": False,
            "code": details.get("Code"),
            "message": f"{type(error).__name__}: {details.get('Message')}",
        }
    except BotoCoreError as error:
        return {"ok": False, "code": type(error).__name__, "message": str(error)}
    return {
        "ok": True,
        "detail": f"boto3: AssumeRoleWithWebIdentity, then GetCallerIdentity as {identity['Arn']}",
    }
