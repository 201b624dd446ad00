"""Short-lived OIDC tokens and web-identity login for Terraform jobs, no stored cloud secret."""

__version__ = "0.1.0"
