"""The job side: everything `env`, `run`, `hook` and the dry run do, in the order data flows.

- `settings` (with `phases`): the environment validated once, every cloud's configurations;
- `preflight`, `spelling`: what a cloud would certainly refuse (exit 2), what looks misspelt;
- `minter` (`key_minter`, `signer_minter`): who signs (the claims are `injector.claims`);
- `plan`: the pure core, settings in, tokens, files and exports out;
- `pipeline`: prepare and mint;
- `session`: one job's lifecycle (folder, files, leases, refresher, keeper, endpoint), undone
  on every way out;
- `exchange`: a cloud's own login with the minted token (Vault), its renewal and revocation;
- `render`, `report`, `provenance`, `example`: the exports' forms, the dry run, tracing a
  refused export to its input, the built-in example workspace;
- `stdout`, `hook`, `run` (`refresh`, `token_endpoint`, `leaks`): the session's outputs, the
  exports on stdout (`env`), in Terrakube's env file, in a command's environment.

The hot path imports no cloud SDK, HTTP client, issuer or diagnostics module
(tests/e2e/test_hot_path.py).
"""

__all__ = [
    "example",
    "exchange",
    "hook",
    "key_minter",
    "leaks",
    "minter",
    "phases",
    "pipeline",
    "plan",
    "preflight",
    "provenance",
    "refresh",
    "render",
    "report",
    "run",
    "session",
    "settings",
    "signer_minter",
    "spelling",
    "stdout",
    "token_endpoint",
]
