"""`injector doctor`: check the current environment the way the clouds will see its tokens,
before a real run: settings, keys, TTL per cloud, the issuer's certificate chain and documents,
the published key against the signing key, then one token per enabled cloud minted in memory
and checked as `injector verify` checks it; with `--login`, a real login through each SDK.

Nothing is written unless `--login` is given; then the files go into a private temporary folder
that is removed before doctor returns.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from injector import clouds
from injector.clouds import tags
from injector.clouds.rules import CloudRules, combined
from injector.config import issuer_settings
from injector.config.issuer_settings import IssuerSettings
from injector.config.signing_keys import SigningKey
from injector.diagnostics import (
    checks,
    doctor_logins,
    fetch,
    issuer_checks,
    key_checks,
    time_checks,
    tls_checks,
    token_checks,
)
from injector.diagnostics.checks import Line
from injector.diagnostics.fetch import Fetcher
from injector.diagnostics.issuer_checks import IssuerDocuments
from injector.errors import ConfigError, InjectorError
from injector.job import pipeline, settings
from injector.job.key_minter import KeyFileMinter
from injector.job.minter import Minter
from injector.job.plan import Plan
from injector.job.settings import Settings
from injector.job.signer_minter import SignerMinter

# Lines each token's checks would repeat: the lifetime and the advertised algorithm have a line
# of their own above.
_SAID_ABOVE = ("lifetime", "alg.advertised")
_DOCTOR_FOLDER = Path(tempfile.gettempdir(), "injector-doctor")  # named in exports, never made


@dataclass
class _State:
    """What the sections found so far, for the sections after them."""

    settings: Settings | None = None
    issuer: IssuerSettings | None = None
    key: SigningKey | None = None
    documents: IssuerDocuments | None = None
    minter: Minter | None = None
    issuer_url: str | None = None
    signed: Plan | None = None  # through the signer: its tokens, asked for once up front

    def enabled(self) -> list[CloudRules]:
        """The rules of the clouds the workspace switched on (none if the settings failed)."""
        if self.settings is None:
            return []
        return [config.cloud.rules for config in self.settings.clouds]

    def issuer_rules(self) -> CloudRules:
        """The rules of the enabled clouds together (every cloud's when none loaded)."""
        enabled = self.enabled() or [cloud.rules for cloud in clouds.registered()]
        return combined(tuple(enabled))


def diagnose(
    env: Mapping[str, str],
    trusted: fetch.Trust,
    *,
    phase: str | None = None,
    require: str | None = None,
    login: bool = False,
    issuer_only: bool = False,
    progress: Callable[[str], None] | None = None,
) -> list[Line]:
    """Every line of the checklist, in order. `require`: `--require`, else INJECTOR_REQUIRE, as
    for a job. `issuer_only`: the issuer's settings, key, TLS and documents, for an operator
    checking the issuer before any workspace uses it. `progress` hears a line as each SDK login
    starts (they take seconds)."""
    state = _State()
    lines = _issuer_alone(env, state) if issuer_only else _settings(env, phase, require, state)
    if state.settings is not None and state.settings.signer is not None:
        lines += _signer(state, state.settings.signer)
    elif state.issuer is not None:
        key_lines, state.key = key_checks.signing_key(state.issuer, state.issuer_rules())
        lines += key_lines
        state.issuer_url = state.issuer.issuer
        if state.key is not None:
            state.minter = KeyFileMinter(state.key, state.issuer)
    lines += _ttl(state)
    if state.issuer_url is None:
        return lines
    rules = state.issuer_rules()
    with Fetcher(trusted) as fetcher:
        lines += tls_checks.check(state.issuer_url, trusted, rules, state.enabled(), env)
        if not any(line.rule in ("issuer", "tls") and line.status == "FAIL" for line in lines):
            documents_lines, state.documents = issuer_checks.check(state.issuer_url, fetcher, rules)
            lines += [line for line in documents_lines if line.rule != "iss"]
            if state.documents is not None and state.key is not None:
                lines += key_checks.published_key(state.documents, state.key, rules)
    lines += _tokens(state)
    lines += doctor_logins.preflight(state.settings)
    if login and not issuer_only:
        lines += doctor_logins.logins(env, state.settings, state.minter, progress)
    return lines


def _issuer_alone(env: Mapping[str, str], state: _State) -> list[Line]:
    """The issuer settings without any cloud or job context (`doctor --issuer`)."""
    try:
        state.issuer = issuer_settings.from_env(env, require_key=False)
    except ConfigError as error:
        return [checks.fail("settings", str(problem)) for problem in error.problems]
    return [checks.ok("settings", f"issuer only (--issuer): {state.issuer.issuer}")]


def _settings(
    env: Mapping[str, str], phase: str | None, require: str | None, state: _State
) -> list[Line]:
    lines = []
    reported: set[str] = set()
    try:
        state.settings = settings.load(env, phase=phase, require=require)
    except ConfigError as error:
        for problem in error.problems:
            reported.add(str(problem))
            lines.append(checks.fail("settings", str(problem)))
    if state.settings is not None:
        enabled = ", ".join(tags.configuration_id(config) for config in state.settings.clouds)
        lines.append(
            checks.ok(
                "settings",
                f"valid: {enabled} enabled, {_subject_shown(state.settings)}",
            )
        )
        state.issuer = state.settings.issuer
        return lines
    if not reported:
        lines.append(
            checks.fail(
                "settings",
                f"no cloud has dynamic credentials enabled ({clouds.switches()}): "
                "nothing would be minted (injector doctor --issuer checks the issuer alone)",
            )
        )
    # The issuer can still be checked on its own.
    try:
        state.issuer = issuer_settings.from_env(env)
    except ConfigError as error:
        lines += [
            checks.fail("settings", str(problem))
            for problem in error.problems
            if str(problem) not in reported
        ]
    return lines


def _signer(state: _State, socket: Path) -> list[Line]:
    """Through the signer: ask it for the tokens once; the issuer is the one they name."""
    assert state.settings is not None  # noqa: S101 (called with settings only)
    minter = SignerMinter(socket, state.settings.signer_user)
    try:
        plan = pipeline.mint(pipeline.Prepared(state.settings, minter), _DOCTOR_FOLDER)
    except ConfigError as error:
        return [checks.fail("signer", str(problem)) for problem in error.problems]
    except InjectorError as error:
        return [checks.fail("signer", str(error))]
    state.minter, state.signed = minter, plan
    state.issuer_url = str(plan.clouds[0].token.claims["iss"])
    kid = plan.clouds[0].token.header.get("kid")
    return [
        checks.ok(
            "signer",
            f"unix:{socket} minted {len(plan.clouds)} token(s): iss {state.issuer_url}, kid {kid}",
        )
    ]


def _ttl(state: _State) -> list[Line]:
    """The tokens' lifetime (DynamicCredentialTtl, or the signer's) against each enabled cloud's
    rule for a token's lifetime."""
    if state.settings is None:
        return []
    if state.signed is not None:
        seconds = state.signed.lifetime_seconds
    elif state.settings.issuer is not None:
        seconds = state.settings.issuer.ttl_minutes * 60
    else:
        return []
    return [
        time_checks.lifetime(seconds, rules, rule=f"ttl.{rules.name}") for rules in state.enabled()
    ]


def _tokens(state: _State) -> list[Line]:
    """One token per enabled cloud, minted in memory, checked as `injector verify` would."""
    if state.settings is None or state.minter is None:
        return []
    plan = state.signed or pipeline.mint(
        pipeline.Prepared(settings=state.settings, minter=state.minter), _DOCTOR_FOLDER
    )
    lines = []
    for cloud in plan.clouds:
        checked = token_checks.check(
            token_checks.decode(cloud.token.compact),
            state.documents,
            cloud.config.cloud.rules,
            expect_sub=state.settings.subject,
            expect_aud=cloud.config.audience,
        )
        shown = [line for line in checked if line.rule not in _SAID_ABOVE]
        lines += checks.prefixed(tags.configuration_id(cloud.config), shown)
    return lines


def command(
    env: Mapping[str, str],
    *,
    ca_bundle: Path | None,
    phase: str | None = None,
    require: str | None = None,
    login: bool = False,
    issuer_only: bool = False,
) -> int:
    """Print the checklist on stdout; 0 when no line failed, else 1. Raises ConfigError when
    --ca-bundle (or SSL_CERT_FILE) cannot be loaded."""
    trusted = fetch.trust(ca_bundle, env)
    lines = diagnose(
        env,
        trusted,
        phase=phase,
        require=require,
        login=login,
        issuer_only=issuer_only,
        progress=lambda line: print(f"injector: {line}", file=sys.stderr, flush=True),
    )
    sys.stdout.write(checks.render(lines))
    return checks.exit_status(lines)


def _subject_shown(loaded: Settings) -> str:
    subject = loaded.subject
    if subject is None:
        return (
            "sub as the signer renders it: its DynamicCredentialSubjectTemplate, or the "
            "attestation's subject_template (see below)"
        )
    return f"sub {subject!r}"
