"""How long client-go keeps a kubeconfig `tokenFile`'s content: the figure the Kubernetes
cloud's `token_file_cache` declares and `injector run`'s refresh interval allows for.

A real `kubectl proxy` (one client-go transport for its whole life) sends its requests to the
strict API server stand-in with the token of the workspace's user. Right after its first
request the token file is replaced, atomically, with a valid token of another user; the proxy
is then asked every 0.5 s until the API server sees that other user. The time from the first
request to the first request made with the new token is how long the content was kept.
Both tokens are valid, so no 401 plays a part. Takes about a minute.
"""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import trustme
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from injector import files
from tests.conftest import free_port
from tests.standins.kube_apiserver import JwtAuthenticator, KubeApiServer
from tests.standins.server import LOOPBACK
from tests.support.kubernetes import AUDIENCE, NAMESPACE, PREFIX, STATE_VERBS, kubectl_binary

POLL_SECONDS = 0.5
GIVE_UP_SECONDS = 150
JOB = {
    "organizationName": "simple",
    "organizationId": "o",
    "workspaceId": "w",
    "jobId": "1",
    "ENABLE_DYNAMIC_CREDENTIALS_KUBERNETES": "true",
    "WORKLOAD_IDENTITY_AUDIENCE_KUBERNETES": AUDIENCE,
}


def _exports(env: dict[str, str], folder: Path) -> dict[str, str]:
    result = subprocess.run(
        [sys.executable, "-m", "injector", "env", "--dir", str(folder), "--format", "json"],
        env={"PATH": os.environ["PATH"], "LANG": "C.UTF-8", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    exports: dict[str, str] = json.loads(result.stdout)
    return exports


def _get(url: str) -> int:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=30) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as error:
        return error.code


def run() -> list[str]:
    from tests.standins.issuer import ServedIssuer

    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        (root / "key.pem").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        (root / "key.pem").chmod(0o600)
        ca = trustme.CA()
        leaf = ca.issue_cert(LOOPBACK)
        leaf.private_key_and_cert_chain_pem.write_to_path(str(root / "server.pem"))
        trust = ssl.create_default_context()
        ca.configure_trust(trust)
        server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        leaf.configure_cert(server_tls)
        issuer = ServedIssuer(
            {"DynamicCredentialPrivateKeyPath": str(root / "key.pem")},
            root / "server.pem",
            root / "server.pem",
            trust,
        )
        issuer.start()
        server = KubeApiServer(
            JwtAuthenticator(issuer.url, (AUDIENCE,), PREFIX, ("RS256",)),
            {
                f"{PREFIX}organization:simple:workspace:{name}": STATE_VERBS
                for name in ("first", "second")
            },
            tls=server_tls,
            issuer_trust=trust,
        )
        server.start()
        proxy = None
        try:
            base = {
                **JOB,
                "DynamicCredentialPrivateKeyPath": str(root / "key.pem"),
                "DynamicCredentialHostname": issuer.url,
                "KUBE_HOST": server.url,
                "KUBE_CLUSTER_CA_CERT_DATA": ca.cert_pem.bytes().decode(),
            }
            folder = root / "creds"
            exports = _exports({**base, "workspaceName": "first"}, folder)
            _exports({**base, "workspaceName": "second"}, root / "second")
            port = free_port()
            proxy = subprocess.Popen(
                [kubectl_binary(), "proxy", f"--port={port}", f"--address={LOOPBACK}"],
                env={"PATH": os.environ["PATH"], "HOME": str(root), **exports},
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                start_new_session=True,
            )
            if proxy.stdout is None:
                raise RuntimeError("kubectl proxy has no stdout")
            proxy.stdout.readline()  # "Starting to serve on ..."
            url = f"http://{LOOPBACK}:{port}/api/v1/namespaces/{NAMESPACE}/secrets"
            read_at = time.monotonic()
            if _get(url) != 200:
                raise RuntimeError("the first request through kubectl proxy was refused")
            files.write_atomically(
                folder / "kubernetes.jwt", (root / "second" / "kubernetes.jwt").read_bytes()
            )
            while True:
                time.sleep(POLL_SECONDS)
                _get(url)
                user = server.authenticated[-1][0]
                if user.endswith(":second"):
                    kept = time.monotonic() - read_at
                    break
                if time.monotonic() - read_at > GIVE_UP_SECONDS:
                    raise RuntimeError(f"kubectl proxy kept the old token {GIVE_UP_SECONDS} s")
        finally:
            if proxy is not None:
                os.killpg(proxy.pid, signal.SIGTERM)
                proxy.wait(timeout=10)
            server.stop()
            issuer.stop()
    return [
        f"client-go (kubectl proxy) kept the tokenFile content {kept:.1f} s after reading it "
        f"(polled every {POLL_SECONDS} s)",
    ]
