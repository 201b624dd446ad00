# Google Cloud side of the trust: a workload identity pool with an OIDC provider for the
# injector's issuer, and one service account per phase (plan and apply) that only the token of
# one Terrakube workspace may impersonate.
#
# Run it once as someone who may manage IAM in the project. The IAM, STS and IAM Credentials
# APIs (iam.googleapis.com, sts.googleapis.com, iamcredentials.googleapis.com) must be enabled.

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

resource "google_iam_workload_identity_pool" "terrakube" {
  workload_identity_pool_id = var.pool_id
  display_name              = "Terrakube"
  description               = "Tokens minted by injector for Terrakube jobs"
}

# With no allowed_audiences, Google accepts a token whose aud is this provider's own resource
# name, with or without https: the injector's token for WORKLOAD_IDENTITY_AUDIENCE_GCP.
resource "google_iam_workload_identity_pool_provider" "terrakube" {
  workload_identity_pool_id          = google_iam_workload_identity_pool.terrakube.workload_identity_pool_id
  workload_identity_pool_provider_id = var.provider_id
  display_name                       = "Terrakube"

  attribute_mapping = {
    "google.subject"                      = "assertion.sub"
    "attribute.terrakube_workspace_id"    = "assertion.terrakube_workspace_id"
    "attribute.terrakube_organization_id" = "assertion.terrakube_organization_id"
  }

  # Only this Terrakube organization's tokens are exchanged at all; the bindings below then pick
  # one workspace.
  attribute_condition = "assertion.sub.startsWith(\"organization:${var.organization}:workspace:\")"

  oidc {
    issuer_uri = "https://${var.terrakube_hostname}"
  }
}

locals {
  # Phase => the project role its service account gets.
  phases = {
    plan  = var.plan_role
    apply = var.apply_role
  }
}

resource "google_service_account" "terrakube" {
  for_each     = local.phases
  account_id   = "terrakube-${each.key}"
  display_name = "terraform ${each.key} for Terrakube workspace ${var.organization}/${var.workspace}"
}

resource "google_project_iam_member" "terrakube" {
  for_each = local.phases
  project  = var.project_id
  role     = each.value
  member   = "serviceAccount:${google_service_account.terrakube[each.key].email}"
}

# The federated identity whose google.subject is the workspace's sub may act as each service
# account. The pool's name is projects/<number>/locations/global/workloadIdentityPools/<id>.
resource "google_service_account_iam_member" "terrakube" {
  for_each           = local.phases
  service_account_id = google_service_account.terrakube[each.key].name
  role               = "roles/iam.workloadIdentityUser"
  member             = "principal://iam.googleapis.com/${google_iam_workload_identity_pool.terrakube.name}/subject/${local.subjects[each.key]}"
}
