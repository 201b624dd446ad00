"""Validators for single environment values. Each raises ConfigError naming the variable.

Messages quote the bad value (shortened) so an operator sees the typo; no value read through
these validators is a secret.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

from injector.errors import ConfigError

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# 1 to 65535: a typo in a port must not reach `iss` or a credentials file.
PORT = r"(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})"
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


# Unicode categories that render as nothing, as a blank or as a line break, or not at all:
# format (U+200B, U+202E), line and paragraph separators, private use, unassigned.
_INVISIBLE = frozenset({"Cf", "Zl", "Zp", "Co", "Cn"})
# `scheme://user:password@host`: the userinfo, which a message never shows.
_USERINFO = re.compile(r"(?<=://)[^/?#@\s]*@")
# How much of a value or path a message quotes: enough to spot a typo, never a flood.
SHOWN_LIMIT = 80
# Paths run longer than values; a message still cuts one someone else chose (120 KB).
PATH_LIMIT = 240


def clipped(text: str, limit: int = SHOWN_LIMIT) -> str:
    """`text` without a URL's userinfo, cut in the middle when longer than `limit`: the start
    and the end are where a typo shows."""
    text = _USERINFO.sub("<userinfo>@", text)
    if len(text) <= limit:
        return text
    head = limit * 2 // 3
    tail = limit - head
    return f"{text[:head]}...{text[len(text) - tail :]} ({len(text)} characters)"


def shown(value: str, limit: int = SHOWN_LIMIT) -> str:
    """The value as an error message quotes it: repr, so blanks and control characters show;
    a URL's userinfo hidden and a long value cut (see `clipped`)."""
    text = _USERINFO.sub("<userinfo>@", value)
    if len(text) <= limit:
        return repr(text)
    head = limit * 2 // 3
    tail = limit - head
    return f"{text[:head]!r}...{text[len(text) - tail :]!r} ({len(text)} characters)"


def unsafe_character(value: str) -> str | None:
    """What makes `value` look other than it is, or None: a character that shows as nothing or
    as a blank or line break (U+200B, U+202E, U+2028, U+00A0), or one that NFKC would turn
    into another (the fullwidth colon U+FF1A, which a reader takes for ':'). A trust policy
    compares bytes; a person compares what they see."""
    for character in value:
        category = unicodedata.category(character)
        if category in _INVISIBLE or (category == "Zs" and character != " "):
            name = unicodedata.name(character, "unassigned")
            return f"U+{ord(character):04X} ({name.lower()})"
    normal = unicodedata.normalize("NFKC", value)
    if normal != value:
        for character in value:
            if unicodedata.normalize("NFKC", character) != character:
                return (
                    f"U+{ord(character):04X} ({unicodedata.name(character, '?').lower()}), "
                    f"which reads as {unicodedata.normalize('NFKC', character)!r}"
                )
        return "a character sequence that Unicode normalization (NFKC) changes"
    return None


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


def false_word(value: str) -> bool:
    """Whether `boolean` reads `value` as off."""
    return value.lower() in _FALSE


def matching(name: str, value: str, pattern: re.Pattern[str], form: str) -> str:
    if not pattern.fullmatch(value):
        raise ConfigError.of(name, f"expected {form}, got {shown(value)}")
    return value


def guid(name: str, value: str) -> str:
    return matching(name, value, _GUID, "a GUID like 00000000-0000-0000-0000-000000000000")


# Every value that reaches `sub` or another claim (job context names and ids, audiences, any
# value a future placeholder adds) follows one rule, `claim`: free text of at most this many
# characters (far above any Terrakube name, low enough that a token of such values stays
# within every cloud's token size limit).
CLAIM_MAX_LENGTH = 255


def claim(name: str, value: str, form: str, *, max_length: int = CLAIM_MAX_LENGTH) -> str:
    """A value that goes into a token's claims: `text` with look-alikes refused and at most
    CLAIM_MAX_LENGTH characters (or a cloud's own lower limit). Raises ConfigError naming
    `name`, the variable the user set."""
    return text(name, value, form, max_length=min(max_length, CLAIM_MAX_LENGTH))


def text(
    name: str,
    value: str,
    form: str,
    *,
    forbidden: str = "",
    max_length: int | None = None,
    look_alikes: bool = True,
) -> str:
    """Free text: no control characters, no surrounding blanks, none of `forbidden`, at most
    `max_length` characters; with `look_alikes` (names, ids, audiences; not file paths), none
    of the characters `unsafe_character` refuses."""
    if not value:
        raise ConfigError.of(name, f"is empty: expected {form}")
    if max_length is not None and len(value) > max_length:
        raise ConfigError.of(
            name, f"is {len(value)} characters long: expected {form}, at most {max_length}"
        )
    if _CONTROL.search(value):
        raise ConfigError.of(name, f"contains a control character: expected {form}")
    if value != value.strip():
        raise ConfigError.of(name, f"has leading or trailing blanks: expected {form}")
    unsafe = unsafe_character(value) if look_alikes else None
    if unsafe is not None:
        raise ConfigError.of(name, f"contains {unsafe}: expected {form}, got {shown(value)}")
    bad = sorted({c for c in forbidden if c in value})
    if bad:
        listed = " ".join(repr(c) for c in bad)
        raise ConfigError.of(name, f"contains {listed}: expected {form}, got {shown(value)}")
    return value


def positive_int(name: str, value: str, *, maximum: int, unit: str) -> int:
    form = f"a whole number of {unit} from 1 to {maximum}"
    if not re.fullmatch(r"[0-9]+", value):
        raise ConfigError.of(name, f"expected {form}, got {shown(value)}")
    # Counted before int(): Python refuses to convert more than 4,300 digits (ValueError).
    digits = value.lstrip("0")
    if len(digits) > len(str(maximum)):
        raise ConfigError.of(name, f"expected {form}, got a number of {len(digits)} digits")
    number = int(value)
    if not 1 <= number <= maximum:
        raise ConfigError.of(name, f"expected {form}, got {number}")
    return number


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


def minutes(count: int) -> str:
    """`1 minute`, `5 minutes`: for messages about lifetimes."""
    return f"{count} minute" if count == 1 else f"{count} minutes"
