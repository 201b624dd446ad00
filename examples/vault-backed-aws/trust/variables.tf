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

variable "login_role" {
  type        = string
  default     = "terrakube-aws"
  description = "The JWT role the job logs in with: its WORKLOAD_IDENTITY_VAULT_ROLE."
}

variable "mount_path" {
  type        = string
  default     = "aws"
  description = "The AWS engine's mount: WORKLOAD_IDENTITY_VAULT_BACKED_AWS_MOUNT_PATH, whose default this is."
}

variable "engine_role" {
  type        = string
  default     = "terrakube-deploy"
  description = "The engine role: the workspace's WORKLOAD_IDENTITY_VAULT_BACKED_AWS_VAULT_ROLE."
}

variable "role_arn" {
  type        = string
  description = "The IAM role the engine assumes for the job: WORKLOAD_IDENTITY_VAULT_BACKED_AWS_ROLE_ARN."
}

variable "region" {
  type        = string
  default     = "us-east-1"
  description = "The region the engine's STS calls go to."
}

variable "engine_access_key" {
  type        = string
  sensitive   = true
  description = "The access key of the IAM user the engine acts as (give it through TF_VAR_, never a file)."
}

variable "engine_secret_key" {
  type        = string
  sensitive   = true
  description = "That user's secret key."
}
