# EKS: the same trust as ../authentication-config.yaml, as an OIDC identity provider of an
# existing cluster (EKS runs the API server's JWT authenticator with these settings). The
# RoleBindings of ../rbac.yaml then apply unchanged. Run it with credentials allowed to call
# eks:AssociateIdentityProviderConfig on the cluster.

terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0, < 7.0"
    }
  }
}

provider "aws" {}

resource "aws_eks_identity_provider_config" "terrakube" {
  cluster_name = var.cluster_name

  oidc {
    identity_provider_config_name = "terrakube"
    # https://<DynamicCredentialHostname>: EKS fetches its discovery document and JWKS, and
    # needs a certificate from a public CA.
    issuer_url      = "https://${var.terrakube_hostname}"
    client_id       = var.audience
    username_claim  = "sub"
    username_prefix = "terrakube:"
  }
}
