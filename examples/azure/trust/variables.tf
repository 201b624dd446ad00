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

variable "plan_role" {
  type        = string
  default     = "Reader"
  description = "Built-in Azure role of the app registration that terraform plan signs in as."
}

variable "apply_role" {
  type        = string
  default     = "Contributor"
  description = "Built-in Azure role of the app registration that terraform apply signs in as."
}
