"""The variables one reading of the environment sees, and where each came from.

The environment is read through layers, each built once over the one below: CI defaults, HCP
Terraform's names, a phase's overrides (`<VARIABLE>_APPLY`), a tagged configuration's own
values (`<VARIABLE>_<TAG>`). A layer records, for each name it sets, the name it took the value
from; `origin(name)` follows those records down to the variable the user set, so a problem
found with a value is reported under the name the workspace holds.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from injector.errors import ConfigError, Problem


class Variables(Mapping[str, str]):
    """A read-only view: `values` as this layer sees them, `origins` naming for each name it
    set the name (in the layer below) its value came from."""

    def __init__(
        self,
        values: Mapping[str, str],
        origins: Mapping[str, str] | None = None,
        below: Variables | None = None,
    ) -> None:
        self._values = dict(values)
        self._origins = dict(origins or {})
        self._below = below

    @classmethod
    def of(cls, env: Mapping[str, str]) -> Variables:
        """`env` itself as the bottom layer (a Variables is returned as it is)."""
        return env if isinstance(env, Variables) else cls(env)

    def over(self, values: Mapping[str, str], origins: Mapping[str, str]) -> Variables:
        """A layer above this one: `values` seen, each name in `origins` taken from another."""
        return Variables(values, origins, self)

    def origin(self, name: str) -> str:
        """The variable the user set that `name`'s value came from (`name` if it is its own)."""
        source = self._origins.get(name, name)
        return source if self._below is None else self._below.origin(source)

    def derived(self) -> bool:
        """Whether any layer took a value from another name."""
        return bool(self._origins) or (self._below is not None and self._below.derived())

    def blame(self, error: ConfigError) -> ConfigError:
        """`error` with each problem under the variable the user set; a problem so renamed
        speaks in those names throughout (a tagged switch is named, not its untagged form),
        while one about a variable of its own (static credentials) stays the same for every view."""
        renames = {
            name: source for name in self._renamed() if (source := self.origin(name)) != name
        }
        pattern = (
            re.compile(
                r"\b(" + "|".join(map(re.escape, sorted(renames, key=len, reverse=True))) + r")\b"
            )
            if renames
            else None
        )
        problems = []
        for problem in error.problems:
            source, message = self.origin(problem.variable), problem.message
            if pattern is not None and source != problem.variable:
                # One pass, so that no name is renamed twice.
                message = pattern.sub(lambda m: renames[m[1]], message)
            problems.append(Problem(source, message))
        return ConfigError(problems)

    def _renamed(self) -> set[str]:
        """The names some layer took from another."""
        below = self._below._renamed() if self._below is not None else set()
        return set(self._origins) | below

    def __getitem__(self, name: str) -> str:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)
