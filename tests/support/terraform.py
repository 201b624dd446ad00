"""The real `terraform` binary, run the way a job runs it: `init` then `apply` in a working
directory of its own, with nothing in its environment but what the test hands it.

Each run gets an empty CLI configuration file and its own TF_DATA_DIR, so nothing of the
machine's Terraform set-up (plugin caches, credentials, a missing ~/.terraformrc) leaks in.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from injector import clouds

# No provider: `terraform_data` and `local-exec` are built into Terraform itself.
CONFIGURATION = """
terraform {{
  backend "{backend}" {{}}
}}

resource "terraform_data" "proof" {{
  input = "{marker}"
{provisioner}}}

output "proof" {{
  value = terraform_data.proof.output
}}
"""

# Keeps `apply` busy after the backend logged in and before it writes the state.
SLEEP_PROVISIONER = """
  provisioner "local-exec" {{
    command = "sleep {seconds}"
  }}
"""


def binary() -> str:
    """The `terraform` on PATH. Outside CI a machine without it skips, saying why; in CI
    (`CI` set) its absence fails the test, so the proof is never silently missing."""
    found = shutil.which("terraform")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("terraform is not on PATH, and CI requires the Terraform tests to run")
        pytest.skip("terraform is not on PATH (install Terraform >= 1.11 to run these tests)")
    return found


@dataclass(frozen=True)
class Outcome:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


class Workdir:
    """A Terraform root module with one `backend` block, initialised and applied by `run`."""

    def __init__(
        self, root: Path, backend: str, marker: str = "written", sleep_seconds: int = 0
    ) -> None:
        self.root = root
        self.module = root / "module"
        self.module.mkdir(parents=True)
        provisioner = SLEEP_PROVISIONER.format(seconds=sleep_seconds) if sleep_seconds else ""
        (self.module / "main.tf").write_text(
            CONFIGURATION.format(backend=backend, marker=marker, provisioner=provisioner)
        )
        self.cli_config = root / "terraformrc"
        self.cli_config.write_text("")
        self.home = root / "home"
        self.home.mkdir()

    def environment(self, env: Mapping[str, str]) -> dict[str, str]:
        """`env` plus what Terraform itself needs to run unattended, and nothing else."""
        return {
            "PATH": os.environ["PATH"],
            "HOME": str(self.home),
            "TF_CLI_CONFIG_FILE": str(self.cli_config),
            "TF_DATA_DIR": str(self.root / "data"),
            "TF_IN_AUTOMATION": "1",
            "CHECKPOINT_DISABLE": "1",
            **env,
        }

    def commands(self, backend_config: Mapping[str, str]) -> list[list[str]]:
        """`init` with the backend settings, then `apply`: the two commands a job runs."""
        terraform = binary()
        init = [terraform, f"-chdir={self.module}", "init", "-input=false", "-no-color"]
        init += [f"-backend-config={name}={value}" for name, value in backend_config.items()]
        apply = [
            terraform,
            f"-chdir={self.module}",
            "apply",
            "-auto-approve",
            "-input=false",
            "-no-color",
        ]
        return [init, apply]

    def run(
        self,
        backend_config: Mapping[str, str],
        env: Mapping[str, str],
        wrapper: Sequence[str] = (),
        timeout: float = 180,
    ) -> Outcome:
        """init then apply, each under `wrapper` (e.g. `injector run --`) if given; stops at
        the first that fails."""
        out, err = [], []
        for command in self.commands(backend_config):
            result = subprocess.run(
                [*wrapper, *command],
                env=self.environment(env),
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
            out.append(result.stdout)
            err.append(result.stderr)
            if result.returncode != 0:
                return Outcome(result.returncode, "".join(out), "".join(err))
        return Outcome(0, "".join(out), "".join(err))

    def script(
        self, backend_config: Mapping[str, str], path: Path, checks: Sequence[str] = ()
    ) -> Path:
        """init and apply as one shell script, for a wrapper that runs a single command;
        `checks` are shell tests on the environment it got, run first."""
        lines = ["#!/bin/sh", "set -e", *checks]
        lines += [
            " ".join(_quote(part) for part in command) for command in self.commands(backend_config)
        ]
        path.write_text("\n".join(lines) + "\n")
        path.chmod(0o700)
        return path


def run_wrapped(
    wrapper: Sequence[str], script: Path, env: Mapping[str, str], timeout: float = 300
) -> Outcome:
    """`wrapper script` (e.g. `injector run -- script`) with exactly `env`."""
    result = subprocess.run(
        [*wrapper, str(script)],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Outcome(result.returncode, result.stdout, result.stderr)


def _quote(part: str) -> str:
    import shlex

    return shlex.quote(part)


# --- What the tests feed Terraform ---------------------------------------------------------------


def injector_exports(env: Mapping[str, str], folder: Path) -> dict[str, str]:
    """`injector env --format json` into `folder`: the exports, as a job would get them."""
    import json

    from tests.conftest import run_injector

    result = run_injector("env", "--dir", str(folder), "--format", "json", env=env)
    assert result.returncode == 0, result.stderr
    exports: dict[str, str] = json.loads(result.stdout)
    return exports


def only(cloud_switch: str, env: Mapping[str, str]) -> dict[str, str]:
    """`env` with the cloud whose switch is `cloud_switch` enabled (its tags as `env` has
    them) and every other cloud off, its tagged switches included (the example workspace tags
    one, job.example)."""
    switches = [cloud.switch for cloud in clouds.registered()]

    def owner(name: str) -> str | None:
        # The longest switch `name` is or tags: …_VAULT_BACKED_AWS_X is not Vault's.
        mine = [s for s in switches if name == s or name.startswith(f"{s}_")]
        return max(mine, key=len, default=None)

    others = [name for name in env if owner(name) not in (None, cloud_switch)]
    return {
        **env,
        **dict.fromkeys((*switches, *others), "false"),
        cloud_switch: "true",
    }


def remint(env: Mapping[str, str], cloud: str, folder: Path, now: int) -> None:
    """Mint `cloud`'s token again, as of `now`, over the token file Terraform will read."""
    from injector import files
    from injector.job import pipeline

    prepared = pipeline.prepare(env)
    assert prepared is not None
    [minted] = [
        plan for plan in pipeline.mint(prepared, folder, now).clouds if plan.config.name == cloud
    ]
    files.write_atomically(minted.token_file, minted.token.compact.encode("ascii"))


def tamper(token_file: Path) -> None:
    """Change a claim the clouds do not match on (`terrakube_job_id`) and keep the signature:
    only the signature check can tell."""
    import base64
    import json

    from injector import files

    header, payload, signature = token_file.read_text().split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["terrakube_job_id"] = "forged"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    files.write_atomically(token_file, f"{header}.{forged}.{signature}".encode("ascii"))


# The negative rows every backend's tests share: how the job's token is spoiled.
NEGATIVE_ROWS = ("other-workspace-sub", "expired", "tampered")


def spoiled_exports(row: str, env: Mapping[str, str], cloud: str, folder: Path) -> dict[str, str]:
    """The exports of `injector env`, with the token spoiled the way `row` says."""
    import time

    if row == "other-workspace-sub":
        return injector_exports({**env, "workspaceName": "other-workspace"}, folder)
    exports = injector_exports(env, folder)
    if row == "expired":
        remint(env, cloud, folder, int(time.time()) - 2 * 3600)  # lived 30 min, 90 min ago
    elif row == "tampered":
        tamper(folder / f"{cloud}.jwt")
    else:
        raise ValueError(row)
    return exports


PHASED_TEMPLATE = "organization:{organization}:workspace:{workspace}:run_phase:{phase}"


def trust_subjects(
    folder: Path, organization: str, workspace: str, template: str | None = None
) -> dict[str, str]:
    """`local.subjects` of a trust example (its subject.tf), evaluated by the real `terraform
    console` in a scratch module holding only that file and the two name variables: the sub
    that each phase's identity trusts. `template` None: the variable's default."""
    with tempfile.TemporaryDirectory(prefix="injector-subjects-") as scratch:
        shutil.copy(folder / "subject.tf", scratch)
        Path(scratch, "names.tf").write_text(
            'variable "organization" {}\nvariable "workspace" {}\n'
        )
        given = ["-var", f"organization={organization}", "-var", f"workspace={workspace}"]
        if template is not None:
            given += ["-var", f"subject_template={template}"]
        result = subprocess.run(
            [binary(), "console", *given],
            input="jsonencode(local.subjects)\n",
            cwd=scratch,
            env={"PATH": os.environ["PATH"], "HOME": scratch, "TF_IN_AUTOMATION": "1"},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    if result.returncode != 0:
        raise ValueError(f"terraform console: {result.stderr.strip()}")
    rendered: dict[str, str] = json.loads(json.loads(result.stdout.strip().splitlines()[-1]))
    return rendered
