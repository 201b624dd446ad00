"""The signer's command: `injector signer`. Loads the signer side only when run."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from injector.cli.options import Parser

if TYPE_CHECKING:
    from injector.cli.options import Commands


COMMANDS = ("signer",)


def add_commands(commands: Commands, logging_options: Parser) -> None:
    if not any(commands.wanted(name) for name in COMMANDS):
        return  # another command runs: these few are built together when one of them does
    signer = commands.add_parser(
        "signer",
        parents=[logging_options],
        help="hold the signing key and mint tokens for allowed callers over a Unix socket",
        description="Load the issuer settings and key (DynamicCredentialPrivateKeyPath, ...) "
        "and answer token requests on a Unix socket; each caller is identified by the kernel "
        "(uid, gid, pid) and must be allowed by the policy. One JSON audit line per decision "
        "on stderr. Jobs use it with DynamicCredentialSigner=unix:PATH.",
    )
    signer.add_argument("--socket", type=Path, required=True, metavar="PATH", help="listen here")
    signer.add_argument(
        "--policy",
        type=Path,
        metavar="FILE",
        help="TOML [[allow]] entries (default: only the signer's own uid may mint)",
    )
    signer.add_argument(
        "--socket-mode", metavar="MODE", help="the socket's permissions, octal (default 0660)"
    )
    signer.add_argument(
        "--socket-group", metavar="G", help="give the socket to group G (name or gid)"
    )
    signer.add_argument(
        "--listen",
        metavar="HOST:PORT",
        help="also answer RFC 8693 token exchanges (POST /token) for attested jobs here",
    )
    signer.add_argument("--certfile", type=Path, metavar="FILE", help="--listen's certificate")
    signer.add_argument("--keyfile", type=Path, metavar="FILE", help="--listen's private key")
    signer.set_defaults(handler=signer_command)


def signer_command(args: argparse.Namespace) -> int:
    from injector.diagnostics import fetch
    from injector.signer import server
    from injector.signer.attestation import fetching

    fetching.use(fetch)
    service, listening = server.load(
        os.environ, args.socket.absolute(), args.policy, args.socket_mode, args.socket_group
    )
    if args.listen is None:
        return server.serve(service, listening, args.policy)
    from injector.signer import https

    where = https.endpoint(args.listen, args.certfile, args.keyfile)
    if not service.policy.attestations:
        from injector.errors import ConfigError

        raise ConfigError.of(
            "--listen", "the policy has no [[attestation]]: no HTTPS caller could be allowed"
        )
    try:
        endpoint = https.Listener(where, service)
    except OSError as error:
        from injector.errors import InjectorError

        raise InjectorError(f"--listen: cannot listen on {args.listen}: {error.strerror}") from None
    endpoint.start()
    try:
        return server.serve(service, listening, args.policy)
    finally:
        endpoint.stop()
