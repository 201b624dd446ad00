"""`make demo`: a real web-identity login on this machine, no cloud account and no root.

    python -m demo          (from the repository root, in a venv with the `demo` extra)

Every piece is real except AWS itself: a fresh signing key, `injector serve` publishing the
issuer's documents over HTTPS with a throwaway CA, the strict STS stand-in of the tests (it
fetches that JWKS, checks the signature, `aud` and the role's trust policy on `sub` as AWS
does) with moto behind it, then `injector run` around Terraform's s3 backend (boto3 when
`terraform` is not on PATH), `injector verify` on the token, and a token of another workspace
refused with AWS's own error. Everything lives in a temporary folder removed at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import FrameType

import boto3

from injector import clouds
from injector.job.example import JOB_EXAMPLE
from tests.standins import aws_account, moto, tls
from tests.standins.accounts import ROLE_ARN, SUBJECT
from tests.standins.aws_sts import TEST_CREDENTIALS
from tests.standins.issuer import ServedIssuer
from tests.support import processes

ROOT = Path(__file__).resolve().parent.parent
BUCKET = "demo-tfstate"
REGION = "us-east-1"
OTHER_WORKSPACE = "another-workspace"

# What the job runs when Terraform is not installed: the same login through boto3.
BOTO3_JOB = """
import boto3
identity = boto3.client("sts").get_caller_identity()
s3 = boto3.client("s3")
s3.put_object(Bucket="{bucket}", Key="demo/hello.txt", Body=b"written with web identity")
print("assumed", identity["Arn"])
print("wrote s3://{bucket}/demo/hello.txt")
"""

TERRAFORM_MODULE = """
terraform {
  backend "s3" {}
}

resource "terraform_data" "login" {
  input = "logged in without a stored secret"
}

output "proof" {
  value = terraform_data.login.output
}
"""


class Demo:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.started = time.monotonic()
        self.step_number = 0
        self.home = folder / "home"
        self.home.mkdir()

    def step(self, title: str) -> None:
        self.step_number += 1
        elapsed = time.monotonic() - self.started
        print(f"\n[{self.step_number}] {title}  (+{elapsed:.1f}s)", flush=True)

    @staticmethod
    def say(line: str) -> None:
        print(f"    {line}", flush=True)

    def base_env(self) -> dict[str, str]:
        """A clean environment: none of the caller's AWS profile or keys can help the login.
        PYTHONPATH: this checkout's injector, whatever folder a step runs in."""
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "HOME": str(self.home),
            "PYTHONPATH": str(ROOT),
        }

    def injector(
        self, *args: str, env: Mapping[str, str], check: bool = True, cwd: Path = ROOT
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "injector", *args],
            env={**self.base_env(), **env},
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if check and result.returncode != 0:
            raise DemoFailed(f"injector {args[0]} exited {result.returncode}:\n{result.stderr}")
        return result


class DemoFailed(Exception):
    pass


def signing_settings(keys: Path) -> dict[str, str]:
    """The issuer's key files, and a kid of this run's own (not Terrakube's shared default)."""
    return {
        "DynamicCredentialPrivateKeyPath": str(keys / "private.pem"),
        "DynamicCredentialPublicKeyPath": str(keys / "public.pem"),
        "DynamicCredentialId": f"demo-{uuid.uuid4()}",
    }


def job_env(issuer_url: str, signing: Mapping[str, str]) -> dict[str, str]:
    """A Terrakube job's variables with AWS switched on (every other cloud off)."""
    aws = clouds.named("aws")
    off = {cloud.switch: "false" for cloud in clouds.registered()}
    return {
        **JOB_EXAMPLE,
        **off,
        **aws.example,
        "WORKLOAD_IDENTITY_ROLE_AWS": ROLE_ARN,
        "DynamicCredentialHostname": issuer_url,
        **signing,
    }


@contextmanager
def sts_standin(moto_endpoint: str, ca_file: Path) -> Iterator[str]:
    """The strict STS stand-in as its own process (`python -m tests.standins aws-sts`)."""
    process = processes.spawn(
        [
            sys.executable,
            "-m",
            "tests.standins",
            "aws-sts",
            "--moto",
            moto_endpoint,
            "--ca-file",
            str(ca_file),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = process.stdout.readline().strip() if process.stdout else ""
        if not url:
            raise DemoFailed("the STS stand-in did not start")
        yield url
    finally:
        processes.stop(process, timeout=10)


def shown(output: str) -> None:
    for line in output.strip().splitlines():
        if line.strip():
            Demo.say(f"| {line}")


def terraform_job(demo: Demo, env: Mapping[str, str], aws_env: Mapping[str, str]) -> None:
    module = demo.folder / "module"
    module.mkdir()
    (module / "main.tf").write_text(TERRAFORM_MODULE)
    (demo.folder / "terraformrc").write_text("")
    script = (
        "terraform init -input=false -no-color"
        f" -backend-config=bucket={BUCKET} -backend-config=key=demo/terraform.tfstate"
        " -backend-config=use_path_style=true"
        " && terraform apply -auto-approve -input=false -no-color"
    )
    demo.say(f"$ injector run -- sh -c '{script}'")
    result = demo.injector(
        "run",
        "--",
        "sh",
        "-c",
        script,
        env={
            **env,
            **aws_env,
            "TF_CLI_CONFIG_FILE": str(demo.folder / "terraformrc"),
            "TF_DATA_DIR": str(demo.folder / "tf-data"),
            "TF_IN_AUTOMATION": "1",
            "CHECKPOINT_DISABLE": "1",
        },
        check=False,
        cwd=module,
    )
    interesting = ("Successfully configured", "successfully initialized", "Apply complete", "proof")
    shown(
        "\n".join(
            line for line in result.stdout.splitlines() if any(word in line for word in interesting)
        )
    )
    if result.returncode != 0:
        raise DemoFailed(f"terraform failed:\n{result.stdout}\n{result.stderr}")


def _stop_on_sigterm() -> None:
    # SIGTERM unwinds like Ctrl-C: the issuer, moto and the stand-in run in sessions of their
    # own, so only this process's clean-up stops them.
    def stopping(signum: int, _frame: FrameType | None) -> None:
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, stopping)


def main(argv: Sequence[str] | None = None) -> int:
    del argv
    _stop_on_sigterm()
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="injector-demo-")))
        demo = Demo(folder)
        print("injector demo: a real OIDC web-identity login on this machine, no cloud account.")
        print(f"(work folder {folder}, removed at the end)")

        demo.step("A fresh signing key")
        keys = folder / "keys"
        demo.injector("keygen", "--out", str(keys), env={})
        demo.say(f"$ injector keygen --out {keys}")
        signing = signing_settings(keys)
        demo.say("private.pem (0600) signs the job's tokens; public.pem is what clouds fetch")
        demo.say(f"kid {signing['DynamicCredentialId']}")

        demo.step("The issuer's documents over HTTPS, with a throwaway CA")
        certificates = folder / "tls"
        certificates.mkdir()
        made = tls.make(certificates)
        issuer = ServedIssuer(
            signing,
            made.certfile,
            made.keyfile,
            made.client_context(),
        )
        issuer.start()
        stack.callback(issuer.stop)
        demo.say(f"$ injector serve --certfile ... --keyfile ...   -> {issuer.url}")
        demo.say(f"discovery: {issuer.url}/.well-known/openid-configuration")

        demo.step("An AWS account in moto, and the strict STS stand-in in front of it")
        moto_endpoint = stack.enter_context(moto.running())
        aws_account.trust_issuer(moto_endpoint, issuer.url, made.ca.cert_pem.bytes())
        s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name=REGION, **TEST_CREDENTIALS)
        s3.create_bucket(Bucket=BUCKET)
        sts_url = stack.enter_context(sts_standin(moto_endpoint, made.ca_file))
        provider = issuer.url.removeprefix("https://")
        demo.say(f"moto: {moto_endpoint}; IAM OIDC provider {provider}, bucket {BUCKET}")
        demo.say(f"role {ROLE_ARN} trusts {provider}:sub = {SUBJECT}")
        demo.say(f"STS stand-in: {sts_url} (checks signature via the JWKS, aud, sub, exp)")

        env = job_env(issuer.url, signing)
        aws_env = {
            "AWS_ENDPOINT_URL_STS": sts_url,
            "AWS_ENDPOINT_URL_S3": moto_endpoint,
            "AWS_MAX_ATTEMPTS": "1",
        }

        if shutil.which("terraform", path=demo.base_env()["PATH"]):
            demo.step("terraform init && apply with the s3 backend, under injector run")
            terraform_job(demo, env, aws_env)
        else:
            demo.step("A boto3 job under injector run (terraform is not on PATH)")
            demo.say(
                "$ injector run -- python -c '<boto3: sts get-caller-identity, s3 put-object>'"
            )
            result = demo.injector(
                "run",
                "--",
                sys.executable,
                "-c",
                BOTO3_JOB.format(bucket=BUCKET),
                env={**env, **aws_env},
                check=False,
            )
            shown(result.stdout)
            if result.returncode != 0:
                raise DemoFailed(f"the boto3 job failed:\n{result.stderr}")

        demo.step("injector verify on the job's token, as AWS checks it")
        tokens = folder / "tokens"
        exports = json.loads(
            demo.injector("env", "--dir", str(tokens), "--format", "json", env=env).stdout
        )
        token_file = exports["AWS_WEB_IDENTITY_TOKEN_FILE"]
        demo.say(
            f"$ injector verify --file {token_file} --cloud aws --expect-sub {SUBJECT} "
            "--ca-bundle ca.pem"
        )
        verified = demo.injector(
            "verify",
            "--file",
            token_file,
            "--cloud",
            "aws",
            "--expect-sub",
            SUBJECT,
            "--ca-bundle",
            str(made.ca_file),
            env={},
            check=False,
        )
        shown(verified.stdout)
        if verified.returncode != 0:
            raise DemoFailed(f"injector verify failed:\n{verified.stderr}")

        demo.step(f"Refused: a token of workspace {OTHER_WORKSPACE!r} asks for the same role")
        demo.say(
            f"$ injector run --workspace {OTHER_WORKSPACE} -- "
            "python -c '<boto3: sts get-caller-identity>'"
        )
        refused = demo.injector(
            "run",
            "--workspace",
            OTHER_WORKSPACE,
            "--",
            sys.executable,
            "-c",
            'import boto3; boto3.client("sts").get_caller_identity()',
            env={**env, **aws_env},
            check=False,
        )
        errors = [line for line in refused.stderr.splitlines() if "AccessDenied" in line]
        if refused.returncode == 0 or not errors:
            raise DemoFailed(f"the other workspace's token was not refused:\n{refused.stderr}")
        shown(errors[-1])

        print(f"\nDone in {time.monotonic() - demo.started:.1f}s: one login accepted, one refused.")
        print("Next: docs/getting-started.md (the first real cloud).")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except DemoFailed as failure:
        print(f"\ndemo failed: {failure}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
