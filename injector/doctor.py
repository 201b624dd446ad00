"""`injector doctor`: check the current environment the way the clouds will see its tokens,
before a real run: settings, keys, TTL per cloud, the issuer's certificate chain and documents,
the published key against the signing key, then one token per enabled cloud minted in memory
and checked as `injector verify` checks it; with `--login`, a real login through each SDK.

Nothing is written unless `--login` is given; then the files go into a private temporary folder
that is removed before doctor returns.
"""

from __future__ import annotations

import stat
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jwt

from injector import checks, cloud_rules, fetch, inject, keys, verify
from injector import issuer as issuer_settings
from injector import settings as workspace_settings
from injector.checks import Line
from injector.errors import ConfigError
from injector.fetch import Fetcher, FetchError
from injector.issuer import IssuerSettings
from injector.keys import SigningKey
from injector.settings import Settings

LEAF_EXPIRY_WARNING_DAYS = 14
_SAID_ABOVE = ("lifetime", "alg.advertised")
_PROXIES = ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")


@dataclass
class _State:
    """What the sections found so far, for the sections after them."""

    settings: Settings | None = None
    issuer: IssuerSettings | None = None
    key: SigningKey | None = None
    documents: verify.IssuerDocuments | None = None


def diagnose(
    env: Mapping[str, str],
    trusted: fetch.Trust,
    *,
    phase: str | None = None,
    login: bool = False,
) -> list[Line]:
    """Every line of the checklist, in order."""
    state = _State()
    lines = _settings(env, phase, state)
    lines += _keys(state)
    lines += _ttl(state)
    if state.issuer is None:
        return lines
    rules = _issuer_rules(state)
    with Fetcher(trusted) as fetcher:
        lines += _issuer(state.issuer.issuer, trusted, rules, state, env)
        if not any(line.rule in ("issuer", "tls") and line.status == "FAIL" for line in lines):
            documents_lines, state.documents = verify.issuer_checks(
                state.issuer.issuer, fetcher, rules
            )
            lines += [line for line in documents_lines if line.rule != "iss"]
            lines += _published_key(state, rules)
    lines += _tokens(state)
    if login:
        lines += _login(env, state)
    return lines


# --- settings and keys -------------------------------------------------------------------------


def _settings(env: Mapping[str, str], phase: str | None, state: _State) -> list[Line]:
    lines = []
    reported: set[str] = set()
    try:
        state.settings = workspace_settings.load(env, phase=phase)
    except ConfigError as error:
        for problem in error.problems:
            reported.add(str(problem))
            lines.append(checks.fail("settings", str(problem)))
    if state.settings is not None:
        clouds = ", ".join(config.name for config in state.settings.clouds)
        lines.append(
            checks.ok(
                "settings",
                f"valid: {clouds} enabled, sub {state.settings.job.subject!r}",
            )
        )
        state.issuer = state.settings.issuer
        return lines
    if not reported:
        lines.append(
            checks.fail(
                "settings",
                "no cloud has dynamic credentials enabled (ENABLE_DYNAMIC_CREDENTIALS_AWS, "
                "_AZURE or _GCP): nothing would be minted",
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


def _keys(state: _State) -> list[Line]:
    issuer = state.issuer
    if issuer is None or issuer.private_key_path is None:
        return []
    path = issuer.private_key_path
    lines = []
    try:
        private = keys.load_private_key(path, issuer.algorithm)
    except ConfigError as error:
        return [checks.fail("private-key", str(problem)) for problem in error.problems]
    state.key = SigningKey(private_key=private, key_id=issuer.key_id, algorithm=issuer.algorithm)
    lines.append(checks.ok("private-key", f"{path}: {state.key.description}"))
    lines.append(_permissions(path))
    if issuer.public_key_path is None:
        lines.append(checks.ok("public-key", "derived from the private key"))
    else:
        try:
            keys.check_public_key(issuer.public_key_path, private)
        except ConfigError as error:
            codes = _codes(state, cloud_rules.SIGNATURE)
            lines += [checks.fail("public-key", str(problem), codes) for problem in error.problems]
        else:
            lines.append(checks.ok("public-key", f"{issuer.public_key_path} matches"))
    return lines


def _permissions(path: Path) -> Line:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        who = " and ".join(
            name
            for name, bit in (("its group", stat.S_IRGRP), ("every user", stat.S_IROTH))
            if mode & bit
        )
        return checks.warn(
            "key-permissions",
            f"{path} is mode {mode:04o}: {who} can read the signing key (chmod 600 {path})",
        )
    return checks.ok("key-permissions", f"mode {mode:04o}")


def _ttl(state: _State) -> list[Line]:
    """DynamicCredentialTtl against each enabled cloud's rule for a token's lifetime."""
    if state.settings is None:
        return []
    seconds = state.settings.issuer.ttl_minutes * 60
    return [
        verify.lifetime(seconds, cloud_rules.RULES[config.name], rule=f"ttl.{config.name}")
        for config in state.settings.clouds
    ]


def _codes(state: _State, failure: str) -> str | None:
    return _issuer_rules(state).code(failure)


def _issuer_rules(state: _State) -> cloud_rules.CloudRules:
    """The rules of the enabled clouds together (all three when the settings did not load)."""
    names = [config.name for config in state.settings.clouds] if state.settings else []
    clouds = tuple(cloud_rules.RULES[name] for name in names) or tuple(cloud_rules.RULES.values())
    return cloud_rules.combined(clouds)


# --- the issuer ----------------------------------------------------------------------------------


def _issuer(
    issuer: str,
    trusted: fetch.Trust,
    rules: cloud_rules.CloudRules,
    state: _State,
    env: Mapping[str, str],
) -> list[Line]:
    parts = urlsplit(issuer)
    code = rules.code(cloud_rules.ISSUER)
    if parts.scheme != "https":
        return [checks.fail("issuer", f"{issuer} is not https: clouds fetch over HTTPS", code)]
    lines = [checks.ok("issuer", issuer)]
    enabled = [config.name for config in state.settings.clouds] if state.settings else []
    if parts.port is not None and "aws" in enabled:
        lines.append(
            checks.warn(
                "issuer.port",
                f"{issuer} has a port: IAM OIDC provider URLs should not contain one "
                "(CreateOpenIDConnectProvider); serve the issuer on 443",
            )
        )
    try:
        chain = fetch.chain(issuer, trusted)
    except FetchError as error:
        if error.kind == "tls":
            lines.append(
                checks.fail(
                    "tls",
                    f"{chain_host(issuer)}: {error.reason} (trusting {trusted.source})",
                    code,
                )
            )
        elif any(env.get(name) for name in _PROXIES):
            # The chain is read over a direct connection; the documents, below, go through
            # the proxy as httpx does.
            lines.append(
                checks.warn(
                    "tls",
                    f"{chain_host(issuer)}: no direct connection ({error.reason}) and a proxy is "
                    "set: the certificate chain and thumbprint were not inspected",
                )
            )
        else:
            lines[0] = checks.fail("issuer", f"{issuer} is unreachable: {error.reason}", code)
        return lines
    path = " <- ".join(fetch.subject(certificate) for certificate in chain.verified)
    lines.append(checks.ok("tls", f"{chain.host} verifies (trusting {trusted.source}): {path}"))
    lines += _expiry(chain.leaf)
    top = chain.top_intermediate
    lines.append(
        checks.ok(
            "thumbprint.aws",
            f"{fetch.thumbprint(top)}  {fetch.subject(top)}: the top intermediate CA, what an "
            "IAM OIDC provider's ThumbprintList holds (AWS uses it only when it does not "
            "already trust the root CA)",
        )
    )
    lines.append(
        checks.ok(
            "thumbprint.leaf",
            f"{fetch.thumbprint(chain.leaf)}  {fetch.subject(chain.leaf)}: the server's own "
            "certificate (changes at every renewal: not for ThumbprintList)",
        )
    )
    lines.append(
        checks.ok(
            "thumbprint.root",
            f"{fetch.thumbprint(chain.root)}  {fetch.subject(chain.root)}: the root CA",
        )
    )
    return lines


def chain_host(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or 443}"


def _expiry(leaf: Any) -> list[Line]:
    import datetime

    left = leaf.not_valid_after_utc - datetime.datetime.now(datetime.timezone.utc)
    if left.days < LEAF_EXPIRY_WARNING_DAYS:
        return [
            checks.warn(
                "tls.expiry",
                f"the issuer's certificate expires in {left.days} day(s): renew it "
                "(and update ThumbprintList if it holds the leaf's)",
            )
        ]
    return [checks.ok("tls.expiry", f"the certificate is valid for {left.days} more days")]


def _published_key(state: _State, rules: cloud_rules.CloudRules) -> list[Line]:
    """The JWKS must hold the signing key's kid, with the same public numbers."""
    documents, key = state.documents, state.key
    if documents is None or key is None:
        return []
    lines = []
    advertised = documents.discovery.get("id_token_signing_alg_values_supported")
    if isinstance(advertised, list) and key.algorithm not in advertised:
        lines.append(
            checks.warn(
                "alg.advertised",
                f"discovery advertises {', '.join(map(str, advertised))}, not {key.algorithm} "
                "(DynamicCredentialAlgorithm)",
            )
        )
    elif isinstance(advertised, list):
        lines.append(checks.ok("alg.advertised", f"{key.algorithm} is advertised"))
    named = [jwk for jwk in documents.keys if jwk.get("kid") == key.key_id]
    if not named:
        present = ", ".join(str(jwk.get("kid")) for jwk in documents.keys) or "none"
        lines.append(
            checks.fail(
                "jwks.signing-key",
                f"kid {key.key_id!r} (DynamicCredentialId) is not in {documents.jwks_uri} "
                f"(it holds: {present}): publish the current documents (injector publish/serve)",
                rules.code(cloud_rules.KEY),
            )
        )
        return lines
    published = named[0]
    try:
        public = jwt.PyJWK.from_dict(published, algorithm=key.algorithm).key
    except jwt.PyJWTError as error:
        lines.append(
            checks.fail(
                "jwks.signing-key",
                f"the key published as {key.key_id!r} cannot be read: {error}",
                rules.code(cloud_rules.KEY),
            )
        )
        return lines
    ours = key.private_key.public_key().public_numbers()
    theirs = public.public_numbers() if hasattr(public, "public_numbers") else None
    if theirs != ours:
        lines.append(
            checks.fail(
                "jwks.signing-key",
                f"{documents.jwks_uri} publishes another public key under kid {key.key_id!r} "
                f"({_numbers(theirs)}; the signing key's: {_numbers(ours)}): publish the "
                "documents again from this key, or sign with the published key's private half",
                rules.code(cloud_rules.SIGNATURE),
            )
        )
    elif published.get("alg", key.algorithm) != key.algorithm:
        lines.append(
            checks.fail(
                "jwks.signing-key",
                f"kid {key.key_id!r} is published for {published.get('alg')}, "
                f"tokens are {key.algorithm}",
                rules.code(cloud_rules.KEY),
            )
        )
    else:
        lines.append(
            checks.ok(
                "jwks.signing-key", f"kid {key.key_id} publishes the signing key ({_numbers(ours)})"
            )
        )
    return lines


def _numbers(numbers: object) -> str:
    """A short, comparable view of public numbers: `n` ends, or the EC point's `x`."""
    n = getattr(numbers, "n", None)
    if isinstance(n, int):
        digits = f"{n:x}"
        return f"n={digits[:8]}...{digits[-8:]}, e={getattr(numbers, 'e', '?')}"
    x = getattr(numbers, "x", None)
    if isinstance(x, int):
        return f"x={f'{x:x}'[:16]}..."
    return "no usable key"


# --- tokens and logins ---------------------------------------------------------------------------


def _tokens(state: _State) -> list[Line]:
    """One token per enabled cloud, minted in memory, checked as `injector verify` would."""
    if state.settings is None or state.key is None:
        return []
    prepared = inject.Prepared(settings=state.settings, key=state.key)
    plan = inject.mint(prepared, Path(tempfile.gettempdir(), "injector-doctor"))
    lines = []
    for cloud in plan.clouds:
        token = verify.decode(cloud.token.compact)
        checked = verify.token_checks(
            token,
            state.documents,
            cloud_rules.RULES[cloud.config.name],
            expect_sub=state.settings.job.subject,
            expect_aud=cloud.config.audience,
        )
        # The lifetime and the advertised algorithm have a line of their own above.
        shown = [line for line in checked if line.rule not in _SAID_ABOVE]
        lines += checks.prefixed(cloud.config.name, shown)
    return lines


def _login(env: Mapping[str, str], state: _State) -> list[Line]:
    from injector import login

    if state.settings is None or state.key is None:
        return [checks.fail("login", "not tried: the settings or the key are not valid")]
    prepared = inject.Prepared(settings=state.settings, key=state.key)
    written = inject.write(prepared, None)
    try:
        home = login.private_home(written.plan.folder)
        logins = [
            login.Login(cloud.config.name, cloud.outputs.exports) for cloud in written.plan.clouds
        ]
        secrets = [cloud.token.compact for cloud in written.plan.clouds]
        return login.run(logins, env, home, secrets)
    finally:
        written.remove()


def command(
    env: Mapping[str, str],
    *,
    ca_bundle: Path | None,
    phase: str | None = None,
    login: bool = False,
) -> int:
    """Print the checklist on stdout; 0 when no line failed, else 1. Raises ConfigError when
    --ca-bundle (or SSL_CERT_FILE) cannot be loaded."""
    import sys

    trusted = fetch.trust(ca_bundle, env)
    lines = diagnose(env, trusted, phase=phase, login=login)
    sys.stdout.write(checks.render(lines))
    return checks.exit_status(lines)
