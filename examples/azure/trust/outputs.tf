output "plan_client_id" {
  description = "Set as ARM_CLIENT_ID_PLAN in the workspace."
  value       = azuread_application.terrakube["plan"].client_id
}

output "apply_client_id" {
  description = "Set as ARM_CLIENT_ID_APPLY in the workspace."
  value       = azuread_application.terrakube["apply"].client_id
}

output "tenant_id" {
  description = "Set as ARM_TENANT_ID in the workspace."
  value       = data.azuread_client_config.current.tenant_id
}

output "subscription_id" {
  description = "Set as ARM_SUBSCRIPTION_ID in the workspace."
  value       = data.azurerm_subscription.current.subscription_id
}
