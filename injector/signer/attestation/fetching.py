"""Which fetch the key sets use. The hardened fetch is injector.diagnostics.fetch, a layer above
the signer (tests/test_layers.py): the command that starts the signer hands that module in with
`use` (standard library only here, so a signer without the signer extra can still do it)."""

from __future__ import annotations

from typing import Any

_module: Any = None


def use(module: Any) -> None:
    """Fetch with `module` (injector.diagnostics.fetch: Trust, Fetcher, FetchError)."""
    global _module
    _module = module


def module() -> Any:
    """The module `use` was given; RuntimeError when none was."""
    if _module is None:
        raise RuntimeError("no fetch was installed: signer.attestation.fetching.use")
    return _module
