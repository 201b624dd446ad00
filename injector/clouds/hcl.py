"""A value as Terraform reads a `TF_VAR_<name>` of an object or list type: an HCL expression,
not JSON. HCL's quoted strings are templates, where `${` and `%{` start an interpolation or a
directive (a path holding them would make Terraform read another value, or stop with
"Variables not allowed") and where JSON's `\\b` and `\\f` are not escapes. So strings are
written by HCL's rules: `$${` and `%%{` for the literal sequences, `\\uNNNN` for the controls.
Objects use `:`, which HCL takes as well as `=`: a value without those sequences stays JSON.
HCL reads every string in Unicode NFC, so a string in another form is refused: it would not
reach Terraform as it is.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence

from injector.errors import ConfigError

_SHORT = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
# What must not stand as itself in a quoted template: a backslash, a quote, a control, and
# the two characters that open a template sequence before a brace.
_SPECIAL = re.compile(r'[\\"\x00-\x1f\x7f]|[$%](?=\{)')


def _string(text: str, variable: str) -> str:
    if not unicodedata.is_normalized("NFC", text):
        raise ConfigError.of(
            variable,
            f"would hold {ascii(text)[:80]}, which Terraform reads in Unicode NFC, as another "
            "string: expected text in NFC form",
        )

    def escaped(match: re.Match[str]) -> str:
        char = match[0]
        if char in "$%":
            return char * 2  # `$${` is a literal `${`, `%%{` a literal `%{`
        return _SHORT.get(char) or f"\\u{ord(char):04x}"

    return f'"{_SPECIAL.sub(escaped, text)}"'


def render(value: object, variable: str = "TF_VAR_*") -> str:
    """`value` (strings, booleans, integers, None, lists and string-keyed objects) as an HCL
    expression that Terraform evaluates back to exactly `value`. Raises ConfigError naming
    `variable` for a string Terraform would read as another."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _string(value, variable)
    if isinstance(value, Mapping):
        pairs = (f"{_string(str(k), variable)}:{render(v, variable)}" for k, v in value.items())
        return "{" + ",".join(pairs) + "}"
    if isinstance(value, Sequence):
        return "[" + ",".join(render(item, variable) for item in value) + "]"
    raise TypeError(f"no HCL form for {type(value).__name__}")
