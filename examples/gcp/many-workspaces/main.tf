# Per workspace: a plan and an apply service account that only that workspace's principal may
# impersonate, for as many workspaces as the map holds. The pool they trust is made once by
# ./pool.

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
  description = "The project the service accounts live in and get their roles on."
}

variable "pool_name" {
  type        = string
  description = "The pool's resource name, projects/<number>/locations/global/workloadIdentityPools/<pool>: the pool_name output of ./pool."
}

variable "workspaces" {
  type = map(object({
    organization = string
    workspace    = string
    plan_role    = string
    apply_role   = string
  }))
  description = "One entry per workspace; the key (at most 14 characters) names its service accounts (tk-<key>-plan, -apply)."

  validation {
    condition     = alltrue([for key in keys(var.workspaces) : can(regex("^[a-z][a-z0-9-]{0,13}$", key))])
    error_message = "A key is at most 14 lower-case letters, digits or '-' (service account ids hold 30)."
  }
}

locals {
  accounts = merge([
    for key, entry in var.workspaces : {
      "${key}-plan"  = { entry = entry, role = entry.plan_role }
      "${key}-apply" = { entry = entry, role = entry.apply_role }
    }
  ]...)
}

resource "google_service_account" "workspace" {
  for_each     = local.accounts
  account_id   = "tk-${each.key}"
  display_name = "Terrakube ${each.value.entry.organization}/${each.value.entry.workspace} (${each.key})"
}

resource "google_project_iam_member" "workspace" {
  for_each = local.accounts
  project  = var.project_id
  role     = each.value.role
  member   = "serviceAccount:${google_service_account.workspace[each.key].email}"
}

resource "google_service_account_iam_member" "workspace" {
  for_each           = local.accounts
  service_account_id = google_service_account.workspace[each.key].name
  role               = "roles/iam.workloadIdentityUser"
  member             = "principal://iam.googleapis.com/${var.pool_name}/subject/organization:${each.value.entry.organization}:workspace:${each.value.entry.workspace}"
}

output "service_accounts" {
  description = "Per workspace key: the values of WORKLOAD_IDENTITY_SERVICE_ACCOUNT_EMAIL_PLAN and _APPLY."
  value = {
    for key in keys(var.workspaces) : key => {
      WORKLOAD_IDENTITY_SERVICE_ACCOUNT_EMAIL_PLAN  = google_service_account.workspace["${key}-plan"].email
      WORKLOAD_IDENTITY_SERVICE_ACCOUNT_EMAIL_APPLY = google_service_account.workspace["${key}-apply"].email
    }
  }
}
