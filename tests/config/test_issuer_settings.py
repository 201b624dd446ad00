"""Issuer settings: the host that becomes `iss`, the `kid`, the TTL and the key paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from injector.config import issuer_settings
from injector.errors import ConfigError

HOST = "terrakube-api.example.com"
BASE = {issuer_settings.HOSTNAME: HOST, issuer_settings.PRIVATE_KEY_PATH: "/keys/private.pem"}


def _problems(env: dict[str, str], *, require_key: bool = True) -> list[str]:
    with pytest.raises(ConfigError) as error:
        issuer_settings.from_env(env, require_key=require_key)
    return [p.variable for p in error.value.problems]


def test_defaults() -> None:
    settings = issuer_settings.from_env(BASE)
    assert settings.issuer == f"https://{HOST}"
    assert settings.key_id == "03446895-220d-47e1-9564-4eeaa3691b42"
    assert settings.ttl_minutes == 30
    assert settings.private_key_path == Path("/keys/private.pem")
    assert settings.public_key_path is None


def test_all_values_read() -> None:
    settings = issuer_settings.from_env(
        {
            **BASE,
            issuer_settings.PUBLIC_KEY_PATH: "/keys/public.pem",
            issuer_settings.KEY_ID: "my-kid",
            issuer_settings.TTL: "60",
        }
    )
    assert settings.public_key_path == Path("/keys/public.pem")
    assert settings.key_id == "my-kid"
    assert settings.ttl_minutes == 60


# iss


def test_dynamic_credential_hostname_wins_over_terrakube_hostname() -> None:
    env = {**BASE, issuer_settings.TERRAKUBE_HOSTNAME: "other.example.com"}
    assert issuer_settings.from_env(env).issuer == f"https://{HOST}"


def test_terrakube_hostname_used_when_alone() -> None:
    env = {
        issuer_settings.TERRAKUBE_HOSTNAME: "other.example.com",
        issuer_settings.PRIVATE_KEY_PATH: "/k",
    }
    assert issuer_settings.from_env(env).issuer == "https://other.example.com"


def test_empty_hostname_falls_back_to_terrakube_hostname() -> None:
    env = {
        **BASE,
        issuer_settings.HOSTNAME: "",
        issuer_settings.TERRAKUBE_HOSTNAME: "other.example.com",
    }
    assert issuer_settings.from_env(env).issuer == "https://other.example.com"


def test_bad_hostname_is_not_rescued_by_terrakube_hostname() -> None:
    env = {
        **BASE,
        issuer_settings.HOSTNAME: "bad host",
        issuer_settings.TERRAKUBE_HOSTNAME: "ok.example.com",
    }
    assert _problems(env) == [issuer_settings.HOSTNAME]


@pytest.mark.parametrize(
    "env", [{}, {issuer_settings.HOSTNAME: "", issuer_settings.TERRAKUBE_HOSTNAME: ""}]
)
def test_hostname_required(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as error:
        issuer_settings.from_env({**env, issuer_settings.PRIVATE_KEY_PATH: "/k"})
    assert [p.variable for p in error.value.problems] == [issuer_settings.HOSTNAME]
    assert issuer_settings.TERRAKUBE_HOSTNAME in str(error.value)


@pytest.mark.parametrize(
    ("raw", "iss"),
    [
        ("terrakube-api.example.com", "https://terrakube-api.example.com"),
        ("localhost", "https://localhost"),
        ("terrakube.example.com:8443", "https://terrakube.example.com:8443"),
        ("example.com/terrakube", "https://example.com/terrakube"),
        ("https://terrakube-api.example.com", "https://terrakube-api.example.com"),
        ("https://example.com:8443/terrakube", "https://example.com:8443/terrakube"),
    ],
)
def test_issuer_url(raw: str, iss: str) -> None:
    assert issuer_settings.issuer_url(issuer_settings.HOSTNAME, raw) == iss
    assert issuer_settings.from_env({**BASE, issuer_settings.HOSTNAME: raw}).issuer == iss


@pytest.mark.parametrize(
    "raw",
    [
        "terrakube-api.example.com/",
        "https://terrakube-api.example.com/",
        "https://example.com/terrakube/",
        "terrakube-api.example.com?x=1",
        "https://terrakube-api.example.com?x=1",
        "https://terrakube-api.example.com#x",
        " terrakube-api.example.com",
        "terrakube-api.example.com ",
        "terrakube api.example.com",
        "terrakube-api.example.com\n",
        "ftp://terrakube-api.example.com",
        "https://",
        "https://user@terrakube-api.example.com",
        "-terrakube.example.com",
        "terrakube.example.com.",
        "under_score.example.com",
    ],
)
def test_issuer_url_refused(raw: str) -> None:
    with pytest.raises(ConfigError) as error:
        issuer_settings.from_env({**BASE, issuer_settings.HOSTNAME: raw})
    assert [p.variable for p in error.value.problems] == [issuer_settings.HOSTNAME]
    # Quoted, except a user name or password, which never shows.
    assert repr(raw) in str(error.value) or "<userinfo>@" in str(error.value)


def test_refusal_names_terrakube_hostname_when_it_was_the_source() -> None:
    env = {issuer_settings.TERRAKUBE_HOSTNAME: "host/", issuer_settings.PRIVATE_KEY_PATH: "/k"}
    assert _problems(env) == [issuer_settings.TERRAKUBE_HOSTNAME]


# kid


def test_empty_kid_means_default() -> None:
    assert (
        issuer_settings.from_env({**BASE, issuer_settings.KEY_ID: ""}).key_id
        == issuer_settings.DEFAULT_KEY_ID
    )


@pytest.mark.parametrize("kid", ["a", "k" * 128, "key-2024_01.v2", "!~#$%"])
def test_kid_accepted(kid: str) -> None:
    assert issuer_settings.from_env({**BASE, issuer_settings.KEY_ID: kid}).key_id == kid


@pytest.mark.parametrize("kid", ["k" * 129, "my kid", " kid", "kid\n", "clé", "\x7f"])
def test_kid_refused(kid: str) -> None:
    assert _problems({**BASE, issuer_settings.KEY_ID: kid}) == [issuer_settings.KEY_ID]


# TTL


@pytest.mark.parametrize(("raw", "minutes"), [("", 30), ("1", 1), ("30", 30), ("1440", 1440)])
def test_ttl(raw: str, minutes: int) -> None:
    assert issuer_settings.from_env({**BASE, issuer_settings.TTL: raw}).ttl_minutes == minutes


@pytest.mark.parametrize("raw", ["0", "1441", "-5", "30m", "1.5", " 30", "thirty"])
def test_ttl_refused(raw: str) -> None:
    with pytest.raises(ConfigError) as error:
        issuer_settings.from_env({**BASE, issuer_settings.TTL: raw})
    assert [p.variable for p in error.value.problems] == [issuer_settings.TTL]
    assert "1 to 1440" in str(error.value)


# key paths


@pytest.mark.parametrize("raw", [None, ""])
def test_private_key_required(raw: str | None) -> None:
    env = {issuer_settings.HOSTNAME: HOST}
    if raw is not None:
        env[issuer_settings.PRIVATE_KEY_PATH] = raw
    with pytest.raises(ConfigError) as error:
        issuer_settings.from_env(env)
    assert [p.variable for p in error.value.problems] == [issuer_settings.PRIVATE_KEY_PATH]
    assert "required" in str(error.value)


def test_private_key_optional_when_not_required() -> None:
    settings = issuer_settings.from_env({issuer_settings.HOSTNAME: HOST}, require_key=False)
    assert settings.private_key_path is None
    assert settings.issuer == f"https://{HOST}"


def test_private_key_still_read_when_not_required() -> None:
    assert issuer_settings.from_env(BASE, require_key=False).private_key_path == Path(
        "/keys/private.pem"
    )


@pytest.mark.parametrize(
    "name", [issuer_settings.PRIVATE_KEY_PATH, issuer_settings.PUBLIC_KEY_PATH]
)
@pytest.mark.parametrize("raw", [" /keys/k.pem", "/keys/k.pem ", "/keys/k\n.pem", "/keys/\x00"])
def test_key_paths_refuse_blanks_and_control_characters(name: str, raw: str) -> None:
    assert _problems({**BASE, name: raw}) == [name]


def test_all_problems_reported_at_once() -> None:
    env = {
        issuer_settings.HOSTNAME: "host/",
        issuer_settings.KEY_ID: "a b",
        issuer_settings.TTL: "0",
        issuer_settings.PUBLIC_KEY_PATH: " p",
    }
    assert _problems(env) == [
        issuer_settings.HOSTNAME,
        issuer_settings.KEY_ID,
        issuer_settings.TTL,
        issuer_settings.PRIVATE_KEY_PATH,
        issuer_settings.PUBLIC_KEY_PATH,
    ]


@pytest.mark.parametrize(
    "raw", ["terrakube.example.com:65536", "https://terrakube.example.com:99999"]
)
def test_issuer_port_out_of_range_refused(raw: str) -> None:
    assert _problems({**BASE, issuer_settings.HOSTNAME: raw}) == [issuer_settings.HOSTNAME]


# The longest path a Unix socket address holds on Linux (108 bytes with its NUL).
_LONGEST_SOCKET = "/" + "s" * 106


@pytest.mark.parametrize(
    ("raw", "socket"),
    [
        (f"unix:{_LONGEST_SOCKET}", Path(_LONGEST_SOCKET)),
        ("https://signer.example.com", None),  # keyless: injector.job.keyless reads it
        ("", None),
    ],
)
def test_signer_socket(raw: str, socket: Path | None) -> None:
    assert issuer_settings.signer_socket({issuer_settings.SIGNER: raw}) == socket


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (f"unix:{_LONGEST_SOCKET}s", "longer than a Unix socket allows (107 bytes)"),
        ("unix:relative/signer.sock", "expected an absolute path"),
        ("/run/injector/signer.sock", "expected unix:/absolute/path"),
        ("tcp://127.0.0.1:9000", "expected unix:/absolute/path"),
    ],
)
def test_signer_socket_refused(raw: str, expected: str) -> None:
    with pytest.raises(ConfigError) as error:
        issuer_settings.signer_socket({issuer_settings.SIGNER: raw})
    [problem] = error.value.problems
    assert problem.variable == issuer_settings.SIGNER
    assert expected in problem.message
