"""Validators for URLs in environment values (an issuer, a cloud's endpoint, a Vault address):
absolute, https (plain http only to a loopback address where a test stand-in may listen), a host
a cloud can resolve and a plain path. Each raises ConfigError naming the variable.
"""

from __future__ import annotations

import re

from injector.config.values import shown
from injector.errors import ConfigError

# 1 to 65535: a typo in a port must not reach `iss` or a credentials file.
PORT = r"(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})"


def https_url(name: str, value: str, form: str) -> str:
    """An absolute https URL with a host, no credentials, query or fragment."""
    return web_url(name, value, form, loopback_http=False)


def endpoint_url(name: str, value: str, form: str) -> str:
    """An https URL, or plain http to a loopback address (local stand-ins in tests)."""
    return web_url(name, value, form, loopback_http=True)


# RFC 1035 as clouds resolve names: labels of 1 to 63 letters, digits and '-', not starting or
# ending with '-'; the whole name at most 253 characters.
_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
MAX_HOST_LENGTH = 253
_URL = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<userinfo>[^/?#@]*@)?"
    r"(?P<host>\[[^\]/?#@]*\]|[^/?#:@]*)"
    r"(:(?P<port>[^/?#]*))?(?P<path>/[^?#]*)?(?P<rest>[?#].*)?",
    re.DOTALL,
)
_LOOPBACK = re.compile(r"127(\.[0-9]{1,3}){3}|localhost|\[::1\]")
_PATH_CHARACTERS = re.compile(r"[A-Za-z0-9._~!$&'()*+,;=:@/-]*")
_PATH_CHARACTERS_OR_ESCAPES = re.compile(r"([A-Za-z0-9._~!$&'()*+,;=:@/-]|%[0-9A-Fa-f]{2})*")


def host_problem(host: str) -> str | None:
    """Why `host` is not a DNS name (or IPv4 address) a cloud can resolve, or None."""
    if not host:
        return "has no host"
    if len(host) > MAX_HOST_LENGTH:
        return f"has a host name of {len(host)} characters, over DNS's {MAX_HOST_LENGTH}"
    labels = host.split(".")
    if "" in labels:
        return "has an empty DNS label in its host (two dots in a row, or a dot at an end)"
    bad = next((label for label in labels if not _LABEL.fullmatch(label)), None)
    if bad is not None:
        return (
            f"has a host label {shown(bad)}: expected 1 to 63 letters, digits and '-', "
            "neither first nor last"
        )
    return None


def path_problem(path: str, *, escapes: bool, trailing_slash: bool) -> str | None:
    """Why `path` (from a URL) is not a plain absolute path, or None: dot-segments and empty
    segments are refused, since a server or a proxy may resolve them to another path than the
    one a cloud compares."""
    allowed = _PATH_CHARACTERS_OR_ESCAPES if escapes else _PATH_CHARACTERS
    if not allowed.fullmatch(path):
        extra = " or %XX escapes" if escapes else ", without %-escapes"
        return f"has a path with characters outside A-Z a-z 0-9 ._~!$&'()*+,;=:@-/{extra}"
    segments = path.split("/")[1:]
    if trailing_slash and segments and segments[-1] == "":
        segments = segments[:-1]
    if any(segment in (".", "..") for segment in segments):
        return "has a '.' or '..' segment in its path"
    if "" in segments:
        return "has an empty segment in its path ('//', or a trailing '/')"
    return None


def web_url(
    name: str,
    value: str,
    form: str,
    *,
    loopback_http: bool,
    escapes: bool = True,
    trailing_slash: bool = True,
) -> str:
    """An absolute https URL with a DNS host, an optional port and a plain path; no userinfo,
    query or fragment. With `loopback_http`, plain http is taken to 127.0.0.0/8 or localhost."""
    problem = url_problem(
        value, loopback_http=loopback_http, escapes=escapes, trailing_slash=trailing_slash
    )
    if problem is not None:
        raise ConfigError.of(name, f"{problem}: expected {form}, got {shown(value)}")
    return value


def url_problem(
    value: str, *, loopback_http: bool, escapes: bool = True, trailing_slash: bool = True
) -> str | None:
    """Why `value` is not the URL `web_url` takes, or None."""
    match = _URL.fullmatch(value)
    if match is None:
        return "is not an absolute URL"
    if match["userinfo"] is not None:
        return "carries a user name or password: credentials never go in this URL"
    if match["rest"] is not None:
        return "has a query or fragment"
    if match["scheme"] == "http":
        if not loopback_http:
            return "is plain http"
        if not _LOOPBACK.fullmatch(match["host"]):
            return "is plain http to a host that is not a loopback address"
    elif match["scheme"] != "https":
        return f"has the scheme {shown(match['scheme'])}, not https"
    port = match["port"]
    if port is not None and not re.fullmatch(PORT, port):
        return "has a port outside 1 to 65535"
    host = match["host"]
    if not _LOOPBACK.fullmatch(host) or not host.startswith("["):
        problem = host_problem(host)
        if problem is not None:
            return problem
    return path_problem(match["path"] or "", escapes=escapes, trailing_slash=trailing_slash)
