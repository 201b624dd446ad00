"""GCP's `external_account` credentials file: what google-auth, gcloud and Terraform's google
provider read to exchange the token at Google's STS (and to impersonate a service account),
the token taken from its file or, under `run --token-endpoint`, from injector's endpoint."""

from __future__ import annotations

import json
from pathlib import Path

from injector.clouds.facets import ServedToken

SUBJECT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt"  # noqa: S105 (a type name)
CREDENTIALS_FILE = "gcp-credentials.json"
# google-auth and Go's oauth2 (Terraform's google provider and gcs backend) read a `url`
# credential source at each token exchange, as JSON with the token in this field.
SERVED_FIELD = "value"


def document(
    provider: str, service_account: str | None, sts_url: str, iam_url: str, token_file: Path
) -> dict[str, object]:
    """The credentials document with the token read from `token_file`."""
    found: dict[str, object] = {
        "type": "external_account",
        "audience": provider,
        "subject_token_type": SUBJECT_TOKEN_TYPE,
        "token_url": sts_url,
    }
    if service_account:
        found["service_account_impersonation_url"] = (
            f"{iam_url}/v1/projects/-/serviceAccounts/{service_account}:generateAccessToken"
        )
    found["credential_source"] = {"file": str(token_file), "format": {"type": "text"}}
    return found


def from_url(file_document: dict[str, object], url: str, bearer: str) -> dict[str, object]:
    """`file_document` with the token fetched from `url` at each exchange instead."""
    return {
        **file_document,
        "credential_source": {
            "url": url,
            "headers": {"Authorization": f"Bearer {bearer}"},
            "format": {"type": "json", "subject_token_field_name": SERVED_FIELD},
        },
    }


def rendered(content: dict[str, object]) -> bytes:
    return json.dumps(content, indent=2).encode()


def file_for(token_file: Path) -> Path:
    """`gcp-credentials.json` next to `gcp.jwt`; `gcp_PROD-credentials.json` for a tag."""
    return token_file.with_name(f"{token_file.stem}-credentials.json")


def _served_body(token: str) -> bytes:
    return json.dumps({SERVED_FIELD: token}).encode()


SERVED_TOKEN = ServedToken(
    body=_served_body,
    exported=f"{CREDENTIALS_FILE}'s credential_source.url (with its bearer header)",
)
