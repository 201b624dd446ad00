"""The job side's commands: the dry run, `env`, `run` and `hook`. Each handler loads the minting
pipeline only when it runs, so the other commands never import it."""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from injector import clouds
from injector.cli import options
from injector.cli.options import Parser
from injector.config import issuer_settings

if TYPE_CHECKING:
    from injector.cli.options import Commands
from injector.errors import ConfigError, Problems
from injector.job.render import FORMATS

log = logging.getLogger("injector")

MIN_REFRESH_SECONDS = 1


def add_to_main(parser: Parser) -> None:
    """The dry run is what `injector` does without a command."""
    parser.add_argument(
        "--example",
        action="store_true",
        help="dry run on a built-in example workspace (every cloud), not the environment",
    )
    options.folder_option(parser, "the folder the files would go to (default: a new temporary one)")
    options.phase_option(parser)
    parser.set_defaults(handler=dry_run)


COMMANDS = ("env", "run", "hook")


def add_commands(commands: Commands, common: Parser) -> None:
    if commands.wanted("env"):
        _add_env(commands, common)
    if commands.wanted("run"):
        _add_run(commands, common)
    if commands.wanted("hook"):
        _add_hook(commands, common)


def _add_env(commands: Commands, common: Parser) -> None:
    env = commands.add_parser(
        "env",
        parents=[common],
        help="mint, write the files, print the exports",
        description="Mint one token per enabled cloud, write the files into a private folder, "
        "and print the exports on stdout.",
    )
    options.folder_option(env, "write into D (made 0700 if new; default: a new temporary folder)")
    env.add_argument(
        "--format",
        choices=tuple(FORMATS),
        default="shell",
        help="shell (eval-safe export lines, default), dotenv, json (one flat object), "
        "terrakube (KEY=VALUE for Terrakube's env file), github (for $GITHUB_ENV)",
    )
    options.phase_option(env)
    env.set_defaults(handler=env_command)


def _add_run(commands: Commands, common: Parser) -> None:
    run = commands.add_parser(
        "run",
        parents=[common],
        help="run a command with the exports; refresh tokens; remove them afterwards",
        description="Mint and write as `env` does, run CMD with the exports added to its "
        "environment, re-mint the tokens before they expire while it runs, pass SIGINT, SIGTERM "
        "and SIGHUP on to it, remove the files when it ends and exit with its status.",
    )
    options.folder_option(run, "write into D (default: a new temporary folder, removed afterwards)")
    options.phase_option(run)
    run.add_argument(
        "--refresh-interval",
        type=float,
        metavar="SECONDS",
        help="re-mint every SECONDS (default: half the token lifetime, sooner where an SDK "
        "caches the token file)",
    )
    run.add_argument(
        "--token-endpoint",
        action="store_true",
        help="serve fresh tokens to CMD on a loopback HTTP endpoint with a random bearer, for "
        "SDKs that read a token file only once (see docs/guides/long-applies.md)",
    )
    options.quiet_option(run)
    run.add_argument("command", nargs=argparse.REMAINDER, metavar="-- CMD ...")
    run.set_defaults(handler=run_command)


def _add_hook(commands: Commands, common: Parser) -> None:
    hook = commands.add_parser(
        "hook",
        parents=[common],
        help="Terrakube executor hook: write the files, add the exports to $terrakubeEnv",
        description="For a Terrakube template step before init, plan or apply: write the files "
        "under $workingDirectory/.terraform/injector and add the exports to the env file that "
        "$terrakubeEnv names (default $workingDirectory/.terrakube_temp_env).",
    )
    options.folder_option(hook, "write into D instead of $workingDirectory/.terraform/injector")
    options.phase_option(hook)
    options.quiet_option(hook)
    hook.set_defaults(handler=hook_command)


def dry_run(args: argparse.Namespace) -> int:
    from injector.job import pipeline, report
    from injector.job.example import example_env

    env = options.environment(args, example_env() if args.example else os.environ)
    prepared = pipeline.prepare(
        env,
        dry_run=True,
        phase=getattr(args, "phase", None),
        require=getattr(args, "require", None),
    )
    if prepared is None:
        print(
            f"injector dry run: no cloud has dynamic credentials enabled ({clouds.switches()}), "
            "so nothing would be minted.\n"
            "See an example with: injector --example"
        )
        return 0
    chosen = getattr(args, "dir", None)
    if chosen:
        folder = chosen.absolute()
    else:
        import tempfile  # here: the dry run's only use of it, and it is slow to load

        folder = Path(tempfile.gettempdir(), "injector-XXXXXXXX")
    now = int(time.time())
    plan = pipeline.mint(prepared, folder, now)
    sys.stdout.write(report.dry_run(prepared.settings, prepared.minter.description, plan, now))
    return 0


def env_command(args: argparse.Namespace) -> int:
    from injector.job import pipeline, stdout

    env = options.environment(args, os.environ)
    prepared = pipeline.prepare(
        env, phase=getattr(args, "phase", None), require=getattr(args, "require", None)
    )
    return stdout.env(prepared, getattr(args, "dir", None), args.format)


def run_command(args: argparse.Namespace) -> int:
    from injector.job import pipeline, settings

    command = list(args.command)
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        raise ConfigError.of("usage", "expected a command: injector run -- CMD [ARG ...]")
    env = options.environment(args, os.environ)
    dropped = settings.static_credentials(env)
    clean = {name: value for name, value in env.items() if name not in dropped}
    problems = Problems()
    quiet = problems.run(options.quiet, args, env)
    prepared = problems.run(
        pipeline.prepare,
        clean,
        phase=getattr(args, "phase", None),
        require=getattr(args, "require", None),
    )
    if args.refresh_interval is not None:
        issuer = prepared.settings.issuer if prepared is not None else None
        # Through the signer the lifetime is the signer's: checked once the tokens are minted.
        ttl = issuer.ttl_minutes * 60 if issuer is not None else None
        problems.run(_check_refresh_interval, args.refresh_interval, ttl)
    problems.raise_if_any()
    from injector.job import run  # subprocess and signal handling: only this command needs them

    return run.run(
        command,
        prepared,
        os.environ,
        folder=getattr(args, "dir", None),
        dropped=dropped,
        refresh_interval=args.refresh_interval,
        token_endpoint=args.token_endpoint,
        quiet=bool(quiet),
    )


def _check_refresh_interval(seconds: float, ttl_seconds: int | None) -> None:
    """At least a second (a smaller one would re-mint in a busy loop), and below the token
    lifetime (else tokens expire before they are replaced). Raises ConfigError."""
    if not math.isfinite(seconds) or seconds < MIN_REFRESH_SECONDS:
        raise ConfigError.of(
            "--refresh-interval",
            f"expected a finite number of seconds, at least {MIN_REFRESH_SECONDS}, got {seconds}",
        )
    if ttl_seconds is not None and seconds >= ttl_seconds:
        raise ConfigError.of(
            "--refresh-interval",
            f"{seconds:g} seconds is not below the token lifetime ({ttl_seconds} seconds, "
            f"{issuer_settings.TTL}): tokens would expire before they are replaced",
        )


def hook_command(args: argparse.Namespace) -> int:
    from injector.job import hook

    env = options.environment(args, os.environ)
    return hook.hook(
        env,
        phase=getattr(args, "phase", None),
        folder=getattr(args, "dir", None),
        require=getattr(args, "require", None),
        quiet=options.quiet(args, env),
    )
