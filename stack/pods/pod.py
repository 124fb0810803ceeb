"""One pod: its container (a service process) kept running as kubelet would (restartPolicy Always).

A pod keeps its name and port across container restarts, as a Kubernetes pod keeps its IP (its
sandbox, the `pause` container, holds the network namespace while app containers restart: kubelet's
pkg/kubelet/dockershim/docker_sandbox.go); but here every pod listens on 127.0.0.1, so a port
something else took while the container was down (another process, an outbound connection's local
port) would crash-loop it for ever, where a pod's own IP cannot be taken: such a pod's next
container starts on a new port, as a replaced pod gets a new IP.

One long-lived thread per pod starts every container of that pod: PR_SET_PDEATHSIG
(Part.die_with_parent) fires when the *thread* that started a child ends, so that thread must outlive
its containers. Probe threads, one per probe and container, only watch and signal.
"""

from __future__ import annotations

import functools
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from stack.pods.backoff import CrashLoopBackOff
from stack.pods.events import emit, iso, utc_now
from stack.pods.manifest import Deployment, Probe
from stack.pods.probes import run_probe
from stack.processes import Part, free_port, port_free

PENDING, RUNNING, BACKOFF = "Pending", "Running", "CrashLoopBackOff"
STARTED = threading.Event()  # the gate of the startup probe itself: always open
STARTED.set()


@dataclass(frozen=True)
class Termination:
    """How a container ended, in Kubernetes' terms: killed by signal N reads as exit code 128 + N."""

    reason: str
    exit_code: int
    at: datetime
    message: str

    @classmethod
    def of(cls, returncode: int, kill_reason: str | None) -> Termination:
        exit_code = 128 - returncode if returncode < 0 else returncode
        how = (
            f"killed by {signal.Signals(-returncode).name}" if returncode < 0 else f"exited with {returncode}"
        )
        message = f"{kill_reason}; {how}" if kill_reason else how
        return cls("Completed" if exit_code == 0 else "Error", exit_code, utc_now(), message)

    def view(self) -> dict[str, Any]:
        return {
            "reason": self.reason,
            "exit_code": self.exit_code,
            "at": iso(self.at),
            "message": self.message,
        }


@dataclass
class Container:
    process: subprocess.Popen[bytes]
    started_at: datetime
    ended: threading.Event = field(default_factory=threading.Event)  # set once reaped and recorded
    started_up: threading.Event = field(default_factory=threading.Event)  # the startup probe passed
    kill_reason: str | None = None  # why we signalled it, for its termination message
    termination: Termination | None = None


class Pod:
    def __init__(
        self, name: str, container_at: Callable[[int], Part], spec: Deployment, backoff: CrashLoopBackOff
    ) -> None:
        """`container_at(port)`: the container listening on that port; `spec` with its timings scaled."""
        self.name = name
        self._container_at = container_at
        self._listen_on(free_port())
        self._spec = spec
        self._backoff = backoff
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._container: Container | None = None
        self._started_at: datetime | None = None
        self._phase = PENDING
        self._ready = False
        self._restarts = 0
        self._last_termination: Termination | None = None
        self._thread = threading.Thread(target=self._run, name=f"pod {name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def ready(self) -> bool:
        with self._lock:
            return self._ready

    @property
    def running(self) -> bool:
        with self._lock:
            return self._container is not None

    def view(self) -> dict[str, Any]:
        with self._lock:
            container, last = self._container, self._last_termination
            return {
                "name": self.name,
                "url": self.url,
                "pid": container.process.pid if container else None,
                "phase": self._phase,
                "ready": self._ready,
                "restarts": self._restarts,
                "started_at": iso(self._started_at) if self._started_at else None,
                "last_termination": last.view() if last else None,
                "log": str(self._part.log_path),
            }

    def log_tail(self) -> str:
        return self._part.log_tail()

    def signal(self, signum: int, reason: str, only: Container | None = None) -> Container | None:
        """Signal the running container (only if it is still `only`, when given); returns it, or None."""
        with self._lock:
            container = self._container
            if container is None or (only is not None and container is not only):
                return None
            container.kill_reason = container.kill_reason or reason  # the first reason is the cause
            self._part.signal(signum)
            return container

    def begin_termination(self) -> None:
        """No more restarts, and out of the endpoints at once, as a deleted pod; the caller signals it."""
        with self._lock:
            self._stopping.set()  # under the lock: no container starts after this
            self._ready = False

    def join(self, timeout: float) -> bool:
        """Wait for the pod to have stopped; True if it has (or never started)."""
        if self._thread.ident is not None:
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        restart = False
        while True:
            container = self._start_container(restart)
            restart = True
            if container is not None:
                self._watch(container)
            if self._stopping.is_set():
                return
            ended_at = time.monotonic()
            delay = self._backoff.restart_delay(ended_at)
            if delay > 0:
                with self._lock:
                    self._phase = BACKOFF
                emit("back_off", pod=self.name, seconds=round(delay, 3), restarts=self._restarts)
                if self._stopping.wait(max(0.0, ended_at + delay - time.monotonic())):
                    return

    def _start_container(self, restart: bool) -> Container | None:
        with self._lock:
            if self._stopping.is_set():
                return None
            if restart:
                self._restarts += 1
            self._phase = PENDING
            if not port_free(self.port):
                self._move_port()
            try:
                process = self._part.spawn()
            except OSError as exc:
                self._last_termination = Termination("StartError", 128, utc_now(), f"cannot start: {exc}")
                emit("start_error", pod=self.name, error=str(exc))
                return None
            container = Container(process, utc_now())
            self._container, self._started_at, self._phase = container, container.started_at, RUNNING
            self._ready = self._spec.readiness is None  # without a readiness probe, running is ready
        emit("container_started", pod=self.name, pid=process.pid, restarts=self._restarts)
        spec = self._spec
        if spec.startup is None:
            container.started_up.set()
        probes = (
            (spec.startup, STARTED, self._on_startup),
            (spec.liveness, container.started_up, self._on_liveness),
            (spec.readiness, container.started_up, self._on_readiness),
        )
        for probe, gate, on_verdict in probes:
            if probe is not None:
                threading.Thread(
                    target=run_probe,
                    args=(
                        probe,
                        self.port,
                        container.ended,
                        gate,
                        functools.partial(on_verdict, probe, container),
                    ),
                    name=f"probe {self.name}",
                    daemon=True,
                ).start()
        return container

    def _listen_on(self, port: int) -> None:
        self._part = self._container_at(port)
        self.port, self.url = port, self._part.url

    def _move_port(self) -> None:
        taken = self.port
        self._listen_on(free_port())
        emit("port_moved", pod=self.name, taken=taken, port=self.port)

    def _watch(self, container: Container) -> None:
        returncode = container.process.wait()
        termination = Termination.of(returncode, container.kill_reason)
        with self._lock:
            self._container, self._ready, self._phase = None, False, PENDING
            self._last_termination = container.termination = termination
        container.ended.set()
        emit("container_ended", pod=self.name, pid=container.process.pid, **termination.view())

    def _on_startup(self, probe: Probe, container: Container, ok: bool, detail: str) -> bool:
        if ok:
            container.started_up.set()
            emit("started", pod=self.name, probe=detail)
        else:
            self._failed(probe, "startup", container, detail)
        return False  # done either way

    def _on_readiness(self, probe: Probe, container: Container, ok: bool, detail: str) -> bool:
        with self._lock:
            if self._container is not container:
                return False
            ok = ok and not self._stopping.is_set()  # a terminating pod stays out of the endpoints
            changed, self._ready = self._ready != ok, ok
        if changed:
            emit("ready" if ok else "not_ready", pod=self.name, probe=detail)
        return True

    def _on_liveness(self, probe: Probe, container: Container, ok: bool, detail: str) -> bool:
        if ok:
            return True
        self._failed(probe, "liveness", container, detail)
        return False

    def _failed(self, probe: Probe, kind: str, container: Container, detail: str) -> None:
        """A failed startup or liveness probe: kill the container, which then restarts with back-off."""
        emit(f"{kind}_failed", pod=self.name, pid=container.process.pid, probe=detail)
        reason = f"failed {kind} probe {probe.failure_threshold} times in a row ({detail})"
        # SIGKILL at once, as asked of this supervisor; kubelet sends SIGTERM first and SIGKILL after
        # the grace period, which for a hung (e.g. SIGSTOPped) process ends the same way, only later.
        self.signal(signal.SIGKILL, reason, only=container)
