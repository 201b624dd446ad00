"""`python -m injector.diagnostics.login_child CLOUD`: the child `doctor --login` starts for
one cloud. It runs that cloud's login check (which imports the cloud's SDK) and prints one JSON
line: what it obtained, or the SDK's error. Never a token.
"""

from __future__ import annotations

import json
import sys

from injector import clouds, install_command
from injector.clouds.facets import LoginOutcome


def outcome(name: str) -> LoginOutcome:
    """What the login check of the cloud called `name` says."""
    cloud = clouds.named(name)
    if cloud.login is None:
        return {"ok": False, "code": "no check", "message": f"{cloud.label} has no login check"}
    try:
        return cloud.login.check()
    except ImportError as error:
        return {
            "ok": False,
            "code": "not installed",
            "message": f"{error.name} is not installed: {install_command('login')}",
        }


if __name__ == "__main__":
    print(json.dumps(outcome(sys.argv[1])))
