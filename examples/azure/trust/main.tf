# Entra ID side of the trust: one app registration per phase (plan and apply), each with a
# federated identity credential that accepts the injector's tokens for exactly one Terrakube
# workspace, and an Azure role on the subscription. No client secret is created.
#
# Run it once as someone who may create app registrations and assign roles on the subscription
# (ARM_SUBSCRIPTION_ID or `az account set` chooses the subscription).

terraform {
  required_version = ">= 1.5"

  required_providers {
    azuread = {
      source  = "hashicorp/azuread"
      version = ">= 3.0, < 4.0"
    }
    azurerm = {
      source  = "hashicorp/azurerm"
      version = ">= 4.0, < 5.0"
    }
  }
}

provider "azuread" {}

provider "azurerm" {
  features {}
}

data "azuread_client_config" "current" {}

data "azurerm_subscription" "current" {}

locals {
  # Phase => the built-in role its app registration gets.
  phases = {
    plan  = var.plan_role
    apply = var.apply_role
  }
}

resource "azuread_application" "terrakube" {
  for_each     = local.phases
  display_name = "terrakube-${var.organization}-${var.workspace}-${each.key}"
  owners       = [data.azuread_client_config.current.object_id]
}

resource "azuread_service_principal" "terrakube" {
  for_each  = local.phases
  client_id = azuread_application.terrakube[each.key].client_id
  owners    = [data.azuread_client_config.current.object_id]
}

# Entra ID compares issuer, subject and audience exactly: the subject is the sub of this app's
# phase (subject.tf; by default organization:<organizationName>:workspace:<workspaceName>, the
# same for both apps), with the names spelled as in Terrakube. The audience is the injector's default WORKLOAD_IDENTITY_AUDIENCE_AZURE.
resource "azuread_application_federated_identity_credential" "terrakube" {
  for_each       = local.phases
  application_id = azuread_application.terrakube[each.key].id
  display_name   = "terrakube-workspace"
  description    = "terraform ${each.key} in Terrakube workspace ${var.organization}/${var.workspace}"
  issuer         = "https://${var.terrakube_hostname}"
  subject        = local.subjects[each.key]
  audiences      = ["api://AzureADTokenExchange"]
}

resource "azurerm_role_assignment" "terrakube" {
  for_each             = local.phases
  scope                = data.azurerm_subscription.current.id
  role_definition_name = each.value
  principal_id         = azuread_service_principal.terrakube[each.key].object_id
  principal_type       = "ServicePrincipal"
}
