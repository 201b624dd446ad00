"""The packages stand in layers: a module imports only from its own package or from a layer
below its own, so that no side reaches up into another (the signer into the job, a cloud into
the job's pipeline). Function-local and type-checking imports count: they are cycles too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import injector

PACKAGE = Path(injector.__file__).parent

# Top to bottom; the packages of one layer do not import each other. Every module or package of
# injector/ is in exactly one layer.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("__main__",),
    ("cli",),
    ("diagnostics",),  # doctor runs the job's pipeline in a dry run
    ("job",),
    ("issuer", "signer"),  # the job asks the signer (its client and wire format)
    ("transit",),
    ("clouds",),
    ("claims",),
    ("config",),
    ("files", "jose", "net"),  # net: HTTP clients bounded against hostile servers
    ("errors",),
)


def _layer(name: str) -> int:
    for index, layer in enumerate(LAYERS):
        if name in layer:
            return index
    raise AssertionError(f"injector.{name} is in no layer of tests/test_layers.py")


def _imported(path: Path) -> set[str]:
    """The top-level parts of injector that `path` imports (`injector.job.plan` -> `job`)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "injector" and len(parts) > 1 and parts[1] in PARTS:
                found.add(parts[1])
    return found


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


# The packages and top-level modules of injector (a name imported from `injector` itself, such
# as `__version__`, is neither).
PARTS = {path.relative_to(PACKAGE).with_suffix("").parts[0] for path in _modules()} - {"__init__"}


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_go_down_the_layers(path: Path) -> None:
    own = path.relative_to(PACKAGE).with_suffix("").parts[0]
    reaching_up = sorted(
        f"injector.{target}" for target in _imported(path) - {own} if _layer(target) <= _layer(own)
    )
    assert reaching_up == [], f"injector.{own} may not import these (tests/test_layers.py)"


def test_every_part_is_in_a_layer() -> None:
    assert {"cli", "job", "signer", "clouds", "claims", "config", "errors"} <= PARTS
    assert all(_layer(part) >= 0 for part in PARTS)


def test_the_signer_imports_nothing_from_the_job() -> None:
    signer = [p for p in _modules() if p.relative_to(PACKAGE).parts[0] == "signer"]
    assert signer, "the listing is real"
    assert [p.name for p in signer if "job" in _imported(p)] == []
