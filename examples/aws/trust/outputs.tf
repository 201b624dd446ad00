output "plan_role_arn" {
  description = "Set as WORKLOAD_IDENTITY_ROLE_AWS_PLAN in the workspace."
  value       = aws_iam_role.plan.arn
}

output "apply_role_arn" {
  description = "Set as WORKLOAD_IDENTITY_ROLE_AWS_APPLY in the workspace."
  value       = aws_iam_role.apply.arn
}

output "oidc_provider_arn" {
  description = "The IAM OIDC identity provider that trusts the injector's issuer."
  value       = aws_iam_openid_connect_provider.terrakube.arn
}

output "organization_role_arn" {
  description = "Set as WORKLOAD_IDENTITY_ROLE_AWS in any workspace of the organization, with ENABLE_AWS_SESSION_TAGS=true."
  value       = aws_iam_role.organization.arn
}
