# A workspace configuration that reads a secret with the Vault token injector obtained. The
# provider reads VAULT_ADDR, VAULT_TOKEN, VAULT_NAMESPACE and VAULT_CACERT from the environment
# that the injector (injector hook under Terrakube, injector run elsewhere) gives terraform.

terraform {
  required_version = ">= 1.5"

  required_providers {
    vault = {
      source  = "hashicorp/vault"
      version = ">= 4.0, < 6.0"
    }
  }
}

provider "vault" {
  # Use the job's token as it is: a child token would need auth/token/create in the policy and
  # would outlive injector's revocation.
  skip_child_token = true

  # Instead of VAULT_TOKEN, the provider can read the token file injector writes (its path is
  # INJECTOR_VAULT_TOKEN_FILE; under injector hook it is .terraform/injector/vault-token):
  # auth_login_token_file {
  #   filename = var.vault_token_file
  # }
}

data "vault_kv_secret_v2" "example" {
  mount = var.kv_mount
  name  = var.secret_name
}
