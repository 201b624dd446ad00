"""The JSON types RFC 7519 §4.1 gives the registered claims a platform token must carry right,
checked on the token's claims before pyjwt verifies it.

pyjwt reads `exp`, `nbf` and `iat` through `int()`, so `"exp": "1999999999"` and `"exp": true`
pass its checks; a NumericDate is a JSON number (§2), and JSON has no NaN or infinity (Python's
parser takes both). `aud` is one string or an array of strings (§4.1.3), `iss` and `sub` are
strings. Checking before the
signature is safe: this only refuses, and a token refused for its shape would be refused for
its signature or claims too if it got that far.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

NUMERIC_DATES = ("exp", "nbf", "iat")
STRINGS = ("iss", "sub")


def problem(claims: Mapping[str, object]) -> str | None:
    """What is wrong with the types of `claims`' registered claims, naming the claim; None
    when nothing is. Absent claims are not this check's business (pyjwt requires them)."""
    for name in NUMERIC_DATES:
        if name in claims and not _number(claims[name]):
            return f"{name} is not a NumericDate (a JSON number of seconds): {_kind(claims[name])}"
    for name in STRINGS:
        if name in claims and not isinstance(claims[name], str):
            return f"{name} is not a string: {_kind(claims[name])}"
    audience = claims.get("aud", "")
    listed = audience if isinstance(audience, list) else [audience]
    if not all(isinstance(one, str) for one in listed):
        return f"aud is not a string or a list of strings: {_kind(audience)}"
    return None


def _number(value: object) -> bool:
    # bool is an int to Python, but true is no number in JSON.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return isinstance(value, int) or math.isfinite(value)  # an int of any size is finite


def _kind(value: object) -> str:
    """The JSON kind of `value`, never the value: a claim's text could be anything."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN or an infinity"
    return {str: "a string", list: "an array", dict: "an object", type(None): "null"}.get(
        type(value), "a number"
    )
