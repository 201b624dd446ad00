"""The dry run's report: what would be minted, written and exported. Never the token itself."""

from __future__ import annotations

import json
import time

from injector.clouds import tags
from injector.config import values
from injector.files import FILE_MODE, FOLDER_MODE
from injector.job.plan import Plan
from injector.job.settings import Settings


def _utc(seconds: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(seconds))


def _indented(document: object, prefix: str) -> str:
    return json.dumps(document, indent=2).replace("\n", "\n" + prefix)


def minted(plan: Plan) -> str:
    """One line per configuration for stderr once its token is minted (`run`, `hook`): whom the
    job becomes and with which `sub` and `aud`, so that a refused login can be matched against
    the trust policy from a CI log. Never the token."""
    lines = []
    for cloud in plan.clouds:
        claims = cloud.token.claims
        lines.append(
            f"injector: {tags.configuration_id(cloud.config)}: {cloud.config.identity}; "
            f"sub {claims['sub']}; aud {claims['aud']}; expires {_utc(cloud.expires)}"
        )
    return "".join(line + "\n" for line in lines)


def dry_run(settings: Settings, signed_by: str, plan: Plan, now: int) -> str:
    """`signed_by`: the minter's description. The issuer and lifetime are read from the tokens,
    since a signer chooses them."""
    seconds = plan.lifetime_seconds
    lines = [
        "injector dry run: nothing is written and nothing is exported.",
        "",
        f"issuer      {plan.clouds[0].token.claims['iss']}",
        f"subject     {plan.clouds[0].token.claims['sub']}",
        f"signed by   {signed_by}",
        f"lifetime    {values.minutes(seconds // 60)}: {_utc(now)} to {_utc(now + seconds)}",
        f"folder      {plan.folder} (mode {FOLDER_MODE:04o})",
    ]
    for cloud in plan.clouds:
        lines += [
            "",
            f"== {tags.configuration_id(cloud.config)}: token for audience {cloud.config.audience}",
            f"header      {json.dumps(cloud.token.header)}",
            f"claims      {_indented(cloud.token.claims, ' ' * 12)}",
            "files",
        ]
        for path, data in cloud.files.items():
            # A file beside the token is a CA, a kubeconfig, a profile or a credential
            # configuration: none holds a secret, so its content is shown below.
            what = "the signed token" if path == cloud.token_file else "read by the cloud's tools"
            lines.append(f"  {path}  ({what}, {len(data)} bytes, mode {FILE_MODE:04o})")
            if path != cloud.token_file:
                lines.append("    " + data.decode().replace("\n", "\n    "))
        lines.append("exports")
        lines += [f"  {name}={value}" for name, value in cloud.outputs.exports.items()]
    if plan.terraform:
        lines += ["", "== HCP Terraform's variables (every configuration of a cloud)", "files"]
        for path, data in plan.terraform_files.items():
            lines.append(f"  {path}  (credentials, {len(data)} bytes, mode {FILE_MODE:04o})")
            lines.append("    " + data.decode().replace("\n", "\n    "))
        lines.append("exports")
        lines += [f"  {name}={value}" for name, value in plan.terraform.items()]
    lines += [
        "",
        "To write the files and print the exports: injector env",
        "To run a command with them (files removed afterwards): injector run -- terraform plan",
    ]
    return "\n".join(lines) + "\n"
