"""A token's times as a cloud checks them: `exp`, `iat`, `nbf` with the cloud's clock skew, and
the lifetime (`exp - iat`) against its limits and advice. `doctor` checks the configured TTL with
the same rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from injector.clouds.rules import (
    EXPIRED,
    HOUR,
    LIFETIME,
    MALFORMED,
    MINUTE,
    NOT_YET_VALID,
    CloudRules,
)
from injector.diagnostics import checks
from injector.diagnostics.checks import Line


def _integer(claims: Mapping[str, Any], name: str) -> int | None:
    value = claims.get(name)
    return None if isinstance(value, bool) or not isinstance(value, int) else value


def _span(seconds: float) -> str:
    seconds = abs(int(seconds))
    if seconds < 2 * MINUTE:
        return f"{seconds} s"
    if seconds < 2 * HOUR:
        return f"{seconds // MINUTE} min"
    return f"{seconds / HOUR:.1f} h"


def check(claims: Mapping[str, Any], rules: CloudRules, now: float) -> list[Line]:
    """The lines for `exp`, `iat`, `nbf` and the lifetime under the cloud's time rules."""
    expires, issued = _integer(claims, "exp"), _integer(claims, "iat")
    lines = []
    if expires is None:
        lines.append(
            checks.fail("exp", "missing or not an integer (NumericDate)", rules.code(MALFORMED))
        )
    elif expires <= now:
        lines.append(
            checks.fail(
                "exp",
                f"expired {_span(now - expires)} ago: mint a fresh token (or the clock of this "
                "machine or the issuer's is off)",
                rules.code(EXPIRED),
            )
        )
    else:
        lines.append(checks.ok("exp", f"expires in {_span(expires - now)}"))
    if issued is None:
        lines.append(
            checks.fail("iat", "missing or not an integer (NumericDate)", rules.code(MALFORMED))
        )
    elif issued > now + rules.checks.clock_skew_seconds:
        lines.append(
            checks.fail(
                "iat",
                f"issued {_span(issued - now)} in the future: the issuer's clock is ahead",
                rules.code(NOT_YET_VALID),
            )
        )
    else:
        lines.append(checks.ok("iat", f"issued {_span(now - issued)} ago"))
    not_before = _integer(claims, "nbf")
    if not_before is not None and not_before > now + rules.checks.clock_skew_seconds:
        lines.append(
            checks.fail(
                "nbf", f"not valid for another {_span(not_before - now)}", rules.code(NOT_YET_VALID)
            )
        )
    if expires is not None and issued is not None:
        lines.append(lifetime(expires - issued, rules))
    return lines


def lifetime(seconds: int, rules: CloudRules, rule: str = "lifetime") -> Line:
    """The line for a token lifetime of `seconds` under the cloud's rules."""
    if seconds <= 0:
        return checks.fail(rule, "exp is not after iat", rules.code(NOT_YET_VALID))
    if (
        rules.checks.max_lifetime_seconds is not None
        and seconds > rules.checks.max_lifetime_seconds
    ):
        return checks.fail(
            rule,
            f"{_span(seconds)}: {rules.label} refuses tokens that live over "
            f"{_span(rules.checks.max_lifetime_seconds)} (exp - iat)",
            rules.code(LIFETIME),
        )
    high, low = rules.advice.recommended_max, rules.advice.recommended_min
    if high is not None and seconds > high.seconds:
        return checks.warn(rule, f"{_span(seconds)}: {high.why} {_span(high.seconds)}")
    if low is not None and seconds < low.seconds:
        return checks.warn(
            rule,
            f"{_span(seconds)}: {low.why}; use at least {_span(low.seconds)} "
            "(DynamicCredentialTtl)",
            rules.code(LIFETIME),
        )
    return checks.ok(rule, _span(seconds))
