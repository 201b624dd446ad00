"""Every output format, read back by the program (or the documented rule) that consumes it."""

from __future__ import annotations

import io
import json
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest
from dotenv import dotenv_values

from injector.errors import ConfigError
from injector.job import render

# Values an export can hold once a user picks a folder path with odd characters in it.
AWKWARD = {
    "PLAIN": "/tmp/injector-abc/aws.jwt",
    "SINGLE_QUOTE": "it's",
    "DOUBLE_QUOTE": 'say "hi"',
    "BACKSLASHES": "C:\\dir\\n\\t\\",
    "SUBSTITUTION": "$(touch {marker}) $HOME $1 $$",
    "BACKTICKS": "`touch {marker}`",
    "NEWLINES": "line one\nline two\n",
    "UNICODE": "ünïcødé ✓ 𝄞 日本",
    "EQUALS": "a=b==c=",
    "BLANKS": "  leading and trailing  ",
    "EMPTY": "",
    "GLOB": "*?[a-z]",
    "SHELL_SYNTAX": "; echo oops && false || true | cat > /dev/null # & ! ~",
    "HASH": "# not a comment",
    "HEREDOC_LOOKALIKE": "x<<EOF",
}
SINGLE_LINE = {k: v for k, v in AWKWARD.items() if "\n" not in v}


def _awkward(marker: Path) -> dict[str, str]:
    return {name: value.replace("{marker}", str(marker)) for name, value in AWKWARD.items()}


# shell


def _bash_eval(text: str, names: list[str]) -> dict[str, str]:
    """Eval `text` in a real bash with an empty environment, then read the variables back."""
    script = 'eval "$1"; shift; for n in "$@"; do printf "%s\\0%s\\0" "$n" "${!n}"; done'
    result = subprocess.run(
        ["bash", "-c", script, "bash", text, *names],
        env={},
        capture_output=True,
        check=True,
        timeout=30,
    )
    parts = result.stdout.decode("utf-8").split("\0")[:-1]
    assert result.stderr == b""
    return dict(zip(parts[::2], parts[1::2], strict=True))


def test_shell_round_trip_through_bash(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    exports = _awkward(marker)
    text = render.render(exports, "shell")
    assert _bash_eval(text, list(exports)) == exports
    assert not marker.exists()  # nothing in a value was run


def test_shell_exports_to_child_processes() -> None:
    text = render.shell({"INJECTOR_TEST_VALUE": "it's $(a) `b`"})
    result = subprocess.run(
        ["bash", "-c", 'eval "$1"; exec printenv INJECTOR_TEST_VALUE', "bash", text],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    assert result.stdout == "it's $(a) `b`\n"


def test_shell_one_export_line_per_variable() -> None:
    text = render.shell({"A": "1", "B": "two words"})
    assert text.splitlines() == ["export A=1", "export B='two words'"]


# dotenv


def test_dotenv_round_trip_through_python_dotenv(tmp_path: Path) -> None:
    exports = _awkward(tmp_path / "never")
    text = render.render(exports, "dotenv")
    assert dict(dotenv_values(stream=io.StringIO(text))) == exports
    assert dict(dotenv_values(stream=io.StringIO(text), interpolate=False)) == exports


def test_dotenv_carriage_return_round_trip() -> None:
    exports = {"CR": "a\rb\r\nc"}
    assert dict(dotenv_values(stream=io.StringIO(render.dotenv(exports)))) == exports


def test_dotenv_braced_variable_is_never_silently_changed() -> None:
    # python-dotenv expands ${NAME} by default, whatever the quotes: such a value must either
    # survive the round trip or be refused with an error naming the export.
    exports = {"FOLDER": "/tmp/${HOME}/x", "OTHER": "${UNSET:-default}"}
    try:
        text = render.render(exports, "dotenv")
    except ConfigError as error:
        assert {p.variable for p in error.problems} == {"FOLDER", "OTHER"}
        return
    assert dict(dotenv_values(stream=io.StringIO(text))) == exports


# json


def test_json_round_trip(tmp_path: Path) -> None:
    exports = _awkward(tmp_path / "never")
    text = render.render(exports, "json")
    loaded = json.loads(text)
    assert loaded == exports
    assert list(loaded) == list(exports)
    assert text.endswith("}\n")


def test_json_empty() -> None:
    assert json.loads(render.render({}, "json")) == {}


# terrakube


def _terrakube_read(text: str) -> dict[str, str]:
    """The rule Terrakube's executor applies to its env file: each line is split with Java's
    `String.split("=")`, which drops trailing empty strings, and parts 0 and 1 are kept."""
    result = {}
    for line in text.split("\n")[:-1]:
        parts = line.split("=")
        while parts and parts[-1] == "":
            parts.pop()
        result[parts[0]] = parts[1]
    return result


def test_terrakube_round_trip() -> None:
    exports = {k: v for k, v in SINGLE_LINE.items() if "=" not in v and v and "{marker}" not in v}
    exports["PATH_LIKE"] = "/tmp/injector-x/gcp-credentials.json"
    assert len(exports) >= 10
    text = render.render(exports, "terrakube")
    assert text.endswith("\n")
    assert _terrakube_read(text) == exports


@pytest.mark.parametrize("value", ["a=b", "=", "trailing=", "line\nbreak", "carriage\rreturn"])
def test_terrakube_refuses_what_its_reader_would_cut(value: str) -> None:
    with pytest.raises(ConfigError) as error:
        render.render({"GOOD": "ok", "BAD_EXPORT": value}, "terrakube")
    assert [p.variable for p in error.value.problems] == ["BAD_EXPORT"]


def test_terrakube_reports_every_bad_export() -> None:
    with pytest.raises(ConfigError) as error:
        render.terrakube({"ONE": "a=b", "OK": "x", "TWO": "a\nb"})
    assert [p.variable for p in error.value.problems] == ["ONE", "TWO"]
    assert "'='" in str(error.value)
    assert "line break" in str(error.value)


# github


def _github_read(text: str) -> dict[str, str]:
    """`$GITHUB_ENV` as GitHub documents it: `NAME=value`, or `NAME<<DELIMITER`, the value's
    lines, then the delimiter alone on a line. Whichever of `=` and `<<` comes first decides."""
    lines = text.split("\n")
    assert lines.pop() == ""
    result = {}
    index = 0
    while index < len(lines):
        line = lines[index]
        equals, heredoc = line.find("="), line.find("<<")
        if equals >= 0 and (heredoc < 0 or equals < heredoc):
            result[line[:equals]] = line[equals + 1 :]
            index += 1
            continue
        assert heredoc > 0, line
        name, delimiter = line[:heredoc], line[heredoc + 2 :]
        end = lines.index(delimiter, index + 1)
        result[name] = "\n".join(lines[index + 1 : end])
        index = end + 1
    return result


def test_github_round_trip(tmp_path: Path) -> None:
    exports = _awkward(tmp_path / "never")
    exports["EOF_LINES"] = "EOF\nINJECTOR_EOF\nEOF"
    text = render.render(exports, "github")
    assert _github_read(text) == exports


def test_github_single_line_values_are_plain() -> None:
    assert render.github({"A": "1", "B": "x=y"}) == "A=1\nB=x=y\n"


def test_github_heredoc_delimiter_is_unpredictable() -> None:
    first = render.github({"M": "a\nb"}).splitlines()[0]
    second = render.github({"M": "a\nb"}).splitlines()[0]
    assert first.startswith("M<<")
    assert first != second


# dispatch


@pytest.mark.parametrize("form", ["shell", "dotenv", "json", "terrakube", "github"])
def test_every_documented_format_renders(form: str) -> None:
    exports: Mapping[str, str] = {"AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/r"}
    assert "AWS_ROLE_ARN" in render.render(exports, form)


@pytest.mark.parametrize("form", ["yaml", "", "SHELL", "env", "shell "])
def test_unknown_format(form: str) -> None:
    with pytest.raises(ConfigError) as error:
        render.render({"A": "1"}, form)
    assert [p.variable for p in error.value.problems] == ["--format"]
    message = str(error.value)
    for known in ("shell", "dotenv", "json", "terrakube", "github"):
        assert known in message
