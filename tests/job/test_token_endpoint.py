"""The loopback token endpoint of `injector run --token-endpoint`: who may ask, what it answers
in each SDK's shape, how long a token is served again, what it points the SDKs at, and that it
closes when told."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest

from injector.job import pipeline, token_endpoint
from injector.job.session import JobSession
from injector.job.token_endpoint import TokenEndpoint
from tests.support import jobs


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    import time

    return Clock(time.time())


@pytest.fixture
def served(
    workspace: dict[str, str], tmp_path: Path, clock: Clock
) -> Iterator[tuple[TokenEndpoint, JobSession]]:
    prepared = pipeline.prepare(workspace)
    assert prepared is not None
    with JobSession(prepared, tmp_path / "creds") as written:
        endpoint = token_endpoint.serve(prepared, written.plan, written.folder, clock=clock)
        try:
            yield endpoint, written
        finally:
            endpoint.stop()


def _get(url: str, bearer: str | None) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(url)
    if bearer is not None:
        request.add_header("Authorization", f"Bearer {bearer}")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _azure(endpoint: TokenEndpoint) -> tuple[str, str]:
    return endpoint.exports["ARM_OIDC_REQUEST_URL"], endpoint.exports["ARM_OIDC_REQUEST_TOKEN"]


def test_azure_gets_githubs_shape_for_the_right_bearer_only(
    served: tuple[TokenEndpoint, JobSession],
) -> None:
    endpoint, _ = served
    url, bearer = _azure(endpoint)

    status, body = _get(url + "?audience=api://AzureADTokenExchange", bearer)
    assert status == 200
    claims = jwt.decode(str(body["value"]), options={"verify_signature": False})
    assert claims["aud"] == "api://AzureADTokenExchange"
    assert claims["exp"] - claims["iat"] == 30 * 60

    assert _get(url, None)[0] == 401
    assert _get(url, bearer[:-1] + ("A" if bearer[-1] != "A" else "B"))[0] == 401
    assert _get(url.rsplit("/", 1)[0] + "/aws", bearer)[0] == 404  # AWS re-reads its file


def test_a_token_is_served_again_until_half_its_life_then_minted_anew(
    served: tuple[TokenEndpoint, JobSession], clock: Clock
) -> None:
    endpoint, _ = served
    url, bearer = _azure(endpoint)
    first = _get(url, bearer)[1]["value"]

    clock.now += 15 * 60 - 1
    assert _get(url, bearer)[1]["value"] == first
    clock.now += 1
    again = _get(url, bearer)[1]["value"]
    assert again != first
    assert jwt.decode(str(again), options={"verify_signature": False})["iat"] == int(clock.now)


def test_azurerm_is_pointed_at_the_url_instead_of_the_file_it_would_prefer(
    served: tuple[TokenEndpoint, JobSession],
) -> None:
    endpoint, written = served
    exports = endpoint.apply(written.plan.exports)

    assert "ARM_OIDC_TOKEN_FILE_PATH" not in exports
    assert exports["ARM_OIDC_REQUEST_URL"].startswith("http://127.0.0.1:")
    # azure-identity and AWS keep their files, which the refresher keeps fresh.
    assert (
        exports["AZURE_FEDERATED_TOKEN_FILE"] == written.plan.exports["AZURE_FEDERATED_TOKEN_FILE"]
    )
    assert (
        exports["AWS_WEB_IDENTITY_TOKEN_FILE"]
        == written.plan.exports["AWS_WEB_IDENTITY_TOKEN_FILE"]
    )
    assert "ARM_OIDC_REQUEST_TOKEN" not in repr(endpoint)
    assert endpoint.exports["ARM_OIDC_REQUEST_TOKEN"] not in repr(endpoint)


def test_gcp_credentials_name_the_url_and_the_token_comes_back_as_json(
    served: tuple[TokenEndpoint, JobSession],
) -> None:
    _, written = served
    document = json.loads(Path(written.plan.exports["GOOGLE_APPLICATION_CREDENTIALS"]).read_text())
    source = document["credential_source"]

    assert set(source) == {"url", "headers", "format"}
    assert source["format"] == {"type": "json", "subject_token_field_name": "value"}
    bearer = source["headers"]["Authorization"].removeprefix("Bearer ")
    status, body = _get(source["url"], bearer)
    assert status == 200
    claims = jwt.decode(str(body["value"]), options={"verify_signature": False})
    assert claims["aud"].startswith("https://iam.googleapis.com/projects/")
    assert (
        Path(written.plan.exports["GOOGLE_APPLICATION_CREDENTIALS"]).stat().st_mode & 0o777
    ) == 0o600


def test_the_endpoint_refuses_connections_once_stopped(
    served: tuple[TokenEndpoint, JobSession],
) -> None:
    endpoint, _ = served
    url, bearer = _azure(endpoint)
    endpoint.stop()

    with pytest.raises(urllib.error.URLError):
        _get(url, bearer)


@pytest.mark.parametrize("how", jobs.SWAPS)
def test_the_files_pointing_at_the_endpoint_land_in_the_held_folder(
    workspace: dict[str, str], tmp_path: Path, how: str
) -> None:
    prepared = pipeline.prepare(workspace)
    assert prepared is not None
    with JobSession(prepared, tmp_path / "creds") as session:
        inode = (tmp_path / "creds").stat().st_ino
        held, impostor = jobs.swap_away(tmp_path / "creds", how)
        endpoint = token_endpoint.serve(prepared, session.plan, session.folder)
        endpoint.stop()
        assert held.stat().st_ino == inode
        document = json.loads((held / "gcp-credentials.json").read_text())
        assert document["credential_source"]["url"].startswith("http://127.0.0.1:")
        assert list(impostor.iterdir()) == []


def test_requests_without_the_bearer_are_kept_nowhere(
    served: tuple[TokenEndpoint, JobSession],
) -> None:
    """Any local user can reach loopback: what it sends without the bearer must not grow the
    job's memory (before, each request's path, up to 64 KiB, was kept until the job ended)."""
    endpoint, _ = served
    url, bearer = _azure(endpoint)
    long_path = url.rsplit("/", 1)[0] + "/" + "x" * 60_000
    for _ in range(20):
        assert _get(long_path, None)[0] == 401
    assert endpoint.requests == []
    assert _get(url, bearer)[0] == 200
    assert endpoint.requests == ["azure"]
