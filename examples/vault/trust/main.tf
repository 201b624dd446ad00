# Vault / OpenBao side of the trust: a JWT auth method that trusts the injector's issuer, a role
# that only tokens of one Terrakube workspace can log in with, and the policy it grants. Run it
# once with a Vault token allowed to manage auth methods and policies. (OpenBao speaks the same
# API: the same provider configures it.)

terraform {
  required_version = ">= 1.5"

  required_providers {
    vault = {
      source  = "hashicorp/vault"
      version = ">= 4.0, < 6.0"
    }
  }
}

provider "vault" {}

# Vault fetches the issuer's keys from its JWKS over TLS (jwks_ca_pem for a private CA), and
# refuses tokens from any other issuer.
resource "vault_jwt_auth_backend" "terrakube" {
  path         = var.auth_path
  type         = "jwt"
  description  = "Terrakube jobs, through injector's tokens"
  jwks_url     = "https://${var.terrakube_hostname}/.well-known/jwks"
  jwks_ca_pem  = var.issuer_ca_pem
  bound_issuer = "https://${var.terrakube_hostname}"
}

# The role the workspace names in WORKLOAD_IDENTITY_VAULT_ROLE: the token's aud, its sub (this
# organization and workspace exactly), and user_claim, which names the Vault entity alias.
resource "vault_jwt_auth_backend_role" "workspace" {
  backend         = vault_jwt_auth_backend.terrakube.path
  role_name       = var.role_name
  role_type       = "jwt"
  bound_audiences = [var.audience]
  bound_subject   = "organization:${var.organization}:workspace:${var.workspace}"
  user_claim      = "terrakube_workspace_name"
  token_policies  = [vault_policy.workspace.name]
  # injector run renews the token before token_ttl runs out and logs in afresh near
  # token_max_ttl, but only the token file sees the new token: size token_max_ttl to the
  # longest run (plan + apply), so the job's VAULT_TOKEN outlives it.
  token_ttl     = 1200
  token_max_ttl = 7200
}

# What the job may do: read its secrets, and look up, renew and revoke its own token (injector
# run renews and revokes it).
resource "vault_policy" "workspace" {
  name   = "terrakube-${var.organization}-${var.workspace}"
  policy = <<-EOT
    path "${var.secret_path}" {
      capabilities = ["read"]
    }
    path "auth/token/lookup-self" {
      capabilities = ["read"]
    }
    path "auth/token/renew-self" {
      capabilities = ["update"]
    }
    path "auth/token/revoke-self" {
      capabilities = ["update"]
    }
  EOT
}
