# A workspace configuration that signs in to Azure with the injector's token. Nothing about the
# login is written here: azurerm reads ARM_USE_OIDC, ARM_OIDC_TOKEN_FILE_PATH, ARM_CLIENT_ID,
# ARM_TENANT_ID and ARM_SUBSCRIPTION_ID from the environment that the injector (injector hook
# under Terrakube, injector run elsewhere) gives terraform.

terraform {
  required_version = ">= 1.5"

  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = ">= 4.0, < 5.0"
    }
  }
}

provider "azurerm" {
  features {}
}

resource "azurerm_resource_group" "example" {
  name     = var.resource_group_name
  location = var.location

  tags = {
    ManagedBy = "terrakube"
  }
}
