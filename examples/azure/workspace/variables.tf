variable "resource_group_name" {
  type        = string
  default     = "terrakube-example"
  description = "Name of the resource group to create."
}

variable "location" {
  type        = string
  default     = "westeurope"
  description = "Azure region of the resource group."
}
