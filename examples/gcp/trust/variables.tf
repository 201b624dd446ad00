variable "project_id" {
  type        = string
  description = "The Google Cloud project that holds the pool and the service accounts."
}

variable "terrakube_hostname" {
  type        = string
  description = "The issuer's host name: the executor's DynamicCredentialHostname (or TerrakubeHostname), without https://. Tokens carry iss = https://<this>."

  validation {
    condition     = can(regex("^[A-Za-z0-9.-]+$", var.terrakube_hostname))
    error_message = "Give the bare host name, e.g. terrakube-api.example.com: no scheme, port or path."
  }
}

variable "organization" {
  type        = string
  description = "The Terrakube organization name (organizationName)."

  validation {
    condition     = length(var.organization) > 0 && !strcontains(var.organization, ":") && !strcontains(var.organization, "\"")
    error_message = "Names containing ':' make sub ambiguous (the injector refuses them), and a '\"' would break the pool's attribute condition."
  }
}

variable "workspace" {
  type        = string
  description = "The Terrakube workspace name (workspaceName)."

  validation {
    condition     = length(var.workspace) > 0 && !strcontains(var.workspace, ":")
    error_message = "The injector refuses names containing ':' because they would make sub ambiguous."
  }

  validation {
    condition     = length("organization:${var.organization}:workspace:${var.workspace}") <= 127
    error_message = "Google maps sub to google.subject, which holds at most 127 characters."
  }
}

variable "pool_id" {
  type        = string
  default     = "terrakube"
  description = "ID of the workload identity pool (4-32 characters of a-z, 0-9 and -)."
}

variable "provider_id" {
  type        = string
  default     = "terrakube"
  description = "ID of the pool's OIDC provider (4-32 characters of a-z, 0-9 and -)."
}

variable "plan_role" {
  type        = string
  default     = "roles/viewer"
  description = "Project role of the service account that terraform plan impersonates."
}

variable "apply_role" {
  type        = string
  default     = "roles/storage.admin"
  description = "Project role of the service account that terraform apply impersonates."
}
