"""Command line: parse arguments, run one command, and turn errors into exit codes (here only).

Exit status: 0 done; 2 bad configuration or usage; 1 any other failure. Machine output goes to
stdout, messages to stderr; a token is never printed.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from injector import __version__, inject, phases, render, settings
from injector.errors import ConfigError, InjectorError
from injector.example import EXAMPLE_ENV
from injector.job import OPTIONS as JOB_OPTIONS

log = logging.getLogger("injector")

LOG_LEVEL = "INJECTOR_LOG_LEVEL"
_JOB_DESTS = {variable: option[2:].replace("-", "_") for variable, option in JOB_OPTIONS.items()}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # Usage errors are configuration errors: same exit code, same place for the message.
        raise ConfigError.of("usage", f"{message} (see injector --help)")


def _logging_options() -> _Parser:
    """`--log-level`, which every command takes."""
    # SUPPRESS defaults, so a value given before the subcommand is not reset by the subparser.
    logging_options = _Parser(add_help=False, argument_default=argparse.SUPPRESS)
    logging_options.add_argument(
        "--log-level",
        choices=("debug", "info", "warning", "error"),
        help=f"messages on stderr (default: ${LOG_LEVEL} or warning)",
    )
    return logging_options


def _common_options(logging_options: _Parser) -> _Parser:
    """The job context options and `--log-level`: for the commands that mint."""
    common = _Parser(add_help=False, argument_default=argparse.SUPPRESS, parents=[logging_options])
    job = common.add_argument_group("job context (override the executor's variables)")
    for variable, option in JOB_OPTIONS.items():
        job.add_argument(option, metavar="VALUE", help=f"instead of ${variable}")
    return common


def _folder_option(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument("--dir", type=Path, metavar="D", help=help_text)


def _phase_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--phase",
        choices=phases.PHASES,
        help="use the <VARIABLE>_PLAN or _APPLY identities (role, client id, service account)",
    )


def build_parser() -> argparse.ArgumentParser:
    logging_options = _logging_options()
    common = _common_options(logging_options)
    parser = _Parser(
        prog="injector",
        description="Mint short-lived OIDC tokens for a Terraform job and export what AWS, "
        "Azure and GCP need to log in with them. Without a command: a dry run on the current "
        "environment, which writes nothing.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"injector {__version__}")
    parser.add_argument(
        "--example",
        action="store_true",
        help="dry run on a built-in example workspace (all three clouds), not the environment",
    )
    _folder_option(parser, "the folder the files would go to (default: a new temporary one)")
    _phase_option(parser)
    parser.set_defaults(handler=_dry_run)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=_Parser)

    env = commands.add_parser(
        "env",
        parents=[common],
        help="mint, write the files, print the exports",
        description="Mint one token per enabled cloud, write the files into a private folder, "
        "and print the exports on stdout.",
    )
    _folder_option(env, "write into D (made 0700 if new; default: a new temporary folder)")
    env.add_argument(
        "--format",
        choices=tuple(render.FORMATS),
        default="shell",
        help="shell (eval-safe export lines, default), dotenv, json (one flat object), "
        "terrakube (KEY=VALUE for Terrakube's env file), github (for $GITHUB_ENV)",
    )
    _phase_option(env)
    env.set_defaults(handler=_env)

    run_parser = commands.add_parser(
        "run",
        parents=[common],
        help="run a command with the exports; refresh tokens; remove them afterwards",
        description="Mint and write as `env` does, run CMD with the exports added to its "
        "environment, re-mint the tokens before they expire while it runs, pass SIGINT, SIGTERM "
        "and SIGHUP on to it, remove the files when it ends and exit with its status.",
    )
    _folder_option(run_parser, "write into D (default: a new temporary folder, removed afterwards)")
    _phase_option(run_parser)
    run_parser.add_argument(
        "--refresh-interval",
        type=float,
        metavar="SECONDS",
        help="re-mint every SECONDS (default: half the token lifetime, sooner for Azure)",
    )
    run_parser.add_argument("command", nargs=argparse.REMAINDER, metavar="-- CMD ...")
    run_parser.set_defaults(handler=_run)

    hook_parser = commands.add_parser(
        "hook",
        parents=[common],
        help="Terrakube executor hook: write the files, add the exports to $terrakubeEnv",
        description="For a Terrakube template step before init, plan or apply: write the files "
        "under $workingDirectory/.terraform/injector and add the exports to the env file that "
        "$terrakubeEnv names (default $workingDirectory/.terrakube_temp_env).",
    )
    _folder_option(hook_parser, "write into D instead of $workingDirectory/.terraform/injector")
    _phase_option(hook_parser)
    hook_parser.set_defaults(handler=_hook)
    _issuer_commands(commands, logging_options)
    _diagnostic_commands(commands, common, logging_options)
    return parser


def _issuer_commands(
    commands: argparse._SubParsersAction[_Parser], logging_options: _Parser
) -> None:
    """keygen, jwks, discovery, publish, serve: they need the issuer settings and keys only."""
    keygen = commands.add_parser(
        "keygen",
        parents=[logging_options],
        help="make a signing key pair: DIR/private.pem (0600) and DIR/public.pem",
        description="Generate a key pair (PKCS#8 private key, mode 0600; PEM public key) "
        "into DIR, made 0700 if new. Never overwrites a key.",
    )
    keygen.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder to write")
    keygen.add_argument("--type", choices=("rsa", "ec"), default="rsa", help="default: rsa")
    keygen.add_argument("--bits", type=int, metavar="N", help="RSA key size (default 2048)")
    keygen.set_defaults(handler=_keygen)
    for name, what in (("jwks", "the JWKS"), ("discovery", "the OpenID discovery document")):
        document = commands.add_parser(
            name,
            parents=[logging_options],
            help=f"print {what} of the configured issuer",
            description=f"Print {what} for the issuer and keys the environment configures.",
        )
        document.set_defaults(handler=_print_document, document=name)
    publish = commands.add_parser(
        "publish",
        parents=[logging_options],
        help="write DIR/.well-known/openid-configuration and DIR/.well-known/jwks",
        description="Write both documents under DIR for a static host (bucket, nginx, CDN); "
        "serve them as application/json.",
    )
    publish.add_argument("dir", type=Path, metavar="DIR")
    publish.set_defaults(handler=_publish)
    serve = commands.add_parser(
        "serve",
        parents=[logging_options],
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
    serve.set_defaults(handler=_serve)


def _diagnostic_commands(
    commands: argparse._SubParsersAction[_Parser], common: _Parser, logging_options: _Parser
) -> None:
    """verify and doctor: they fetch over HTTPS and load pyjwt (the `diagnostics` extra)."""
    check = commands.add_parser(
        "verify",
        parents=[logging_options],
        help="check a token as AWS, Azure or GCP would; say which rule fails",
        description="Decode TOKEN (or --file F, or stdin), fetch its issuer's discovery "
        "document and JWKS over HTTPS, and check key, algorithm, signature, times, aud and sub "
        "as the cloud does. One line per rule: ok, FAIL or warn, with the error code the cloud "
        "would answer. Exit 0 when nothing failed, 1 otherwise. Never prints the token.",
    )
    check.add_argument("token", nargs="?", metavar="TOKEN", help="the JWT, or - for stdin")
    check.add_argument("--file", type=Path, metavar="F", help="read the token from F")
    check.add_argument(
        "--cloud", choices=("aws", "azure", "gcp"), help="whose rules (default: told by aud)"
    )
    check.add_argument("--expect-sub", metavar="S", help="the sub the trust policy matches")
    check.add_argument("--expect-aud", metavar="A", help="the aud the trust policy expects")
    _ca_bundle_option(check)
    check.set_defaults(handler=_verify)
    doctor = commands.add_parser(
        "doctor",
        parents=[common],
        help="check settings, keys, TTL, issuer TLS and documents; --login: log in for real",
        description="Check the current environment: settings, keys and their permissions, TTL "
        "per cloud, the issuer's certificate chain (with the SHA-1 thumbprint AWS keeps), "
        "discovery and JWKS against the signing key, and a token per enabled cloud minted in "
        "memory. With --login, also log in through boto3, azure-identity and google-auth. "
        "Exit 0 when nothing failed (warnings do not fail), 1 otherwise.",
    )
    doctor.add_argument(
        "--login",
        action="store_true",
        help="log in through each enabled cloud's SDK (the `login` extra); files go to a "
        "private temporary folder, removed afterwards",
    )
    _ca_bundle_option(doctor)
    _phase_option(doctor)
    doctor.set_defaults(handler=_doctor)


def _ca_bundle_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ca-bundle",
        type=Path,
        metavar="F",
        help="trust the CAs in F for the issuer (default: $SSL_CERT_FILE, else public CAs)",
    )


def _diagnostics() -> None:
    """Raises InjectorError naming the extra when httpx or pyjwt is missing."""
    import importlib.util

    missing = [name for name in ("httpx", "jwt") if importlib.util.find_spec(name) is None]
    if missing:
        raise InjectorError(
            f"{' and '.join(missing)} not installed: pip install 'injector[diagnostics]'"
        )


def _verify(args: argparse.Namespace) -> int:
    _diagnostics()
    from injector import verify

    return verify.command(
        args.token,
        args.file,
        cloud=args.cloud,
        expect_sub=args.expect_sub,
        expect_aud=args.expect_aud,
        ca_bundle=args.ca_bundle,
        env=os.environ,
    )


def _doctor(args: argparse.Namespace) -> int:
    _diagnostics()
    from injector import doctor

    return doctor.command(
        _environment(args, os.environ),
        ca_bundle=args.ca_bundle,
        phase=getattr(args, "phase", None),
        login=args.login,
    )


def _environment(args: argparse.Namespace, base: Mapping[str, str]) -> dict[str, str]:
    env = dict(base)
    for variable, dest in _JOB_DESTS.items():
        value = getattr(args, dest, None)
        if value is not None:
            env[variable] = value
    return env


def _dry_run(args: argparse.Namespace) -> int:
    env = _environment(args, EXAMPLE_ENV if args.example else os.environ)
    prepared = inject.prepare(env, dry_run=True, phase=getattr(args, "phase", None))
    if prepared is None:
        print(
            "injector dry run: no cloud has dynamic credentials enabled "
            "(ENABLE_DYNAMIC_CREDENTIALS_AWS, _AZURE or _GCP), so nothing would be minted.\n"
            "See an example with: injector --example"
        )
        return 0
    chosen = getattr(args, "dir", None)
    folder = chosen.absolute() if chosen else Path(tempfile.gettempdir(), "injector-XXXXXXXX")
    now = int(time.time())
    plan = inject.mint(prepared, folder, now)
    from injector import report

    sys.stdout.write(report.dry_run(prepared.settings, prepared.key, plan, now))
    return 0


def _env(args: argparse.Namespace) -> int:
    prepared = inject.prepare(_environment(args, os.environ), phase=getattr(args, "phase", None))
    if prepared is None:
        log.warning("no cloud has dynamic credentials enabled: nothing minted, nothing exported")
        sys.stdout.write(render.render({}, args.format))
        return 0
    written = inject.write(
        prepared,
        getattr(args, "dir", None),
        lambda minted: render.render(minted.exports, args.format),
    )
    sys.stdout.write(written.output)
    return 0


def _run(args: argparse.Namespace) -> int:
    command = list(args.command)
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        raise ConfigError.of("usage", "expected a command: injector run -- CMD [ARG ...]")
    env = _environment(args, os.environ)
    dropped = settings.static_credentials(env)
    clean = {name: value for name, value in env.items() if name not in dropped}
    prepared = inject.prepare(clean, phase=getattr(args, "phase", None))
    if args.refresh_interval is not None and args.refresh_interval <= 0:
        raise ConfigError.of("--refresh-interval", "expected a positive number of seconds")
    from injector import run  # subprocess and signal handling: only this command needs them

    return run.run(
        command,
        prepared,
        os.environ,
        folder=getattr(args, "dir", None),
        dropped=dropped,
        refresh_interval=args.refresh_interval,
    )


def _hook(args: argparse.Namespace) -> int:
    from injector import hook

    return hook.hook(
        _environment(args, os.environ),
        phase=getattr(args, "phase", None),
        folder=getattr(args, "dir", None),
    )


def _keygen(args: argparse.Namespace) -> int:
    from injector import keygen

    sys.stdout.write(keygen.command(args.out, args.type, args.bits))
    return 0


def _print_document(args: argparse.Namespace) -> int:
    from injector import discovery

    documents = discovery.from_env(os.environ)
    path = discovery.JWKS_PATH if args.document == "jwks" else discovery.DISCOVERY_PATH
    sys.stdout.write(documents.bodies[path].decode("ascii"))
    return 0


def _publish(args: argparse.Namespace) -> int:
    from injector import discovery, publish

    for path in publish.publish(args.dir, discovery.from_env(os.environ).bodies):
        print(f"wrote {path}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from injector import discovery, server

    options = server.Options(
        host=args.host,
        port=args.port,
        certfile=args.certfile,
        keyfile=args.keyfile,
        workers=args.workers,
        max_age=args.max_age,
        access_log=args.access_log,
    )
    server.check(options)
    return server.serve(discovery.from_env(os.environ), options)


class _Formatter(logging.Formatter):
    """`injector: warning: ...`, in the same shape as the error lines."""

    def format(self, record: logging.LogRecord) -> str:
        return f"injector: {record.levelname.lower()}: {record.getMessage()}" + (
            "\n" + self.formatException(record.exc_info) if record.exc_info else ""
        )


def _configure_logging(level: str | None) -> None:
    chosen = (level or os.environ.get(LOG_LEVEL) or "warning").upper()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter())
    log.handlers[:] = [handler]
    log.setLevel(getattr(logging, chosen, logging.WARNING))
    log.propagate = False


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        _configure_logging(getattr(args, "log_level", None))
        return int(args.handler(args))
    except ConfigError as error:
        for problem in error.problems:
            print(f"injector: error: {problem}", file=sys.stderr)
        return 2
    except InjectorError as error:
        print(f"injector: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`injector env | head`); nothing more to say to it.
        sys.stderr.close()
        return 1
    except Exception as error:
        log.debug("internal error", exc_info=True)
        print(
            f"injector: internal error: {type(error).__name__}: {error} "
            f"(rerun with --log-level debug for the traceback)",
            file=sys.stderr,
        )
        return 1
