# A workspace configuration that logs in to AWS with the injector's token. The provider block is
# empty on purpose: the AWS SDK inside the provider reads AWS_ROLE_ARN,
# AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_SESSION_NAME and AWS_REGION from the environment that
# the injector (injector hook under Terrakube, injector run elsewhere) gives terraform.

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

resource "aws_s3_bucket" "example" {
  # Must start with the trust example's bucket_prefix: the roles reach nothing else.
  bucket = var.bucket_name

  tags = {
    ManagedBy = "terrakube"
  }
}
