output "auth_path" {
  description = "Set as WORKLOAD_IDENTITY_VAULT_AUTH_PATH in the workspace (unless it is jwt)."
  value       = vault_jwt_auth_backend.terrakube.path
}

output "role_name" {
  description = "Set as WORKLOAD_IDENTITY_VAULT_ROLE in the workspace."
  value       = vault_jwt_auth_backend_role.workspace.role_name
}
