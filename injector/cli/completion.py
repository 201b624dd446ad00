"""`injector completion bash|zsh`: a completion script made from the parser itself, so a new
command or option completes without anyone editing the script."""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from injector.cli.options import Parser

if TYPE_CHECKING:
    from injector.cli.options import Commands

COMMAND = "completion"
SHELLS = ("bash", "zsh")
FUNCTION = "_injector_complete"


def add_command(
    commands: Commands, logging: Parser, parser: Callable[[], argparse.ArgumentParser]
) -> None:
    """`parser` builds the whole command line (the script lists its commands and options)."""
    if not commands.wanted(COMMAND):
        return
    completion = commands.add_parser(
        COMMAND,
        parents=[logging],
        help="print a shell completion script: source <(injector completion bash)",
        description="Print the completion script of SHELL on stdout. bash: add "
        "`source <(injector completion bash)` to ~/.bashrc; zsh: "
        "`source <(injector completion zsh)` to ~/.zshrc.",
    )
    completion.add_argument("shell", choices=SHELLS, metavar="SHELL", help="bash or zsh")
    completion.set_defaults(handler=lambda args: _completion_command(args, parser))


def _completion_command(
    args: argparse.Namespace, parser: Callable[[], argparse.ArgumentParser]
) -> int:
    sys.stdout.write(script(parser(), args.shell))
    return 0


def _options(parser: argparse.ArgumentParser) -> list[str]:
    return [
        name
        for action in parser._actions
        if action.help != argparse.SUPPRESS
        for name in action.option_strings
    ]


def _choices(parser: argparse.ArgumentParser) -> dict[str, list[str]]:
    """Each option whose values are a fixed list (`--log-level`, `--phase`, `--cloud`)."""
    return {
        name: [str(choice) for choice in action.choices]
        for action in parser._actions
        if action.choices and not isinstance(action, argparse._SubParsersAction)
        for name in action.option_strings
    }


def _valued(parser: argparse.ArgumentParser) -> set[str]:
    """Each option that takes a value of no fixed list (a path, a name): the shell completes it."""
    return {
        name
        for action in parser._actions
        if action.nargs != 0 and not action.choices
        for name in action.option_strings
    }


def _words(values: list[str]) -> str:
    return shlex.quote(" ".join(values))


def script(parser: argparse.ArgumentParser, shell: str) -> str:
    """The completion script for `shell` (bash, or zsh through its bash compatibility)."""
    [subparsers] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    commands: dict[str, argparse.ArgumentParser] = dict(subparsers.choices)
    choices, valued = _choices(parser), _valued(parser)
    for command in commands.values():
        choices.update(_choices(command))
        valued |= _valued(command)
    option_cases = "".join(
        f'        {name}) COMPREPLY=($(compgen -W {_words(values)} -- "$cur")); return ;;\n'
        for name, values in sorted(choices.items())
    )
    # A value of no fixed list (a path, a name): the shell's own completion.
    option_cases += f"        {'|'.join(sorted(valued - set(choices)))}) return ;;\n"
    command_cases = "".join(
        f"        {name}) options={_words(_options(command))} ;;\n"
        for name, command in commands.items()
    )
    names = _words(list(commands))
    body = f"""# injector's completion, made from its parser by `injector completion {shell}`.
{FUNCTION}() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}" prev="${{COMP_WORDS[COMP_CWORD-1]}}"
    local commands={names} command="" options word i
    for ((i = 1; i < COMP_CWORD; i++)); do
        word="${{COMP_WORDS[i]}}"
        # After `run --` the words are the command's own: leave them to the shell.
        [[ -n "$command" && "$word" == "--" ]] && return
        [[ -z "$command" && " $commands " == *" $word "* ]] && command="$word"
    done
    case "$prev" in
{option_cases}    esac
    case "$command" in
{command_cases}        *) options={_words(_options(parser))} ;;
    esac
    if [[ "$cur" == -* ]]; then
        COMPREPLY=($(compgen -W "$options" -- "$cur"))
    elif [[ -z "$command" ]]; then
        COMPREPLY=($(compgen -W "$commands" -- "$cur"))
    fi  # else: a positional argument (a path, a token): the shell's own completion
}}
complete -o default -F {FUNCTION} injector
"""
    if shell == "zsh":
        return "autoload -U +X bashcompinit && bashcompinit\n" + body
    return body
