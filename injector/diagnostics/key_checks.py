"""The signing key as `doctor` sees it: it loads, only its owner can read it, the configured
public key is its own, and the issuer publishes it under its `kid` with the same numbers.
"""

from __future__ import annotations

import stat
from pathlib import Path

import jwt

from injector.clouds.rules import KEY, SIGNATURE, CloudRules
from injector.config import signing_keys
from injector.config.issuer_settings import IssuerSettings
from injector.config.signing_keys import SigningKey
from injector.diagnostics import checks, token_checks
from injector.diagnostics.checks import Line
from injector.diagnostics.issuer_checks import IssuerDocuments
from injector.errors import ConfigError


def signing_key(issuer: IssuerSettings, rules: CloudRules) -> tuple[list[Line], SigningKey | None]:
    """The lines for the private key, its permissions and the public key; and the key when it
    loads."""
    path = issuer.private_key_path
    if path is None:
        return [], None
    try:
        private = signing_keys.load_private_key(path, issuer.algorithm)
    except ConfigError as error:
        return [checks.fail("private-key", str(problem)) for problem in error.problems], None
    key = SigningKey(private_key=private, key_id=issuer.key_id, algorithm=issuer.algorithm)
    lines = [checks.ok("private-key", f"{path}: {key.description}"), permissions(path)]
    if issuer.public_key_path is None:
        lines.append(checks.ok("public-key", "derived from the private key"))
        return lines, key
    try:
        signing_keys.check_public_key(issuer.public_key_path, private)
    except ConfigError as error:
        code = rules.code(SIGNATURE)
        lines += [checks.fail("public-key", str(problem), code) for problem in error.problems]
    else:
        lines.append(checks.ok("public-key", f"{issuer.public_key_path} matches"))
    return lines, key


def permissions(path: Path) -> Line:
    """A warning when anyone but the key's owner can read it (the key loader's rule)."""
    mode = stat.S_IMODE(path.stat().st_mode)
    who = signing_keys.readers(mode)
    if who:
        return checks.warn(
            "key-permissions",
            f"{path} is mode {mode:04o}: {' and '.join(who)} can read the signing key "
            f"(chmod 600 {path})",
        )
    return checks.ok("key-permissions", f"mode {mode:04o}")


def published_key(documents: IssuerDocuments, key: SigningKey, rules: CloudRules) -> list[Line]:
    """The JWKS must hold the signing key's kid, with the same public numbers."""
    lines = token_checks.advertised(
        key.algorithm,
        documents,
        f"{key.algorithm} is advertised",
        why=" (DynamicCredentialAlgorithm)",
    )
    missing = token_checks.missing_kid(
        key.key_id,
        documents,
        f"{key.key_id!r} (DynamicCredentialId)",
        "publish the current documents (injector publish/serve)",
    )
    if missing is not None:
        lines.append(checks.fail("jwks.signing-key", missing, rules.code(KEY)))
        return lines
    published = next(jwk for jwk in documents.keys if jwk.get("kid") == key.key_id)
    try:
        public = jwt.PyJWK.from_dict(published, algorithm=key.algorithm).key
    except jwt.PyJWTError as error:
        lines.append(
            checks.fail(
                "jwks.signing-key",
                f"the key published as {key.key_id!r} cannot be read: {error}",
                rules.code(KEY),
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
                rules.code(SIGNATURE),
            )
        )
    elif published.get("alg", key.algorithm) != key.algorithm:
        lines.append(
            checks.fail(
                "jwks.signing-key",
                f"kid {key.key_id!r} is published for {published.get('alg')}, "
                f"tokens are {key.algorithm}",
                rules.code(KEY),
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
