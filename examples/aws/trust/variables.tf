variable "terrakube_hostname" {
  type        = string
  description = "The issuer's host name: the executor's DynamicCredentialHostname (or TerrakubeHostname), without https://. Tokens carry iss = https://<this>."

  validation {
    condition     = can(regex("^[A-Za-z0-9.-]+$", var.terrakube_hostname))
    error_message = "Give the bare host name, e.g. terrakube-api.example.com: no scheme, port or path."
  }
}

variable "audience" {
  type        = string
  default     = "aws.workload.identity"
  description = "The tokens' aud: the workspace's WORKLOAD_IDENTITY_AUDIENCE_AWS, whose default this is."
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

variable "plan_role_name" {
  type        = string
  default     = "terrakube-plan"
  description = "The read-only role that terraform plan assumes."
}

variable "apply_role_name" {
  type        = string
  default     = "terrakube-apply"
  description = "The role that terraform apply assumes."
}

variable "bucket_prefix" {
  type        = string
  default     = "terrakube-example-"
  description = "The roles reach only S3 buckets whose names start with this (see ../workspace)."
}

variable "organization_role_name" {
  type        = string
  default     = "terrakube-organization"
  description = "The role every workspace of the organization assumes with session tags (organization.tf)."
}
