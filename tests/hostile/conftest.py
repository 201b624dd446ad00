"""The fixtures every module of this folder shares: the hostile server, an AWS-only job."""

from pathlib import Path

import pytest

from tests.hostile.servers import hostile

__all__ = ["aws_only", "hostile"]


@pytest.fixture
def aws_only(workspace: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """The workspace with AWS alone switched on, and a HOME of its own (no profile files)."""
    home = tmp_path / "home"
    home.mkdir()
    return {
        **workspace,
        "ENABLE_DYNAMIC_CREDENTIALS_AZURE": "false",
        "ENABLE_DYNAMIC_CREDENTIALS_GCP": "false",
        "HOME": str(home),
    }
