"""A stand-in of Vault's AWS secrets engine in front of a real OpenBao (which ships no such
engine): `<mount>/creds/<role>` and `<mount>/sts/<role>` issue an IAM user's access key made in
moto, `sys/leases/renew` and `sys/leases/revoke` keep and end it; every other path (the JWT
login, token endpoints) goes to OpenBao as it is. Each engine call's Vault token is checked
against OpenBao (`auth/token/lookup`), as Vault checks it, and its accessor recorded.
"""

from __future__ import annotations

import json
import secrets
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import httpx

from tests.support.openbao import OpenBao

MOUNT = "aws"
ROLE = "deploy"
LEASE_SECONDS = 900


@dataclass
class Engine:
    bao: OpenBao
    moto_endpoint: str
    address: str = ""
    lease_seconds: int = LEASE_SECONDS
    accessors: list[str] = field(default_factory=list)  # the Vault tokens engine calls came with
    leases: dict[str, tuple[str, str]] = field(default_factory=dict)  # lease -> (user, key)
    revoked: list[str] = field(default_factory=list)
    renewed: list[str] = field(default_factory=list)
    asked: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # path, body
    # The key the engine acts with, as Vault's engine holds its root credentials; moto takes
    # any key unless it enforces IAM.
    root_key: tuple[str, str] = ("testing", "testing")
    # Values a hostile engine puts over the issued ones (access_key, secret_key...).
    tampered: dict[str, str] = field(default_factory=dict)

    def iam(self) -> Any:
        key_id, secret = self.root_key
        return boto3.client(
            "iam",
            endpoint_url=self.moto_endpoint,
            region_name="us-east-1",
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
        )

    def token_accessor(self, token: str) -> str | None:
        answer = self.bao.api("POST", "auth/token/lookup", {"token": token})
        return str(answer.json()["data"]["accessor"]) if answer.is_success else None

    def issue(self, sts: bool) -> dict[str, Any]:
        user = f"vault-{ROLE}-{secrets.token_hex(4)}"
        iam = self.iam()
        iam.create_user(UserName=user)
        key = iam.create_access_key(UserName=user)["AccessKey"]
        lease = f"{MOUNT}/creds/{ROLE}/{secrets.token_hex(8)}"
        self.leases[lease] = (user, key["AccessKeyId"])
        return {
            "lease_id": lease,
            "lease_duration": self.lease_seconds,
            # Vault's STS credentials have a lease that cannot be renewed, and a session token.
            "renewable": not sts,
            "data": {
                "access_key": key["AccessKeyId"],
                "secret_key": key["SecretAccessKey"],
                "security_token": f"session-{secrets.token_hex(8)}" if sts else None,
                **self.tampered,
            },
        }

    def revoke(self, lease: str) -> None:
        user, key = self.leases.pop(lease)
        self.iam().delete_access_key(UserName=user, AccessKeyId=key)
        self.revoked.append(lease)


def _handler(engine: Engine) -> type[BaseHTTPRequestHandler]:
    trust = ssl.create_default_context(cafile=str(engine.bao.ca_file))

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def _answer(self, status: int, body: dict[str, Any] | None) -> None:
            data = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _engine(self, path: str, body: dict[str, Any]) -> bool:
            ours = path.startswith((f"{MOUNT}/creds/", f"{MOUNT}/sts/", "sys/leases/"))
            if not ours:
                return False
            accessor = engine.token_accessor(self.headers.get("X-Vault-Token", ""))
            if accessor is None:
                self._answer(403, {"errors": ["permission denied"]})
                return True
            engine.accessors.append(accessor)
            engine.asked.append((path, body))
            if path in (f"{MOUNT}/creds/{ROLE}", f"{MOUNT}/sts/{ROLE}"):
                self._answer(200, engine.issue(sts=path.startswith(f"{MOUNT}/sts/")))
            elif path == "sys/leases/renew" and body.get("lease_id") in engine.leases:
                engine.renewed.append(body["lease_id"])
                renewed = {"lease_id": body["lease_id"], "lease_duration": engine.lease_seconds}
                self._answer(200, renewed)
            elif path == "sys/leases/revoke" and body.get("lease_id") in engine.leases:
                engine.revoke(body["lease_id"])
                self._answer(204, None)
            elif path.startswith("sys/leases/"):
                self._answer(400, {"errors": ["invalid lease"]})
            else:
                self._answer(400, {"errors": [f"unknown role: {path.rsplit('/', 1)[-1]}"]})
            return True

        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            path = self.path.split("?", 1)[0].removeprefix("/v1/")
            if self._engine(path, json.loads(raw) if raw else {}):
                return
            headers = {k: v for k, v in self.headers.items() if k.lower().startswith("x-vault")}
            with httpx.Client(verify=trust, timeout=10) as client:
                answer = client.request(
                    self.command, f"{engine.bao.address}{self.path}", content=raw, headers=headers
                )
            self.send_response(answer.status_code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

        do_GET = do_POST = do_PUT = _any

    return Handler


@contextmanager
def running(
    bao: OpenBao, moto_endpoint: str, root_key: tuple[str, str] = ("testing", "testing")
) -> Iterator[Engine]:
    """The engine on a free loopback port (plain http: injector allows it to loopback)."""
    engine = Engine(bao, moto_endpoint, root_key=root_key)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(engine))
    engine.address = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield engine
    finally:
        server.shutdown()
        server.server_close()
