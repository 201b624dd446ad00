"""`injector verify`: check a token the way the cloud it is meant for would, and say which rule
fails and what the cloud would answer.

The steps are the clouds' own: read the token, fetch `<iss>/.well-known/openid-configuration`
over HTTPS, check that it names the same issuer, follow its `jwks_uri`, find the key by `kid`,
check the algorithm against what the cloud accepts, verify the signature, then the times, the
audience and the subject (issuer_checks, then token_checks).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

import jwt

from injector import clouds, files
from injector.clouds.rules import MALFORMED, CloudRules, same
from injector.diagnostics import checks, issuer_checks, token_checks
from injector.diagnostics.checks import Line
from injector.diagnostics.fetch import Fetcher
from injector.errors import ConfigError, InjectorError

# Far above any token a cloud takes (AWS: 20,000 characters), so such a token is read and then
# fails its rule, while a huge file is refused before it fills memory.
MAX_TOKEN_FILE_BYTES = 1 << 20

_COUNTS = {2: "both", 3: "all three", 4: "all four", 5: "all five"}


def check(
    compact: str,
    fetcher: Fetcher,
    *,
    cloud: str | None = None,
    expect_sub: str | None = None,
    expect_aud: str | None = None,
    now: float | None = None,
) -> list[Line]:
    """Every line `injector verify` prints for `compact`."""
    try:
        token = token_checks.decode(compact)
    except jwt.PyJWTError as error:
        code = (clouds.named(cloud).rules if cloud else clouds.any_rules()).code(MALFORMED)
        return [checks.fail("token", f"not a signed JWT (header.claims.signature): {error}", code)]
    header = ", ".join(f"{name}={token.header.get(name)}" for name in ("alg", "kid", "typ"))
    lines = [checks.ok("token", f"decoded: {header}")]
    if cloud is not None:
        rules = clouds.named(cloud).rules
        lines.append(checks.ok("cloud", f"{cloud} ({rules.label}, from --cloud)"))
    else:
        guessed = clouds.guess(token.claims.get("aud"))
        if guessed is None:
            rules = clouds.any_rules()
            names = clouds.names()
            every = _COUNTS.get(len(names), f"all {len(names)}")
            lines.append(
                checks.warn(
                    "cloud",
                    f"not told by aud: checked against the rules of {every} clouds"
                    f"{_shared(rules)}; pass --cloud {'|'.join(names)}",
                )
            )
        else:
            rules = guessed.rules
            lines.append(checks.ok("cloud", f"{rules.name} ({rules.label}, from aud)"))
    issuer_lines, documents = issuer_checks.check(token.claims.get("iss"), fetcher, rules)
    lines += issuer_lines
    lines += token_checks.check(
        token, documents, rules, expect_sub=expect_sub, expect_aud=expect_aud, now=now
    )
    return lines


def _shared(rules: CloudRules) -> str:
    """` (X's are Y's)` for each cloud whose rules are another's, which `rules` (every cloud's
    together) lists once, under that other's label."""
    said = []
    for cloud in clouds.registered():
        owner = next(member for member in rules.members if same(cloud.rules, member))
        if owner.name != cloud.name:
            said.append(f"{cloud.label}'s are {owner.label}'s")
    return f" ({', '.join(said)})" if said else ""


def read_token(argument: str | None, file: Path | None, stdin: TextIO) -> str:
    """The token from the argument, `--file` or standard input (when neither, or the argument
    is `-`). Raises ConfigError when both are given, the file cannot be read, or it is empty."""
    if argument is not None and file is not None:
        raise ConfigError.of("usage", "give the token as an argument or with --file, not both")
    if file is not None:
        try:
            data = files.read_file(file, "--file", "a token", limit=MAX_TOKEN_FILE_BYTES)
        except ConfigError as error:
            reason = error.problems[0].message
            raise ConfigError.of("--file", f"cannot read the token file: {reason}") from None
        text = data.decode("ascii", errors="replace")
        source = str(file)
    elif argument is not None and argument != "-":
        text, source = argument, "the argument"
    else:
        if stdin.isatty():
            raise ConfigError.of(
                "usage", "expected a token: injector verify TOKEN, --file F, or on stdin"
            )
        text, source = stdin.read(), "stdin"
    text = text.strip()
    if not text:
        raise ConfigError.of("usage", f"no token in {source}")
    return text


def command(
    argument: str | None,
    file: Path | None,
    *,
    cloud: str | None,
    expect_sub: str | None,
    expect_aud: str | None,
    ca_bundle: Path | None,
    env: Mapping[str, str],
) -> int:
    """Print the checklist on stdout; return 0 when no rule failed, 1 otherwise. Raises
    ConfigError (exit 2) for bad usage."""
    from injector.diagnostics import fetch

    compact = read_token(argument, file, sys.stdin)
    trusted = fetch.trust(ca_bundle, env)
    try:
        with Fetcher(trusted) as fetcher:
            lines = check(
                compact, fetcher, cloud=cloud, expect_sub=expect_sub, expect_aud=expect_aud
            )
    except OSError as error:
        raise InjectorError(f"verify failed: {error}") from None
    sys.stdout.write(checks.render(lines))
    return checks.exit_status(lines)
