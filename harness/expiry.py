"""A fault's time to live where the faulted system keeps none (the mesh's admin API, a VirtualService):
a small detached process that undoes the fault after `ttl_s` unless it is disarmed first. The harness
disarms it when its own undo ran; a harness killed with SIGKILL cannot, and the fault still ends.

    python -m harness.expiry --after 120 --call harness.expiry:clear_mesh_fault \
        --args '{"admin_url": ..., "route": ...}'

The undo is any importable function taking keyword arguments (its arguments as JSON), so Kubernetes
faults expire the same way (chaos.istio's restore)."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

from harness.clients.mesh import MeshAdmin


def clear_mesh_fault(admin_url: str, route: str) -> None:
    with MeshAdmin(admin_url) as mesh:
        mesh.clear_fault(route)


def continue_process(pid: int, start_time: str) -> None:
    """SIGCONT to `pid` if it is still the process that was stopped (same start time)."""
    from harness.faults import process_state  # faults imports this module

    state = process_state(pid)
    if state is not None and state[1] == start_time:
        os.kill(pid, signal.SIGCONT)


@contextlib.contextmanager
def expiring(ttl_s: float, call: str, args: dict[str, Any]) -> Iterator[int]:
    """Arm a detached undo of `call(**args)` in `ttl_s` seconds; yields its pid; disarms it on exit."""
    watchdog = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "harness.expiry",
            "--after",
            str(ttl_s),
            "--call",
            call,
            "--args",
            json.dumps(args),
        ],
        start_new_session=True,  # outlives the harness's process group (a Ctrl-C there is not for it)
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield watchdog.pid
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(watchdog.pid, signal.SIGKILL)
        watchdog.wait()


def _main() -> None:
    parser = argparse.ArgumentParser(prog="python -m harness.expiry", description=__doc__)
    parser.add_argument("--after", type=float, required=True, help="seconds to wait before the undo")
    parser.add_argument("--call", required=True, help="module:function to call")
    parser.add_argument("--args", default="{}", help="its keyword arguments as JSON")
    args = parser.parse_args()
    module, _, function = args.call.partition(":")
    undo = getattr(importlib.import_module(module), function)
    time.sleep(args.after)
    for attempt in range(5):  # the undo's target may be busy for a moment; not forever
        try:
            undo(**json.loads(args.args))
            return
        except Exception:
            if attempt == 4:
                raise
            time.sleep(2)


if __name__ == "__main__":
    _main()
