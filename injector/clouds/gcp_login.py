"""`doctor --login` for GCP: an access token through google-auth, in a child process that has
only the exports (injector.diagnostics.login_child runs it)."""

from __future__ import annotations

import re

from injector.clouds.facets import LoginOutcome

_ERROR_CODE = re.compile(
    r"\b(invalid_grant|invalid_request|invalid_target|invalid_scope|unauthorized_client|"
    r"PERMISSION_DENIED|UNAUTHENTICATED|NOT_FOUND|INVALID_ARGUMENT)\b"
)


def login() -> LoginOutcome:
    """Get an access token through google-auth's application default credentials, as the
    google provider would. Runs in a child process that has only the exports."""
    import google.auth
    import google.auth.transport.requests
    from google.auth.exceptions import GoogleAuthError

    try:
        credentials, project = google.auth.default(
            scopes=["https://www.googleapis.com/auth/cloud-platform"]
        )
        # google-auth's refresh() carries no annotations.
        credentials.refresh(google.auth.transport.requests.Request())  # type: ignore[no-untyped-call]
    except GoogleAuthError as error:
        message = f"{type(error).__name__}: {error}"
        found = _ERROR_CODE.search(message)
        return {"ok": False, "code": found.group(0) if found else None, "message": message}
    account = getattr(credentials, "service_account_email", None)
    how = f"impersonating {account}" if account else "with the federated token"
    return {
        "ok": True,
        "detail": f"google-auth {type(credentials).__module__}: an access token {how} "
        f"(project {project})",
    }
