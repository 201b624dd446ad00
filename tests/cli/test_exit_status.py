"""The exit statuses the reference page lists are the ones the command line returns."""

from __future__ import annotations

import ast
from pathlib import Path

from injector import errors
from injector.cli import exit_status
from tests.conftest import run_injector


def test_bad_input_is_the_bad_input_status(tmp_path: Path) -> None:
    result = run_injector("env", "--dir", str(tmp_path / "out"), env={"INJECTOR_LOG_LEVEL": "x"})
    assert result.returncode == exit_status.BAD_INPUT == 2
    assert "INJECTOR_LOG_LEVEL" in result.stderr


def test_run_without_its_command_is_not_found(workspace: dict[str, str], tmp_path: Path) -> None:
    result = run_injector("run", "--", str(tmp_path / "no-such-command"), env=workspace)
    assert result.returncode == exit_status.NOT_FOUND == 127
    assert "command not found" in result.stderr


def test_run_of_a_file_that_cannot_run(workspace: dict[str, str], tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.write_text("not a program")
    data.chmod(0o644)
    result = run_injector("run", "--", str(data), env=workspace)
    assert result.returncode == exit_status.CANNOT_RUN == 126


def test_every_status_has_a_meaning() -> None:
    statuses = {
        value for name, value in vars(exit_status).items() if name.isupper() and name != "MEANINGS"
    }
    assert statuses == set(exit_status.MEANINGS)


def test_every_status_a_command_error_carries_is_named_and_listed() -> None:
    """`run`'s own statuses (a shell's 126 and 127) are the constants the reference page is
    generated from, never numbers written where they are raised."""
    package = Path(errors.__file__).parent
    carried = []
    for source in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(source.read_text(), str(source))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "CommandError"
            ):
                status = node.args[1] if len(node.args) > 1 else node.keywords[0].value
                assert isinstance(status, ast.Name), f"{source}:{node.lineno}: a bare status"
                carried.append(getattr(errors, status.id))
    assert set(carried) == {errors.COMMAND_NOT_FOUND, errors.COMMAND_CANNOT_RUN}
    assert {exit_status.NOT_FOUND, exit_status.CANNOT_RUN} == set(carried)
    assert set(carried) <= set(exit_status.MEANINGS)
