"""The example workspace `make run` and `injector --example` show: all three clouds enabled.

Values follow the Terrakube documentation's walk-through (organization `simple`, workspace
`simple-cli`); account, tenant and project numbers are placeholders.
"""

from __future__ import annotations

EXAMPLE_ENV: dict[str, str] = {
    "organizationName": "simple",
    "workspaceName": "simple-cli",
    "organizationId": "8abe206b-29a8-4ed8-8a3b-30237e295659",
    "workspaceId": "d9b58bd3-f3fc-4056-a026-1163297e80a8",
    "jobId": "1",
    "DynamicCredentialHostname": "terrakube-api.example.com",
    "ENABLE_DYNAMIC_CREDENTIALS_AWS": "true",
    "WORKLOAD_IDENTITY_ROLE_AWS": "arn:aws:iam::123456789012:role/terrakube-role",
    "WORKLOAD_IDENTITY_AUDIENCE_AWS": "aws.workload.identity",
    "AWS_REGION": "us-east-1",
    "ENABLE_DYNAMIC_CREDENTIALS_AZURE": "true",
    "ARM_CLIENT_ID": "11111111-2222-3333-4444-555555555555",
    "ARM_TENANT_ID": "66666666-7777-8888-9999-000000000000",
    "ARM_SUBSCRIPTION_ID": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
    "ENABLE_DYNAMIC_CREDENTIALS_GCP": "true",
    "WORKLOAD_IDENTITY_AUDIENCE_GCP": (
        "//iam.googleapis.com/projects/123456789012/locations/global/"
        "workloadIdentityPools/terrakube/providers/terrakube"
    ),
    "WORKLOAD_IDENTITY_SERVICE_ACCOUNT_EMAIL": "terraform@my-project.iam.gserviceaccount.com",
    "GOOGLE_PROJECT": "my-project",
}
