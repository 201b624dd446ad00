"""The example workspace's job context, as the cloud tests feed it to `outputs()`."""

from __future__ import annotations

from injector.config import job_context
from injector.job.example import JOB_EXAMPLE

EXAMPLE_JOB = job_context.from_env(JOB_EXAMPLE)
