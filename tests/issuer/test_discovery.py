"""The discovery document and the JWKS: Terrakube's fields, the published keys and algorithms,
the rotation variable, and `injector jwks` / `injector discovery` as commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from injector.config import issuer_settings
from injector.errors import ConfigError
from injector.issuer import discovery, keygen
from injector.jose import jwk
from tests.conftest import KeyFiles, run_injector

HOST = "terrakube-api.example.com"
ISSUER = f"https://{HOST}"
KID = issuer_settings.DEFAULT_KEY_ID


@pytest.fixture(scope="module")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """rsa-a, rsa-b (RSA-2048) and ec-a (P-256), each with private.pem and public.pem."""
    folder = tmp_path_factory.mktemp("issuer-keys")
    keygen.write(folder / "rsa-a", keygen.generate("rsa", None))
    keygen.write(folder / "rsa-b", keygen.generate("rsa", None))
    keygen.write(folder / "ec-a", keygen.generate("ec", None))
    return folder


def _env(keys_dir: Path, signing: str = "rsa-a", **extra: str) -> dict[str, str]:
    return {
        issuer_settings.HOSTNAME: HOST,
        issuer_settings.PRIVATE_KEY_PATH: str(keys_dir / signing / "private.pem"),
        **extra,
    }


def _problems(env: dict[str, str]) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as error:
        discovery.from_env(env)
    return [(p.variable, p.message) for p in error.value.problems]


def _public_numbers(path: Path) -> rsa.RSAPublicNumbers | ec.EllipticCurvePublicNumbers:
    key = serialization.load_pem_public_key(path.read_bytes())
    assert isinstance(key, (rsa.RSAPublicKey, ec.EllipticCurvePublicKey))
    return key.public_numbers()


def test_discovery_has_exactly_terrakubes_fields(keys_dir: Path) -> None:
    documents = discovery.from_env(_env(keys_dir))
    assert json.loads(documents.bodies[discovery.DISCOVERY_PATH]) == {
        "issuer": ISSUER,
        "jwks_uri": f"{ISSUER}/.well-known/jwks",
        "response_types_supported": ["id_token"],
        "claims_supported": [
            "sub",
            "aud",
            "exp",
            "iat",
            "iss",
            "jti",
            "terrakube_workspace_id",
            "terrakube_organization_id",
            "terrakube_job_id",
            "terrakube_workspace_name",
            "terrakube_organization_name",
        ],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid"],
        "subject_types_supported": ["public"],
    }


def test_jwks_has_the_signing_key(keys_dir: Path) -> None:
    documents = discovery.from_env(_env(keys_dir))
    (key,) = json.loads(documents.bodies[discovery.JWKS_PATH])["keys"]
    assert list(key) == ["kty", "use", "n", "e", "kid", "alg"]
    assert (key["kty"], key["use"], key["kid"], key["alg"], key["e"]) == (
        "RSA",
        "sig",
        KID,
        "RS256",
        "AQAB",
    )
    n = _public_numbers(keys_dir / "rsa-a" / "public.pem")
    assert isinstance(n, rsa.RSAPublicNumbers)
    assert key["n"] == jwk.uint(n.n)


def test_bodies_are_indented_json_with_one_newline(keys_dir: Path) -> None:
    for body in discovery.from_env(_env(keys_dir)).bodies.values():
        assert body.endswith(b"}\n")
        assert not body.endswith(b"\n\n")
        assert body == discovery.render(json.loads(body))


def test_issuer_with_a_path_keeps_it_in_jwks_uri(keys_dir: Path) -> None:
    env = _env(keys_dir)
    env[issuer_settings.HOSTNAME] = "https://auth.example.com/terrakube"
    document = json.loads(discovery.from_env(env).bodies[discovery.DISCOVERY_PATH])
    assert document["issuer"] == "https://auth.example.com/terrakube"
    assert document["jwks_uri"] == "https://auth.example.com/terrakube/.well-known/jwks"


def test_terrakube_hostname_is_enough(keys_dir: Path) -> None:
    env = _env(keys_dir)
    env[issuer_settings.TERRAKUBE_HOSTNAME] = env.pop(issuer_settings.HOSTNAME)
    assert discovery.from_env(env).issuer == ISSUER


def test_public_key_alone_is_enough(keys_dir: Path) -> None:
    # The host that publishes need not hold the private key.
    env = {
        issuer_settings.HOSTNAME: HOST,
        issuer_settings.PUBLIC_KEY_PATH: str(keys_dir / "rsa-a" / "public.pem"),
    }
    assert discovery.from_env(env).bodies == discovery.from_env(_env(keys_dir)).bodies


def test_ec_signing_key_advertises_es256(keys_dir: Path) -> None:
    documents = discovery.from_env(_env(keys_dir, "ec-a", **{issuer_settings.ALGORITHM: "ES256"}))
    config = json.loads(documents.bodies[discovery.DISCOVERY_PATH])
    assert config["id_token_signing_alg_values_supported"] == ["ES256"]
    (key,) = json.loads(documents.bodies[discovery.JWKS_PATH])["keys"]
    assert (key["kty"], key["crv"], key["alg"]) == ("EC", "P-256", "ES256")


@pytest.mark.parametrize("algorithm", ["RS384", "RS512", "rs512"])
def test_rsa_algorithm_choice(keys_dir: Path, algorithm: str) -> None:
    documents = discovery.from_env(_env(keys_dir, **{issuer_settings.ALGORITHM: algorithm}))
    config = json.loads(documents.bodies[discovery.DISCOVERY_PATH])
    assert config["id_token_signing_alg_values_supported"] == [algorithm.upper()]
    assert json.loads(documents.bodies[discovery.JWKS_PATH])["keys"][0]["alg"] == algorithm.upper()


# rotation: additional published keys


def test_additional_keys_published_after_the_signing_key(keys_dir: Path) -> None:
    env = _env(
        keys_dir,
        **{
            issuer_settings.ADDITIONAL_KEYS: f"next={keys_dir / 'rsa-b' / 'public.pem'}, "
            f"ec-2025={keys_dir / 'ec-a' / 'public.pem'}"
        },
    )
    documents = discovery.from_env(env)
    jwks = json.loads(documents.bodies[discovery.JWKS_PATH])["keys"]
    assert [(k["kid"], k["alg"]) for k in jwks] == [
        (KID, "RS256"),
        ("next", "RS256"),
        ("ec-2025", "ES256"),
    ]
    config = json.loads(documents.bodies[discovery.DISCOVERY_PATH])
    # Exactly the algorithms of the published keys, each once.
    assert config["id_token_signing_alg_values_supported"] == ["RS256", "ES256"]


def test_additional_rsa_key_follows_the_signing_algorithm(keys_dir: Path) -> None:
    env = _env(
        keys_dir,
        **{
            issuer_settings.ALGORITHM: "RS512",
            issuer_settings.ADDITIONAL_KEYS: f"old={keys_dir / 'rsa-b' / 'public.pem'}",
        },
    )
    jwks = json.loads(discovery.from_env(env).bodies[discovery.JWKS_PATH])["keys"]
    assert [k["alg"] for k in jwks] == ["RS512", "RS512"]


def test_additional_key_with_its_own_algorithm(keys_dir: Path) -> None:
    # Moving from RS256 to RS512 at a rotation: the old key keeps the algorithm it signed with.
    env = _env(
        keys_dir,
        "rsa-b",
        **{
            issuer_settings.ALGORITHM: "RS512",
            issuer_settings.KEY_ID: "urn:key:2",
            issuer_settings.ADDITIONAL_KEYS: (
                f"urn:key:1:RS256={keys_dir / 'rsa-a' / 'public.pem'}\n"
            ),
        },
    )
    documents = discovery.from_env(env)
    jwks = json.loads(documents.bodies[discovery.JWKS_PATH])["keys"]
    assert [(k["kid"], k["alg"]) for k in jwks] == [("urn:key:2", "RS512"), ("urn:key:1", "RS256")]
    config = json.loads(documents.bodies[discovery.DISCOVERY_PATH])
    assert config["id_token_signing_alg_values_supported"] == ["RS512", "RS256"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("just-a-path.pem", "expected comma-separated KID=PATH"),
        ("=/keys/a.pem", "expected comma-separated KID=PATH"),
        ("kid=", "expected comma-separated KID=PATH"),
        ("a b=/keys/a.pem", "expected a kid of 1 to 128 printable ASCII"),
        (f"{KID}=/keys/a.pem", "listed twice (the signing key's"),
        ("x=/keys/a.pem,x=/keys/b.pem", "'x' is listed twice"),
        ("x=/nonexistent/a.pem", "no such file"),
    ],
)
def test_additional_keys_refused(keys_dir: Path, value: str, expected: str) -> None:
    problems = _problems(_env(keys_dir, **{issuer_settings.ADDITIONAL_KEYS: value}))
    assert [variable for variable, _ in problems] == [issuer_settings.ADDITIONAL_KEYS]
    assert expected in problems[0][1]


def test_additional_key_of_the_wrong_type_for_its_algorithm(keys_dir: Path) -> None:
    value = f"e:RS256={keys_dir / 'ec-a' / 'public.pem'}"
    ((variable, message),) = _problems(_env(keys_dir, **{issuer_settings.ADDITIONAL_KEYS: value}))
    assert variable == issuer_settings.ADDITIONAL_KEYS
    assert "kid e:" in message
    assert "expected an RSA key for RS256" in message


def test_additional_key_that_is_the_signing_key(keys_dir: Path) -> None:
    value = f"again={keys_dir / 'rsa-a' / 'public.pem'}"
    ((variable, message),) = _problems(_env(keys_dir, **{issuer_settings.ADDITIONAL_KEYS: value}))
    assert variable == issuer_settings.ADDITIONAL_KEYS
    assert f"kid again is the same key as kid {KID}" in message


def test_additional_key_given_a_private_key_file(keys_dir: Path) -> None:
    value = f"b={keys_dir / 'rsa-b' / 'private.pem'}"
    ((variable, message),) = _problems(_env(keys_dir, **{issuer_settings.ADDITIONAL_KEYS: value}))
    assert variable == issuer_settings.ADDITIONAL_KEYS
    assert "expected a PEM public key" in message
    assert "PRIVATE KEY-----" not in message


# configuration errors


def test_no_key_at_all(keys_dir: Path) -> None:
    problems = _problems({issuer_settings.HOSTNAME: HOST})
    assert [variable for variable, _ in problems] == [issuer_settings.PUBLIC_KEY_PATH]
    assert issuer_settings.PRIVATE_KEY_PATH in problems[0][1]


def test_no_hostname(keys_dir: Path) -> None:
    env = _env(keys_dir)
    del env[issuer_settings.HOSTNAME]
    assert [variable for variable, _ in _problems(env)] == [issuer_settings.HOSTNAME]


@pytest.mark.parametrize("value", ["HS256", "ES384", "none", "RS256 "])
def test_unknown_algorithm(keys_dir: Path, value: str) -> None:
    problems = _problems(_env(keys_dir, **{issuer_settings.ALGORITHM: value}))
    assert [variable for variable, _ in problems] == [issuer_settings.ALGORITHM]
    assert "RS256, RS384, RS512, ES256" in problems[0][1]


def test_es256_with_an_rsa_key(keys_dir: Path) -> None:
    problems = _problems(_env(keys_dir, **{issuer_settings.ALGORITHM: "ES256"}))
    assert problems[0][0] == issuer_settings.PRIVATE_KEY_PATH
    assert "expected an EC P-256 key for ES256" in problems[0][1]


def test_ec_key_without_es256_says_how(key_files: KeyFiles) -> None:
    env = {
        issuer_settings.HOSTNAME: HOST,
        issuer_settings.PRIVATE_KEY_PATH: str(key_files.ec_private),
    }
    ((variable, message),) = _problems(env)
    assert variable == issuer_settings.PRIVATE_KEY_PATH
    assert "expected an RSA key for RS256" in message
    assert f"set {issuer_settings.ALGORITHM}=ES256" in message


def test_public_key_of_another_pair(keys_dir: Path) -> None:
    env = _env(
        keys_dir, **{issuer_settings.PUBLIC_KEY_PATH: str(keys_dir / "rsa-b" / "public.pem")}
    )
    assert [variable for variable, _ in _problems(env)] == [issuer_settings.PUBLIC_KEY_PATH]


# the commands


def test_commands_print_the_documents_without_job_context(keys_dir: Path) -> None:
    # No job context, no cloud enabled: the issuer side needs neither.
    env = _env(
        keys_dir, **{issuer_settings.ADDITIONAL_KEYS: f"ec={keys_dir / 'ec-a' / 'public.pem'}"}
    )
    documents = discovery.from_env(env)
    for command, path in (("jwks", discovery.JWKS_PATH), ("discovery", discovery.DISCOVERY_PATH)):
        result = run_injector(command, env=env)
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""
        assert result.stdout.encode() == documents.bodies[path]


@pytest.mark.parametrize("command", ["jwks", "discovery"])
def test_commands_exit_2_naming_the_variable(command: str) -> None:
    result = run_injector(command, env={issuer_settings.PRIVATE_KEY_PATH: "/nonexistent.pem"})
    assert (result.returncode, result.stdout) == (2, "")
    assert f"injector: error: {issuer_settings.HOSTNAME}: is required" in result.stderr
    result = run_injector(
        command,
        env={issuer_settings.HOSTNAME: HOST, issuer_settings.PRIVATE_KEY_PATH: "/nonexistent.pem"},
    )
    assert (result.returncode, result.stdout) == (2, "")
    assert f"injector: error: {issuer_settings.PRIVATE_KEY_PATH}: no such file" in result.stderr
