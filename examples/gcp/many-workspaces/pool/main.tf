# Once per Google Cloud project (or organization): the workload identity pool and its OIDC
# provider for the injector's issuer. Every workspace's service accounts (../main.tf) trust
# principals of this pool.

terraform {
  required_version = ">= 1.5"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 6.0, < 8.0"
    }
  }
}

provider "google" {
  project = var.project_id
}

variable "project_id" {
  type        = string
  description = "The project that holds the pool."
}

variable "terrakube_hostname" {
  type        = string
  description = "The issuer's host name (DynamicCredentialHostname), without https://."
}

variable "organizations" {
  type        = list(string)
  description = "The Terrakube organizations whose tokens the pool admits at all."
}

resource "google_iam_workload_identity_pool" "terrakube" {
  workload_identity_pool_id = "terrakube"
  display_name              = "Terrakube"
}

resource "google_iam_workload_identity_pool_provider" "terrakube" {
  workload_identity_pool_id          = google_iam_workload_identity_pool.terrakube.workload_identity_pool_id
  workload_identity_pool_provider_id = "terrakube"
  display_name                       = "Terrakube"

  attribute_mapping = {
    "google.subject"                   = "assertion.sub"
    "attribute.terrakube_workspace_id" = "assertion.terrakube_workspace_id"
  }

  attribute_condition = join(" || ", [
    for organization in var.organizations :
    "assertion.sub.startsWith(\"organization:${organization}:workspace:\")"
  ])

  oidc {
    issuer_uri = "https://${var.terrakube_hostname}"
  }
}

output "pool_name" {
  description = "Give it to ../main.tf as pool_name."
  value       = google_iam_workload_identity_pool.terrakube.name
}

output "audience" {
  description = "The workspaces' WORKLOAD_IDENTITY_AUDIENCE_GCP."
  value       = "//iam.googleapis.com/${google_iam_workload_identity_pool_provider.terrakube.name}"
}
