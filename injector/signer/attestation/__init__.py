"""Attested identity: the signer derives a job's organization, workspace, ids and phase from a
token its platform minted (GitHub Actions, GitLab CI, Kubernetes, any OIDC issuer), verified
against that platform's keys, instead of reading them from the job's request.

- `kinds`: what each kind of platform token says, and how its claims map to the job context;
- `keys`: the platform's discovery and JWKS, fetched hardened, cached, refreshed on unknown kid;
- `verify`: one subject token checked strictly and turned into an attested job context;
- `settings`: the `[[attestation]]` tables of the signer's policy;
- `token_review`: a Kubernetes token's liveness, asked of the cluster's API server;
- `rate`: a request budget per attested subject and workspace;
- `fetching`: which fetch the key sets use (handed in by the signer's command);
- `pending`: a request waiting for keys another request fetches, without holding a thread.
"""

__all__ = ["fetching", "keys", "kinds", "pending", "rate", "settings", "token_review", "verify"]
