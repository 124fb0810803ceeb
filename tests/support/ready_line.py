"""Start a child process that announces readiness with one JSON line on stdout, and wait for that line."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
from pathlib import Path
from typing import Any


def launch_with_ready_line(
    argv: list[str], event: str, cwd: Path, stderr_path: Path, timeout: float = 30.0
) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    """Start `argv`; return it and its ready line (a JSON object whose `event` is `event`).

    stderr goes to `stderr_path`, so a failure to start can be explained from it.
    """
    with stderr_path.open("w") as stderr:
        process = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=stderr, text=True)
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put("")  # EOF: the process ended

    threading.Thread(target=pump, daemon=True).start()
    try:
        line = lines.get(timeout=timeout)
    except queue.Empty:
        process.kill()
        process.wait(10)
        raise AssertionError(
            f"{argv[:3]} printed no ready line within {timeout} s:\n{stderr_path.read_text()}"
        ) from None
    if not line:
        code = process.wait(10)
        raise AssertionError(
            f"{argv[:3]} exited with {code} before getting ready:\n{stderr_path.read_text()}"
        )
    ready = json.loads(line)
    assert ready.get("event") == event, ready
    return process, ready
