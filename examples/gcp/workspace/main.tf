# A workspace configuration that logs in to Google Cloud with the injector's token. The provider
# finds GOOGLE_APPLICATION_CREDENTIALS (an external_account file the injector wrote: STS exchange,
# then service account impersonation) and GOOGLE_PROJECT in the environment that the injector
# (injector hook under Terrakube, injector run elsewhere) gives terraform.

terraform {
  required_version = ">= 1.5"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 6.0, < 8.0"
    }
  }
}

provider "google" {}

resource "google_storage_bucket" "example" {
  name                        = var.bucket_name
  location                    = var.location
  uniform_bucket_level_access = true

  labels = {
    managed-by = "terrakube"
  }
}
