"""httpGet probes as kubelet runs them: after initialDelaySeconds, every periodSeconds, each within
timeoutSeconds; a verdict once successThreshold successes or failureThreshold failures come in a row.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from stack.pods.manifest import Probe


def http_probe(port: int, path: str, timeout: float) -> tuple[bool, str]:
    """One GET; like kubelet, any status from 200 to 399 is a success."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"User-Agent": "kube-probe/stack.pods"})
        status = connection.getresponse().status
    except TimeoutError:
        return False, f"GET {path}: no answer within {timeout:.2f} s"
    except OSError as exc:
        return False, f"GET {path}: {exc}"
    finally:
        connection.close()
    return 200 <= status < 400, f"GET {path}: HTTP {status}"


@dataclass
class Streak:
    """Consecutive results of one probe."""

    success_threshold: int
    failure_threshold: int
    successes: int = 0
    failures: int = 0

    def record(self, ok: bool) -> bool | None:
        """True once enough successes came in a row, False once enough failures did, else None."""
        if ok:
            self.successes, self.failures = self.successes + 1, 0
            return True if self.successes >= self.success_threshold else None
        self.failures, self.successes = self.failures + 1, 0
        return False if self.failures >= self.failure_threshold else None


def run_probe(
    probe: Probe,
    port: int,
    ended: threading.Event,
    started_up: threading.Event,
    on_verdict: Callable[[bool, str], bool],
) -> None:
    """Probe until the container ends (`ended`) or `on_verdict` returns False (after a kill, or once a
    startup probe succeeded). Until `started_up` is set, ticks pass without probing, as kubelet holds
    liveness and readiness back until the startup probe succeeds.
    """
    if ended.wait(probe.initial_delay):
        return
    streak = Streak(probe.success_threshold, probe.failure_threshold)
    while True:
        started = time.monotonic()
        if started_up.is_set():
            ok, detail = http_probe(port, probe.path, probe.timeout)
            if ended.is_set():
                return  # the answer is about a container that is gone
            verdict = streak.record(ok)
            if verdict is not None and not on_verdict(verdict, detail):
                return
        # Like kubelet's ticker: the next probe is due a period after this one started.
        if ended.wait(max(0.0, started + probe.period - time.monotonic())):
            return
