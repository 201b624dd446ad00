"""HTTP as a client of a server that may be hostile (httpx, imported only by the modules that
make calls: Vault's login, Transit, the diagnostics' fetches; never on the hot path).

- `deadline`: one total deadline per request, down to every connect, handshake and read;
- `guarded`: a JSON client bound to one origin: that deadline, capped bodies, redirects only
  to the same origin, header values checked before sending, errors that never carry a header
  value or a secret the server echoes;
- `no_redirect`: urllib's redirects switched off, so a secret goes only to the URL named
  (the keyless exchange, the Kubernetes login check);
- `redact`: a server's words on one line with the call's secrets blanked (standard library
  only, for the keyless exchange's urllib too);
- `watchdog`: one total deadline for a urllib exchange (the keyless job's), by shutting its
  socket down.
"""

__all__ = ["deadline", "guarded", "no_redirect", "redact", "watchdog"]
