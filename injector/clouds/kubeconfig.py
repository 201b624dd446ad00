"""A kubeconfig file for client-go (kubectl, Terraform's kubernetes backend, the kubernetes and
helm providers) whose user reads its bearer token from a file (`tokenFile`).

client-go re-reads a `tokenFile` (it keeps what it read for about a minute), so a token that
`injector run` replaces reaches a long-running command; a token written into the kubeconfig
itself would be read once. Rendered as JSON, which the kubeconfig loader reads as YAML, with
YAML's limits on it: client-go's YAML refuses JSON's escape of a character beyond U+FFFF (a
surrogate pair) and folds NEL, U+2028 and U+2029 as line breaks, so those are written as YAML
reads them (see `_as_yaml_reads`).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

# One cluster, one user, one context, all called this: the file describes one job's access.
ENTRY = "injector"

# Characters YAML must not meet raw (not printable, or a line break in YAML 1.1), each as a
# \uXXXX escape that YAML and JSON read alike; everything else beyond ASCII is written raw.
_ESCAPED = {
    code: f"\\u{code:04x}" for code in (*range(0x7F, 0xA0), 0x2028, 0x2029, 0xFEFF, 0xFFFE, 0xFFFF)
}


def _as_yaml_reads(document: object) -> str:
    """JSON that YAML 1.1 reads the same: raw UTF-8 instead of surrogate pairs. Outside strings
    JSON is ASCII, and a raw non-ASCII character is never part of an escape, so escaping one
    wherever it stands is sound."""
    return json.dumps(document, indent=2, ensure_ascii=False).translate(_ESCAPED)


def render(server: str, token_file: Path, ca_pem: str | None, namespace: str | None) -> bytes:
    """The kubeconfig for `server`, its CA (PEM, as the kubernetes provider's
    `cluster_ca_certificate` takes it) when given, the bearer token read from `token_file`."""
    cluster: dict[str, object] = {"server": server}
    if ca_pem is not None:
        cluster["certificate-authority-data"] = base64.b64encode(ca_pem.encode()).decode()
    context: dict[str, object] = {"cluster": ENTRY, "user": ENTRY}
    if namespace is not None:
        context["namespace"] = namespace
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": ENTRY, "cluster": cluster}],
        "users": [{"name": ENTRY, "user": {"tokenFile": str(token_file)}}],
        "contexts": [{"name": ENTRY, "context": context}],
        "current-context": ENTRY,
    }
    return (_as_yaml_reads(document) + "\n").encode()
