"""Short-lived OIDC tokens and web-identity login for Terraform jobs, no stored cloud secret."""

__version__ = "0.1.0"
# The name on PyPI (`injector` there is an unrelated dependency-injection framework); the
# command and the import package are `injector`.
DISTRIBUTION = "terrakube-injector"


def install_command(extra: str) -> str:
    """What to type to add one of the package's extras."""
    return f"pip install '{DISTRIBUTION}[{extra}]'"
