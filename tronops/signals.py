"""Waiting in the foreground until the operator stops us."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable


def wait_for_stop(still_fine: Callable[[], bool] = lambda: True) -> bool:
    """Block until Ctrl-C or SIGTERM (True), or until `still_fine` says otherwise (False).
    Handlers are installed explicitly: started in the background, a process ignores SIGINT."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(1.0):
        if not still_fine():
            return False
    return True
