"""examples/signer/: the sidecar pod, its policy, the systemd unit and the runners' policy
parse, and agree with each other and with the signer's options."""

from __future__ import annotations

import configparser
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from injector.cli import build_parser
from injector.signer import policy_file
from tests.conftest import ROOT

FOLDER = ROOT / "examples" / "signer"
OVERFLOW_ID = 65534  # /proc/sys/kernel/overflowuid and overflowgid, the kernel's default
SUB = "organization:simple:workspace:simple-cli"
GCP = (
    "https://iam.googleapis.com/projects/123456789012/locations/global/"
    "workloadIdentityPools/terrakube/providers/terrakube"
)


def _pod() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((FOLDER / "pod.yaml").read_text())
    return document


def _containers() -> dict[str, dict[str, Any]]:
    return {container["name"]: container for container in _pod()["spec"]["containers"]}


def _init_containers() -> dict[str, dict[str, Any]]:
    return {container["name"]: container for container in _pod()["spec"]["initContainers"]}


def _env(container: dict[str, Any]) -> dict[str, str]:
    return {item["name"]: item["value"] for item in container.get("env", [])}


def _mounts(container: dict[str, Any]) -> dict[str, str]:
    return {mount["name"]: mount["mountPath"] for mount in container["volumeMounts"]}


def test_the_executor_has_no_key_and_asks_the_signer_over_the_shared_socket() -> None:
    pod, containers = _pod(), _containers()
    executor, signer = containers["executor"], containers["signer"]
    volumes = {volume["name"]: volume for volume in pod["spec"]["volumes"]}
    assert "emptyDir" in volumes["signer-socket"]
    assert "signing-key" not in _mounts(executor)
    assert "signing-key" in _mounts(signer)
    assert not any(name.startswith("DynamicCredentialPrivate") for name in _env(executor))
    socket = _env(executor)["DynamicCredentialSigner"].removeprefix("unix:")
    # In a folder of the emptyDir that the signer's uid makes, not group- or world-writable;
    # the executor sees the emptyDir read-only and accepts the signer's uid only.
    folder = Path(socket).parent
    assert folder.parent == Path(_mounts(executor)["signer-socket"])
    assert folder.parent == Path(_mounts(signer)["signer-socket"])
    init = _init_containers()["socket-folder"]
    assert init["command"][0] == "mkdir" and init["command"][-1] == str(folder)
    assert int(init["command"][init["command"].index("-m") + 1], 8) & 0o022 == 0
    assert init["securityContext"]["runAsUser"] == signer["securityContext"]["runAsUser"]
    (view,) = [m for m in executor["volumeMounts"] if m["name"] == "signer-socket"]
    assert view["readOnly"] is True
    signer_user = int(_env(executor)["DynamicCredentialSignerUser"])
    assert signer_user == signer["securityContext"]["runAsUser"]
    # A group-readable key passes the signer's check only in its own group.
    assert pod["spec"]["securityContext"]["fsGroup"] == signer["securityContext"]["runAsGroup"]
    args = build_parser().parse_args(signer["command"][1:])
    assert str(args.socket) == socket
    assert args.policy == Path(_mounts(signer)["signer-policy"])
    key = Path(_env(signer)["DynamicCredentialPrivateKeyPath"])
    assert key.parent == Path(_mounts(signer)["signing-key"])
    assert executor["securityContext"]["runAsUser"] != signer["securityContext"]["runAsUser"]
    # Each container keeps its own pid namespace: the signer decides on the uid and gid the
    # kernel recorded (the executor's pid is 0 to it), and neither sees the other's processes.
    assert pod["spec"].get("shareProcessNamespace", False) is False
    # 65534 is also what an id the pod's user namespace (hostUsers: false) does not map
    # arrives as, which the signer refuses: the executor must be another uid and gid.
    assert OVERFLOW_ID not in (
        executor["securityContext"][key] for key in ("runAsUser", "runAsGroup")
    )


def test_the_sidecar_policy_allows_the_executors_uid_only() -> None:
    loaded = policy_file.load(FOLDER / "policy.toml")
    executor = _containers()["executor"]["securityContext"]
    uid, gid = executor["runAsUser"], executor["runAsGroup"]
    for audience in ("aws.workload.identity", "api://AzureADTokenExchange", GCP):
        assert loaded.decide(uid, gid, SUB, audience) is not None
    signer_uid = _containers()["signer"]["securityContext"]["runAsUser"]
    assert loaded.decide(signer_uid, gid, SUB, "aws.workload.identity") is None
    assert (
        loaded.decide(uid, gid, "organization:other:workspace:x", "aws.workload.identity") is None
    )


class _Unit(configparser.ConfigParser):
    """A systemd unit's keys keep their case (`ExecStart`), unlike an INI file's."""

    def optionxform(self, optionstr: str) -> str:
        return optionstr


def test_the_systemd_unit_runs_the_signer_as_its_own_user_for_the_runners_group() -> None:
    unit = _Unit(interpolation=None, strict=False)
    unit.read(FOLDER / "injector-signer.service")
    service = unit["Service"]
    command = shlex.split(service["ExecStart"])
    assert command[1] == "signer"
    args = build_parser().parse_args(command[1:])
    assert args.socket.parent == Path("/run", service["RuntimeDirectory"])
    assert args.socket_group == service["Group"]
    assert service["User"] == "injector-signer"
    assert service["KillSignal"] == "SIGTERM"
    assert service["Type"] == "notify"  # READY=1 once it listens
    assert service["ExecReload"] == "/bin/kill -HUP $MAINPID"  # SIGHUP reloads the policy
    assert int(service["RuntimeDirectoryMode"], 8) & 0o022 == 0  # the socket folder: its own
    assert service["NoNewPrivileges"] == "true"
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_the_transit_unit_has_no_key_file_and_the_same_command() -> None:
    units = []
    for name in ("injector-signer.service", "injector-signer-transit.service"):
        unit = _Unit(interpolation=None, strict=False)
        unit.read(FOLDER / name)
        units.append(unit)
    with_key, transit = (unit["Service"] for unit in units)
    assert transit["ExecStart"] == with_key["ExecStart"]
    lines = (FOLDER / "injector-signer-transit.service").read_text().splitlines()
    env = dict(
        line.removeprefix("Environment=").split("=", 1)
        for line in lines
        if line.startswith("Environment=")
    )
    assert "DynamicCredentialPrivateKeyPath" not in env
    assert "DynamicCredentialPublicKeyPath" not in env
    assert env["DynamicCredentialTransitKey"] in (FOLDER / "transit-signer-policy.hcl").read_text()
    assert not any(name.startswith("VAULT_") for name in env)


def test_each_runner_user_is_allowed_its_own_subjects() -> None:
    loaded = policy_file.load(FOLDER / "runners-policy.toml")
    a, b = "organization:team-a:workspace:web", "organization:team-b:workspace:db"
    assert loaded.decide(2001, 2001, a, "api://AzureADTokenExchange") is not None
    assert loaded.decide(2001, 2001, b, "aws.workload.identity") is None
    entry = loaded.decide(2002, 2002, b, "aws.workload.identity")
    assert entry is not None and entry.max_ttl_minutes == 15
    assert loaded.decide(2002, 2002, b, "api://AzureADTokenExchange") is None
    assert loaded.decide(2002, 2002, a, "aws.workload.identity") is None


def test_the_keyless_recipes_hold_no_key_and_agree_with_the_keyless_policy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import trustme

    from injector.signer.attestation import token_review

    # The cluster's CA and the signer's token exist only in a pod: real files stand in for them.
    ca = tmp_path / "ca.crt"
    trustme.CA().cert_pem.write_to_path(str(ca))
    (tmp_path / "token").write_text("the-signers-service-account-token\n")
    monkeypatch.setattr(token_review, "IN_CLUSTER", tmp_path)
    text = (FOLDER / "keyless-policy.toml").read_text()
    (tmp_path / "policy.toml").write_text(
        text.replace("/var/run/secrets/kubernetes.io/serviceaccount/ca.crt", str(ca))
    )
    loaded = policy_file.load(tmp_path / "policy.toml")
    signer = "https://signer.example.com:8443"
    assert {a.name: a.audience for a in loaded.attestations} == dict.fromkeys(
        ("github", "gitlab", "cluster", "jenkins"), signer
    )
    assert all(entry.attestation and not entry.caller_named for entry in loaded.entries)
    # The pods' tokens are reviewed by the cluster, in-cluster, the others are not.
    reviewed = {a.name: a.review for a in loaded.attestations if a.review is not None}
    assert list(reviewed) == ["cluster"]
    assert reviewed["cluster"].api_server == token_review.DEFAULT_API_SERVER
    assert reviewed["cluster"].token_file == tmp_path / "token"

    runners = ROOT / "examples" / "runners"
    workflow = yaml.safe_load((runners / "github-actions.yml").read_text())
    assert workflow["permissions"]["id-token"] == "write"
    uses = [s for job in workflow["jobs"].values() for s in job["steps"] if "injector" in str(s)]
    assert uses and all(step["with"]["signer-url"] == signer for step in uses)
    assert workflow["jobs"]["apply"]["environment"] == "production"
    assert loaded.attestations[0].apply_values == frozenset({"production"})
    # One signer with the default template: GitHub's tokens name their phase in `sub` by a
    # template of their own; the others attest none (the signer would refuse {phase} for them).
    templates = {a.name: a.subject_template for a in loaded.attestations}
    assert templates["github"] is not None and templates["github"].uses_phase
    assert templates["cluster"] is None and templates["jenkins"] is None
    assert "DynamicCredentialSubjectTemplate=" not in text

    pipeline = yaml.safe_load((runners / "gitlab-ci.yml").read_text())["plan"]
    assert pipeline["id_tokens"]["INJECTOR_ID_TOKEN"]["aud"] == signer
    assert pipeline["variables"]["DynamicCredentialSigner"] == signer

    pod = yaml.safe_load((FOLDER / "job-pod.yaml").read_text())
    (container,) = pod["spec"]["containers"]
    (projected,) = pod["spec"]["volumes"][0]["projected"]["sources"]
    mount = container["volumeMounts"][0]["mountPath"]
    assert (
        _env(container)["INJECTOR_SUBJECT_TOKEN_FILE"]
        == f"{mount}/{projected['serviceAccountToken']['path']}"
    )
    assert (
        projected["serviceAccountToken"]["audience"]
        == _env(container)["DynamicCredentialSigner"]
        == signer
    )

    jenkins = (runners / "Jenkinsfile").read_text()
    assert f"DynamicCredentialSigner = '{signer}'" in jenkins and "INJECTOR_ID_TOKEN" in jenkins
    for recipe in ("github-actions.yml", "gitlab-ci.yml", "Jenkinsfile"):
        content = (runners / recipe).read_text()
        assert "PrivateKey" not in content and "SIGNING_KEY" not in content


def test_the_signers_key_is_copied_0400_for_its_uid_by_an_init_container() -> None:
    pod, containers = _pod(), _containers()
    signer = containers["signer"]
    volumes = {volume["name"]: volume for volume in pod["spec"]["volumes"]}
    init = _init_containers()["signing-key"]
    uid = signer["securityContext"]["runAsUser"]
    assert init["command"][:7] == ["install", "-m", "0400", "-o", str(uid), "-g", str(uid)]
    assert init["command"][-1] == _env(signer)["DynamicCredentialPrivateKeyPath"]
    assert "secret" in volumes["signing-key-secret"]
    assert "emptyDir" in volumes["signing-key"]
    # The Secret itself is mounted in the init container alone.
    assert "signing-key-secret" in _mounts(init)
    assert all("signing-key-secret" not in _mounts(c) for c in containers.values())


def test_the_images_have_injector_on_their_path_and_no_kid_is_shared() -> None:
    containers = _containers()
    signer = containers["signer"]
    assert signer["command"][0] == "injector"
    dockerfile = (FOLDER / "Dockerfile").read_text()
    assert "ln -s /opt/injector/bin/injector /usr/local/bin/injector" in dockerfile
    image = signer["image"].rsplit(":", 1)[0]
    assert f"-t {image}:" in dockerfile
    user = signer["securityContext"]["runAsUser"]
    assert f"USER {user}:{user}" in dockerfile
    executor = containers["executor"]["image"].rsplit(":", 1)[0]
    assert f"-t {executor}:" in (FOLDER.parent / "terrakube" / "Dockerfile").read_text()
    kid = _env(signer)["DynamicCredentialId"]
    assert kid != "03446895-220d-47e1-9564-4eeaa3691b42"  # Terrakube's default, in every install
    assert kid.startswith("CHANGE-ME")
