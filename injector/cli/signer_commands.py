"""The signer's command: `injector signer`. Loads the signer side only when run."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from injector.cli.options import Parser

if TYPE_CHECKING:
    from injector.cli.options import Commands


def add_commands(commands: Commands, logging_options: Parser) -> None:
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
    signer.set_defaults(handler=signer_command)


def signer_command(args: argparse.Namespace) -> int:
    from injector.signer import server

    service, listening = server.load(
        os.environ, args.socket.absolute(), args.policy, args.socket_mode, args.socket_group
    )
    return server.serve(service, listening, args.policy)
