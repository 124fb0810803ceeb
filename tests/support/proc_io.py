"""Write system calls as Linux counts them (`syscw` in /proc's io files: write and writev, sockets
included), to check how many calls a piece of I/O took."""

from __future__ import annotations

import threading
from pathlib import Path


def write_calls(pid: int | None = None) -> int:
    """Those of process `pid`, or else of the calling thread alone (other threads do not count)."""
    io = (
        Path(f"/proc/{pid}/io")
        if pid is not None
        else Path(f"/proc/self/task/{threading.get_native_id()}/io")
    )
    fields = dict(line.split(": ") for line in io.read_text().splitlines())
    return int(fields["syscw"])
