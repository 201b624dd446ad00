"""Settings of the job's environment that would print the tokens `injector run` hands its
command: warned about before the command starts (it is the user's choice, not an error)."""

from __future__ import annotations

import logging
from collections.abc import Mapping

log = logging.getLogger("injector")

# Terraform's log switches. At DEBUG and TRACE (and JSON, which is TRACE as JSON) Terraform and
# its providers log whole requests: the S3 backend of Terraform 1.11 was seen printing the
# web identity token it sent, in full.
TERRAFORM_LOG = ("TF_LOG", "TF_LOG_CORE", "TF_LOG_PROVIDER")
_PRINTS_REQUESTS = frozenset({"DEBUG", "TRACE", "JSON"})


def debug_logs(env: Mapping[str, str]) -> list[str]:
    """The log variables set to a level that prints requests, tokens included."""
    return [name for name in TERRAFORM_LOG if env.get(name, "").strip().upper() in _PRINTS_REQUESTS]


def warn_about_leaks(env: Mapping[str, str]) -> None:
    """A warning on stderr for each setting that would print a token; returns nothing."""
    for name in debug_logs(env):
        where = f" into {env['TF_LOG_PATH']}" if env.get("TF_LOG_PATH") else ""
        log.warning(
            "%s=%s: Terraform's debug log prints whole requests%s, the web identity tokens "
            "among them; set %s to INFO or unset it while tokens are in use",
            name,
            env[name].strip(),
            where,
            name,
        )
