"""`doctor --login` for Kubernetes: a SelfSubjectReview (`kubectl auth whoami`) through the
kubeconfig injector wrote, in a child process that has only the exports
(injector.diagnostics.login_child runs it). The API server answers with the user it made of the
token, or a bare 401.

The standard library only: the kubeconfig is injector's own JSON, and the review is one POST.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

from injector.clouds.facets import LoginOutcome

REVIEW = "/apis/authentication.k8s.io/v1/selfsubjectreviews"
TIMEOUT_SECONDS = 20


def login() -> LoginOutcome:
    """Ask the API server who the token is. Runs in a child with only the exports."""
    # Here, not at the top: the hot path imports this module and no HTTP client.
    import ssl
    import urllib.error
    import urllib.request

    from injector.net.no_redirect import NoRedirect

    path = os.environ.get("KUBECONFIG")
    if not path:
        return {
            "ok": False,
            "code": "no cluster",
            "message": "KUBE_HOST is not set: no kubeconfig to log in with",
        }
    config = json.loads(Path(path).read_text())
    cluster = config["clusters"][0]["cluster"]
    token = Path(config["users"][0]["user"]["tokenFile"]).read_text().strip()
    context = ssl.create_default_context()
    if "certificate-authority-data" in cluster:
        pem = base64.b64decode(cluster["certificate-authority-data"]).decode()
        context = ssl.create_default_context(cadata=pem)
    body = json.dumps(
        {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    ).encode()
    request = urllib.request.Request(  # noqa: S310 (the https URL the workspace set)
        cluster["server"] + REVIEW,
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    # The token goes to the API server KUBE_HOST names and nowhere else.
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}),
        urllib.request.HTTPSHandler(context=context),
        NoRedirect(),
    )
    try:
        with opener.open(request, timeout=TIMEOUT_SECONDS) as answer:
            review = json.loads(answer.read())
    except urllib.error.HTTPError as error:
        code = f"{error.code} {error.reason}"
        return {"ok": False, "code": code, "message": f"{cluster['server']} answered {code}"}
    except (OSError, ValueError) as error:
        return {"ok": False, "code": None, "message": f"{type(error).__name__}: {error}"}
    user = review.get("status", {}).get("userInfo", {})
    groups = ", ".join(user.get("groups", [])) or "none"
    return {
        "ok": True,
        "detail": f"{cluster['server']} knows the token as user {user.get('username')!r} "
        f"(groups {groups})",
    }
