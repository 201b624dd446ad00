"""Validators for single environment values. Each raises ConfigError naming the variable.

Messages quote the bad value (shortened) so an operator sees the typo; no value read through
these validators is a secret.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from injector.errors import ConfigError

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# 1 to 65535: a typo in a port must not reach `iss` or a credentials file.
PORT = r"(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})"
_URL_PATH = r"(/[A-Za-z0-9._~%!$&'()*+,;=:@/-]*)?"
_HTTPS_URL = re.compile(rf"https://[A-Za-z0-9.-]+(:{PORT})?{_URL_PATH}")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def shown(value: str, limit: int = 80) -> str:
    """The value as an error message quotes it: repr, so blanks and control characters show."""
    if len(value) > limit:
        value = value[:limit] + "..."
    return repr(value)


def optional(env: Mapping[str, str], name: str) -> str | None:
    """The variable's value, or None when it is unset or empty (Terrakube sends empty values)."""
    value = env.get(name)
    return value if value else None


def required(env: Mapping[str, str], name: str, form: str) -> str:
    value = optional(env, name)
    if value is None:
        raise ConfigError.of(name, f"is required: expected {form}")
    return value


def boolean(env: Mapping[str, str], name: str) -> bool:
    """A switch. Unset is off; any value outside true/false/1/0/yes/no/on/off is an error.

    Terrakube treats mere presence as on, so `=false` would enable the cloud; we refuse to guess.
    """
    value = env.get(name)
    if value is None:
        return False
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigError.of(
        name, f"expected one of true/false/1/0/yes/no/on/off (any case), got {shown(value)}"
    )


def matching(name: str, value: str, pattern: re.Pattern[str], form: str) -> str:
    if not pattern.fullmatch(value):
        raise ConfigError.of(name, f"expected {form}, got {shown(value)}")
    return value


def guid(name: str, value: str) -> str:
    return matching(name, value, _GUID, "a GUID like 00000000-0000-0000-0000-000000000000")


def text(name: str, value: str, form: str, *, forbidden: str = "") -> str:
    """Free text: no control characters, no surrounding blanks, none of `forbidden`."""
    if not value:
        raise ConfigError.of(name, f"is empty: expected {form}")
    if _CONTROL.search(value):
        raise ConfigError.of(name, f"contains a control character: expected {form}")
    if value != value.strip():
        raise ConfigError.of(name, f"has leading or trailing blanks: expected {form}")
    bad = sorted({c for c in forbidden if c in value})
    if bad:
        listed = " ".join(repr(c) for c in bad)
        raise ConfigError.of(name, f"contains {listed}: expected {form}, got {shown(value)}")
    return value


def positive_int(name: str, value: str, *, maximum: int, unit: str) -> int:
    form = f"a whole number of {unit} from 1 to {maximum}"
    if not re.fullmatch(r"[0-9]+", value):
        raise ConfigError.of(name, f"expected {form}, got {shown(value)}")
    number = int(value)
    if not 1 <= number <= maximum:
        raise ConfigError.of(name, f"expected {form}, got {number}")
    return number


def https_url(name: str, value: str, form: str) -> str:
    """An absolute https URL with a host, no credentials, query or fragment."""
    if not _HTTPS_URL.fullmatch(value):
        raise ConfigError.of(name, f"expected {form}, got {shown(value)}")
    return value


_LOOPBACK_HTTP = re.compile(rf"http://(127\.[0-9.]+|localhost|\[::1\])(:{PORT})?{_URL_PATH}")


def endpoint_url(name: str, value: str, form: str) -> str:
    """An https URL, or plain http to a loopback address (local stand-ins in tests)."""
    if _LOOPBACK_HTTP.fullmatch(value):
        return value
    return https_url(name, value, form)


def either(
    env: Mapping[str, str], first: str, second: str, pattern: re.Pattern[str], form: str
) -> str | None:
    """One value that may come under two names (a region, a project): either may be set, or
    both to the same value; two different values are refused rather than one picked."""
    a, b = optional(env, first), optional(env, second)
    if a and b and a != b:
        raise ConfigError.of(
            first, f"is {shown(a)} but {second} is {shown(b)}: set one, or both to the same value"
        )
    if a:
        return matching(first, a, pattern, form)
    return None if b is None else matching(second, b, pattern, form)


def optional_matching(
    env: Mapping[str, str], name: str, pattern: re.Pattern[str], form: str
) -> str | None:
    value = optional(env, name)
    return None if value is None else matching(name, value, pattern, form)
