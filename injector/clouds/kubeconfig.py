"""A kubeconfig file for client-go (kubectl, Terraform's kubernetes backend, the kubernetes and
helm providers) whose user reads its bearer token from a file (`tokenFile`).

client-go re-reads a `tokenFile` (it keeps what it read for about a minute), so a token that
`injector run` replaces reaches a long-running command; a token written into the kubeconfig
itself would be read once. Rendered as JSON, which the kubeconfig loader reads like YAML and
which needs no quoting rules of its own.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

# One cluster, one user, one context, all called this: the file describes one job's access.
ENTRY = "injector"


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
    return (json.dumps(document, indent=2) + "\n").encode()
