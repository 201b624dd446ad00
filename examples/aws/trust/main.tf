# AWS side of the trust: an IAM OIDC identity provider for the injector's issuer, and two roles
# that only tokens for one Terrakube workspace can assume: a read-only one for plan and a write
# one for apply. Run it once, with credentials allowed to manage IAM.

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

data "aws_partition" "current" {}

# IAM pins the issuer's TLS certificate by thumbprint, as the Terrakube documentation does it.
# Recent AWS provider versions also accept no thumbprint_list (IAM then fetches one itself).
data "tls_certificate" "issuer" {
  url = "https://${var.terrakube_hostname}"
}

resource "aws_iam_openid_connect_provider" "terrakube" {
  url             = "https://${var.terrakube_hostname}"
  client_id_list  = [var.audience]
  thumbprint_list = [data.tls_certificate.issuer.certificates[0].sha1_fingerprint]
}

# Each role trusts a token from this issuer, for this audience, whose sub is its phase's sub
# (subject.tf): the same one for both roles unless the template holds {phase}. IAM's condition
# keys for an OIDC provider are the issuer's host followed by :aud and :sub. sts:TagSession lets
# the workspace turn on ENABLE_AWS_SESSION_TAGS (STS refuses a token that carries tags without it).
data "aws_iam_policy_document" "trust" {
  for_each = local.subjects

  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRoleWithWebIdentity", "sts:TagSession"]

    principals {
      type        = "Federated"
      identifiers = [aws_iam_openid_connect_provider.terrakube.arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${var.terrakube_hostname}:aud"
      values   = [var.audience]
    }

    condition {
      test     = "StringEquals"
      variable = "${var.terrakube_hostname}:sub"
      values   = [each.value]
    }
  }
}

locals {
  bucket_arns = [
    "arn:${data.aws_partition.current.partition}:s3:::${var.bucket_prefix}*",
    "arn:${data.aws_partition.current.partition}:s3:::${var.bucket_prefix}*/*",
  ]
}

# Plan refreshes state, so it reads everything the configuration manages and changes nothing.
data "aws_iam_policy_document" "read" {
  statement {
    effect    = "Allow"
    actions   = ["s3:Get*", "s3:List*"]
    resources = local.bucket_arns
  }
}

data "aws_iam_policy_document" "write" {
  statement {
    effect    = "Allow"
    actions   = ["s3:*"]
    resources = local.bucket_arns
  }
}

resource "aws_iam_role" "plan" {
  name               = var.plan_role_name
  description        = "terraform plan for Terrakube workspace ${var.organization}/${var.workspace}"
  assume_role_policy = data.aws_iam_policy_document.trust["plan"].json
}

resource "aws_iam_role" "apply" {
  name               = var.apply_role_name
  description        = "terraform apply for Terrakube workspace ${var.organization}/${var.workspace}"
  assume_role_policy = data.aws_iam_policy_document.trust["apply"].json
}

resource "aws_iam_policy" "read" {
  name        = "${var.plan_role_name}-read"
  description = "Read the example's S3 buckets"
  policy      = data.aws_iam_policy_document.read.json
}

resource "aws_iam_policy" "write" {
  name        = "${var.apply_role_name}-write"
  description = "Manage the example's S3 buckets"
  policy      = data.aws_iam_policy_document.write.json
}

resource "aws_iam_role_policy_attachment" "plan" {
  role       = aws_iam_role.plan.name
  policy_arn = aws_iam_policy.read.arn
}

resource "aws_iam_role_policy_attachment" "apply" {
  role       = aws_iam_role.apply.name
  policy_arn = aws_iam_policy.write.arn
}
