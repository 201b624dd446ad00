"""How the clouds are set up for the example workspace (organization `simple`, workspace
`simple-cli`), as the Terrakube documentation sets them up: who may log in, with which audience."""

from __future__ import annotations

from injector.job.example import EXAMPLE_ENV

SUBJECT = f"organization:{EXAMPLE_ENV['organizationName']}:workspace:{EXAMPLE_ENV['workspaceName']}"
ACCOUNT = "123456789012"  # moto's default account
ROLE_NAME = "terrakube-strict"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{ROLE_NAME}"
AWS_AUDIENCE = "aws.workload.identity"
AZURE_AUDIENCE = "api://AzureADTokenExchange"
GCP_PROVIDER = EXAMPLE_ENV["WORKLOAD_IDENTITY_AUDIENCE_GCP"]
GCP_PROJECT = EXAMPLE_ENV["GOOGLE_PROJECT"]
SERVICE_ACCOUNT = EXAMPLE_ENV["WORKLOAD_IDENTITY_SERVICE_ACCOUNT_EMAIL"]
