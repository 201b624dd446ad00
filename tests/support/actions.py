"""This repository's composite action (action.yml) run the way GitHub's runner runs it: each
step's `run:` in bash, its `env:` with the runner's `${{ ... }}` expressions filled in (the
action's inputs, its own path), and what the steps append to $GITHUB_ENV read back as the
runner reads it for the job's next steps."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
ACTION = ROOT / "action.yml"


def inputs(given: Mapping[str, str]) -> dict[str, str]:
    """The action's inputs: its defaults, overridden by the workflow's `with:`."""
    action = yaml.safe_load(ACTION.read_text())
    assert action["runs"]["using"] == "composite"
    declared = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    unknown = set(given) - set(declared)
    assert not unknown, f"the workflow gives inputs the action does not declare: {unknown}"
    return {**declared, **given}


def expanded(text: str, given: Mapping[str, str]) -> str:
    """What the runner makes of the action's `${{ ... }}` expressions (inputs, action path)."""
    text = text.replace("${{ github.action_path }}", str(ROOT))
    return re.sub(r"\$\{\{ inputs\.([a-z-]+) \}\}", lambda m: given.get(m.group(1), ""), text)


def run(
    given: Mapping[str, str],
    env: Mapping[str, str],
    *,
    cwd: Path | None = None,
    preexec_fn: Callable[[], None] | None = None,
) -> subprocess.CompletedProcess[str]:
    """The action's steps in order, each in bash with the runner's `env` and its own; the first
    that fails (its result), or the last."""
    action = yaml.safe_load(ACTION.read_text())
    done: subprocess.CompletedProcess[str] | None = None
    for step in action["runs"]["steps"]:
        assert step["shell"] == "bash"
        step_env = {name: expanded(str(value), given) for name, value in step["env"].items()}
        done = subprocess.run(
            ["bash", "-c", step["run"]],
            env={**env, **step_env},
            cwd=cwd or "/",
            preexec_fn=preexec_fn,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        if done.returncode != 0:
            return done
    assert done is not None
    return done


def github_env(text: str) -> dict[str, str]:
    """The variables a $GITHUB_ENV file sets for the next steps: `NAME=value` lines and
    `NAME<<DELIMITER` blocks, as the runner reads them."""
    found: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            value = []
            for body in lines:
                if body == delimiter:
                    break
                value.append(body)
            found[name] = "\n".join(value)
        elif "=" in line:
            name, value_text = line.split("=", 1)
            found[name] = value_text
    return found
