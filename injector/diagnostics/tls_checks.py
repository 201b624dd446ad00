"""The issuer's TLS as the clouds meet it: reachable, a chain the trusted CAs verify, the leaf's
expiry, and the SHA-1 thumbprints a cloud that pins certificates keeps (`doctor`'s lines).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from injector import clouds
from injector.clouds.rules import ISSUER, CloudRules
from injector.diagnostics import checks, fetch, tls_chain
from injector.diagnostics.checks import Line
from injector.diagnostics.fetch import FetchError

LEAF_EXPIRY_WARNING_DAYS = 14
_PROXIES = ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")


def check(
    issuer: str,
    trusted: fetch.Trust,
    rules: CloudRules,
    enabled: Sequence[CloudRules],
    env: Mapping[str, str],
) -> list[Line]:
    """The lines for the issuer's URL and its certificate chain; `enabled` are the rules of
    the clouds the workspace switched on (for their own advice on the URL)."""
    parts = urlsplit(issuer)
    code = rules.code(ISSUER)
    if parts.scheme != "https":
        return [checks.fail("issuer", f"{issuer} is not https: clouds fetch over HTTPS", code)]
    lines = [checks.ok("issuer", issuer)]
    port_advice = [rules.advice.issuer_port for rules in enabled if rules.advice.issuer_port]
    if parts.port is not None and port_advice:
        lines.append(checks.warn("issuer.port", f"{issuer} has a port: {port_advice[0]}"))
    try:
        chain = tls_chain.chain(issuer, trusted)
    except FetchError as error:
        if error.kind == "tls":
            lines.append(
                checks.fail(
                    "tls",
                    f"{chain_host(issuer)}: {error.reason} (trusting {trusted.source}; for a "
                    "private CA pass --ca-bundle)",
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
    path = " <- ".join(tls_chain.subject(certificate) for certificate in chain.verified)
    lines.append(checks.ok("tls", f"{chain.host} verifies (trusting {trusted.source}): {path}"))
    lines += _expiry(chain.leaf)
    top = chain.top_intermediate
    for cloud in clouds.registered():
        if cloud.rules.advice.thumbprint:
            lines.append(
                checks.ok(
                    f"thumbprint.{cloud.name}",
                    f"{_named(top)}: {cloud.rules.advice.thumbprint}",
                )
            )
    lines.append(
        checks.ok(
            "thumbprint.leaf",
            f"{_named(chain.leaf)}: the server's own "
            "certificate (changes at every renewal: not for ThumbprintList)",
        )
    )
    lines.append(
        checks.ok(
            "thumbprint.root",
            f"{_named(chain.root)}: the root CA",
        )
    )
    return lines


def _named(certificate: Any) -> str:
    """`<SHA-1 thumbprint>  <subject>`, as doctor's thumbprint lines show a certificate."""
    return f"{tls_chain.thumbprint(certificate)}  {tls_chain.subject(certificate)}"


def chain_host(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or 443}"


def _expiry(leaf: Any) -> list[Line]:
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
