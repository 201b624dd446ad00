# Vault side of Vault-backed AWS: Vault's AWS secrets engine, an engine role, and a JWT role whose
# policy lets a workspace's job ask that engine role for credentials and end them. It expects the
# JWT auth method of examples/vault/trust at auth_path. Run it once with a Vault token allowed to
# mount secrets engines and manage auth roles and policies.

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

# The engine holds the one long-lived AWS key of this setup; the jobs never see it.
resource "vault_aws_secret_backend" "aws" {
  path                      = var.mount_path
  description               = "AWS credentials for Terrakube jobs"
  access_key                = var.engine_access_key
  secret_key                = var.engine_secret_key
  region                    = var.region
  default_lease_ttl_seconds = 900
  max_lease_ttl_seconds     = 7200
}

# The engine role the workspace names in WORKLOAD_IDENTITY_VAULT_BACKED_AWS_VAULT_ROLE.
resource "vault_aws_secret_backend_role" "workspace" {
  backend         = vault_aws_secret_backend.aws.path
  name            = var.engine_role
  credential_type = "assumed_role"
  role_arns       = [var.role_arn]
}

# The JWT role the job logs in with (WORKLOAD_IDENTITY_VAULT_ROLE): this organization and
# workspace only.
resource "vault_jwt_auth_backend_role" "workspace" {
  backend         = var.auth_path
  role_name       = var.login_role
  role_type       = "jwt"
  bound_audiences = [var.audience]
  bound_subject   = "organization:${var.organization}:workspace:${var.workspace}"
  user_claim      = "terrakube_workspace_name"
  token_policies  = [vault_policy.workspace.name]
  token_ttl       = 1200
  token_max_ttl   = 7200
}

# assumed_role credentials come from <mount>/sts/<role> (update); injector run renews and revokes
# the lease and the token on every way out, so those paths are granted too.
resource "vault_policy" "workspace" {
  name   = "terrakube-aws-${var.organization}-${var.workspace}"
  policy = <<-EOT
    path "${var.mount_path}/sts/${var.engine_role}" {
      capabilities = ["update"]
    }
    path "sys/leases/renew" {
      capabilities = ["update"]
    }
    path "sys/leases/revoke" {
      capabilities = ["update"]
    }
    path "auth/token/renew-self" {
      capabilities = ["update"]
    }
    path "auth/token/revoke-self" {
      capabilities = ["update"]
    }
  EOT
}
