"""URL validators (config/urls.py): https only, loopback http for endpoints, no credentials,
no impossible port; messages name the variable and quote the value."""

from __future__ import annotations

import pytest

from injector.config import urls
from injector.errors import ConfigError
from tests.support.problems import only_message

NAME = "SOME_VARIABLE"


def _problem(error: pytest.ExceptionInfo[ConfigError]) -> str:
    return only_message(error, NAME)


@pytest.mark.parametrize(
    "raw",
    [
        "https://login.microsoftonline.com/",
        "https://login.microsoftonline.com",
        "https://example.com:8443/a/b",
        "https://127.0.0.1:1234/token",
        "https://host/path/with~tilde_and%20escape",
    ],
)
def test_https_url_accepts(raw: str) -> None:
    assert urls.https_url(NAME, raw, "an https URL") == raw


@pytest.mark.parametrize(
    "raw",
    [
        "http://example.com",
        "HTTPS://example.com",
        "ftp://example.com",
        "example.com",
        "//example.com",
        "https://",
        "https://user:pass@example.com",
        "https://user@example.com",
        "https://example.com?query=1",
        "https://example.com/path?query=1",
        "https://example.com#fragment",
        "https://example.com/a b",
        " https://example.com",
        "https://example.com ",
        "https://example.com/\n",
    ],
)
def test_https_url_refuses(raw: str) -> None:
    with pytest.raises(ConfigError) as error:
        urls.https_url(NAME, raw, "an https URL")
    message = _problem(error)
    assert "an https URL" in message
    # The value is quoted, except a URL's user name and password, which never show.
    userinfo = raw.partition("://")[2].partition("@")[0] + "@"
    assert repr(raw) in message or ("<userinfo>@" in message and userinfo not in message)


@pytest.mark.parametrize("raw", ["https://example.com:65536", "https://example.com:99999/x"])
def test_https_url_refuses_impossible_port(raw: str) -> None:
    with pytest.raises(ConfigError) as error:
        urls.https_url(NAME, raw, "an https URL")
    _problem(error)


@pytest.mark.parametrize(
    "raw",
    [
        "https://sts.example.com/v1/token",
        "http://127.0.0.1",
        "http://127.0.0.1:8080/v1/token",
        "http://127.1.2.3:9/",
        "http://localhost",
        "http://localhost:5000/v1",
        "http://[::1]",
        "http://[::1]:5000/v1/token",
    ],
)
def test_endpoint_url_accepts_https_or_loopback_http(raw: str) -> None:
    assert urls.endpoint_url(NAME, raw, "an endpoint") == raw


@pytest.mark.parametrize(
    "raw",
    [
        "http://example.com/v1/token",
        "http://10.0.0.1:8080/",
        "http://192.168.1.1/",
        "http://127.evil.example/",
        "http://localhost.evil.example/",
        "http://127.0.0.1@evil.example/",
        "http://localhost:80@evil.example/",
        "http://[::2]/",
        "http://127.0.0.1/x?y=1",
        "http://127.0.0.1/x#y",
        "http://127.0.0.1/a b",
        "http://127.0.0.1/\x01",
        "http://127.0.0.1/\x7f",
        "127.0.0.1:8080",
    ],
)
def test_endpoint_url_refuses(raw: str) -> None:
    with pytest.raises(ConfigError) as error:
        urls.endpoint_url(NAME, raw, "an endpoint")
    assert "an endpoint" in _problem(error)
