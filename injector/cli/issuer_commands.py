"""The issuer side's commands: keygen, jwks, discovery, publish, serve. They need the issuer
settings and keys only: no job context, no cloud."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from injector.cli.options import Parser
from injector.errors import require_modules

if TYPE_CHECKING:
    from injector.cli.options import Commands


COMMANDS = ("keygen", "jwks", "discovery", "publish", "serve")


def add_commands(commands: Commands, logging: Parser) -> None:
    if not any(commands.wanted(name) for name in COMMANDS):
        return  # another command runs: these few are built together when one of them does
    keygen = commands.add_parser(
        "keygen",
        parents=[logging],
        help="make a signing key pair: DIR/private.pem (0600) and DIR/public.pem",
        description="Generate a key pair (PKCS#8 private key, mode 0600; PEM public key) "
        "into DIR, made 0700 if new. Never overwrites a key. Prints on stdout only the "
        'settings to use, as `export` lines (eval "$(injector keygen --out DIR)" sets '
        "them); what it wrote goes to stderr.",
    )
    keygen.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder to write")
    keygen.add_argument("--type", choices=("rsa", "ec"), default="rsa", help="default: rsa")
    keygen.add_argument("--bits", type=int, metavar="N", help="RSA key size (default 2048)")
    keygen.set_defaults(handler=keygen_command)
    for name, what in (("jwks", "the JWKS"), ("discovery", "the OpenID discovery document")):
        document = commands.add_parser(
            name,
            parents=[logging],
            help=f"print {what} of the configured issuer",
            description=f"Print {what} for the issuer and keys the environment configures.",
        )
        document.set_defaults(handler=document_command, document=name)
    publish = commands.add_parser(
        "publish",
        parents=[logging],
        help="write DIR/.well-known/openid-configuration and DIR/.well-known/jwks",
        description="Write both documents under DIR for a static host (bucket, nginx, CDN); "
        "serve them as application/json.",
    )
    publish.add_argument("dir", type=Path, metavar="DIR")
    publish.set_defaults(handler=publish_command)
    serve = commands.add_parser(
        "serve",
        parents=[logging],
        help="serve both documents over HTTP(S) until SIGTERM",
        description="Serve the discovery document and the JWKS (GET, HEAD; ETag; Cache-Control) "
        "and /healthz, with Granian. Needs the `server` extra.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="default 8080")
    serve.add_argument("--certfile", type=Path, metavar="F", help="PEM certificate chain (TLS)")
    serve.add_argument("--keyfile", type=Path, metavar="K", help="its PEM private key")
    serve.add_argument("--workers", type=int, default=1, metavar="N", help="processes (default 1)")
    serve.add_argument(
        "--max-age", type=int, default=300, metavar="S", help="Cache-Control max-age (default 300)"
    )
    serve.add_argument("--access-log", action="store_true", help="log each request on stdout")
    serve.set_defaults(handler=serve_command)


def keygen_command(args: argparse.Namespace) -> int:
    from injector.issuer import keygen

    told, settings = keygen.command(args.out, args.type, args.bits)
    sys.stderr.write(told)
    sys.stdout.write(settings)
    return 0


def document_command(args: argparse.Namespace) -> int:
    from injector.issuer import discovery

    documents = discovery.from_env(os.environ)
    path = discovery.JWKS_PATH if args.document == "jwks" else discovery.DISCOVERY_PATH
    sys.stdout.write(documents.bodies[path].decode("ascii"))
    return 0


def publish_command(args: argparse.Namespace) -> int:
    from injector.issuer import discovery, publish

    for path in publish.publish(args.dir, discovery.from_env(os.environ).bodies):
        print(f"wrote {path}")
    return 0


def serve_command(args: argparse.Namespace) -> int:
    require_modules("serve", "server", ("granian",))
    from injector.issuer import discovery, server

    options = server.Options(
        host=args.host,
        port=args.port,
        certfile=args.certfile,
        keyfile=args.keyfile,
        workers=args.workers,
        max_age=args.max_age,
        access_log=args.access_log,
    )
    return server.serve(discovery.from_env(os.environ), options)
