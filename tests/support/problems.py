"""Reading a ConfigError in a test: the one problem a single-value validator raised."""

from __future__ import annotations

import pytest

from injector.errors import ConfigError


def only_message(error: pytest.ExceptionInfo[ConfigError], variable: str) -> str:
    """The only problem's message, after checking that it names `variable`."""
    assert len(error.value.problems) == 1
    assert error.value.problems[0].variable == variable
    return error.value.problems[0].message
