"""`injector serve`: the real process, over real sockets on 127.0.0.1."""

from __future__ import annotations

import http.client
import json
import signal
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
import trustme

from injector.config import issuer_settings
from injector.issuer import app, discovery, keygen
from injector.issuer.app import DocumentApp, Message, Scope
from injector.job.example import EXAMPLE_ENV
from tests.conftest import run_injector
from tests.support import issuers
from tests.support.jobs import minted_for, refusing, switched_off

HOST = issuers.ISSUER_HOST
ISSUER = f"https://{HOST}"
AUDIENCES = {
    "aws.jwt": "aws.workload.identity",
    "azure.jwt": "api://AzureADTokenExchange",
    "gcp.jwt": "https:" + EXAMPLE_ENV["WORKLOAD_IDENTITY_AUDIENCE_GCP"],
}
JWKS = discovery.JWKS_PATH
CONFIG = discovery.DISCOVERY_PATH


@pytest.fixture(scope="module")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return issuers.make_issuer_keys(tmp_path_factory.mktemp("serve-keys"))


@pytest.fixture(scope="module")
def issuer_env(keys_dir: Path) -> dict[str, str]:
    return issuers.issuer_environment(keys_dir)


@pytest.fixture(scope="module")
def server(issuer_env: dict[str, str]) -> Iterator[issuers.Server]:
    with issuers.injector_serve(issuer_env, "--max-age", "120") as running:
        yield running


@pytest.fixture(scope="module")
def documents(issuer_env: dict[str, str]) -> discovery.Documents:
    return discovery.from_env(issuer_env)


# the documents


@pytest.mark.parametrize("path", [JWKS, CONFIG])
def test_get(server: issuers.Server, documents: discovery.Documents, path: str) -> None:
    status, headers, body = issuers.fetch(server.base + path)
    assert status == 200
    assert body == documents.bodies[path]
    assert headers["content-type"] == "application/json"
    assert headers["content-length"] == str(len(body))
    assert headers["cache-control"] == "public, max-age=120"
    etag = headers["etag"]
    assert etag.startswith('"')
    assert etag.endswith('"')  # strong: no W/
    # Granian always names itself (`server: granian`); it cannot be switched off upstream yet.


def test_the_same_bytes_as_the_jwks_command(
    server: issuers.Server, issuer_env: dict[str, str]
) -> None:
    for command, path in (("jwks", JWKS), ("discovery", CONFIG)):
        printed = run_injector(command, env=issuer_env)
        assert printed.returncode == 0, printed.stderr
        assert issuers.fetch(server.base + path)[2] == printed.stdout.encode()


def test_discovery_advertises_the_published_algorithms(server: issuers.Server) -> None:
    config = issuers.fetch_json(server.base + CONFIG)
    assert config["id_token_signing_alg_values_supported"] == ["RS256", "ES256", "RS512"]
    keys = issuers.fetch_json(server.base + JWKS)["keys"]
    assert [(k["kid"], k["alg"]) for k in keys] == [
        ("rsa-256", "RS256"),
        ("ec-256", "ES256"),
        ("rsa-512", "RS512"),
    ]


@pytest.mark.parametrize("path", [JWKS, CONFIG])
def test_head_has_the_headers_and_no_body(server: issuers.Server, path: str) -> None:
    _, get_headers, body = issuers.fetch(server.base + path)
    status, headers, head_body = issuers.fetch(server.base + path, method="HEAD")
    assert (status, head_body) == (200, b"")
    for name in ("content-type", "content-length", "cache-control", "etag"):
        assert headers[name] == get_headers[name]
    assert headers["content-length"] == str(len(body))


def test_etags_differ_between_documents(server: issuers.Server) -> None:
    assert (
        issuers.fetch(server.base + JWKS)[1]["etag"]
        != issuers.fetch(server.base + CONFIG)[1]["etag"]
    )


@pytest.mark.parametrize(
    "if_none_match", ["{etag}", "W/{etag}", '"other", {etag}', "*", ' "x" ,{etag} ']
)
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_if_none_match_answers_304(server: issuers.Server, if_none_match: str, method: str) -> None:
    etag = issuers.fetch(server.base + JWKS)[1]["etag"]
    status, headers, body = issuers.fetch(
        server.base + JWKS,
        method=method,
        headers={"If-None-Match": if_none_match.format(etag=etag)},
    )
    assert (status, body) == (304, b"")
    assert headers["etag"] == etag
    assert headers["cache-control"] == "public, max-age=120"


@pytest.mark.parametrize("if_none_match", ['"stale"', "", "W/", '"' + "a" * 24])
def test_if_none_match_that_does_not_match(server: issuers.Server, if_none_match: str) -> None:
    status, _, body = issuers.fetch(server.base + JWKS, headers={"If-None-Match": if_none_match})
    assert status == 200
    assert body.startswith(b'{\n  "keys"')


def test_health(server: issuers.Server) -> None:
    status, headers, body = issuers.fetch(server.base + "/healthz")
    assert (status, body) == (200, b"ok\n")
    assert headers["cache-control"] == "no-store"
    assert issuers.fetch(server.base + "/healthz", method="HEAD")[:1] == (200,)


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/.well-known",
        "/.well-known/",
        "/.well-known/jwks/",
        "/.well-known/jwks.json",
        "/.well-known/openid-configuration/x",
        "/jwks",
        "/.WELL-KNOWN/jwks",
    ],
)
def test_other_paths_are_404(server: issuers.Server, path: str) -> None:
    assert issuers.fetch(server.base + path)[0] == 404


def test_query_string_is_ignored(server: issuers.Server, documents: discovery.Documents) -> None:
    status, _, body = issuers.fetch(server.base + JWKS + "?cache-buster=1")
    assert (status, body) == (200, documents.bodies[JWKS])


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"])
@pytest.mark.parametrize("path", [JWKS, CONFIG, "/healthz"])
def test_other_methods_are_405(server: issuers.Server, method: str, path: str) -> None:
    status, headers, _ = issuers.fetch(server.base + path, method=method)
    assert status == 405
    assert headers["allow"] == "GET, HEAD"


def test_keep_alive_serves_many_requests_on_one_connection(server: issuers.Server) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        for _ in range(20):
            connection.request("GET", JWKS)
            response = connection.getresponse()
            assert response.status == 200
            assert response.read().startswith(b"{")
    finally:
        connection.close()


# tokens minted by `injector env` verify against the JWKS fetched from the server


def _mint(tmp_path: Path, env: dict[str, str]) -> dict[str, str]:
    """`injector env` for the three example clouds; the tokens by file name."""
    folder = tmp_path / "creds"
    result = run_injector("env", "--dir", str(folder), "--format", "json", env=env)
    assert result.returncode == 0, result.stderr
    return {name: (folder / name).read_text() for name in AUDIENCES if (folder / name).exists()}


@pytest.mark.parametrize(
    ("kid", "key", "algorithm"),
    [("rsa-256", "rsa", "RS256"), ("ec-256", "ec", "ES256"), ("rsa-512", "rsa512", "RS512")],
)
def test_tokens_verify_against_the_served_jwks(
    server: issuers.Server, keys_dir: Path, tmp_path: Path, kid: str, key: str, algorithm: str
) -> None:
    env = {
        **EXAMPLE_ENV,
        "ENABLE_DYNAMIC_CREDENTIALS_VAULT": "false",  # its login needs a Vault server
        **switched_off("vault_backed_aws"),  # the same login
        issuer_settings.KEY_ID: kid,
        issuer_settings.PRIVATE_KEY_PATH: str(keys_dir / key / "private.pem"),
        issuer_settings.ALGORITHM: algorithm,
        **refusing(algorithm),
    }
    tokens = _mint(tmp_path, env)
    assert sorted(tokens) == minted_for(algorithm, AUDIENCES)
    # Follow discovery as a cloud does: the configuration names the JWKS.
    config = issuers.fetch_json(server.base + CONFIG)
    assert config["issuer"] == ISSUER
    assert config["jwks_uri"] == ISSUER + JWKS
    jwks = issuers.fetch_json(server.base + JWKS)
    for name, token in tokens.items():
        assert jwt.get_unverified_header(token) == {"kid": kid, "alg": algorithm, "typ": "JWT"}
        claims = issuers.verify(token, jwks, audience=AUDIENCES[name], issuer=ISSUER)
        assert claims["sub"] == "organization:simple:workspace:simple-cli"
    # pyjwt's own JWKS client, fetching over HTTP, finds the key by kid too.
    client = jwt.PyJWKClient(server.base + JWKS, cache_keys=False)
    signing_key = client.get_signing_key_from_jwt(tokens["aws.jwt"])
    assert signing_key.key_id == kid
    jwt.decode(
        tokens["aws.jwt"],
        signing_key.key,
        algorithms=[algorithm],
        audience=AUDIENCES["aws.jwt"],
        issuer=ISSUER,
    )


def test_a_token_of_an_unpublished_key_is_refused(server: issuers.Server, tmp_path: Path) -> None:
    """The check has teeth: a key that is not in the JWKS, even under a published kid."""
    keygen.write(tmp_path / "stranger", keygen.generate("rsa", None))
    env = {
        **EXAMPLE_ENV,
        "ENABLE_DYNAMIC_CREDENTIALS_VAULT": "false",  # its login needs a Vault server
        **switched_off("vault_backed_aws"),  # the same login
        issuer_settings.KEY_ID: "rsa-256",
        issuer_settings.PRIVATE_KEY_PATH: str(tmp_path / "stranger/private.pem"),
    }
    token = _mint(tmp_path, env)["aws.jwt"]
    jwks = issuers.fetch_json(server.base + JWKS)
    with pytest.raises(jwt.InvalidSignatureError):
        issuers.verify(token, jwks, audience=AUDIENCES["aws.jwt"], issuer=ISSUER)


# TLS


def test_tls(issuer_env: dict[str, str], documents: discovery.Documents, tmp_path: Path) -> None:
    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1", "localhost")
    certfile, keyfile = tmp_path / "cert.pem", tmp_path / "key.pem"
    certificate.private_key_pem.write_to_path(str(keyfile))
    certificate.cert_chain_pems[0].write_to_path(str(certfile))
    context = ssl.create_default_context()
    authority.configure_trust(context)
    args = ("--certfile", str(certfile), "--keyfile", str(keyfile))
    with issuers.injector_serve(issuer_env, *args, context=context) as running:
        assert running.base.startswith("https://")
        status, headers, body = issuers.fetch(running.base + JWKS, context=context)
        assert (status, body) == (200, documents.bodies[JWKS])
        assert headers["content-type"] == "application/json"
        # Some clouds' fetchers speak TLS 1.2 at most: Granian's own minimum (1.3) would lock
        # them out, so the server is told to take 1.2.
        only_tls12 = ssl.create_default_context()
        authority.configure_trust(only_tls12)
        only_tls12.maximum_version = ssl.TLSVersion.TLSv1_2
        status, _, body = issuers.fetch(running.base + JWKS, context=only_tls12)
        assert (status, body) == (200, documents.bodies[JWKS])
        # Plain HTTP on the TLS port gets no document (a TLS alert, or a closed connection).
        with pytest.raises((OSError, http.client.HTTPException)):
            issuers.fetch(f"http://127.0.0.1:{running.port}{JWKS}")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--certfile", "/nonexistent/cert.pem"], "--certfile: and --keyfile go together"),
        (["--keyfile", "/nonexistent/key.pem"], "--certfile: and --keyfile go together"),
        (
            ["--certfile", "/nonexistent/cert.pem", "--keyfile", "/nonexistent/key.pem"],
            "--certfile: cannot load /nonexistent/cert.pem",
        ),
        (["--workers", "0"], "--workers: expected 1 to 64"),
        (["--port", "70000"], "--port: expected 0 to 65535"),
        (["--max-age", "-1"], "--max-age: expected seconds >= 0"),
        (["--port", "http"], "invalid int value"),
    ],
)
def test_bad_options_exit_2(issuer_env: dict[str, str], args: list[str], expected: str) -> None:
    result = run_injector("serve", *args, env=issuer_env)
    assert result.returncode == 2
    assert expected in result.stderr


def test_bad_configuration_exits_2_before_binding() -> None:
    result = run_injector("serve", env={issuer_settings.HOSTNAME: HOST})
    assert result.returncode == 2
    assert f"error: {issuer_settings.PUBLIC_KEY_PATH}: is required" in result.stderr


def test_port_in_use_exits_1(server: issuers.Server, issuer_env: dict[str, str]) -> None:
    result = run_injector("serve", "--port", str(server.port), env=issuer_env)
    assert result.returncode == 1
    assert "injector: error: the server could not start on 127.0.0.1:" in result.stderr


# shutdown


def _serve_process(env: dict[str, str], *args: str) -> tuple[subprocess.Popen[bytes], int]:
    port = issuers.free_port()
    process = subprocess.Popen(
        issuers.injector_command("serve", "--port", str(port), *args),
        env=issuers.clean_env(env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while not issuers.port_open(port):
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        assert time.monotonic() < deadline, "injector serve did not start"
        time.sleep(0.05)
    return process, port


@pytest.mark.parametrize("workers", ["1", "2"])
def test_sigterm_shuts_down_cleanly(issuer_env: dict[str, str], workers: str) -> None:
    process, port = _serve_process(issuer_env, "--workers", workers)
    # An idle keep-alive connection must not hold the shutdown up.
    idle = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    idle.request("GET", JWKS)
    assert idle.getresponse().read().startswith(b"{")
    try:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        idle.close()
        if process.poll() is None:
            process.kill()
    assert process.stderr is not None
    stderr = process.stderr.read().decode()
    assert "Traceback" not in stderr
    assert not issuers.port_open(port)


# the ASGI app without a server


async def _call(app: DocumentApp, scope: Scope) -> list[Message]:
    sent: list[Message] = []
    messages: list[Message] = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]

    async def receive() -> Message:
        return messages.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


def test_app_answers_lifespan_for_servers_that_run_it() -> None:
    import asyncio

    sent = asyncio.run(_call(DocumentApp({"/x": b"{}"}), {"type": "lifespan"}))
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


def test_app_serves_prerendered_bytes() -> None:
    import asyncio

    body = json.dumps({"keys": []}).encode()
    scope = {"type": "http", "method": "GET", "path": "/x", "headers": []}
    start, message = asyncio.run(_call(DocumentApp({"/x": body}, max_age=7), scope))
    assert start["status"] == 200
    assert (b"cache-control", b"public, max-age=7") in start["headers"]
    assert message["body"] == body


def test_routes_follow_the_issuer_path(keys_dir: Path) -> None:
    # Clouds fetch `<iss>/.well-known/...`: with iss https://host/tenant that is /tenant/...
    env = {
        issuer_settings.HOSTNAME: "https://auth.example.com/tenant",
        issuer_settings.PRIVATE_KEY_PATH: str(keys_dir / "rsa/private.pem"),
    }
    routes = app.routes(discovery.from_env(env))
    assert sorted(routes) == [
        "/tenant/.well-known/jwks",
        "/tenant/.well-known/openid-configuration",
    ]
