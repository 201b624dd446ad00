"""Every package states its face: a docstring, and an `__all__` whose every name is one of its
modules or attributes (so `from injector.<side> import *` and the docs cannot drift)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

import injector

PACKAGES = sorted(path.parent.name for path in Path(injector.__file__).parent.glob("*/__init__.py"))


def test_the_sides_are_packages() -> None:
    assert {"clouds", "config", "diagnostics", "files", "issuer", "job", "signer"} <= set(PACKAGES)


@pytest.mark.parametrize("name", PACKAGES)
def test_each_package_states_its_face(name: str) -> None:
    package = importlib.import_module(f"injector.{name}")
    assert package.__doc__ and len(package.__doc__.split()) > 10
    folder = Path(package.__file__ or "").parent
    exported = package.__all__
    assert exported, name
    for item in exported:
        module = folder / f"{item}.py"
        subpackage = folder / item / "__init__.py"
        assert hasattr(package, item) or module.exists() or subpackage.exists(), (name, item)
