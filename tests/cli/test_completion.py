"""`injector completion`: the script, sourced into a real bash, completes commands, options and
the values of options with a fixed list, as the parser defines them."""

from __future__ import annotations

import subprocess

import pytest

from injector.cli import build_parser
from tests.conftest import run_injector

# Sources the script, then asks its function to complete the words given (the last one being
# the word under the cursor), as bash does on TAB.
COMPLETE = """
source <(cat "$1")
shift
COMP_WORDS=(injector "$@")
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
_injector_complete
printf '%s\\n' "${COMPREPLY[@]}"
"""


@pytest.fixture(scope="module")
def bash_script(tmp_path_factory: pytest.TempPathFactory) -> str:
    result = run_injector("completion", "bash", env={})
    assert result.returncode == 0, result.stderr
    path = tmp_path_factory.mktemp("completion") / "injector.bash"
    path.write_text(result.stdout)
    return str(path)


def _complete(script: str, *words: str) -> list[str]:
    result = subprocess.run(
        ["bash", "-c", COMPLETE, "complete", script, *words],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert result.stderr == ""
    return [line for line in result.stdout.splitlines() if line]


def test_commands_complete(bash_script: str) -> None:
    assert _complete(bash_script, "ve") == ["verify"]
    assert set(_complete(bash_script, "")) == set(_subcommands())


def test_a_commands_options_complete(bash_script: str) -> None:
    assert _complete(bash_script, "env", "--fo") == ["--format"]
    assert "--token-endpoint" in _complete(bash_script, "run", "--")
    assert "--token-endpoint" not in _complete(bash_script, "env", "--")


def test_an_options_fixed_values_complete(bash_script: str) -> None:
    assert _complete(bash_script, "--log-level", "") == ["debug", "info", "warning", "error"]
    assert _complete(bash_script, "verify", "--cloud", "a") == ["aws", "azure"]


def test_paths_and_the_commands_own_words_are_left_to_the_shell(bash_script: str) -> None:
    assert _complete(bash_script, "keygen", "--out", "") == []
    assert _complete(bash_script, "run", "--", "terraform", "-") == []


def test_zsh_loads_the_same_function_through_bashcompinit() -> None:
    zsh = run_injector("completion", "zsh", env={})
    bash = run_injector("completion", "bash", env={})
    assert zsh.returncode == 0, zsh.stderr
    assert zsh.stdout.startswith("autoload -U +X bashcompinit && bashcompinit\n")
    assert bash.stdout.split("\n", 1)[1] in zsh.stdout


def test_an_unknown_shell_is_exit_2() -> None:
    result = run_injector("completion", "fish", env={})
    assert result.returncode == 2
    assert "invalid choice: 'fish'" in result.stderr
    assert result.stdout == ""


def _subcommands() -> list[str]:
    parser = build_parser()
    [commands] = [a for a in parser._actions if a.dest == "==SUPPRESS==" and a.choices]
    return list(commands.choices or ())
