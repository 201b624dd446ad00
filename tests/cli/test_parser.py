"""The command line builds only the subcommand it names, and parses exactly as the whole one."""

from __future__ import annotations

import argparse

import pytest

from injector import cli
from injector.errors import ConfigError


def _subcommands(parser: argparse.ArgumentParser) -> list[str]:
    (action,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return list(action.choices)


def test_the_list_of_commands_is_the_parsers() -> None:
    assert _subcommands(cli.build_parser()) == list(cli.COMMANDS)


@pytest.mark.parametrize("command", cli.COMMANDS)
def test_a_named_command_alone_is_built(command: str) -> None:
    built = _subcommands(cli.build_parser([command, "--help"]))
    assert command in built
    # The module that adds `command` builds its few siblings with it, never the job's.
    if command not in ("env", "run", "hook"):
        assert not {"env", "run", "hook"} & set(built)
    else:
        assert built == [command]


@pytest.mark.parametrize(
    "argv",
    [
        ["env", "--format", "json", "--dir", "/x"],
        ["--dir", "env"],  # a value that is also a command's name: the dry run
        ["--dir", "run", "env", "--format", "json"],  # two names: the whole parser decides
        ["--log-level", "debug", "run", "--", "sh", "-c", "injector env"],
        ["hook", "--phase", "apply"],
        ["signer", "--socket", "/s"],
        ["verify", "--cloud", "aws", "-"],
        [],
    ],
)
def test_the_narrow_parser_parses_as_the_whole_one(argv: list[str]) -> None:
    assert vars(cli.build_parser(argv).parse_args(argv)) == vars(
        cli.build_parser().parse_args(argv)
    )


@pytest.mark.parametrize("argv", [["nothing"], ["env", "--format", "nothing"], ["--dir"]])
def test_a_bad_command_line_fails_the_same_way(argv: list[str]) -> None:
    messages = []
    for parser in (cli.build_parser(argv), cli.build_parser()):
        with pytest.raises(ConfigError) as raised:
            parser.parse_args(argv)
        messages.append(str(raised.value))
    assert messages[0] == messages[1]


def test_an_unknown_command_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["nothing"]) == 2
    said = capsys.readouterr().err
    assert all(repr(command) in said for command in cli.COMMANDS)
