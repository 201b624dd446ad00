"""A command's whole output compared to the text it must print, once the parts a run makes up
(ports, paths, key ids, thumbprints, elapsed times) are named instead of shown: what keeps a
change inside the checks from moving a single byte of what an operator reads."""

from __future__ import annotations

import re
from collections.abc import Mapping

# What differs from one run to the next, even with the same inputs: each match is shown as
# its name in angle brackets.
_MADE_UP = (
    (re.compile(r"\b[0-9a-f]{40}\b"), "<sha1>"),
    (re.compile(r"n=[0-9a-f]{8}\.\.\.[0-9a-f]{8}"), "n=<modulus>"),
    (re.compile(r"#[A-Za-z0-9_-]{16},"), "#<serial>,"),
    (
        re.compile(r"(expires in|expired|issued|valid for) [0-9.]+ (s|min|h|more days)"),
        r"\1 <n> \2",
    ),
)


def normalized(output: str, literals: Mapping[str, str]) -> str:
    """`output` with each value of `literals` shown as `<its name>`, longest first (a path
    holding a URL's port is replaced whole), then the made-up parts."""
    for name, value in sorted(literals.items(), key=lambda item: -len(item[1])):
        output = output.replace(value, f"<{name}>")
    for pattern, shown in _MADE_UP:
        output = pattern.sub(shown, output)
    return output
