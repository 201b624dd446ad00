# One role for every workspace of the organization, instead of a role per workspace: the
# workspaces set ENABLE_AWS_SESSION_TAGS=true, so each session carries the principal tags
# terrakube:org and terrakube:workspace (and terrakube:project when the template passes
# projectName), and the permissions below reach only what belongs to the session's workspace.

data "aws_iam_policy_document" "organization_trust" {
  statement {
    effect = "Allow"
    # TagSession is required: the token carries session tags.
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
      test     = "StringLike"
      variable = "${var.terrakube_hostname}:sub"
      values   = ["organization:${var.organization}:workspace:*"]
    }

    # The tag the session will carry must name this organization too.
    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/terrakube:org"
      values   = [var.organization]
    }
  }
}

# Each workspace reaches only the buckets named after it: `$${...}` is IAM's policy variable
# (Terraform's `$$` writes a literal `$`), filled in from the session's tag at request time.
data "aws_iam_policy_document" "organization_access" {
  statement {
    effect  = "Allow"
    actions = ["s3:*"]
    resources = [
      "arn:${data.aws_partition.current.partition}:s3:::${var.bucket_prefix}$${aws:PrincipalTag/terrakube:workspace}",
      "arn:${data.aws_partition.current.partition}:s3:::${var.bucket_prefix}$${aws:PrincipalTag/terrakube:workspace}/*",
    ]

    condition {
      test     = "StringEquals"
      variable = "aws:PrincipalTag/terrakube:org"
      values   = [var.organization]
    }
  }
}

resource "aws_iam_role" "organization" {
  name               = var.organization_role_name
  description        = "Every Terrakube workspace of ${var.organization}, told apart by session tags"
  assume_role_policy = data.aws_iam_policy_document.organization_trust.json
}

resource "aws_iam_policy" "organization" {
  name        = "${var.organization_role_name}-per-workspace"
  description = "Each workspace's own S3 buckets, by its terrakube:workspace session tag"
  policy      = data.aws_iam_policy_document.organization_access.json
}

resource "aws_iam_role_policy_attachment" "organization" {
  role       = aws_iam_role.organization.name
  policy_arn = aws_iam_policy.organization.arn
}
