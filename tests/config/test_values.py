"""Single-value validators: every rule, and messages that name the variable and quote the value."""

from __future__ import annotations

import re

import pytest

from injector.config import values
from injector.errors import ConfigError
from tests.support.problems import only_message

NAME = "SOME_VARIABLE"


def _problem(error: pytest.ExceptionInfo[ConfigError]) -> str:
    return only_message(error, NAME)


# booleans


@pytest.mark.parametrize(
    "raw",
    ["true", "TRUE", "True", "tRuE", "1", "yes", "YES", "Yes", "on", "ON", "On"],
)
def test_boolean_true_spellings(raw: str) -> None:
    assert values.boolean({NAME: raw}, NAME) is True


@pytest.mark.parametrize(
    "raw",
    ["false", "FALSE", "False", "fAlSe", "0", "no", "NO", "No", "off", "OFF", "Off"],
)
def test_boolean_false_spellings(raw: str) -> None:
    assert values.boolean({NAME: raw}, NAME) is False


def test_boolean_unset_is_off() -> None:
    assert values.boolean({}, NAME) is False


@pytest.mark.parametrize(
    "raw", ["", " true", "true ", "t", "y", "n", "2", "-1", "enabled", "ture", "yes!", "\ttrue"]
)
def test_boolean_refuses_everything_else(raw: str) -> None:
    with pytest.raises(ConfigError) as error:
        values.boolean({NAME: raw}, NAME)
    message = _problem(error)
    assert "true/false/1/0/yes/no/on/off" in message
    assert repr(raw) in message


# free text


def test_text_accepts_plain_value() -> None:
    assert values.text(NAME, "simple-cli", "a name") == "simple-cli"


def test_text_refuses_empty() -> None:
    with pytest.raises(ConfigError) as error:
        values.text(NAME, "", "a name")
    assert "empty" in _problem(error)


@pytest.mark.parametrize("char", ["\x00", "\x01", "\t", "\n", "\r", "\x1b", "\x7f", "\x85", "\x9f"])
def test_text_refuses_control_characters(char: str) -> None:
    with pytest.raises(ConfigError) as error:
        values.text(NAME, f"a{char}b", "a name")
    assert "control character" in _problem(error)


@pytest.mark.parametrize("raw", [" a", "a ", " a ", "a\u00a0", "\u2003a"])
def test_text_refuses_surrounding_blanks(raw: str) -> None:
    with pytest.raises(ConfigError) as error:
        values.text(NAME, raw, "a name")
    assert "blanks" in _problem(error)


def test_text_allows_inner_blanks_and_unicode() -> None:
    assert values.text(NAME, "mon espace ü", "a name") == "mon espace ü"


def test_text_refuses_forbidden_characters_and_lists_them() -> None:
    with pytest.raises(ConfigError) as error:
        values.text(NAME, "a:b/c", "a name", forbidden=":/")
    message = _problem(error)
    assert "':'" in message
    assert "'/'" in message
    assert "'a:b/c'" in message
    assert values.text(NAME, "a-b", "a name", forbidden=":/") == "a-b"


def test_text_message_names_the_form() -> None:
    with pytest.raises(ConfigError) as error:
        values.text(NAME, " x", "a workspace name")
    assert "a workspace name" in _problem(error)


# whole numbers


@pytest.mark.parametrize(("raw", "number"), [("1", 1), ("30", 30), ("1440", 1440), ("007", 7)])
def test_positive_int_in_range(raw: str, number: int) -> None:
    assert values.positive_int(NAME, raw, maximum=1440, unit="minutes") == number


@pytest.mark.parametrize("raw", ["0", "1441", "99999999999999999999"])
def test_positive_int_out_of_range(raw: str) -> None:
    with pytest.raises(ConfigError) as error:
        values.positive_int(NAME, raw, maximum=1440, unit="minutes")
    message = _problem(error)
    assert "from 1 to 1440" in message
    assert "minutes" in message


@pytest.mark.parametrize("raw", ["", "-1", "+1", " 1", "1 ", "1.5", "1e3", "thirty", "0x10", "٣"])
def test_positive_int_not_a_number(raw: str) -> None:
    with pytest.raises(ConfigError) as error:
        values.positive_int(NAME, raw, maximum=1440, unit="minutes")
    message = _problem(error)
    assert "whole number" in message
    assert repr(raw) in message


# one value under two names

REGION = re.compile(r"[a-z]{2}-[a-z]+-[0-9]")
FIRST, SECOND = "AWS_REGION", "AWS_DEFAULT_REGION"


@pytest.mark.parametrize(
    "env",
    [
        {FIRST: "us-east-1"},
        {SECOND: "us-east-1"},
        {FIRST: "us-east-1", SECOND: "us-east-1"},
        {FIRST: "us-east-1", SECOND: ""},
        {FIRST: "", SECOND: "us-east-1"},
    ],
)
def test_either_one_or_both_agreeing(env: dict[str, str]) -> None:
    assert values.either(env, FIRST, SECOND, REGION, "a region") == "us-east-1"


@pytest.mark.parametrize("env", [{}, {FIRST: "", SECOND: ""}])
def test_either_neither(env: dict[str, str]) -> None:
    assert values.either(env, FIRST, SECOND, REGION, "a region") is None


def test_either_disagreeing_names_both() -> None:
    with pytest.raises(ConfigError) as error:
        values.either({FIRST: "us-east-1", SECOND: "eu-west-1"}, FIRST, SECOND, REGION, "a region")
    assert error.value.problems[0].variable == FIRST
    message = error.value.problems[0].message
    assert SECOND in message
    assert "'us-east-1'" in message
    assert "'eu-west-1'" in message


@pytest.mark.parametrize(("bad_name", "other"), [(FIRST, SECOND), (SECOND, FIRST)])
def test_either_malformed_value_names_the_variable_it_came_from(bad_name: str, other: str) -> None:
    with pytest.raises(ConfigError) as error:
        values.either({bad_name: "Moon-1"}, FIRST, SECOND, REGION, "a region")
    assert error.value.problems[0].variable == bad_name
    assert "'Moon-1'" in error.value.problems[0].message


# required / optional and the quoting of values


def test_optional_treats_empty_as_unset() -> None:
    assert values.optional({NAME: ""}, NAME) is None
    assert values.optional({}, NAME) is None
    assert values.optional({NAME: "x"}, NAME) == "x"


@pytest.mark.parametrize("env", [{}, {NAME: ""}])
def test_required_missing(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as error:
        values.required(env, NAME, "a thing")
    message = _problem(error)
    assert "required" in message
    assert "a thing" in message


def test_guid() -> None:
    good = "8abe206b-29a8-4ed8-8a3b-30237e295659"
    assert values.guid(NAME, good) == good
    assert values.guid(NAME, good.upper()) == good.upper()
    for bad in (good[:-1], "{" + good + "}", good.replace("-", ""), good + " ", "g" + good[1:]):
        with pytest.raises(ConfigError) as error:
            values.guid(NAME, bad)
        assert repr(bad) in _problem(error)


def test_message_quotes_long_value_shortened() -> None:
    long = "x" * 300
    with pytest.raises(ConfigError) as error:
        values.positive_int(NAME, long, maximum=10, unit="minutes")
    message = _problem(error)
    assert "'...'" in message
    assert "(300 characters)" in message
    assert "x" * 81 not in message
    assert str(error.value).startswith(f"{NAME}: ")


def test_message_shows_invisible_characters() -> None:
    assert values.shown("a\tb ") == "'a\\tb '"
    assert values.shown("abc", limit=2) == "'a'...'c' (3 characters)"


def test_minutes_is_singular_for_one() -> None:
    assert values.minutes(1) == "1 minute"
    assert values.minutes(5) == "5 minutes"
    assert values.minutes(0) == "0 minutes"
