"""RFC 8693 token exchange over HTTP: a form in, a status and a JSON answer out.

    POST /token   (application/x-www-form-urlencoded)
    grant_type=urn:ietf:params:oauth:grant-type:token-exchange
    subject_token=<the platform's JWT>
    subject_token_type=urn:ietf:params:oauth:token-type:jwt   (or ...:id_token)
    audience=<one cloud audience>

200: {"access_token", "issued_token_type": "urn:ietf:params:oauth:token-type:jwt",
"token_type": "N_A", "expires_in"}. Errors as §2.2.2 and RFC 6749 §5.2 say: 400 with
`invalid_request` (malformed, an invalid subject token, a policy refusal), `invalid_target`
(an audience the policy does not allow), `unsupported_grant_type`; 503 when a platform's keys
cannot be fetched. No description ever holds the subject token, and each keeps to the ASCII
subset §5.2 allows (the reasons quote claims, which may hold anything).

The form is read as RFC 6749 §3.2 says: a parameter without a value is one not given, and one
neither RFC defines is ignored. Of the parameters they do define, the signer refuses (never
ignores) those asking for something it does not do: a second value, delegation, another token
type, a resource or scope (a narrower grant the client would wrongly believe it got).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import parse_qs

from injector.signer import protocol
from injector.signer.service import INVALID_TARGET, Service

PATH = "/token"
FORM_TYPE = "application/x-www-form-urlencoded"
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:token-exchange"
JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt"
SUBJECT_TOKEN_TYPES = (JWT_TYPE, "urn:ietf:params:oauth:token-type:id_token")
MAX_FORM_BYTES = 64 * 1024
_FIELDS = frozenset(
    {"grant_type", "subject_token", "subject_token_type", "audience", "resource", "scope"}
)
# RFC 8693 §2.1's delegation and token-type choice: understood, and not offered.
_DELEGATION = ("actor_token", "actor_token_type")
_REQUESTED_TYPE = "requested_token_type"
_UNDERSTOOD = _FIELDS | {*_DELEGATION, _REQUESTED_TYPE}
# Both headers: HTTP/1.0 caches know only Pragma (RFC 6749 §5.1).
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@dataclass(frozen=True)
class Answer:
    status: int
    document: dict[str, object]

    @property
    def body(self) -> bytes:
        return json.dumps(self.document, separators=(",", ":")).encode("utf-8")


def _error(code: str, description: str, status: int = 400) -> Answer:
    return Answer(status, {"error": code, "error_description": described(description)})


def described(text: str) -> str:
    """`text` within RFC 6749 §5.2's characters for an error_description: printable ASCII but
    `"` and `\\`. A double quote becomes a single one; anything else outside is spelled U+XXXX,
    so a claim's odd character is still told, not dropped."""
    return "".join(map(_spelled, text))


def _spelled(character: str) -> str:
    if character == '"':
        return "'"
    if " " <= character <= "~" and character != "\\":
        return character
    return f"U+{ord(character):04X}"


def _form(body: bytes) -> dict[str, list[str]] | Answer:
    try:
        text = body.decode("utf-8")
        fields = parse_qs(
            text, keep_blank_values=True, strict_parsing=bool(text), max_num_fields=16
        )
    except (UnicodeDecodeError, ValueError):
        return _error(
            "invalid_request", "the body is not an application/x-www-form-urlencoded form"
        )
    # A blank value is no value (§3.2), and a parameter no RFC here defines is ignored.
    given = {
        name: [value for value in values if value]
        for name, values in fields.items()
        if name in _UNDERSTOOD
    }
    given = {name: values for name, values in given.items() if values}
    repeated = sorted(name for name, values in given.items() if len(values) > 1)
    if repeated:
        return _error(
            "invalid_request", f"parameter(s) given more than once: {', '.join(repeated)}"
        )
    delegation = [name for name in _DELEGATION if name in given]
    if delegation:
        return _error("invalid_request", f"delegation is not offered: {', '.join(delegation)}")
    if given.get(_REQUESTED_TYPE, [JWT_TYPE]) != [JWT_TYPE]:
        return _error("invalid_request", f"{_REQUESTED_TYPE}: only {JWT_TYPE} is issued")
    return given


def answer(service: Service, body: bytes, remote: str) -> Answer:
    """The answer to one POST /token with `body`, from the peer at `remote` (for the audit)."""
    fields = _form(body)
    if isinstance(fields, Answer):
        return fields
    one = {name: values[0] for name, values in fields.items()}
    if one.get("grant_type") != GRANT_TYPE:
        if "grant_type" not in one:
            return _error("invalid_request", f"grant_type is required: expected {GRANT_TYPE}")
        return _error("unsupported_grant_type", f"expected grant_type {GRANT_TYPE}")
    token = one.get("subject_token", "")
    if not token:
        return _error("invalid_request", "subject_token is required: the platform's JWT")
    if one.get("subject_token_type") not in SUBJECT_TOKEN_TYPES:
        return _error(
            "invalid_request",
            f"subject_token_type: expected one of {', '.join(SUBJECT_TOKEN_TYPES)}",
        )
    if "resource" in one or "scope" in one:
        return _error("invalid_target", "resource and scope are not used: give one audience")
    audience = one.get("audience", "")
    if not audience or any(ord(character) < 0x20 for character in audience):
        return _error("invalid_request", "audience is required: one cloud audience")
    exchanged = service.exchange(token, audience, remote)
    if exchanged.token is not None:
        return Answer(
            200,
            {
                "access_token": exchanged.token,
                "issued_token_type": JWT_TYPE,
                "token_type": "N_A",
                "expires_in": exchanged.expires_in,
            },
        )
    message = exchanged.message.replace(token, "<subject_token>")
    if exchanged.error == protocol.UNAVAILABLE:
        return _error("temporarily_unavailable", message, 503)
    if exchanged.error == INVALID_TARGET:
        return _error("invalid_target", message)
    return _error("invalid_request", message)
