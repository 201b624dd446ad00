# Per workspace: a plan role and an apply role that only that workspace's tokens can assume,
# for as many workspaces as the map holds. Adding a workspace is one more map entry; the OIDC
# provider they all trust is made once per account by ./account.

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

variable "terrakube_hostname" {
  type        = string
  description = "The issuer's host name (DynamicCredentialHostname), without https://."
}

variable "audience" {
  type        = string
  default     = "aws.workload.identity"
  description = "The tokens' aud (WORKLOAD_IDENTITY_AUDIENCE_AWS)."
}

variable "oidc_provider_arn" {
  type        = string
  description = "The account's IAM OIDC provider: the oidc_provider_arn output of ./account."
}

variable "workspaces" {
  type = map(object({
    organization      = string
    workspace         = string
    plan_policy_arns  = list(string)
    apply_policy_arns = list(string)
  }))
  description = "One entry per workspace; the key names its roles (terrakube-<key>-plan, -apply)."

  validation {
    condition = alltrue([
      for entry in values(var.workspaces) :
      length(entry.organization) > 0 && length(entry.workspace) > 0 &&
      !strcontains(entry.organization, ":") && !strcontains(entry.workspace, ":")
    ])
    error_message = "The injector refuses empty names and names containing ':' (they would make sub ambiguous)."
  }
}

locals {
  # (workspace key, phase) pairs, and one entry per policy attachment.
  roles = merge([
    for key, entry in var.workspaces : {
      "${key}-plan"  = { key = key, entry = entry, policies = entry.plan_policy_arns }
      "${key}-apply" = { key = key, entry = entry, policies = entry.apply_policy_arns }
    }
  ]...)
  attachments = merge([
    for role, spec in local.roles : {
      for policy in spec.policies : "${role} ${policy}" => { role = role, policy = policy }
    }
  ]...)
}

# Each role trusts one thing: a token of this issuer, for this audience, whose sub names exactly
# its workspace.
data "aws_iam_policy_document" "trust" {
  for_each = local.roles

  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRoleWithWebIdentity", "sts:TagSession"]

    principals {
      type        = "Federated"
      identifiers = [var.oidc_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${var.terrakube_hostname}:aud"
      values   = [var.audience]
    }

    condition {
      test     = "StringEquals"
      variable = "${var.terrakube_hostname}:sub"
      values   = ["organization:${each.value.entry.organization}:workspace:${each.value.entry.workspace}"]
    }
  }
}

resource "aws_iam_role" "workspace" {
  for_each           = local.roles
  name               = "terrakube-${each.key}"
  assume_role_policy = data.aws_iam_policy_document.trust[each.key].json
}

resource "aws_iam_role_policy_attachment" "workspace" {
  for_each   = local.attachments
  role       = aws_iam_role.workspace[each.value.role].name
  policy_arn = each.value.policy
}

output "roles" {
  description = "Per workspace key: the values of WORKLOAD_IDENTITY_ROLE_AWS_PLAN and _APPLY."
  value = {
    for key in keys(var.workspaces) : key => {
      WORKLOAD_IDENTITY_ROLE_AWS_PLAN  = aws_iam_role.workspace["${key}-plan"].arn
      WORKLOAD_IDENTITY_ROLE_AWS_APPLY = aws_iam_role.workspace["${key}-apply"].arn
    }
  }
}
