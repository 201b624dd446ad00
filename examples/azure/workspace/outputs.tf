output "resource_group_id" {
  value = azurerm_resource_group.example.id
}
