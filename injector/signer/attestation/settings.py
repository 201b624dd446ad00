"""The `[[attestation]]` tables of the signer's policy: which platforms' tokens it trusts.

    [[attestation]]
    name = "github"                        # what [[allow]] entries refer to
    kind = "github"                        # github | gitlab | kubernetes | oidc
    issuer = "https://token.actions.githubusercontent.com"   # default for github and gitlab
    jwks_uri = "https://..."               # optional: else from the issuer's discovery document
    ca_bundle = "/etc/injector/ca.pem"     # optional: a private CA for discovery and JWKS
    audience = "https://signer.example.com"                   # the aud platform tokens carry
    phases = { apply = ["production"] }    # optional: these values of phase_claim are apply
    phase_claim = "environment"            # optional (default: environment; none for kubernetes)
    max_age_minutes = 10                   # optional (default and most: 1440, a day)
    rate_per_minute = 120                  # optional: requests a minute per sub and workspace
    algorithms = ["RS256"]                 # optional: a subset of what the kind allows
    subject_template = "organization:{organization}:workspace:{workspace}:run_phase:{phase}"
                                           # optional: `sub` of its tokens (default: the signer's
                                           # DynamicCredentialSubjectTemplate); {phase} needs phases
    token_review = true                    # kind = "kubernetes": ask the API server that the
                                           # token is live (or { api_server, ca_file, token_file })
    # kind = "oidc" only, each a template over claim names ("{tenant}", "{org.id}"):
    organization = "{tenant}"              # and workspace, organization_id, workspace_id,
    workspace = "{project.name}"           # job_id, all five required

Every problem is reported at start (exit 2), naming the table and the key.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from injector.config import subject
from injector.config.subject import SubjectTemplate
from injector.errors import ConfigError, Problems
from injector.signer.attestation import kinds, token_review
from injector.signer.attestation.keys import KeySet, trust
from injector.signer.attestation.token_review import TokenReview
from injector.signer.attestation.verify import Attestation

DEFAULT_RATE_PER_MINUTE = 120
# Also the default: a token's `exp` is its issuer's (a pod's author picks it for a projected
# token, up to 2^32 seconds), and the signer cannot see a job or pod end.
MAX_AGE_LIMIT_MINUTES = 24 * 60
_COMMON = frozenset(
    {
        "name",
        "kind",
        "issuer",
        "jwks_uri",
        "ca_bundle",
        "audience",
        "phases",
        "phase_claim",
        "max_age_minutes",
        "rate_per_minute",
        "algorithms",
        "token_review",
        "subject_template",
    }
)


def _text(name: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip() or value != value.strip():
        raise ConfigError.of(name, "expected a non-empty string without surrounding spaces")
    return value


def _https(name: str, value: object) -> str:
    text = _text(name, value)
    if not text.startswith("https://"):
        raise ConfigError.of(name, f"expected an https:// URL, got {text!r}")
    return text


def _whole(name: str, value: object, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ConfigError.of(name, f"expected a whole number from {low} to {high}")
    return value


def _apply_values(name: str, value: object) -> frozenset[str]:
    form = 'a table { apply = ["<value of the phase claim>", ...] }'
    if not isinstance(value, dict) or set(value) != {"apply"}:
        raise ConfigError.of(name, f"expected {form}")
    listed = value["apply"]
    if not isinstance(listed, list) or not listed or not all(isinstance(v, str) for v in listed):
        raise ConfigError.of(name, f"expected {form}")
    return frozenset(listed)


def _algorithms(name: str, value: object, kind: kinds.Kind) -> tuple[str, ...]:
    allowed = ", ".join(kind.algorithms)
    if not isinstance(value, list) or not value or not set(value) <= set(kind.algorithms):
        raise ConfigError.of(name, f"expected a non-empty list of: {allowed}")
    return tuple(value)


def _templates(where: str, table: dict[str, Any], kind: kinds.Kind) -> dict[str, str]:
    present = {key: table[key] for key in kinds.TEMPLATE_FIELDS if key in table}
    if kind.name != "oidc":
        if present:
            raise ConfigError.of(
                where, f'{", ".join(present)}: only kind = "oidc" maps claims by templates'
            )
        return {}
    problems = Problems()
    for key in kinds.TEMPLATE_FIELDS:
        if key not in table:
            problems.add(f"{where} {key}", 'is required for kind "oidc": a template like "{sub}"')
        else:
            problems.get("", _text, f"{where} {key}", table[key])
    problems.raise_if_any()
    return present


def _api_server(name: str, value: object) -> str:
    parts = urlsplit(text := _https(name, value))
    if not parts.hostname or parts.username or parts.password or parts.query or parts.fragment:
        raise ConfigError.of(name, f"expected https://host[:port][/path], got {text!r}")
    return text


def _token_review(where: str, value: object, kind: kinds.Kind) -> TokenReview | None:
    name = f"{where} token_review"
    if value is False:
        return None
    if kind.name != "kubernetes":
        raise ConfigError.of(name, 'only kind = "kubernetes" has a TokenReview API')
    table = {} if value is True else value
    if not isinstance(table, dict):
        raise ConfigError.of(name, f"expected {token_review.FORM}")
    problems = Problems()
    unknown = sorted(set(table) - set(token_review.KEYS))
    if unknown:
        problems.add(name, f"unknown key(s) {', '.join(unknown)}: expected {token_review.FORM}")
    server = table.get("api_server", token_review.DEFAULT_API_SERVER)
    api_server = problems.get("", _api_server, f"{name}.api_server", server)
    ca_file, token_file = (
        problems.get(
            "", _text, f"{name}.{key}", table.get(key, str(token_review.IN_CLUSTER / file))
        )
        for key, file in (("ca_file", "ca.crt"), ("token_file", "token"))
    )
    context = None
    try:
        context = token_review.trust(Path(ca_file)) if ca_file else None
    except ValueError as error:
        problems.add(f"{name}.ca_file", str(error))
    try:
        if token_file:  # read now and dropped: a wrong path is said at start, not at a request
            token_review.credential(Path(token_file))
    except ValueError as error:
        problems.add(f"{name}.token_file", str(error))
    problems.raise_if_any()
    assert context is not None  # noqa: S101 (raised otherwise)
    return TokenReview(api_server, context, Path(ca_file), Path(token_file))


def _subject_template(where: str, name: str, value: object, phased: bool) -> SubjectTemplate:
    """The attestation's own subject template, checked by the signer's rules. Messages at
    start name the policy's key; those a job gets name the attestation (not the policy's path)."""
    key = f"{where} subject_template"
    if not isinstance(value, str):
        raise ConfigError.of(key, "expected a string such as " + repr(subject.DEFAULT))
    template = subject.parse(value, key)
    if template.uses_phase and not phased:
        raise ConfigError.of(
            key,
            f"uses {{{subject.PHASE}}}, but the attestation has no phases: every token of it "
            f"would be refused; expected phases = {{ apply = [...] }}, or a template without "
            f"{{{subject.PHASE}}}",
        )
    return replace(template, setting=f"[[attestation]] {name!r} subject_template")


def _kind(where: str, value: object) -> kinds.Kind:
    if not isinstance(value, str) or value not in kinds.KINDS:
        raise ConfigError.of(f"{where} kind", f"expected one of {', '.join(kinds.KINDS)}")
    return kinds.KINDS[value]


def _one(where: str, number: int, table: object) -> Attestation:
    where = f"{where} [[attestation]] #{number}"
    if not isinstance(table, dict):
        raise ConfigError.of(where, "expected a table")
    kind = _kind(where, table.get("kind"))
    problems = Problems()
    unknown = sorted(set(table) - _COMMON - set(kinds.TEMPLATE_FIELDS))
    if unknown:
        problems.add(where, f"unknown key(s) {', '.join(unknown)}")
    name = problems.get("", _text, f"{where} name", table.get("name"))
    issuer_value = table.get("issuer", kind.default_issuer)
    if issuer_value is None:
        problems.add(f"{where} issuer", f'is required for kind "{kind.name}": an https:// URL')
    issuer = problems.get("", _https, f"{where} issuer", issuer_value or "https://")
    jwks_uri = (
        problems.get(None, _https, f"{where} jwks_uri", table["jwks_uri"])
        if "jwks_uri" in table
        else None
    )
    audience = problems.get("", _text, f"{where} audience", table.get("audience"))
    apply_values = (
        problems.get(None, _apply_values, f"{where} phases", table["phases"])
        if "phases" in table
        else None
    )
    phase_claim = (
        problems.get(None, _text, f"{where} phase_claim", table["phase_claim"])
        if "phase_claim" in table
        else kind.phase_claim
    )
    if apply_values is not None and phase_claim is None:
        problems.add(
            f"{where} phases",
            f'needs phase_claim for kind "{kind.name}": the claim whose value the platform '
            "sets, not the job",
        )
    algorithms = (
        problems.get((), _algorithms, f"{where} algorithms", table["algorithms"], kind)
        if "algorithms" in table
        else kind.algorithms
    )
    max_age = (
        problems.get(
            None,
            _whole,
            f"{where} max_age_minutes",
            table["max_age_minutes"],
            1,
            MAX_AGE_LIMIT_MINUTES,
        )
        if "max_age_minutes" in table
        else MAX_AGE_LIMIT_MINUTES
    )
    rate = problems.get(
        DEFAULT_RATE_PER_MINUTE,
        _whole,
        f"{where} rate_per_minute",
        table.get("rate_per_minute", DEFAULT_RATE_PER_MINUTE),
        1,
        1_000_000,
    )
    templates = problems.get({}, _templates, where, table, kind)
    review = problems.get(None, _token_review, where, table.get("token_review", False), kind)
    own_template = (
        problems.get(
            None,
            _subject_template,
            where,
            name,
            table["subject_template"],
            apply_values is not None,
        )
        if "subject_template" in table
        else None
    )
    trusted = None
    try:
        trusted = trust(Path(table["ca_bundle"]) if "ca_bundle" in table else None)
    except (ValueError, TypeError) as error:
        problems.add(f"{where} ca_bundle", str(error))
    problems.raise_if_any()
    assert trusted is not None  # noqa: S101 (raised otherwise)
    return Attestation(
        name=name,
        kind=kind,
        issuer=issuer,
        audience=audience,
        keys=KeySet(issuer, jwks_uri, trusted),
        algorithms=algorithms,
        apply_values=apply_values,
        phase_claim=phase_claim,
        templates=templates,
        max_age_minutes=max_age,
        rate_per_minute=rate,
        review=review,
        subject_template=own_template,
    )


def load(where: str, tables: object) -> tuple[Attestation, ...]:
    """The attestations of the `[[attestation]]` tables of `where` (the policy file); raises
    ConfigError listing every problem."""
    if not isinstance(tables, list):
        raise ConfigError.of(where, "attestation: expected [[attestation]] tables")
    problems = Problems()
    found = [
        attestation
        for number, table in enumerate(tables, start=1)
        if (attestation := problems.run(_one, where, number, table)) is not None
    ]
    names = [attestation.name for attestation in found]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.add(where, f"[[attestation]] name {name!r} is given more than once")
    problems.raise_if_any()
    return tuple(found)
