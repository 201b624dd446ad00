"""The exit statuses the reference page lists are the ones the command line returns."""

from __future__ import annotations

from pathlib import Path

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
