"""A local TRON devnet speaking the full-node HTTP API that tronpy uses; see README.md."""

from stack.devnet.config import DevnetConfig
from stack.devnet.server import DevnetHandle, start_devnet

__all__ = ["DevnetConfig", "DevnetHandle", "start_devnet"]
