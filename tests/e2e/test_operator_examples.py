"""The operators' examples: trust for many workspaces (for_each, the one-per-account pieces
apart), the signing key from a Kubernetes Secret without a permission warning, `injector serve`
as an image with Deployment/Service/Ingress, and `terraform fmt -check` on every .tf file."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from injector.config import signing_keys
from injector.config.job_context import JobContext
from injector.config.subject import DEFAULT_TEMPLATE
from tests.conftest import ROOT
from tests.e2e.test_examples import EXAMPLES, TF_FILES, blocks, module
from tests.support.issuers import injector_serve

KUBERNETES = EXAMPLES / "kubernetes"


def test_every_tf_file_is_terraform_fmt_clean(tmp_path: Path) -> None:
    config = tmp_path / "terraformrc"
    config.write_text("")  # fmt reads no provider; an empty CLI config keeps it off the network
    env = {**os.environ, "TF_CLI_CONFIG_FILE": str(config)}
    result = subprocess.run(
        ["terraform", "fmt", "-check", "-list=true", *map(str, TF_FILES)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"not fmt-clean:\n{result.stdout}{result.stderr}"
    assert len(TF_FILES) >= 20


# -- trust for many workspaces -------------------------------------------------------------------


def _interpolate(template: str, **values: str) -> str:
    return re.sub(r"\$\{([^}]+)\}", lambda m: values[m.group(1)], template)


def test_aws_many_workspaces_loops_over_workspaces_and_leaves_the_provider_apart() -> None:
    root, account = EXAMPLES / "aws/many-workspaces", EXAMPLES / "aws/many-workspaces/account"
    assert [t for t, _, _ in blocks(account, "resource")] == ["aws_iam_openid_connect_provider"]
    assert "aws_iam_openid_connect_provider" not in {t for t, _, _ in blocks(root, "resource")}
    for type_ in ("aws_iam_role", "aws_iam_role_policy_attachment"):
        ((_, _, body),) = [b for b in blocks(root, "resource") if b[0] == type_]
        assert body["for_each"].startswith("${local.")
    ((_, _, trust),) = list(blocks(root, "data"))
    assert trust["for_each"] == "${local.roles}"
    (statement,) = trust["statement"]
    conditions = {c["variable"]: c["values"] for c in statement["condition"]}
    (subject,) = conditions["${var.terrakube_hostname}:sub"]
    job = JobContext("acme", "network", "o", "w", "j")
    assert _interpolate(
        subject,
        **{
            "each.value.entry.organization": job.organization,
            "each.value.entry.workspace": job.workspace,
        },
    ) == DEFAULT_TEMPLATE.render(job, None)
    (principal,) = statement["principals"]
    assert principal["identifiers"] == ["${var.oidc_provider_arn}"]
    outputs = {name for entry in module(account)["output"] for name in entry}
    assert outputs == {"oidc_provider_arn"}


def test_gcp_many_workspaces_loops_over_workspaces_and_leaves_the_pool_apart() -> None:
    root, pool = EXAMPLES / "gcp/many-workspaces", EXAMPLES / "gcp/many-workspaces/pool"
    assert {t for t, _, _ in blocks(pool, "resource")} == {
        "google_iam_workload_identity_pool",
        "google_iam_workload_identity_pool_provider",
    }
    types = {t for t, _, _ in blocks(root, "resource")}
    assert not any(t.startswith("google_iam_workload_identity_pool") for t in types)
    for _, _, body in blocks(root, "resource"):
        assert body["for_each"] == "${local.accounts}"
    ((_, _, binding),) = [
        b
        for b in blocks(root, "resource")
        if b[0].endswith("iam_member") and "service_account_id" in b[2]
    ]
    job = JobContext("acme", "network", "o", "w", "j")
    member = _interpolate(
        binding["member"],
        **{
            "var.pool_name": "projects/1/locations/global/workloadIdentityPools/terrakube",
            "each.value.entry.organization": job.organization,
            "each.value.entry.workspace": job.workspace,
        },
    )
    assert member == (
        "principal://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/"
        f"terrakube/subject/{DEFAULT_TEMPLATE.render(job, None)}"
    )


# -- the signing key from a Kubernetes Secret ----------------------------------------------------


def _chart_render(values: dict[str, Any]) -> list[dict[str, Any]]:
    """The executor Deployment as Terrakube's Helm chart renders it from `executor:` values
    (templates/deployment-executor.yaml: image:version, env, volumeMounts, volumes, the
    container's and the pod's securityContext), and the Service beside it."""
    executor = values["executor"]
    container = {
        "name": "terrakube-executor",
        "image": f"{executor['image']}:{executor['version']}",
        "ports": [{"containerPort": 8090}],
        "env": executor["env"],
        "volumeMounts": executor["volumeMounts"],
        "envFrom": [{"secretRef": {"name": "terrakube-executor-secrets"}}],
        "securityContext": executor["containerSecurityContext"],
    }
    labels = {"app": "terrakube-executor"}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "terrakube-executor", "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [container], "volumes": executor["volumes"]},
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "terrakube-executor-service"},
        "spec": {"selector": labels, "ports": [{"port": 8090, "targetPort": 8090}]},
    }
    return [deployment, service]


def post_rendered() -> list[dict[str, Any]]:
    """The chart's render of executor-values.yaml, through the real post-renderer.sh (kubectl's
    kustomize), as `helm upgrade --post-renderer` runs it."""
    values = yaml.safe_load((KUBERNETES / "executor-values.yaml").read_text())
    result = subprocess.run(
        [str(KUBERNETES / "post-renderer.sh")],
        input=yaml.safe_dump_all(_chart_render(values)),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return list(yaml.safe_load_all(result.stdout))


def _signing_key_pod() -> dict[str, Any]:
    (deployment,) = [d for d in post_rendered() if d["kind"] == "Deployment"]
    pod: dict[str, Any] = deployment["spec"]["template"]["spec"]
    return pod


def test_the_post_renderer_adds_only_the_init_container() -> None:
    documents = post_rendered()
    values = yaml.safe_load((KUBERNETES / "executor-values.yaml").read_text())
    assert [d["kind"] for d in documents] == [d["kind"] for d in _chart_render(values)][::-1]
    pod = _signing_key_pod()
    assert [init["name"] for init in pod["initContainers"]] == ["signing-key"]
    (executor,) = pod["containers"]
    assert executor["env"] == values["executor"]["env"]


def test_signing_key_secret_is_mounted_for_root_only_and_copied_for_the_executor() -> None:
    pod = _signing_key_pod()
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    assert volumes["injector-secret"]["secret"]["defaultMode"] == 0o400
    assert volumes["injector-key"]["emptyDir"]["medium"] == "Memory"
    # No fsGroup: with one the kubelet would make the files group-readable.
    assert "fsGroup" not in pod.get("securityContext", {})
    (init,) = pod["initContainers"]
    (executor,) = pod["containers"]
    assert init["securityContext"]["runAsUser"] == 0
    # The copy's owner is the uid the values pin the executor to.
    user = executor["securityContext"]["runAsUser"]
    command = init["command"]
    assert command[:7] == ["install", "-m", "0400", "-o", str(user), "-g", str(user)]
    env = {item["name"]: item["value"] for item in executor["env"]}
    assert env["DynamicCredentialPrivateKeyPath"] == command[-1]
    assert env["DynamicCredentialId"] != "03446895-220d-47e1-9564-4eeaa3691b42"
    (mount,) = executor["volumeMounts"]
    assert mount["readOnly"] is True and command[-1].startswith(mount["mountPath"] + "/")
    assert "injector-secret" not in {m["name"] for m in executor["volumeMounts"]}
    text = (KUBERNETES / "executor-values.yaml").read_text()
    assert "kubectl -n terrakube create secret generic injector-signing-key" in text
    assert volumes["injector-secret"]["secret"]["secretName"] == "injector-signing-key"
    # The image is the one examples/terrakube/Dockerfile builds: injector on its PATH.
    assert executor["image"].startswith("registry.example.com/terrakube-executor-injector:")
    assert (
        "-t registry.example.com/terrakube-executor-injector:"
        in (EXAMPLES / "terrakube" / "Dockerfile").read_text()
    )


def test_the_init_containers_copy_leaves_nothing_to_warn_about(
    key_files: Any, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The init container's command, run here as root on a 0400 root-owned key as the kubelet
    mounts it: the copy is the executor uid's alone, which that uid can read, and the rule of
    injector's permission warning finds no other reader."""
    pod = _signing_key_pod()
    (init,) = pod["initContainers"]
    (executor,) = pod["containers"]
    user = executor["securityContext"]["runAsUser"]
    secret = tmp_path / "secret" / "private.pem"
    secret.parent.mkdir()
    shutil.copy(key_files.private_pkcs8, secret)
    secret.chmod(0o400)
    # The emptyDir: a folder the executor's uid can reach (pytest's tmp_path is root's alone).
    reachable = Path(tempfile.mkdtemp(prefix="injector-emptydir-", dir="/tmp"))
    request.addfinalizer(lambda: shutil.rmtree(reachable))
    reachable.chmod(0o711)  # the uid may pass, not list
    target = reachable / "private.pem"
    command = [*init["command"][:-2], str(secret), str(target)]
    subprocess.run(command, check=True, timeout=30)
    info = target.stat()
    assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (user, 0o400)
    assert signing_keys.readers(stat.S_IMODE(info.st_mode)) == []
    read = subprocess.run(
        ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", "cat", str(target)],
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert read.returncode == 0 and read.stdout == key_files.private_pkcs8.read_bytes()


# -- `injector serve` as an image and manifests --------------------------------------------------


def _issuer_documents() -> dict[str, dict[str, Any]]:
    documents = list(yaml.safe_load_all((KUBERNETES / "issuer.yaml").read_text()))
    return {document["kind"]: document for document in documents}


def _dockerfile() -> tuple[dict[str, str], list[str], str]:
    text = (KUBERNETES / "Dockerfile").read_text()
    env = dict(re.findall(r"^ENV (\w+)=(\S+)$", text, re.M))
    (entrypoint,) = re.findall(r"^ENTRYPOINT (\[.*\])$", text, re.M)
    (exposed,) = re.findall(r"^EXPOSE (\d+)$", text, re.M)
    return env, json.loads(entrypoint), exposed


def test_issuer_manifests_fit_the_image_and_each_other() -> None:
    documents = _issuer_documents()
    assert set(documents) == {"Deployment", "Service", "Ingress"}
    env, entrypoint, exposed = _dockerfile()
    assert entrypoint[-5:] == ["serve", "--host", "0.0.0.0", "--port", exposed]  # noqa: S104 (the pod's)
    pod = documents["Deployment"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    (port,) = container["ports"]
    assert port["containerPort"] == int(exposed)
    assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
    (mount,) = container["volumeMounts"]
    assert Path(env["DynamicCredentialPublicKeyPath"]).parent == Path(mount["mountPath"])
    service = documents["Service"]
    assert service["spec"]["selector"] == documents["Deployment"]["spec"]["selector"]["matchLabels"]
    assert service["spec"]["ports"][0]["targetPort"] == port["name"]
    ingress = documents["Ingress"]["spec"]
    host = {item["name"]: item["value"] for item in container["env"]}["DynamicCredentialHostname"]
    assert ingress["tls"][0]["hosts"] == [host]
    (rule,) = ingress["rules"]
    (path,) = rule["http"]["paths"]
    assert rule["host"] == host and path["path"] == "/.well-known/"
    assert path["backend"]["service"]["name"] == service["metadata"]["name"]


def test_issuer_container_settings_serve_the_documents(key_files: Any) -> None:
    """The Deployment's environment and the image's, given to a real `injector serve`."""
    env, _, _ = _dockerfile()
    pod = _issuer_documents()["Deployment"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    settings = {item["name"]: item["value"] for item in container["env"]}
    settings["DynamicCredentialPublicKeyPath"] = str(key_files.public)
    with injector_serve(settings) as server:
        with urllib.request.urlopen(f"{server.base}/healthz", timeout=10) as answer:
            assert answer.status == 200
        with urllib.request.urlopen(f"{server.base}/.well-known/jwks", timeout=10) as answer:
            jwks = json.load(answer)
    assert [key["kid"] for key in jwks["keys"]] == [settings["DynamicCredentialId"]]
    assert "DynamicCredentialPublicKeyPath" in env


def test_kubernetes_readme_lists_the_files_and_commands() -> None:
    readme = (KUBERNETES / "README.md").read_text()
    for path in sorted(KUBERNETES.iterdir()):
        if path.name != "README.md":
            assert f"`{path.name}`" in readme
    for text in (
        (KUBERNETES / "executor-values.yaml").read_text(),
        (KUBERNETES / "issuer.yaml").read_text(),
    ):
        for line in re.findall(r"^#   ((?:kubectl|helm) .*?)(?:\\)?$", text, re.M):
            assert shlex.split(line)[0] in ("kubectl", "helm")
            assert line.strip() in readme.replace("\\\n    ", "")
    assert ROOT.joinpath("README.md").read_text().count("examples/kubernetes") >= 1


# -- README statements ---------------------------------------------------------------------------


def test_reference_claim_table_is_in_the_tokens_order(
    workspace: dict[str, str], tmp_path: Path
) -> None:
    from tests.conftest import run_injector

    reference = (ROOT / "docs" / "reference" / "index.md").read_text()
    table = reference.split("## The token", 1)[1].split("\n\n", 3)[2]
    listed = [
        name for row in table.splitlines()[2:] for name in re.findall(r"`(\w+)`", row.split("|")[1])
    ]
    env = {
        **workspace,
        "ENABLE_DYNAMIC_CREDENTIALS_AZURE": "false",
        "ENABLE_DYNAMIC_CREDENTIALS_GCP": "false",
    }
    result = run_injector("env", "--format", "json", "--dir", str(tmp_path / "out"), env=env)
    assert result.returncode == 0, result.stderr
    token = Path(json.loads(result.stdout)["AWS_WEB_IDENTITY_TOKEN_FILE"]).read_text()
    import base64

    body = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    assert listed == list(claims)


def test_rotation_starts_from_the_setup_folder() -> None:
    issuer = (ROOT / "docs" / "guides" / "issuer.md").read_text()
    setup = issuer.split("# Stand up the issuer", 1)[1].split("## Static hosting", 1)[0]
    operations = (ROOT / "docs" / "operations.md").read_text()
    rotation = operations.split("## Rotating the signing key", 1)[1].split("\n## ", 1)[0]
    assert "injector keygen --out /etc/injector/keys)" in setup  # eval "$(...)", not keys-2
    assert "DynamicCredentialId" in setup
    assert "OLD_KID=/etc/injector/keys/public.pem" in rotation


# -- every Kubernetes manifest against the API's schemas -----------------------------------------


def _manifests() -> list[tuple[str, dict[str, Any]]]:
    found = [("post-renderer.sh", document) for document in post_rendered()]
    for path in (KUBERNETES / "issuer.yaml", EXAMPLES / "signer" / "pod.yaml"):
        found += [(path.name, document) for document in yaml.safe_load_all(path.read_text())]
    return found


def test_every_kubernetes_manifest_validates_against_the_api_schemas() -> None:
    """Strictly (no field the API does not know), offline, with the schemas of the newest
    Kubernetes release kubernetes-validate ships."""
    import kubernetes_validate

    version = kubernetes_validate.latest_version()
    checked = []
    for source, document in _manifests():
        try:
            kubernetes_validate.validate(document, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{source}: {document['kind']}: {error.message}")
        checked.append((source, document["kind"]))
    assert ("post-renderer.sh", "Deployment") in checked
    assert ("pod.yaml", "Pod") in checked
    assert len(checked) == 6


def test_a_manifest_with_a_misspelt_field_is_refused() -> None:
    """The check above can fail: a field the Pod spec does not have is an error."""
    import kubernetes_validate

    pod = yaml.safe_load((EXAMPLES / "signer" / "pod.yaml").read_text())
    pod["spec"]["containers"][0]["volumeMount"] = []
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(pod, kubernetes_validate.latest_version(), strict=True)
