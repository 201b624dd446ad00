"""What the environment says, read once and checked, each problem naming its variable and the
form it expects. Shared by every side; no I/O but reading key files.

- `values`: validators for single values (switches, GUIDs, text without look-alikes);
- `urls`: validators for URLs (https, a resolvable host, a plain path);
- `job_context`: which organization, workspace, project and job a token is for;
- `ci`: the job context a CI's own variables give (`INJECTOR_CI`, explicit opt-in);
- `variables`: the environment as layers (CI, HCP names, phase, tag), each value's origin;
- `subject`: `DynamicCredentialSubjectTemplate`, the shape of `sub` and its separator rule;
- `issuer_settings`: the key, `kid`, lifetime, `iss`, algorithm, rotation keys, the signer;
- `signing_keys`: loading and checking signing and public keys, the key-permission rule.
"""

__all__ = [
    "ci",
    "issuer_settings",
    "job_context",
    "signing_keys",
    "subject",
    "urls",
    "values",
    "variables",
]
