# Once per AWS account: the IAM OIDC identity provider for the injector's issuer. Every
# workspace's roles (../main.tf) trust this one provider; an account holds one per issuer URL.

terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0, < 7.0"
    }
    tls = {
      source  = "hashicorp/tls"
      version = ">= 4.0, < 5.0"
    }
  }
}

provider "aws" {}

variable "terrakube_hostname" {
  type        = string
  description = "The issuer's host name (DynamicCredentialHostname), without https://."
}

variable "audience" {
  type        = string
  default     = "aws.workload.identity"
  description = "The tokens' aud (WORKLOAD_IDENTITY_AUDIENCE_AWS)."
}

data "tls_certificate" "issuer" {
  url = "https://${var.terrakube_hostname}"
}

resource "aws_iam_openid_connect_provider" "terrakube" {
  url             = "https://${var.terrakube_hostname}"
  client_id_list  = [var.audience]
  thumbprint_list = [data.tls_certificate.issuer.certificates[0].sha1_fingerprint]
}

output "oidc_provider_arn" {
  description = "Give it to ../main.tf as oidc_provider_arn."
  value       = aws_iam_openid_connect_provider.terrakube.arn
}
