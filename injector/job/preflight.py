"""What the enabled clouds will certainly refuse, caught before anything is minted: an algorithm
a cloud does not accept, a lifetime over a cloud's maximum
(exit 2); and what is likely to fail, said as a warning (a lifetime under or over a cloud's
advice). The facts are each cloud's `CloudRules`, the ones `doctor` and `verify` apply."""

from __future__ import annotations

import logging

from injector.clouds import tags
from injector.config import issuer_settings, values
from injector.errors import Problems
from injector.job.settings import Settings

log = logging.getLogger("injector")


def check(settings: Settings) -> None:
    """Refusals from each enabled cloud's rules (`_refusals`), then each cloud's own advice on
    its configuration (a missing value a consumer needs, such as a region), as warnings."""
    _refusals(settings)
    for config in settings.clouds:
        for line in config.advice():
            log.warning(
                "%s", line if config.tag is None else f"{tags.configuration_id(config)}: {line}"
            )


def _refusals(settings: Settings) -> None:
    """Raises ConfigError listing every certain refusal; logs a warning for each likely one.
    Through the signer the algorithm and the lifetime are the signer's, so nothing is checked.
    (A `sub` longer than a cloud keeps is refused with the job context, in job.settings.)"""
    problems = Problems()
    # The rules are the cloud's: said once for all its configurations (tags).
    for cloud in {config.name: config.cloud for config in settings.clouds}.values():
        issuer = settings.issuer
        if issuer is None:
            continue
        rules = cloud.rules
        lifetime = issuer.ttl_minutes * 60
        if issuer.algorithm not in rules.checks.algorithms:
            problems.add(
                issuer_settings.ALGORITHM,
                f"{issuer.algorithm} is refused by {rules.label}, which {cloud.switch} needs: "
                f"expected one of {', '.join(rules.checks.algorithms)} (and a key of that type)",
            )
        if (
            rules.checks.max_lifetime_seconds is not None
            and lifetime > rules.checks.max_lifetime_seconds
        ):
            problems.add(
                issuer_settings.TTL,
                f"{values.minutes(issuer.ttl_minutes)}: {rules.label} refuses tokens that "
                f"live over {values.minutes(rules.checks.max_lifetime_seconds // 60)}",
            )
        low, high = rules.advice.recommended_min, rules.advice.recommended_max
        if low is not None and lifetime < low.seconds:
            log.warning(
                "%s: %s: %s; use at least %s for %s",
                issuer_settings.TTL,
                values.minutes(issuer.ttl_minutes),
                low.why,
                values.minutes(low.seconds // 60),
                cloud.label,
            )
        if high is not None and lifetime > high.seconds:
            log.warning(
                "%s: %s: %s %s (%s)",
                issuer_settings.TTL,
                values.minutes(issuer.ttl_minutes),
                high.why,
                values.minutes(high.seconds // 60),
                cloud.label,
            )
    problems.raise_if_any()
