"""The diagnostics' commands: verify and doctor. They fetch over HTTPS and load pyjwt (the
`diagnostics` extra), so they say so when it is missing."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from injector import clouds
from injector.cli import options
from injector.cli.options import Parser

if TYPE_CHECKING:
    from injector.cli.options import Commands
from injector.errors import require_modules


def _doctor_description() -> str:
    registered = clouds.registered()
    pinning = [cloud.label for cloud in registered if cloud.rules.advice.thumbprint]
    sdks = [cloud.sdk for cloud in registered if cloud.sdk]
    return (
        "Check the current environment: settings, keys and their permissions, TTL "
        "per cloud, the issuer's certificate chain"
        + (f" (with the SHA-1 thumbprint {options.listing(pinning)} keeps)" if pinning else "")
        + ", discovery and JWKS against the signing key, and a token per enabled cloud minted "
        f"in memory. With --login, also log in through {options.listing(sdks)}. "
        "Exit 0 when nothing failed (warnings do not fail), 1 otherwise."
    )


COMMANDS = ("verify", "doctor")


def add_commands(commands: Commands, common: Parser, logging: Parser) -> None:
    if not any(commands.wanted(name) for name in COMMANDS):
        return  # another command runs: these few are built together when one of them does
    check = commands.add_parser(
        "verify",
        parents=[logging],
        help=f"check a token as {options.listing(list(clouds.labels()), 'or')} would; "
        "say which rule fails",
        description="Decode TOKEN (or --file F, or stdin), fetch its issuer's discovery "
        "document and JWKS over HTTPS, and check key, algorithm, signature, times, aud and sub "
        "as the cloud does. One line per rule: ok, FAIL or warn, with the error code the cloud "
        "would answer. Exit 0 when nothing failed, 1 otherwise. Never prints the token.",
    )
    check.add_argument("token", nargs="?", metavar="TOKEN", help="the JWT, or - for stdin")
    check.add_argument("--file", type=Path, metavar="F", help="read the token from F")
    check.add_argument("--cloud", choices=clouds.names(), help="whose rules (default: told by aud)")
    check.add_argument("--expect-sub", metavar="S", help="the sub the trust policy matches")
    check.add_argument("--expect-aud", metavar="A", help="the aud the trust policy expects")
    options.ca_bundle_option(check)
    check.set_defaults(handler=verify_command)
    doctor = commands.add_parser(
        "doctor",
        parents=[common],
        help="check settings, keys, TTL, issuer TLS and documents; --login: log in for real",
        describe=_doctor_description,
    )
    doctor.add_argument(
        "--login",
        action="store_true",
        help="log in through each enabled cloud's SDK (the `login` extra); files go to a "
        "private temporary folder, removed afterwards",
    )
    doctor.add_argument(
        "--issuer",
        action="store_true",
        help="check the issuer alone (its settings, key, TLS and documents): no cloud or job "
        "context needed",
    )
    options.ca_bundle_option(doctor)
    options.phase_option(doctor)
    doctor.set_defaults(handler=doctor_command)


def verify_command(args: argparse.Namespace) -> int:
    require_modules("verify", "diagnostics", ("httpx", "jwt"))
    from injector.diagnostics import verify

    return verify.command(
        args.token,
        args.file,
        cloud=args.cloud,
        expect_sub=args.expect_sub,
        expect_aud=args.expect_aud,
        ca_bundle=args.ca_bundle,
        env=os.environ,
    )


def doctor_command(args: argparse.Namespace) -> int:
    require_modules("doctor", "diagnostics", ("httpx", "jwt"))
    from injector.diagnostics import doctor

    return doctor.command(
        options.environment(args, os.environ),
        ca_bundle=args.ca_bundle,
        phase=getattr(args, "phase", None),
        require=getattr(args, "require", None),
        login=args.login,
        issuer_only=args.issuer,
    )
