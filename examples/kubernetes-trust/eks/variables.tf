variable "cluster_name" {
  type        = string
  description = "The EKS cluster that trusts the issuer."
}

variable "terrakube_hostname" {
  type        = string
  description = "DynamicCredentialHostname: the issuer's host, without https://."
}

variable "audience" {
  type        = string
  description = "The aud the workspaces set in WORKLOAD_IDENTITY_AUDIENCE_KUBERNETES."
  default     = "kubernetes.workload.identity"
}
