"""The signer: a process that holds the signing key and mints tokens on request over a Unix
socket, for callers the kernel identifies and a policy allows.

- `protocol`: the wire format (one JSON request, one JSON answer per connection), stdlib only;
- `client`: what the job side uses to ask, checking who listens (stdlib only);
- `policy`: who may mint which `sub` and `aud` (default deny);
- `policy_file`: the `--policy` TOML file read into a policy, every problem listed;
- `custody`: the files and folders the signer trusts, checked against other uids at start;
- `peer`: the caller's uid/gid/groups/pid from the socket, with a pid-reuse guard;
- `userns`: the overflow ids an unmapped caller arrives as, where the signer's namespace has any;
- `backend`: the signing backends' face and the PEM key file backend;
- `transit_backend`: a key kept in OpenBao/Vault Transit (signed in worker threads);
- `audit`: the audit lines, each clipped to a bounded size;
- `service`: one decision: the request checked, the policy asked, the tokens signed, the audit line;
- `fairness`: a cap on each uid's open connections; refusals audited once a second with a count;
- `connections`: the event loop that serves every connection from one thread;
- `accepting`: the listening socket in the loop, paused when out of descriptors;
- `accepted`: one accepted connection: admitted, its state, the answer to its request;
- `workers`: the threads a blocking backend (or an attested request) is answered in, answers
  handed back to the loop;
- `listener`: the socket, bound in a private folder and renamed into place;
- `readiness`: the `ready` line and systemd's READY=1;
- `server`: the process itself: settings, signals (SIGHUP reloads the policy) and shutdown;
- `attestation`: platform tokens (GitHub, GitLab, Kubernetes, OIDC) that name a job's context;
- `token_exchange`: RFC 8693 over HTTP: a form in, a status and a JSON answer out;
- `https`: `--listen`: the token exchange endpoint's server, beside the socket, each request
  read within a deadline;
- `addresses`: `--listen`'s caps on connections per address and in all, refusals audited.
"""

__all__ = [
    "accepted",
    "accepting",
    "addresses",
    "attestation",
    "audit",
    "backend",
    "client",
    "connections",
    "custody",
    "fairness",
    "https",
    "listener",
    "peer",
    "policy",
    "policy_file",
    "protocol",
    "readiness",
    "server",
    "service",
    "token_exchange",
    "transit_backend",
    "userns",
    "workers",
]
