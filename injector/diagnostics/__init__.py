"""Diagnostics: why a cloud would refuse a token, said before a run (httpx and pyjwt, the
`diagnostics` extra; never on the hot path).

- `checks`: the checklist lines (ok, FAIL, warn, with the cloud's error code), escaped;
- `fetch`: HTTPS fetches as a cloud makes them, under one deadline each (injector.net);
- `tls_chain`: the issuer's certificate chain and its thumbprints;
- `issuer_checks`, `token_checks`, `time_checks`, `key_checks`, `tls_checks`: one part of the
  checklist each, from the clouds' `CloudRules`;
- `verify`, `doctor` (`doctor_logins`: its real logins): the two commands;
- `login`, `login_child`: `doctor --login`, each cloud's SDK in a child fed only the exports.
"""

__all__ = [
    "checks",
    "doctor",
    "doctor_logins",
    "fetch",
    "issuer_checks",
    "key_checks",
    "login",
    "login_child",
    "time_checks",
    "tls_chain",
    "tls_checks",
    "token_checks",
    "verify",
]
