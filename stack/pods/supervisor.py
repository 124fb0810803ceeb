"""The pods of one Deployment as local processes: start them, report them, kill them, stop them.

Usable in-process too:

    supervisor = Supervisor(load_deployment(path), backends.service_env(), run_dir, time_scale=0.1)
    supervisor.start()
    supervisor.wait_ready(60)
    ...
    supervisor.stop()
"""

from __future__ import annotations

import dataclasses
import random
import signal
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from stack.pods.backoff import CrashLoopBackOff
from stack.pods.events import emit
from stack.pods.manifest import Deployment
from stack.pods.pod import Pod
from stack.processes import Part, service_part

SIGNALS = {"KILL": signal.SIGKILL, "TERM": signal.SIGTERM}
KILL_WAIT_SECONDS = 10.0  # SIGKILL takes effect at once; this is only a deadline for the proof
MAX_REPLICAS = 20  # local processes on a small machine
STARTUP_WARNING_SECONDS = 5.0  # the service starts in 1-3 s here, more on a loaded machine


class PodsError(Exception):
    """Bad request: the message says what to fix."""

    status = 400


class UnknownPod(PodsError):
    status = 404


class NotRunning(PodsError):
    status = 409


class Supervisor:
    def __init__(
        self,
        deployment: Deployment,
        env: Mapping[str, str],
        run_dir: Path,
        *,
        replicas: int | None = None,
        time_scale: float = 1.0,
    ) -> None:
        self.spec = deployment.scaled(time_scale)
        self._deployment, self._env, self._run_dir = deployment, env, run_dir
        self._time_scale = time_scale
        self._changing = threading.Lock()  # one scale or delete at a time, as one controller acts
        if self.spec.startup_allowance() < STARTUP_WARNING_SECONDS:
            emit(
                "warning",
                message=f"at time scale {time_scale} a container that takes more than "
                f"{self.spec.startup_allowance():.1f} s to answer is killed by its probes, and again after "
                "each restart; use a larger --time-scale if the service starts slower than that here",
            )
        self._rng = random.Random()
        self.pods: list[Pod] = []
        for _ in range(deployment.replicas if replicas is None else replicas):
            self.pods = [*self.pods, self._new_pod()]

    def _new_pod(self) -> Pod:
        name = self._deployment.new_pod_name(self._rng)
        while name in self._by_name():
            name = self._deployment.new_pod_name(self._rng)

        def container_at(port: int) -> Part:
            # The env file wins: it is what the caller chose, already in the stack's time.
            return dataclasses.replace(
                service_part(self._run_dir, name, self.spec.container_env() | dict(self._env), port),
                die_with_parent=True,
            )

        return Pod(name, container_at, self.spec, CrashLoopBackOff(self._time_scale))

    def _by_name(self) -> dict[str, Pod]:
        return {pod.name: pod for pod in self.pods}

    def start(self) -> None:
        for pod in self.pods:
            pod.start()

    def wait_ready(self, timeout: float, cancelled: Callable[[], bool] = lambda: False) -> bool:
        """True once every pod is ready at the same time; False after `timeout` or once `cancelled()`."""
        deadline = time.monotonic() + timeout
        while not all(pod.ready for pod in self.pods):
            if time.monotonic() > deadline or cancelled():
                return False
            time.sleep(0.05)
        return True

    def views(self) -> list[dict[str, Any]]:
        return [pod.view() for pod in self.pods]

    def view(self, name: str) -> dict[str, Any]:
        return self.pod(name).view()

    def endpoints(self) -> list[dict[str, str]]:
        """The ready pods only, as a Service's Endpoints lists them: what a mesh may route to."""
        return [{"name": pod.name, "url": pod.url} for pod in self.pods if pod.ready]

    def scrape_targets(self) -> list[dict[str, Any]]:
        """Prometheus HTTP service discovery: every pod, ready or not, as Kubernetes pod discovery does."""
        return [{"targets": [f"127.0.0.1:{pod.port}"], "labels": {"pod": pod.name}} for pod in self.pods]

    def choose(self, *, names: list[str] | None = None, count: int = 1) -> list[Pod]:
        """The pods to kill: those named, or else `count` picked at random among those running."""
        if names is not None:
            pods = [self.pod(name) for name in names]
            idle = [pod.name for pod in pods if not pod.running]
            if idle:
                raise NotRunning(
                    f"pods {idle} have no running container (waiting to restart); nothing to kill there"
                )
            return pods
        running = [pod for pod in self.pods if pod.running]
        if count > len(running):
            raise PodsError(
                f"count {count} is more than the {len(running)} pods running now "
                f"(of {len(self.pods)}); ask for at most {len(running)}"
            )
        return self._rng.sample(running, count)

    def kill(self, pods: list[Pod], signal_name: str = "KILL") -> list[dict[str, Any]]:
        """Signal every pod's container at once, then wait for each to be gone; one proof per pod.

        SIGTERM gets the grace period to work (terminationGracePeriodSeconds), then SIGKILL, as kubelet.
        """
        signum = SIGNALS[signal_name]
        reason = f"killed through the pods API with SIG{signal_name}"
        began = time.monotonic()
        signalled = [(pod, pod.signal(signum, reason)) for pod in pods]
        proofs: list[dict[str, Any]] = []
        for pod, container in signalled:
            if container is None:  # ended on its own between choosing and signalling
                proofs.append({"name": pod.name, "pid": None, "signalled": False, "gone": True})
                continue
            escalated = False
            if signum == signal.SIGTERM and not container.ended.wait(self.spec.termination_grace):
                escalated = pod.signal(signal.SIGKILL, reason, only=container) is not None
            container.ended.wait(KILL_WAIT_SECONDS)
            pid = container.process.pid
            proofs.append(
                {
                    "name": pod.name,
                    "pid": pid,
                    "signalled": True,
                    "signal": f"SIG{signal_name}",
                    "escalated_to_sigkill": escalated,
                    # Reaped by us, and no /proc entry left: the process is gone, not just signalled.
                    "gone": container.ended.is_set() and not Path(f"/proc/{pid}").exists(),
                    "exit_code": container.termination.exit_code if container.termination else None,
                    "waited_seconds": round(time.monotonic() - began, 3),
                }
            )
        return proofs

    def scale(self, replicas: int) -> list[dict[str, Any]]:
        """`kubectl scale deployment --replicas=N`: new pods start (ready when their probes say so);
        surplus ones, the newest first as a ReplicaSet picks them, are deleted (see `delete`)."""
        if isinstance(replicas, bool) or not isinstance(replicas, int) or not 0 <= replicas <= MAX_REPLICAS:
            raise PodsError(f"replicas must be a whole number from 0 to {MAX_REPLICAS}")
        with self._changing:
            added = [self._new_pod() for _ in range(replicas - len(self.pods))]
            self.pods = [*self.pods, *added]
            for pod in added:
                pod.start()
            surplus = self.pods[replicas:]
        if surplus:
            self.delete(surplus)
        emit("scaled", replicas=replicas)
        return self.views()

    def delete(self, pods: list[Pod], reason: str = "deleted") -> list[dict[str, Any]]:
        """`kubectl delete pod` (what a scale-down or a rollout does to a pod): out of the endpoints at
        once, the preStop sleep, SIGTERM, SIGKILL for what still runs when the grace period (counted from
        the start) ends; then the pod is gone from the list, not restarted. One proof per pod."""
        with self._changing:
            pods = [pod for pod in pods if pod in self.pods]
            began = time.monotonic()
            deadline = began + self.spec.termination_grace
            for pod in pods:
                pod.begin_termination()
            time.sleep(min(self.spec.pre_stop_sleep, self.spec.termination_grace))
            for pod in pods:
                pod.signal(signal.SIGTERM, reason)
            escalated = set()
            for pod in pods:
                late = not pod.join(max(0.0, deadline - time.monotonic()))
                if late and pod.signal(signal.SIGKILL, "still running at the end of the grace period"):
                    escalated.add(pod.name)
            proofs = [
                {
                    "name": pod.name,
                    "gone": pod.join(KILL_WAIT_SECONDS),
                    "escalated_to_sigkill": pod.name in escalated,
                    "waited_seconds": round(time.monotonic() - began, 3),
                }
                for pod in pods
            ]
            self.pods = [pod for pod in self.pods if pod not in pods]
        for proof in proofs:
            emit("pod_deleted", pod=proof["name"], gone=proof["gone"])
        return proofs

    def stop(self) -> None:
        """As when the Deployment's pods are deleted."""
        self.delete(list(self.pods), "stopped with the supervisor")

    def pod(self, name: str) -> Pod:
        pod = self._by_name().get(name)
        if pod is None:
            raise UnknownPod(f"no pod named {name!r}; the pods are: {', '.join(p.name for p in self.pods)}")
        return pod
