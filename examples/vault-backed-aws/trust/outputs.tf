output "vault_role" {
  description = "Set as WORKLOAD_IDENTITY_VAULT_BACKED_AWS_VAULT_ROLE in the workspace."
  value       = vault_aws_secret_backend_role.workspace.name
}

output "mount_path" {
  description = "Set as WORKLOAD_IDENTITY_VAULT_BACKED_AWS_MOUNT_PATH in the workspace (unless it is aws)."
  value       = vault_aws_secret_backend.aws.path
}

output "login_role" {
  description = "Set as WORKLOAD_IDENTITY_VAULT_ROLE in the workspace."
  value       = vault_jwt_auth_backend_role.workspace.role_name
}
