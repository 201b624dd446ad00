"""The signer: a process that holds the signing key and mints tokens on request over a Unix
socket, for callers the kernel identifies and a policy allows.

- `protocol`: the wire format (one JSON request, one JSON answer per connection), stdlib only;
- `client`: what the job side uses to ask (stdlib only: `socket`, `json`);
- `policy`: who may mint which `sub` and `aud` (TOML, default deny);
- `peer`: the caller's uid/gid/pid from SO_PEERCRED, with a pid-reuse guard;
- `backend`: the signing backends' face and the PEM key file backend;
- `transit_backend`: a key kept in OpenBao/Vault Transit (signed in worker threads);
- `service`: one decision: the request checked, the policy asked, the tokens signed, the audit line;
- `connections`: the event loop that serves every connection from one thread;
- `server`: the process itself: settings, the socket, signals and shutdown;
- `attestation`: platform tokens (GitHub, GitLab, Kubernetes, OIDC) that name a job's context;
- `token_exchange`: RFC 8693 over HTTP: a form in, a status and a JSON answer out;
- `https`: `--listen`: the token exchange endpoint's server, beside the socket.
"""

__all__ = [
    "attestation",
    "backend",
    "client",
    "connections",
    "https",
    "peer",
    "policy",
    "protocol",
    "server",
    "service",
    "token_exchange",
    "transit_backend",
]
