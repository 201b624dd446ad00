"""The hostile server's fixture for every module of this folder."""

from tests.hostile.servers import hostile

__all__ = ["hostile"]
