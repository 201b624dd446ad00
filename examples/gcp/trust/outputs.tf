output "workload_identity_audience" {
  description = "Set as WORKLOAD_IDENTITY_AUDIENCE_GCP in the workspace."
  value       = "//iam.googleapis.com/${google_iam_workload_identity_pool_provider.terrakube.name}"
}

output "provider_name" {
  description = "The provider's resource name: projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>."
  value       = google_iam_workload_identity_pool_provider.terrakube.name
}

output "plan_service_account_email" {
  description = "Set as WORKLOAD_IDENTITY_SERVICE_ACCOUNT_EMAIL_PLAN in the workspace."
  value       = google_service_account.terrakube["plan"].email
}

output "apply_service_account_email" {
  description = "Set as WORKLOAD_IDENTITY_SERVICE_ACCOUNT_EMAIL_APPLY in the workspace."
  value       = google_service_account.terrakube["apply"].email
}
