variable "terrakube_hostname" {
  type        = string
  description = "The issuer's host name: the executor's DynamicCredentialHostname (or TerrakubeHostname), without https://."

  validation {
    condition     = can(regex("^[A-Za-z0-9.-]+(:[0-9]+)?$", var.terrakube_hostname))
    error_message = "Give the bare host name, e.g. terrakube-api.example.com: no scheme or path."
  }
}

variable "issuer_ca_pem" {
  type        = string
  default     = ""
  description = "PEM of the CA that signed the issuer's certificate, when it is not a public one."
}

variable "auth_path" {
  type        = string
  default     = "jwt"
  description = "The auth mount: the workspace's WORKLOAD_IDENTITY_VAULT_AUTH_PATH, whose default this is."
}

variable "audience" {
  type        = string
  default     = "vault.workload.identity"
  description = "The tokens' aud: the workspace's WORKLOAD_IDENTITY_VAULT_AUDIENCE, whose default this is."
}

variable "organization" {
  type        = string
  description = "The Terrakube organization name (organizationName)."

  validation {
    condition     = length(var.organization) > 0 && !strcontains(var.organization, ":")
    error_message = "The injector refuses names containing ':' because they would make sub ambiguous."
  }
}

variable "workspace" {
  type        = string
  description = "The Terrakube workspace name (workspaceName)."

  validation {
    condition     = length(var.workspace) > 0 && !strcontains(var.workspace, ":")
    error_message = "The injector refuses names containing ':' because they would make sub ambiguous."
  }
}

variable "role_name" {
  type        = string
  default     = "terrakube-workspace"
  description = "The role the workspace logs in with: its WORKLOAD_IDENTITY_VAULT_ROLE."
}

variable "secret_path" {
  type        = string
  default     = "secret/data/terrakube/*"
  description = "The KV v2 data path (with data/) the workspace may read."
}
