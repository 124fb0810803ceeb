"""kubelet's CrashLoopBackOff for one container, on a monotonic clock.

As kubelet does it (pkg/kubelet/kuberuntime `doBackOff` with client-go's flowcontrol.Backoff): the
first restart is immediate, since there is no back-off entry yet; each later one waits 10 s, 20 s,
40 s ... capped at 300 s, counted from when the container ended; the entry is forgotten once a
container ends more than 10 min (twice the cap) after its last restart, i.e. after it ran 10 min
without trouble. `scale` shrinks all of these alike for local runs.
"""

from __future__ import annotations

INITIAL_SECONDS = 10.0
CAP_SECONDS = 300.0


class CrashLoopBackOff:
    def __init__(self, scale: float = 1.0) -> None:
        self._initial = INITIAL_SECONDS * scale
        self._cap = CAP_SECONDS * scale
        self._next: float | None = None  # None: no entry, the next restart is immediate
        self._last_restart = 0.0

    def restart_delay(self, ended_at: float) -> float:
        """Seconds to wait before restarting a container that ended at `ended_at`; records that restart."""
        if self._next is not None and ended_at - self._last_restart > 2 * self._cap:
            self._next = None
        if self._next is None:
            delay, self._next = 0.0, self._initial
        else:
            delay, self._next = self._next, min(2 * self._next, self._cap)
        self._last_restart = ended_at + delay
        return delay
